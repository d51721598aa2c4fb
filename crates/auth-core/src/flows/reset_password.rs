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
mod tests;
