//! `login/`: check a password and start a token and/or session login.

use super::Accounts;
use crate::domain::{Password, User, UserChange};
use crate::form::{Form, ValidationErrors, required_text};
use crate::ports::{AuthToken, HashError, StoreError, TokenError, Verification};

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Missing or malformed fields.
    #[error("invalid login data")]
    Invalid(ValidationErrors),
    /// Unknown login, wrong password, or an account that may not log in —
    /// deliberately indistinguishable.
    #[error("Login or password invalid.")]
    LoginInvalid,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Credentials could not be issued.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Which credentials a login issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issue {
    /// As `LOGIN_RETRIEVE_TOKEN` and `LOGIN_AUTHENTICATE_SESSION` say.
    Configured,
    /// A session only.
    Session,
    /// Exactly these (a dialect with its own switches, as djoser's
    /// `token/login/`: always the token, a session with
    /// `CREATE_SESSION_ON_LOGIN`).
    Exactly {
        /// An API token.
        token: bool,
        /// A session.
        session: bool,
    },
}

/// A started login.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Who logged in.
    pub user: User,
    /// API token, when `LOGIN_RETRIEVE_TOKEN` is on.
    pub token: Option<AuthToken>,
    /// Session key, when `LOGIN_AUTHENTICATE_SESSION` is on.
    pub session: Option<AuthToken>,
}

impl Accounts {
    /// Logs in with `login` (matched against each `USER_LOGIN_FIELDS` entry
    /// in order) and `password` (drr-api.md §2.3).
    ///
    /// Exactly one password verification runs when `login` names no account
    /// (against a dummy hash), so timing does not reveal accounts; a stored
    /// hash in an outdated format is upgraded on success.
    pub async fn login(&self, form: &Form) -> Result<Credentials, LoginError> {
        self.login_issuing(form, Issue::Configured).await
    }

    /// [`login`](Self::login), issuing the credentials `issue` says (a
    /// server-rendered page needs a session whatever the API returns).
    pub async fn login_issuing(
        &self,
        form: &Form,
        issue: Issue,
    ) -> Result<Credentials, LoginError> {
        let mut errors = ValidationErrors::default();
        let login = errors.take("login", required_text(form, "login"));
        let password = errors.take("password", required_text(form, "password"));
        let (Some(login), Some(password)) = (login, password) else {
            return Err(LoginError::Invalid(errors));
        };
        let password = Password::new(password);
        let candidates = self.users_by_login(&login).await?;
        let user = self.password_login(candidates, &password, true).await?;
        Ok(self.issue_credentials(user, issue).await?)
    }

    /// The first of `candidates` whose password is `password` and who may
    /// log in, with the login recorded when `record` (simplejwt's token
    /// pair does not record it) and an outdated hash upgraded.
    pub(super) async fn password_login(
        &self,
        candidates: Vec<User>,
        password: &Password,
        record: bool,
    ) -> Result<User, LoginError> {
        match self.password_match(candidates, password, record).await? {
            Ok(user) => Ok(user),
            Err(NoLogin::Invalid | NoLogin::Unverified) => Err(LoginError::LoginInvalid),
        }
    }

    /// [`password_login`](Self::password_login), telling apart an enabled
    /// account whose password was right but which is not verified yet
    /// (allauth says so, having checked the password).
    pub(super) async fn password_match(
        &self,
        candidates: Vec<User>,
        password: &Password,
        record: bool,
    ) -> Result<Result<User, NoLogin>, LoginError> {
        if candidates.is_empty() {
            self.hasher.verify_dummy(password).await?;
            return Ok(Err(NoLogin::Invalid));
        }
        let mut refusal = NoLogin::Invalid;
        for user in candidates {
            // The password is checked even for accounts that may not log in,
            // so they cost the same time as any other failure.
            let Verification::Match { needs_rehash } =
                self.hasher.verify(password, &user.password_hash).await?
            else {
                continue;
            };
            if !user.can_log_in() {
                if user.active {
                    refusal = NoLogin::Unverified;
                }
                continue;
            }
            if !record && !needs_rehash {
                return Ok(Ok(user));
            }
            let change = UserChange {
                last_login: record.then(|| self.clock.now()),
                password_hash: if needs_rehash {
                    Some(self.hasher.hash(password).await?)
                } else {
                    None
                },
                ..UserChange::default()
            };
            return Ok(Ok(self.store.update(user.id, change, Vec::new()).await?));
        }
        Ok(Err(refusal))
    }
}

