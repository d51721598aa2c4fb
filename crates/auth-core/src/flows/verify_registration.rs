//! `verify-registration/`: follow the registration link.

use super::{Accounts, Credentials, Issue, LinkFields};
use crate::domain::{User, UserChange, UserGuard};
use crate::form::{Form, ValidationErrors};
use crate::ports::{StoreError, TokenError};
use crate::signing::LinkError;

/// Why a registration link was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyRegistrationError {
    /// Registration verification is off.
    #[error("registration verification is turned off")]
    Disabled,
    /// Missing or malformed fields.
    #[error("invalid verification data")]
    Invalid(ValidationErrors),
    /// No such user (one-time mode looks the user up first).
    #[error("User not found")]
    UserNotFound,
    /// Tampered, foreign or already-used link.
    #[error("Invalid signature")]
    InvalidSignature,
    /// Older than `REGISTER_VERIFICATION_PERIOD`.
    #[error("Signature expired")]
    SignatureExpired,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Auto-login could not issue credentials; the user is verified.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl From<LinkError> for VerifyRegistrationError {
    fn from(error: LinkError) -> Self {
        match error {
            LinkError::Expired => Self::SignatureExpired,
            LinkError::InvalidSignature | LinkError::FromTheFuture => Self::InvalidSignature,
        }
    }
}

/// A successful verification.
#[derive(Debug)]
pub struct VerifiedRegistration {
    /// The verified user.
    pub user: User,
    /// Credentials, when `REGISTER_VERIFICATION_AUTO_LOGIN` is on.
    pub login: Option<Credentials>,
}

