//! `delete-account/`: the caller deletes their own account, confirming it
//! with the current password (beyond DRR; off in `COMPAT=drr`).

use super::{Accounts, Authenticated};
use crate::domain::Password;
use crate::form::{FieldError, Form, ValidationErrors, required_text};
use crate::ports::{HashError, StoreError, TokenError, Verification};

/// Why an account was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteAccountError {
    /// The endpoint is off (`DELETE_ACCOUNT_ENABLED`).
    #[error("deleting accounts is disabled")]
    Disabled,
    /// No password, or the wrong one.
    #[error("invalid account deletion")]
    Invalid(ValidationErrors),
    /// The store failed; the account is unchanged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed; the account is unchanged.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The account is deleted, but credentials kept outside the database
    /// (Redis) could not be revoked; they no longer find their user.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Why [`Accounts::erase`] stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum EraseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl From<EraseError> for DeleteAccountError {
    fn from(error: EraseError) -> Self {
        match error {
            EraseError::Store(e) => Self::Store(e),
            EraseError::Token(e) => Self::Token(e),
        }
    }
}

impl Accounts {
    /// Deletes the caller's account once `password` is theirs: the user,
    /// every credential, and with them every way back in.
    pub async fn delete_account(
        &self,
        caller: &Authenticated,
        form: &Form,
    ) -> Result<(), DeleteAccountError> {
        if !self.settings.delete_account_enabled {
            return Err(DeleteAccountError::Disabled);
        }
        let me = &caller.user;
        let password = required_text(form, "password")
            .map_err(|e| DeleteAccountError::Invalid(ValidationErrors::single("password", e)))?;
        let verification = self
            .hasher
            .verify(&Password::new(password), &me.password_hash)
            .await?;
        if verification == Verification::Mismatch {
            return Err(DeleteAccountError::Invalid(ValidationErrors::single(
                "password",
                FieldError::new("invalid", "The password is not correct."),
            )));
        }
        Ok(self.erase(me.id).await?)
    }

    /// Deletes a user and every credential of theirs.
    pub(super) async fn erase(&self, id: crate::domain::UserId) -> Result<(), EraseError> {
        // Credentials first: a failure then leaves the account as it was,
        // merely logged out, rather than deleted with live credentials.
        self.tokens.revoke_all(id, None, None).await?;
        self.store.delete(id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testkit::*;
    use crate::ports::CredentialKind;

    fn caller() -> Authenticated {
        Authenticated {
            user: user(7, "ann"),
            kind: CredentialKind::Token,
            credential: token("tok"),
        }
    }

    fn enabled() -> Kit {
        let mut kit = Kit::new();
        kit.settings.delete_account_enabled = true;
        kit
    }

    #[test]
    fn the_right_password_deletes_the_account_and_its_credentials() {
        let mut kit = enabled();
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        kit.tokens
            .expect_revoke_all()
            .withf(|id, kind, keep| *id == uid(7) && kind.is_none() && keep.is_none())
            .times(1)
            .returning(|_, _, _| Ok(2));
        kit.store
            .expect_delete()
            .withf(|id| *id == uid(7))
            .times(1)
            .returning(|_| Ok(true));
        let form = Form::new().text("password", "right");
        block_on(kit.accounts().delete_account(&caller(), &form)).unwrap();
    }

    #[test]
    fn a_wrong_or_missing_password_deletes_nothing() {
        let mut kit = enabled();
        kit.hasher
            .expect_verify()
            .returning(|_, _| Ok(Verification::Mismatch));
        kit.store.expect_delete().never();
        kit.tokens.expect_revoke_all().never();
        let accounts = kit.accounts();
        let wrong = Form::new().text("password", "wrong");
        assert!(matches!(
            block_on(accounts.delete_account(&caller(), &wrong)),
            Err(DeleteAccountError::Invalid(e)) if e.fields.contains_key("password")
        ));
        assert!(matches!(
            block_on(accounts.delete_account(&caller(), &Form::new())),
            Err(DeleteAccountError::Invalid(_))
        ));
    }

    #[test]
    fn it_is_off_in_the_drr_profile() {
        let mut kit = Kit::drr();
        kit.store.expect_delete().never();
        let form = Form::new().text("password", "right");
        assert!(matches!(
            block_on(kit.accounts().delete_account(&caller(), &form)),
            Err(DeleteAccountError::Disabled)
        ));
    }
}