/// Why a password login found no one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NoLogin {
    /// No candidate had that password, or none that may log in.
    Invalid,
    /// The password was right for an enabled account not verified yet.
    Unverified,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testkit::*;
    use crate::ports::{CredentialKind, Matching};

    fn form() -> Form {
        Form::new()
            .text("login", "ann")
            .text("password", "right password")
    }

    /// `ann` exists (by username only) and the password check answers `result`.
    fn ann_exists(kit: &mut Kit, result: Verification) {
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(Some(user(1, "ann"))));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.hasher.expect_verify().returning(move |_, _| Ok(result));
    }

    #[test]
    fn login_returns_token_and_session_and_records_the_login() {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .withf(|name, m| name == "ann" && *m == Matching::CaseInsensitive)
            .returning(|_, _| Ok(Some(user(1, "ann"))));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        kit.store
            .expect_update()
            .withf(|_, change, _| change.last_login.is_some() && change.password_hash.is_none())
            .returning(|_, _, _| Ok(user(1, "ann")));
        kit.tokens
            .expect_provide()
            .withf(|_, kind| *kind == CredentialKind::Token)
            .returning(|_, _| Ok(token("tok")));
        kit.tokens
            .expect_provide()
            .withf(|_, kind| *kind == CredentialKind::Session)
            .returning(|_, _| Ok(token("sess")));
        let creds = block_on(kit.accounts().login(&form())).unwrap();
        assert_eq!(creds.token.unwrap().expose(), "tok");
        assert_eq!(creds.session.unwrap().expose(), "sess");
    }

    #[test]
    fn login_by_email_works_when_email_is_a_login_field() {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store
            .expect_find_by_email()
            .withf(|e, _| e == "ann@example.org")
            .returning(|_, _| Ok(Some(user(1, "ann"))));
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        kit.store
            .expect_update()
            .returning(|_, _, _| Ok(user(1, "ann")));
        kit.tokens.expect_provide().returning(|_, _| Ok(token("t")));
        let form = Form::new()
            .text("login", "ann@example.org")
            .text("password", "pw");
        assert!(block_on(kit.accounts().login(&form)).is_ok());
    }

    #[test]
    fn login_unknown_account_runs_one_dummy_verification() {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.hasher
            .expect_verify_dummy()
            .times(1)
            .returning(|_| Ok(()));
        kit.hasher.expect_verify().never();
        assert!(matches!(
            block_on(kit.accounts().login(&form())),
            Err(LoginError::LoginInvalid)
        ));
    }

    #[test]
    fn login_wrong_password_and_unverified_user_fail_alike_after_one_check() {
        for (stored, result) in [
            (user(1, "ann"), Verification::Mismatch),
            (
                User {
                    verified: false,
                    ..user(1, "ann")
                },
                Verification::Match {
                    needs_rehash: false,
                },
            ),
            (
                User {
                    active: false,
                    ..user(1, "ann")
                },
                Verification::Match {
                    needs_rehash: false,
                },
            ),
        ] {
            let mut kit = Kit::new();
            kit.store
                .expect_find_by_username()
                .returning(move |_, _| Ok(Some(stored.clone())));
            kit.store.expect_find_by_email().returning(|_, _| Ok(None));
            kit.hasher
                .expect_verify()
                .times(1)
                .returning(move |_, _| Ok(result));
            kit.store.expect_update().never();
            kit.tokens.expect_provide().never();
            assert!(matches!(
                block_on(kit.accounts().login(&form())),
                Err(LoginError::LoginInvalid)
            ));
        }
    }

    #[test]
    fn login_upgrades_an_outdated_hash() {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(Some(user(1, "ann"))));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.hasher
            .expect_verify()
            .returning(|_, _| Ok(Verification::Match { needs_rehash: true }));
        kit.hasher
            .expect_hash()
            .times(1)
            .returning(|_| Ok(hash("upgraded")));
        kit.store
            .expect_update()
            .withf(|_, change, _| change.password_hash == Some(hash("upgraded")))
            .returning(|_, _, _| Ok(user(1, "ann")));
        kit.tokens.expect_provide().returning(|_, _| Ok(token("t")));
        assert!(block_on(kit.accounts().login(&form())).is_ok());
    }

    #[test]
    fn login_missing_fields_are_field_errors() {
        let kit = Kit::new();
        let form = Form::new().text("username", "ann");
        let Err(LoginError::Invalid(errors)) = block_on(kit.accounts().login(&form)) else {
            panic!("expected invalid")
        };
        assert_eq!(
            errors.fields.keys().copied().collect::<Vec<_>>(),
            ["login", "password"]
        );
    }

    #[test]
    fn login_port_failures_are_reported_not_hidden() {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Err(down()));
        assert!(matches!(
            block_on(kit.accounts().login(&form())),
            Err(LoginError::Store(_))
        ));

        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(Some(user(1, "ann"))));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.hasher
            .expect_verify()
            .returning(|_, _| Err(HashError::Failed("pool".into())));
        assert!(matches!(
            block_on(kit.accounts().login(&form())),
            Err(LoginError::Hash(_))
        ));

        let mut kit = Kit::new();
        ann_exists(
            &mut kit,
            Verification::Match {
                needs_rehash: false,
            },
        );
        kit.store
            .expect_update()
            .returning(|_, _, _| Ok(user(1, "ann")));
        kit.tokens
            .expect_provide()
            .returning(|_, _| Err(TokenError("redis down".into())));
        assert!(matches!(
            block_on(kit.accounts().login(&form())),
            Err(LoginError::Token(_))
        ));
    }

    #[test]
    fn login_with_only_tokens_configured_starts_no_session() {
        let mut kit = Kit::new();
        kit.settings.login.authenticate_session = false;
        ann_exists(
            &mut kit,
            Verification::Match {
                needs_rehash: false,
            },
        );
        kit.store
            .expect_update()
            .returning(|_, _, _| Ok(user(1, "ann")));
        kit.tokens
            .expect_provide()
            .times(1)
            .returning(|_, _| Ok(token("t")));
        let creds = block_on(kit.accounts().login(&form())).unwrap();
        assert!(creds.session.is_none() && creds.token.is_some());
    }

    #[test]
    fn login_that_cannot_be_recorded_issues_no_credentials() {
        let mut kit = Kit::new();
        ann_exists(
            &mut kit,
            Verification::Match {
                needs_rehash: false,
            },
        );
        kit.store.expect_update().returning(|_, _, _| Err(down()));
        kit.tokens.expect_provide().never();
        assert!(matches!(
            block_on(kit.accounts().login(&form())),
            Err(LoginError::Store(_))
        ));
    }
}
