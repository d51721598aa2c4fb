//! What an operator does to accounts from a shell (`auth-server users …`,
//! `auth-server credentials …`): the API's rules (username and address
//! syntax, uniqueness, the password policy, credentials ended with a new
//! password or a disabled account) without a logged-in caller.

use super::register::{unique_error, username_error};
use super::{Accounts, policy_errors};
use crate::domain::{Email, NewUser, Password, User, UserChange, UserId, Username};
use crate::form::{ValidationErrors, email_error};
use crate::policy::UserAttributes;
use crate::ports::{CredentialInfo, HashError, StoreError, TokenError};

/// Why an operator action did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No account is named so.
    #[error("no user {0:?} (give an id, a username or an address)")]
    NoSuchUser(String),
    /// No live credential of the account has this id.
    #[error("user has no live credential {0:?}")]
    NoSuchCredential(String),
    /// A value breaks a rule; by field, as the API would say it.
    #[error("{}", describe(.0))]
    Invalid(ValidationErrors),
    /// The store failed; nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed; nothing changed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The token store failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

fn describe(errors: &ValidationErrors) -> String {
    errors
        .fields
        .iter()
        .flat_map(|(field, list)| list.iter().map(move |e| format!("{field}: {}", e.message)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An account an operator creates.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// Address, if any.
    pub email: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Its password, held to the password policy.
    pub password: Password,
    /// Verified already (else a registration link must verify it).
    pub verified: bool,
    /// Staff (Django's `is_staff`).
    pub staff: bool,
}

/// Which of an account's credentials to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoke {
    /// The one with this public id (as `credentials list` shows it).
    Id(String),
    /// Every one.
    All,
}

impl Accounts {
    /// The account `key` names: an id (all digits), else a username, else
    /// an address, matched as logins are.
    pub async fn find_account(&self, key: &str) -> Result<Option<User>, StoreError> {
        let key = key.trim();
        if let Ok(id) = key.parse::<i64>()
            && let Some(user) = self.store.get(UserId::new(id)).await?
        {
            return Ok(Some(user));
        }
        if let Some(user) = self
            .store
            .find_by_username(key, self.settings.matching)
            .await?
        {
            return Ok(Some(user));
        }
        self.store.find_by_email(key, self.settings.matching).await
    }

    /// [`find_account`](Self::find_account), or [`AdminError::NoSuchUser`].
    pub async fn account(&self, key: &str) -> Result<User, AdminError> {
        self.find_account(key)
            .await?
            .ok_or_else(|| AdminError::NoSuchUser(key.to_owned()))
    }

    /// Up to `limit` accounts with ids above `after`, by id.
    pub async fn list_accounts(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        self.store.page(after, limit).await
    }

    /// Creates an account, active, under the API's rules.
    pub async fn create_account(&self, new: NewAccount) -> Result<User, AdminError> {
        let invalid = |field, error| AdminError::Invalid(ValidationErrors::single(field, error));
        let username = Username::parse(new.username.trim())
            .map_err(|e| invalid("username", username_error(e)))?;
        let email = new
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                Email::parse(e)
                    .map(|e| e.with_lowercase_domain())
                    .map_err(|e| invalid("email", email_error(e)))
            })
            .transpose()?;
        self.check_policy(
            &new.password,
            &UserAttributes {
                username: username.as_str(),
                first_name: &new.first_name,
                last_name: &new.last_name,
                email: email.as_ref().map(Email::as_str).unwrap_or_default(),
            },
        )?;
        let password_hash = self.hasher.hash(&new.password).await?;
        let user = NewUser {
            username,
            email,
            first_name: new.first_name,
            last_name: new.last_name,
            password_hash,
            verified: new.verified,
            date_joined: self.clock.now(),
            staff: new.staff,
            holding: crate::domain::EmailHolding::Unique,
        };
        self.store
            .create(user, None)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(field) => AdminError::Invalid(unique_error(field)),
                other => AdminError::Store(other),
            })
    }

    /// Enables or disables an account; disabling also ends its credentials,
    /// so it is logged out everywhere at once.
    pub async fn set_active(&self, user: &User, active: bool) -> Result<User, AdminError> {
        let change = UserChange {
            active: Some(active),
            ..UserChange::default()
        };
        let updated = self.change(user, change).await?;
        if !active {
            self.tokens.revoke_all(user.id, None, None).await?;
        }
        Ok(updated)
    }

    /// Marks an account verified, as its registration link would.
    pub async fn mark_verified(&self, user: &User) -> Result<User, AdminError> {
        let change = UserChange {
            verified: Some(true),
            ..UserChange::default()
        };
        self.change(user, change).await
    }

    /// Sets a new password under the policy and ends every credential of
    /// the account (as after a reset); how many ended.
    pub async fn set_password(&self, user: &User, password: &Password) -> Result<u64, AdminError> {
        self.check_policy(
            password,
            &UserAttributes {
                username: user.username.as_str(),
                first_name: &user.first_name,
                last_name: &user.last_name,
                email: user.email.as_ref().map(Email::as_str).unwrap_or_default(),
            },
        )?;
        let change = UserChange {
            password_hash: Some(self.hasher.hash(password).await?),
            ..UserChange::default()
        };
        self.change(user, change).await?;
        Ok(self.tokens.revoke_all(user.id, None, None).await?)
    }

    /// Deletes an account and every credential of it.
    pub async fn remove_account(&self, user: &User) -> Result<(), AdminError> {
        // Credentials first, as delete-account/ does: a failure leaves the
        // account logged out rather than deleted with live credentials.
        self.tokens.revoke_all(user.id, None, None).await?;
        if !self.store.delete(user.id).await? {
            return Err(AdminError::NoSuchUser(user.id.get().to_string()));
        }
        Ok(())
    }

    /// The account's live credentials, oldest first.
    pub async fn account_credentials(
        &self,
        user: &User,
    ) -> Result<Vec<CredentialInfo>, AdminError> {
        Ok(self.tokens.list(user.id).await?)
    }

    /// Revokes one credential or all of them; how many.
    pub async fn revoke_account_credentials(
        &self,
        user: &User,
        which: &Revoke,
    ) -> Result<u64, AdminError> {
        match which {
            Revoke::All => Ok(self.tokens.revoke_all(user.id, None, None).await?),
            Revoke::Id(id) => match self.tokens.revoke_id(user.id, id).await? {
                true => Ok(1),
                false => Err(AdminError::NoSuchCredential(id.clone())),
            },
        }
    }

    /// The password policy's verdict on `password` for `user`.
    fn check_policy(
        &self,
        password: &Password,
        user: &UserAttributes<'_>,
    ) -> Result<(), AdminError> {
        let mut errors = ValidationErrors::default();
        policy_errors(&self.policy, password, user, "password", &mut errors);
        errors.into_result().map_err(AdminError::Invalid)
    }

    async fn change(&self, user: &User, change: UserChange) -> Result<User, AdminError> {
        self.store
            .update(user.id, change, Vec::new())
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AdminError::NoSuchUser(user.id.get().to_string()),
                other => AdminError::Store(other),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PasswordHash;
    use crate::flows::testkit::*;
    use crate::ports::UniqueField;

    #[test]
    fn disabling_an_account_ends_its_credentials_and_enabling_does_not() {
        let mut kit = Kit::new();
        kit.store
            .expect_update()
            .withf(|id, change, _| *id == uid(7) && change.active.is_some())
            .times(2)
            .returning(|_, change, _| {
                let mut user = user(7, "ann");
                user.active = change.active.unwrap_or(true);
                Ok(user)
            });
        kit.tokens
            .expect_revoke_all()
            .withf(|id, kind, keep| *id == uid(7) && kind.is_none() && keep.is_none())
            .times(1)
            .returning(|_, _, _| Ok(3));
        let accounts = kit.accounts();
        let ann = user(7, "ann");
        assert!(!block_on(accounts.set_active(&ann, false)).unwrap().active);
        assert!(block_on(accounts.set_active(&ann, true)).unwrap().active);
    }

    #[test]
    fn a_password_the_policy_refuses_changes_nothing() {
        let kit = Kit::new();
        let accounts = kit.accounts();
        let weak = Password::new("ann");
        match block_on(accounts.set_password(&user(7, "ann"), &weak)) {
            Err(AdminError::Invalid(errors)) => assert!(errors.fields.contains_key("password")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_new_password_ends_every_credential() {
        let mut kit = Kit::new();
        kit.hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$argon2id$new")));
        kit.store
            .expect_update()
            .withf(|_, change, _| change.password_hash.is_some())
            .returning(|_, _, _| Ok(user(7, "ann")));
        kit.tokens
            .expect_revoke_all()
            .times(1)
            .returning(|_, _, _| Ok(2));
        let accounts = kit.accounts();
        let strong = Password::new("a long enough passphrase 42");
        assert_eq!(
            block_on(accounts.set_password(&user(7, "ann"), &strong)).unwrap(),
            2
        );
    }

    #[test]
    fn a_taken_username_is_a_field_error() {
        let mut kit = Kit::new();
        kit.hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$argon2id$new")));
        kit.store
            .expect_create()
            .returning(|_, _| Err(StoreError::Conflict(UniqueField::Username)));
        let accounts = kit.accounts();
        let new = NewAccount {
            username: "ann".into(),
            email: None,
            first_name: String::new(),
            last_name: String::new(),
            password: Password::new("a long enough passphrase 42"),
            verified: true,
            staff: false,
        };
        match block_on(accounts.create_account(new)) {
            Err(AdminError::Invalid(errors)) => {
                assert_eq!(errors.fields["username"][0].code, "unique");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accounts_are_found_by_id_then_username_then_address() {
        let mut kit = Kit::new();
        kit.store.expect_get().returning(|_| Ok(None));
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store
            .expect_find_by_email()
            .withf(|email, _| email == "ann@example.org")
            .returning(|_, _| Ok(Some(user(7, "ann"))));
        let accounts = kit.accounts();
        assert_eq!(
            block_on(accounts.account(" ann@example.org ")).unwrap().id,
            uid(7)
        );
    }
}
