//! Resend the registration link (beyond DRR, which has no such endpoint).

use super::Accounts;
use crate::form::{Form, ValidationErrors, required_text};
use crate::notification::{Notification, NotificationKind};
use crate::ports::StoreError;

/// Why a resend request failed.
#[derive(Debug, thiserror::Error)]
pub enum ResendVerificationError {
    /// Registration verification is off.
    #[error("registration verification is turned off")]
    Disabled,
    /// Missing `login`.
    #[error("invalid resend request")]
    Invalid(ValidationErrors),
    /// The store failed; nothing was queued.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Accounts {
    /// Queues a fresh registration link for the unverified user `login`
    /// names. The answer is the same whether such a user exists, is already
    /// verified, or not, so it reveals no account.
    pub async fn resend_verification(&self, form: &Form) -> Result<(), ResendVerificationError> {
        let settings = &self.settings.register;
        if !settings.verification_enabled {
            return Err(ResendVerificationError::Disabled);
        }
        let login = required_text(form, "login")
            .map_err(|e| ResendVerificationError::Invalid(ValidationErrors::single("login", e)))?;
        let pending = self
            .users_by_login(&login)
            .await?
            .into_iter()
            .find(|u| !u.verified && u.active);
        if let Some(user) = pending
            && let Some(email) = &user.email
        {
            let link = self.link(
                &settings.verification_url,
                &self.register_salt(&user),
                user.id,
                None,
            );
            let mail = Notification {
                to: email.as_str().to_owned(),
                user: (&user).into(),
                kind: NotificationKind::RegisterVerification { link },
            };
            self.store.enqueue(vec![mail]).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::User;
    use crate::flows::testkit::*;

    #[test]
    fn resend_verification_queues_a_link_for_an_unverified_user() {
        let mut kit = Kit::new();
        kit.store.expect_find_by_username().returning(|_, _| {
            Ok(Some(User {
                verified: false,
                ..user(3, "ann")
            }))
        });
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.store
            .expect_enqueue()
            .withf(|mails| matches!(mails.as_slice(), [m] if matches!(m.kind, NotificationKind::RegisterVerification { .. })))
            .times(1)
            .returning(|_| Ok(()));
        assert!(
            block_on(
                kit.accounts()
                    .resend_verification(&Form::new().text("login", "ann"))
            )
            .is_ok()
        );
    }

    #[test]
    fn resend_verification_answers_alike_for_verified_and_unknown_users() {
        for stored in [Some(user(3, "ann")), None] {
            let mut kit = Kit::new();
            kit.store
                .expect_find_by_username()
                .returning(move |_, _| Ok(stored.clone()));
            kit.store.expect_find_by_email().returning(|_, _| Ok(None));
            kit.store.expect_enqueue().never();
            assert!(
                block_on(
                    kit.accounts()
                        .resend_verification(&Form::new().text("login", "ann"))
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn resend_verification_missing_login_and_store_failure() {
        let kit = Kit::new();
        assert!(matches!(
            block_on(kit.accounts().resend_verification(&Form::new())),
            Err(ResendVerificationError::Invalid(_))
        ));
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Err(down()));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .resend_verification(&Form::new().text("login", "ann"))
            ),
            Err(ResendVerificationError::Store(_))
        ));
    }
}
