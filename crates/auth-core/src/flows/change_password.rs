//! `change-password/`: the caller replaces their password.

use super::{Accounts, Authenticated, attributes, passwords_do_not_match, policy_errors};
use crate::domain::{Password, UserChange};
use crate::form::{FieldError, Form, ValidationErrors, required_text};
use crate::notification::NotificationKind;
use crate::ports::{CredentialKind, HashError, StoreError, TokenError, Verification};
use crate::settings::CredentialsEnded;

/// Why a password change failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// Field validation failed (wrong old password included).
    #[error("invalid password change")]
    Invalid(ValidationErrors),
    /// The store failed; the password is unchanged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed; the password is unchanged.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Other credentials could not be ended; the password is unchanged.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// A completed password change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordChanged {
    /// Whether the credential that made the request was ended too (DRR ends
    /// the caller's session).
    pub caller_logged_out: bool,
}

impl Accounts {
    /// Changes the caller's password from `old_password`, `password`,
    /// [`password_confirm`] (drr-api.md §2.6), then ends the credentials
    /// `change_password_ends` names.
    pub async fn change_password(
        &self,
        caller: &Authenticated,
        form: &Form,
    ) -> Result<PasswordChanged, ChangePasswordError> {
        let me = &caller.user;
        let mut errors = ValidationErrors::default();
        let old = errors.take("old_password", required_text(form, "old_password"));
        let password = errors
            .take("password", required_text(form, "password"))
            .map(Password::new);
        let confirm = if self.settings.change_password_confirm {
            errors.take("password_confirm", required_text(form, "password_confirm"))
        } else {
            None
        };
        if let Some(old) = old {
            let verification = self
                .hasher
                .verify(&Password::new(old), &me.password_hash)
                .await?;
            if verification == Verification::Mismatch {
                errors.add(
                    "old_password",
                    FieldError::new("invalid", "Old password is not correct"),
                );
            }
        }
        if let Some(password) = &password {
            policy_errors(
                &self.policy,
                password,
                &attributes(me),
                "password",
                &mut errors,
            );
        }
        errors.into_result().map_err(ChangePasswordError::Invalid)?;
        let Some(password) = password else {
            return Err(ChangePasswordError::Invalid(ValidationErrors::default()));
        };
        if self.settings.change_password_confirm && confirm.as_deref() != Some(password.expose()) {
            return Err(ChangePasswordError::Invalid(ValidationErrors::single(
                "password_confirm",
                passwords_do_not_match(),
            )));
        }

        let new_hash = self.hasher.hash(&password).await?;
        // Credentials end before the password changes: if that fails the
        // password is untouched, and a retry starts from a clean state.
        let ends = self.settings.change_password_ends;
        self.end_credentials(me.id, ends, Some(caller)).await?;
        let change = UserChange {
            password_hash: Some(new_hash),
            ..UserChange::default()
        };
        let notice = self.change_notice(me, me.email.as_ref(), NotificationKind::PasswordChanged);
        self.store.update(me.id, change, notice).await?;
        Ok(PasswordChanged {
            caller_logged_out: match ends {
                CredentialsEnded::Sessions => caller.kind == CredentialKind::Session,
                CredentialsEnded::AllButCaller => false,
                CredentialsEnded::All => true,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testkit::*;

    fn caller(kind: CredentialKind) -> Authenticated {
        Authenticated {
            user: user(1, "ann"),
            kind,
            credential: token("mine"),
        }
    }

    fn form() -> Form {
        Form::new()
            .text("old_password", "old secret")
            .text("password", "a brand new passphrase")
            .text("password_confirm", "a brand new passphrase")
    }

    #[test]
    fn change_password_ends_other_credentials_then_stores_the_hash() {
        let mut kit = Kit::new();
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.tokens
            .expect_revoke_all()
            .withf(|id, kind, keep| {
                *id == uid(1) && kind.is_none() && keep.as_ref().map(|t| t.expose()) == Some("mine")
            })
            .times(1)
            .returning(|_, _, _| Ok(3));
        kit.store
            .expect_update()
            .withf(|_, change, mails| {
                // The account's address hears of the change in the same write.
                change.password_hash == Some(hash("new"))
                    && matches!(mails.as_slice(), [m] if m.to == "ann@example.org"
                        && m.kind == NotificationKind::PasswordChanged)
            })
            .returning(|_, _, _| Ok(user(1, "ann")));
        let done = block_on(
            kit.accounts()
                .change_password(&caller(CredentialKind::Token), &form()),
        )
        .unwrap();
        assert!(!done.caller_logged_out);
    }

    #[test]
    fn change_password_drr_mode_ends_sessions_including_the_callers() {
        let mut kit = Kit::drr();
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.tokens
            .expect_revoke_all()
            .withf(|_, kind, keep| *kind == Some(CredentialKind::Session) && keep.is_none())
            .returning(|_, _, _| Ok(1));
        kit.store
            .expect_update()
            .returning(|_, _, _| Ok(user(1, "ann")));
        let done = block_on(
            kit.accounts()
                .change_password(&caller(CredentialKind::Session), &form()),
        )
        .unwrap();
        assert!(done.caller_logged_out);
    }

    #[test]
    fn change_password_reports_wrong_old_password_and_policy_together() {
        let mut kit = Kit::new();
        kit.hasher
            .expect_verify()
            .returning(|_, _| Ok(Verification::Mismatch));
        kit.store.expect_update().never();
        let form = form()
            .text("password", "123")
            .text("password_confirm", "123");
        let Err(ChangePasswordError::Invalid(errors)) = block_on(
            kit.accounts()
                .change_password(&caller(CredentialKind::Token), &form),
        ) else {
            panic!("expected invalid")
        };
        assert_eq!(
            errors.fields["old_password"][0].message,
            "Old password is not correct"
        );
        assert_eq!(errors.fields["password"].len(), 3);
        assert_eq!(errors.non_field, None);
    }

    #[test]
    fn change_password_mismatch_is_reported_alone_after_fields_pass() {
        let mut kit = Kit::new();
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        let form = form().text("password_confirm", "something else entirely");
        let Err(ChangePasswordError::Invalid(errors)) = block_on(
            kit.accounts()
                .change_password(&caller(CredentialKind::Token), &form),
        ) else {
            panic!("expected invalid")
        };
        assert_eq!(
            errors.fields.keys().copied().collect::<Vec<_>>(),
            ["password_confirm"]
        );
        assert_eq!(errors.non_field, None);
    }

    #[test]
    fn change_password_failure_to_end_credentials_leaves_the_password() {
        let mut kit = Kit::new();
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.tokens
            .expect_revoke_all()
            .returning(|_, _, _| Err(TokenError("down".into())));
        kit.store.expect_update().never();
        assert!(matches!(
            block_on(
                kit.accounts()
                    .change_password(&caller(CredentialKind::Token), &form())
            ),
            Err(ChangePasswordError::Token(_))
        ));
    }

    #[test]
    fn change_password_store_failure_is_reported() {
        let mut kit = Kit::new();
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.tokens.expect_revoke_all().returning(|_, _, _| Ok(0));
        kit.store.expect_update().returning(|_, _, _| Err(down()));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .change_password(&caller(CredentialKind::Token), &form())
            ),
            Err(ChangePasswordError::Store(_))
        ));
    }

    #[test]
    fn change_password_hasher_failure_changes_and_ends_nothing() {
        let mut kit = Kit::new();
        kit.hasher.expect_verify().returning(|_, _| {
            Ok(Verification::Match {
                needs_rehash: false,
            })
        });
        kit.hasher
            .expect_hash()
            .returning(|_| Err(HashError::Failed("pool".into())));
        kit.tokens.expect_revoke_all().never();
        kit.store.expect_update().never();
        assert!(matches!(
            block_on(
                kit.accounts()
                    .change_password(&caller(CredentialKind::Token), &form())
            ),
            Err(ChangePasswordError::Hash(_))
        ));
    }
}
