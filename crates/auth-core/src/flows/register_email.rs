//! `register-email/` and `verify-email/`: change the address, confirmed by
//! a link sent to the new one.

use super::{Accounts, Authenticated, LinkFields};
use crate::domain::{UserChange, UserGuard};
use crate::form::{Form, ValidationErrors, read_email, required_text};
use crate::notification::{Notification, NotificationKind};
use crate::ports::{HashError, StoreError, UniqueField};
use crate::signing::{LinkError, Salt};

/// Why an e-mail change request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterEmailError {
    /// Missing or invalid address.
    #[error("invalid e-mail change")]
    Invalid(ValidationErrors),
    /// Verification off and the address is taken.
    #[error("This email is already registered.")]
    EmailAlreadyRegistered,
    /// The store failed; nothing was queued or changed.
    #[error(transparent)]
    Store(StoreError),
    /// The password could not be checked; nothing was queued or changed.
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<StoreError> for RegisterEmailError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(UniqueField::Email) => Self::EmailAlreadyRegistered,
            other => Self::Store(other),
        }
    }
}

/// Why an e-mail change link was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyEmailError {
    /// E-mail change verification is off.
    #[error("e-mail verification is turned off")]
    Disabled,
    /// Missing or malformed fields.
    #[error("invalid e-mail verification data")]
    Invalid(ValidationErrors),
    /// Tampered, foreign or superseded link.
    #[error("Invalid signature")]
    InvalidSignature,
    /// Older than `REGISTER_EMAIL_VERIFICATION_PERIOD`.
    #[error("Signature expired")]
    SignatureExpired,
    /// The address is now used by an account (this one included).
    #[error("This email is already registered.")]
    EmailAlreadyRegistered,
    /// No such active user.
    #[error("User not found")]
    UserNotFound,
    /// The store failed; the address is unchanged.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for VerifyEmailError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(UniqueField::Email) => Self::EmailAlreadyRegistered,
            StoreError::GuardFailed => Self::InvalidSignature,
            StoreError::NotFound => Self::UserNotFound,
            other => Self::Store(other),
        }
    }
}

impl From<LinkError> for VerifyEmailError {
    fn from(error: LinkError) -> Self {
        match error {
            LinkError::Expired => Self::SignatureExpired,
            LinkError::InvalidSignature | LinkError::FromTheFuture => Self::InvalidSignature,
        }
    }
}

impl Accounts {
    /// Asks to move the caller to `email` (drr-api.md §2.9). With
    /// verification on, a link goes to the new address — or, when another
    /// account owns it, a notice without a link; the answer is the same.
    /// With `newest_only`, the request also becomes the one pending change,
    /// so links of earlier requests stop working.
    pub async fn register_email(
        &self,
        caller: &Authenticated,
        form: &Form,
    ) -> Result<(), RegisterEmailError> {
        let settings = &self.settings.register_email;
        let mut errors = ValidationErrors::default();
        let email = errors.take("email", read_email(form, "email"));
        let password = if settings.requires_password {
            errors.take("password", required_text(form, "password"))
        } else {
            None
        };
        errors.into_result().map_err(RegisterEmailError::Invalid)?;
        let Some(email) = email else {
            return Err(RegisterEmailError::Invalid(ValidationErrors::default()));
        };
        if let Some(password) = password {
            self.reauthenticate(caller, password).await?.map_err(|e| {
                RegisterEmailError::Invalid(ValidationErrors::single("password", e))
            })?;
        }
        let me = &caller.user;
        let taken = self.email_taken(&email, None).await?;

        if !settings.verification_enabled {
            if taken {
                return Err(RegisterEmailError::EmailAlreadyRegistered);
            }
            let notice = self.change_notice(
                me,
                me.email.as_ref(),
                NotificationKind::EmailChanged {
                    email: email.as_str().to_owned(),
                },
            );
            let change = UserChange {
                email: Some(Some(email)),
                ..UserChange::default()
            };
            self.store.update(me.id, change, notice).await?;
            return Ok(());
        }

        if taken {
            let notice = Notification {
                to: email.as_str().to_owned(),
                user: me.into(),
                kind: NotificationKind::EmailAlreadyUsed {
                    email: email.as_str().to_owned(),
                },
            };
            self.store.enqueue(vec![notice]).await?;
            return Ok(());
        }
        let link = self.link(
            &settings.verification_url,
            &Salt::register_email(),
            me.id,
            Some(&email),
        );
        let mail = Notification {
            to: email.as_str().to_owned(),
            user: me.into(),
            kind: NotificationKind::RegisterEmailVerification {
                email: email.as_str().to_owned(),
                link,
            },
        };
        if settings.newest_only {
            let change = UserChange {
                pending_email: Some(Some(email)),
                ..UserChange::default()
            };
            self.store.update(me.id, change, vec![mail]).await?;
        } else {
            self.store.enqueue(vec![mail]).await?;
        }
        Ok(())
    }

    /// Confirms an address change from the link's `user_id`, `email`,
    /// `timestamp`, `signature` (drr-api.md §2.10).
    pub async fn verify_email(&self, form: &Form) -> Result<(), VerifyEmailError> {
        let settings = &self.settings.register_email;
        if !settings.verification_enabled {
            return Err(VerifyEmailError::Disabled);
        }
        let mut errors = ValidationErrors::default();
        let link = LinkFields::read(form, &mut errors);
        let email = errors.take("email", read_email(form, "email"));
        let (Some(link), Some(email)) = (link, email) else {
            return Err(VerifyEmailError::Invalid(errors));
        };

        self.verify_link(
            &Salt::register_email(),
            &link,
            Some(email.as_str()),
            settings.verification_period,
        )?;
        if self.email_taken(&email, None).await? {
            return Err(VerifyEmailError::EmailAlreadyRegistered);
        }
        let user = match link.user_id() {
            Some(id) => self.store.get(id).await?,
            None => None,
        };
        let user = user
            .filter(|u| u.active && (u.verified || !self.settings.register.verification_enabled))
            .ok_or(VerifyEmailError::UserNotFound)?;
        let guard = if settings.newest_only {
            // Exact text: the link must be for the newest request, as asked.
            match &user.pending_email {
                Some(pending) if pending.as_str() == email.as_str() => {
                    Some(UserGuard::PendingEmail(pending.clone()))
                }
                _ => return Err(VerifyEmailError::InvalidSignature),
            }
        } else {
            None
        };
        let notice = self.change_notice(
            &user,
            user.email.as_ref(),
            NotificationKind::EmailChanged {
                email: email.as_str().to_owned(),
            },
        );
        let change = UserChange {
            email: Some(Some(email)),
            pending_email: settings.newest_only.then_some(None),
            guard,
            ..UserChange::default()
        };
        self.store.update(user.id, change, notice).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