impl Accounts {
    /// Verifies a user from the link's `user_id`, `timestamp`, `signature`
    /// (drr-api.md §2.2). Sets `verified` only: an account an administrator
    /// disabled stays disabled.
    pub async fn verify_registration(
        &self,
        form: &Form,
    ) -> Result<VerifiedRegistration, VerifyRegistrationError> {
        let settings = &self.settings.register;
        if !settings.verification_enabled {
            return Err(VerifyRegistrationError::Disabled);
        }
        let mut errors = ValidationErrors::default();
        let link = LinkFields::read(form, &mut errors);
        let Some(link) = link else {
            return Err(VerifyRegistrationError::Invalid(errors));
        };

        let lookup = || async {
            match link.user_id() {
                Some(id) => self
                    .store
                    .get(id)
                    .await?
                    .ok_or(VerifyRegistrationError::UserNotFound),
                None => Err(VerifyRegistrationError::UserNotFound),
            }
        };
        let user = if settings.one_time_use {
            let user = lookup().await?;
            self.verify_link(
                &self.register_salt(&user),
                &link,
                None,
                settings.verification_period,
            )?;
            user
        } else {
            self.verify_link(
                &crate::signing::Salt::register(),
                &link,
                None,
                settings.verification_period,
            )?;
            lookup().await?
        };

        let user = if user.verified {
            user
        } else {
            let change = UserChange {
                verified: Some(true),
                guard: settings.one_time_use.then_some(UserGuard::Verified(false)),
                ..UserChange::default()
            };
            match self.store.update(user.id, change, Vec::new()).await {
                Ok(user) => user,
                // A concurrent use of the same one-time link won.
                Err(StoreError::GuardFailed) => {
                    return Err(VerifyRegistrationError::InvalidSignature);
                }
                Err(StoreError::NotFound) => return Err(VerifyRegistrationError::UserNotFound),
                Err(other) => return Err(other.into()),
            }
        };

        let login = if settings.auto_login && user.can_log_in() {
            Some(
                self.issue_credentials(user.clone(), Issue::Configured)
                    .await?,
            )
        } else {
            None
        };
        Ok(VerifiedRegistration { user, login })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testkit::*;
    use crate::signing::Salt;

    fn link_form(kit: &Kit, salt: &Salt, user_id: &str, timestamp: i64) -> Form {
        let signature = kit.sign(salt, user_id, None, timestamp);
        Form::new()
            .text("user_id", user_id)
            .text("timestamp", timestamp.to_string())
            .text("signature", signature)
    }

    fn unverified(id: i64) -> User {
        User {
            verified: false,
            ..user(id, "ann")
        }
    }

    #[test]
    fn verify_registration_sets_verified_with_a_guard_in_one_time_mode() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(unverified(5))));
        kit.store
            .expect_update()
            .withf(|id, change, mail| {
                *id == uid(5)
                    && change.verified == Some(true)
                    && change.guard == Some(UserGuard::Verified(false))
                    && mail.is_empty()
            })
            .returning(|_, _, _| Ok(user(5, "ann")));
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW);
        let verified = block_on(kit.accounts().verify_registration(&form)).unwrap();
        assert!(verified.user.verified);
        assert!(verified.login.is_none());
    }

    #[test]
    fn verify_registration_rejects_tampered_timestamp() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(unverified(5))));
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW)
            .text("timestamp", (NOW - 1).to_string());
        assert!(matches!(
            block_on(kit.accounts().verify_registration(&form)),
            Err(VerifyRegistrationError::InvalidSignature)
        ));
    }

    #[test]
    fn verify_registration_one_time_link_is_dead_once_verified() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(5, "ann"))));
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW);
        assert!(matches!(
            block_on(kit.accounts().verify_registration(&form)),
            Err(VerifyRegistrationError::InvalidSignature)
        ));
    }

    #[test]
    fn verify_registration_expires_after_the_period() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(unverified(5))));
        let period = kit.settings.register.verification_period.whole_seconds();
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW - period - 1);
        assert!(matches!(
            block_on(kit.accounts().verify_registration(&form)),
            Err(VerifyRegistrationError::SignatureExpired)
        ));
    }

    #[test]
    fn verify_registration_unknown_user_in_one_time_mode() {
        let mut kit = Kit::new();
        kit.store.expect_get().returning(|_| Ok(None));
        let forms =
            ["99", "abc"].map(|id| link_form(&kit, &Salt::register_one_time(false), id, NOW));
        let accounts = kit.accounts();
        for form in forms {
            assert!(matches!(
                block_on(accounts.verify_registration(&form)),
                Err(VerifyRegistrationError::UserNotFound)
            ));
        }
    }

    #[test]
    fn verify_registration_drr_mode_checks_signature_first_and_reverifies() {
        let mut kit = Kit::drr();
        kit.store.expect_get().never();
        let form = Form::new()
            .text("user_id", "5")
            .text("timestamp", "1")
            .text("signature", "bogus");
        assert!(matches!(
            block_on(kit.accounts().verify_registration(&form)),
            Err(VerifyRegistrationError::InvalidSignature)
        ));

        let mut kit = Kit::drr();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(5, "ann"))));
        kit.store.expect_update().never();
        let form = link_form(&kit, &Salt::register(), "5", NOW);
        assert!(block_on(kit.accounts().verify_registration(&form)).is_ok());
    }

    #[test]
    fn verify_registration_never_reenables_a_disabled_account() {
        let mut kit = Kit::new();
        kit.settings.register.auto_login = true;
        kit.store.expect_get().returning(|_| {
            Ok(Some(User {
                active: false,
                ..unverified(5)
            }))
        });
        kit.store
            .expect_update()
            .withf(|_, change, _| change.verified == Some(true) && change.guard.is_some())
            .returning(|_, _, _| {
                Ok(User {
                    active: false,
                    ..user(5, "ann")
                })
            });
        kit.tokens.expect_provide().never();
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW);
        let verified = block_on(kit.accounts().verify_registration(&form)).unwrap();
        assert!(!verified.user.active && verified.login.is_none());
    }

    #[test]
    fn verify_registration_auto_login_issues_credentials() {
        let mut kit = Kit::new();
        kit.settings.register.auto_login = true;
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(unverified(5))));
        kit.store
            .expect_update()
            .returning(|_, _, _| Ok(user(5, "ann")));
        kit.tokens
            .expect_provide()
            .times(2)
            .returning(|_, _| Ok(token("t")));
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW);
        let verified = block_on(kit.accounts().verify_registration(&form)).unwrap();
        let login = verified.login.unwrap();
        assert!(login.token.is_some() && login.session.is_some());
    }

    #[test]
    fn verify_registration_concurrent_use_loses_cleanly() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(unverified(5))));
        kit.store
            .expect_update()
            .returning(|_, _, _| Err(StoreError::GuardFailed));
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW);
        assert!(matches!(
            block_on(kit.accounts().verify_registration(&form)),
            Err(VerifyRegistrationError::InvalidSignature)
        ));
    }

    #[test]
    fn verify_registration_missing_fields_and_store_failure() {
        let kit = Kit::new();
        let Err(VerifyRegistrationError::Invalid(errors)) = block_on(
            kit.accounts()
                .verify_registration(&Form::new().text("timestamp", "x")),
        ) else {
            panic!("expected invalid")
        };
        assert_eq!(errors.fields.len(), 3);

        let mut kit = Kit::new();
        kit.store.expect_get().returning(|_| Err(down()));
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW);
        assert!(matches!(
            block_on(kit.accounts().verify_registration(&form)),
            Err(VerifyRegistrationError::Store(_))
        ));
    }

    #[test]
    fn verify_registration_update_failure_leaves_the_user_unverified() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(unverified(5))));
        kit.store.expect_update().returning(|_, _, _| Err(down()));
        kit.tokens.expect_provide().never();
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW);
        assert!(matches!(
            block_on(kit.accounts().verify_registration(&form)),
            Err(VerifyRegistrationError::Store(_))
        ));
    }

    #[test]
    fn verify_registration_auto_login_failure_is_reported_after_verifying() {
        // The user is verified (the link did its job); only the login failed,
        // and logging in normally works from here.
        let mut kit = Kit::new();
        kit.settings.register.auto_login = true;
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(unverified(5))));
        kit.store
            .expect_update()
            .times(1)
            .returning(|_, _, _| Ok(user(5, "ann")));
        kit.tokens
            .expect_provide()
            .returning(|_, _| Err(TokenError("down".into())));
        let form = link_form(&kit, &Salt::register_one_time(false), "5", NOW);
        assert!(matches!(
            block_on(kit.accounts().verify_registration(&form)),
            Err(VerifyRegistrationError::Token(_))
        ));
    }
}
