//! `send-reset-password-link/` and `reset-password/`.

use super::{Accounts, LinkFields, attributes, passwords_do_not_match, policy_errors};
use crate::domain::{Password, User, UserChange, UserGuard};
use crate::form::{Form, ValidationErrors, required_text};
use crate::notification::{Notification, NotificationKind};
use crate::ports::{HashError, StoreError, TokenError};
use crate::signing::LinkError;

/// Why a reset link was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendResetLinkError {
    /// `RESET_PASSWORD_VERIFICATION_ENABLED` is off.
    #[error("password reset is turned off")]
    Disabled,
    /// Missing or malformed field.
    #[error("invalid reset request")]
    Invalid(ValidationErrors),
    /// No such user, with `RESET_PASSWORD_FAIL_WHEN_USER_NOT_FOUND` on.
    #[error("User not found")]
    UserNotFound,
    /// The store failed; nothing was queued.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a password reset was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResetPasswordError {
    /// `RESET_PASSWORD_VERIFICATION_ENABLED` is off.
    #[error("password reset is turned off")]
    Disabled,
    /// Field or object validation failed.
    #[error("invalid reset data")]
    Invalid(ValidationErrors),
    /// No such user (only when the link is checked after the password,
    /// DRR's order; otherwise an unknown user is an invalid signature).
    #[error("User not found")]
    UserNotFound,
    /// Tampered, foreign or used-up link.
    #[error("Invalid signature")]
    InvalidSignature,
    /// Older than `RESET_PASSWORD_VERIFICATION_PERIOD`.
    #[error("Signature expired")]
    SignatureExpired,
    /// The store failed; the password is unchanged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed; the password is unchanged.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Credentials could not be ended; the password is unchanged.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl From<LinkError> for ResetPasswordError {
    fn from(error: LinkError) -> Self {
        match error {
            LinkError::Expired => Self::SignatureExpired,
            LinkError::InvalidSignature | LinkError::FromTheFuture => Self::InvalidSignature,
        }
    }
}

impl Accounts {
    /// Mails a reset link to the user named by `login` (or `email`, with
    /// `SEND_RESET_PASSWORD_LINK_SERIALIZER_USE_EMAIL`), verified or not
    /// (drr-api.md §2.7). Whether an unknown user is an error depends on
    /// `RESET_PASSWORD_FAIL_WHEN_USER_NOT_FOUND`; the answer is otherwise the
    /// same whether or not a mail was queued.
    pub async fn send_reset_password_link(&self, form: &Form) -> Result<(), SendResetLinkError> {
        let settings = &self.settings.reset_password;
        if !settings.enabled {
            return Err(SendResetLinkError::Disabled);
        }
        let field = if settings.use_email { "email" } else { "login" };
        let value = required_text(form, field)
            .map_err(|e| SendResetLinkError::Invalid(ValidationErrors::single(field, e)))?;

        let user = if settings.use_email {
            self.store
                .find_by_email(&value, self.settings.matching)
                .await?
        } else {
            self.users_by_login(&value).await?.into_iter().next()
        };
        let Some(user) = user else {
            return if settings.fail_when_user_not_found {
                Err(SendResetLinkError::UserNotFound)
            } else {
                Ok(())
            };
        };
        if let Some(mail) = self.reset_mail(&user) {
            self.store.enqueue(vec![mail]).await?;
        }
        Ok(())
    }

    fn reset_mail(&self, user: &User) -> Option<Notification> {
        let email = user.email.as_ref()?;
        let settings = &self.settings.reset_password;
        let link = self.link(
            &settings.verification_url,
            &self.reset_salt(user),
            user.id,
            None,
        );
        Some(Notification {
            to: email.as_str().to_owned(),
            user: user.into(),
            kind: NotificationKind::ResetPassword { link },
        })
    }

    /// Sets a new password from a reset link's `user_id`, `timestamp`,
    /// `signature` and `password` [+ `password_confirm`] (drr-api.md §2.8).
    ///
    /// By default the link is checked before the new password, so a caller
    /// without a valid link learns nothing about ids or user attributes;
    /// `signature_first = false` restores DRR's order.
    pub async fn reset_password(&self, form: &Form) -> Result<(), ResetPasswordError> {
        let settings = &self.settings.reset_password;
        if !settings.enabled {
            return Err(ResetPasswordError::Disabled);
        }
        let mut errors = ValidationErrors::default();
        let link = LinkFields::read(form, &mut errors);
        let password = errors
            .take("password", required_text(form, "password"))
            .map(Password::new);
        let confirm = if settings.password_confirm {
            errors.take("password_confirm", required_text(form, "password_confirm"))
        } else {
            None
        };
        let (Some(link), Some(password)) = (link, password) else {
            return Err(ResetPasswordError::Invalid(errors));
        };
        errors.into_result().map_err(ResetPasswordError::Invalid)?;

        let user = match link.user_id() {
            Some(id) => self.store.get(id).await?,
            None => None,
        };
        let check_link = |user: &User| {
            self.verify_link(
                &self.reset_salt(user),
                &link,
                None,
                settings.verification_period,
            )
        };
        let check_password = |user: &User| {
            let mut errors = ValidationErrors::default();
            policy_errors(
                &self.policy,
                &password,
                &attributes(user),
                "password",
                &mut errors,
            );
            if settings.password_confirm && confirm.as_deref() != Some(password.expose()) {
                errors.add("password_confirm", passwords_do_not_match());
            }
            if errors.is_empty() {
                Ok(())
            } else {
                errors.non_field = Some(Vec::new());
                Err(ResetPasswordError::Invalid(errors))
            }
        };
        let user = if settings.signature_first {
            let user = user.ok_or(ResetPasswordError::InvalidSignature)?;
            check_link(&user)?;
            check_password(&user)?;
            user
        } else {
            let user = user.ok_or(ResetPasswordError::UserNotFound)?;
            check_password(&user)?;
            check_link(&user)?;
            user
        };

        let new_hash = self.hasher.hash(&password).await?;
        self.end_credentials(user.id, settings.ends, None).await?;
        let change = UserChange {
            password_hash: Some(new_hash),
            // Under one-time use, a concurrent reset with the same link loses here.
            guard: settings
                .one_time_use
                .then(|| UserGuard::PasswordHash(user.password_hash.clone())),
            ..UserChange::default()
        };
        let notice = self.change_notice(
            &user,
            user.email.as_ref(),
            NotificationKind::PasswordChanged,
        );
        match self.store.update(user.id, change, notice).await {
            Ok(_) => Ok(()),
            Err(StoreError::GuardFailed) => Err(ResetPasswordError::InvalidSignature),
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testkit::*;
    use crate::settings::LoginField;
    use crate::signing::Salt;

    #[test]
    fn send_reset_link_queues_a_one_time_link_for_an_unverified_user_too() {
        let mut kit = Kit::new();
        let stored = User {
            verified: false,
            ..user(4, "ann")
        };
        kit.store
            .expect_find_by_username()
            .returning(move |_, _| Ok(Some(stored.clone())));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        let expected_sig = kit.sign(
            &Salt::reset_password_one_time(&hash("current")),
            "4",
            None,
            NOW,
        );
        kit.store
            .expect_enqueue()
            .withf(move |mails| {
                let [mail] = mails.as_slice() else {
                    return false;
                };
                let NotificationKind::ResetPassword { link } = &mail.kind else {
                    return false;
                };
                mail.to == "ann@example.org"
                    && link.param("signature") == Some(expected_sig.as_str())
                    && link
                        .url
                        .starts_with("https://front.test/reset-password/?user_id=4&")
            })
            .times(1)
            .returning(|_| Ok(()));
        assert!(
            block_on(
                kit.accounts()
                    .send_reset_password_link(&Form::new().text("login", "ann"))
            )
            .is_ok()
        );
    }

    #[test]
    fn send_reset_link_unknown_user_is_silent_by_default_and_an_error_in_drr_mode() {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.store.expect_enqueue().never();
        assert!(
            block_on(
                kit.accounts()
                    .send_reset_password_link(&Form::new().text("login", "nobody"))
            )
            .is_ok()
        );

        let mut kit = Kit::drr();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .send_reset_password_link(&Form::new().text("login", "nobody"))
            ),
            Err(SendResetLinkError::UserNotFound)
        ));
    }

    #[test]
    fn send_reset_link_by_email_field_finds_the_user_even_without_email_login() {
        let mut kit = Kit::new();
        kit.settings.reset_password.use_email = true;
        kit.settings.login_fields = vec![LoginField::Username];
        kit.store
            .expect_find_by_email()
            .withf(|e, _| e == "ann@example.org")
            .returning(|_, _| Ok(Some(user(4, "ann"))));
        kit.store.expect_enqueue().times(1).returning(|_| Ok(()));
        let accounts = kit.accounts();
        let form = Form::new()
            .text("email", "ann@example.org")
            .text("login", "ignored");
        assert!(block_on(accounts.send_reset_password_link(&form)).is_ok());
    }

    #[test]
    fn send_reset_link_missing_field_disabled_and_store_failure() {
        let kit = Kit::new();
        assert!(matches!(
            block_on(kit.accounts().send_reset_password_link(&Form::new())),
            Err(SendResetLinkError::Invalid(_))
        ));
        let mut kit = Kit::new();
        kit.settings.reset_password.enabled = false;
        assert!(matches!(
            block_on(kit.accounts().send_reset_password_link(&Form::new())),
            Err(SendResetLinkError::Disabled)
        ));
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(Some(user(4, "ann"))));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.store.expect_enqueue().returning(|_| Err(down()));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .send_reset_password_link(&Form::new().text("login", "ann"))
            ),
            Err(SendResetLinkError::Store(_))
        ));
    }

    fn reset_form(kit: &Kit, salt: &Salt, user_id: &str, password: &str) -> Form {
        Form::new()
            .text("user_id", user_id)
            .text("timestamp", NOW.to_string())
            .text("signature", kit.sign(salt, user_id, None, NOW))
            .text("password", password)
    }

    #[test]
    fn reset_password_sets_the_hash_with_a_guard_and_ends_credentials() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(4, "ann"))));
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.tokens
            .expect_revoke_all()
            .withf(|id, kind, keep| *id == uid(4) && kind.is_none() && keep.is_none())
            .times(1)
            .returning(|_, _, _| Ok(2));
        kit.store
            .expect_update()
            .withf(|_, change, mails| {
                matches!(mails.as_slice(), [m] if m.kind == NotificationKind::PasswordChanged)
                    && change.password_hash == Some(hash("new"))
                    && change.guard == Some(UserGuard::PasswordHash(hash("current")))
                    && change.verified.is_none()
            })
            .returning(|_, _, _| Ok(user(4, "ann")));
        let form = reset_form(
            &kit,
            &Salt::reset_password_one_time(&hash("current")),
            "4",
            "a fresh passphrase",
        );
        assert!(block_on(kit.accounts().reset_password(&form)).is_ok());
    }

    #[test]
    fn reset_password_link_dies_after_password_change() {
        let mut kit = Kit::new();
        kit.store.expect_get().returning(|_| {
            Ok(Some(User {
                password_hash: hash("changed"),
                ..user(4, "ann")
            }))
        });
        let form = reset_form(
            &kit,
            &Salt::reset_password_one_time(&hash("current")),
            "4",
            "a fresh passphrase",
        );
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::InvalidSignature)
        ));
    }

    #[test]
    fn reset_password_checks_the_link_before_the_password_by_default() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(4, "ann"))));
        let form = reset_form(&kit, &Salt::reset_password(), "4", "123");
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::InvalidSignature)
        ));

        let mut kit = Kit::new();
        kit.store.expect_get().returning(|_| Ok(None));
        let form = reset_form(&kit, &Salt::reset_password(), "99", "a fresh passphrase");
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::InvalidSignature)
        ));
    }

    #[test]
    fn reset_password_drr_order_reports_user_then_password_then_link() {
        let mut kit = Kit::drr();
        kit.store.expect_get().returning(|_| Ok(None));
        let form = reset_form(&kit, &Salt::reset_password(), "99", "a fresh passphrase");
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::UserNotFound)
        ));

        let mut kit = Kit::drr();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(4, "ann"))));
        let form = reset_form(&kit, &Salt::reset_password(), "4", "123").text("signature", "bogus");
        let Err(ResetPasswordError::Invalid(errors)) =
            block_on(kit.accounts().reset_password(&form))
        else {
            panic!("expected invalid")
        };
        assert_eq!(errors.fields["password"].len(), 3);
        assert_eq!(errors.non_field, Some(vec![]));
    }

    #[test]
    fn reset_password_confirm_mismatch_and_expiry() {
        let mut kit = Kit::new();
        kit.settings.reset_password.password_confirm = true;
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(4, "ann"))));
        let form = reset_form(
            &kit,
            &Salt::reset_password_one_time(&hash("current")),
            "4",
            "a fresh passphrase",
        )
        .text("password_confirm", "another passphrase");
        let Err(ResetPasswordError::Invalid(errors)) =
            block_on(kit.accounts().reset_password(&form))
        else {
            panic!("expected invalid")
        };
        assert!(errors.fields.contains_key("password_confirm"));

        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(4, "ann"))));
        let old = NOW - 86_401;
        let salt = Salt::reset_password_one_time(&hash("current"));
        let form = Form::new()
            .text("user_id", "4")
            .text("timestamp", old.to_string())
            .text("signature", kit.sign(&salt, "4", None, old))
            .text("password", "a fresh passphrase");
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::SignatureExpired)
        ));
    }

    #[test]
    fn reset_password_concurrent_use_and_port_failures_change_nothing() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(4, "ann"))));
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.tokens.expect_revoke_all().returning(|_, _, _| Ok(0));
        kit.store
            .expect_update()
            .returning(|_, _, _| Err(StoreError::GuardFailed));
        let form = reset_form(
            &kit,
            &Salt::reset_password_one_time(&hash("current")),
            "4",
            "a fresh passphrase",
        );
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::InvalidSignature)
        ));

        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(4, "ann"))));
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.tokens
            .expect_revoke_all()
            .returning(|_, _, _| Err(TokenError("down".into())));
        kit.store.expect_update().never();
        let form = reset_form(
            &kit,
            &Salt::reset_password_one_time(&hash("current")),
            "4",
            "a fresh passphrase",
        );
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::Token(_))
        ));

        let mut kit = Kit::new();
        kit.store.expect_get().returning(|_| Err(down()));
        let form = reset_form(&kit, &Salt::reset_password(), "4", "a fresh passphrase");
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::Store(_))
        ));
    }

    #[test]
    fn reset_password_hasher_failure_changes_and_ends_nothing() {
        let mut kit = Kit::new();
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(4, "ann"))));
        kit.hasher
            .expect_hash()
            .returning(|_| Err(HashError::Failed("pool".into())));
        kit.tokens.expect_revoke_all().never();
        kit.store.expect_update().never();
        let form = reset_form(
            &kit,
            &Salt::reset_password_one_time(&hash("current")),
            "4",
            "a fresh passphrase",
        );
        assert!(matches!(
            block_on(kit.accounts().reset_password(&form)),
            Err(ResetPasswordError::Hash(_))
        ));
    }
}
