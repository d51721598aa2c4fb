//! `logout/`: end the caller's session and, if asked, revoke tokens.

use super::{Accounts, Authenticated};
use crate::form::{Form, ValidationErrors, read_bool};
use crate::ports::{CredentialKind, TokenError};

/// Why a logout failed.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// `revoke_token` is not a boolean.
    #[error("invalid logout data")]
    Invalid(ValidationErrors),
    /// `revoke_token` was asked but the user has no token.
    #[error("Authentication token not found")]
    TokenNotFound,
    /// The token store failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl Accounts {
    /// Logs the caller out (drr-api.md §2.4): ends the session it used;
    /// with `revoke_token`, revokes every token of the user. With
    /// `logout_revokes_token` (our default), the token the request used is
    /// revoked even without `revoke_token`.
    pub async fn logout(&self, caller: &Authenticated, form: &Form) -> Result<(), LogoutError> {
        let revoke_token = read_bool(form, "revoke_token")
            .map_err(|e| LogoutError::Invalid(ValidationErrors::single("revoke_token", e)))?;
        let settings = &self.settings.login;

        if caller.kind == CredentialKind::Session {
            self.tokens
                .revoke(&caller.credential, CredentialKind::Session)
                .await?;
        }
        let mut revoked_own = false;
        if caller.kind == CredentialKind::Token && settings.logout_revokes_token {
            revoked_own = self
                .tokens
                .revoke(&caller.credential, CredentialKind::Token)
                .await?
                .is_some();
        }
        if settings.retrieve_token && revoke_token {
            let revoked = self
                .tokens
                .revoke_all(caller.user.id, Some(CredentialKind::Token), None)
                .await?;
            if revoked == 0 && !revoked_own {
                return Err(LogoutError::TokenNotFound);
            }
        }
        Ok(())
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
            credential: token("cred"),
        }
    }

    #[test]
    fn logout_by_token_revokes_it_by_default() {
        let mut kit = Kit::new();
        kit.tokens
            .expect_revoke()
            .withf(|t, k| t.expose() == "cred" && *k == CredentialKind::Token)
            .times(1)
            .returning(|_, _| Ok(Some(uid(1))));
        assert!(
            block_on(
                kit.accounts()
                    .logout(&caller(CredentialKind::Token), &Form::new())
            )
            .is_ok()
        );
    }

    #[test]
    fn logout_by_token_in_drr_mode_keeps_the_token() {
        let mut kit = Kit::drr();
        kit.tokens.expect_revoke().never();
        kit.tokens.expect_revoke_all().never();
        assert!(
            block_on(
                kit.accounts()
                    .logout(&caller(CredentialKind::Token), &Form::new())
            )
            .is_ok()
        );
    }

    #[test]
    fn logout_by_session_ends_it_and_revoke_token_needs_a_token() {
        let mut kit = Kit::drr();
        kit.tokens
            .expect_revoke()
            .withf(|_, k| *k == CredentialKind::Session)
            .times(1)
            .returning(|_, _| Ok(Some(uid(1))));
        kit.tokens.expect_revoke_all().returning(|_, _, _| Ok(0));
        let form = Form::new().text("revoke_token", "true");
        assert!(matches!(
            block_on(
                kit.accounts()
                    .logout(&caller(CredentialKind::Session), &form)
            ),
            Err(LogoutError::TokenNotFound)
        ));
    }

    #[test]
    fn logout_revoke_token_revokes_all_tokens_of_the_user() {
        let mut kit = Kit::drr();
        kit.tokens
            .expect_revoke_all()
            .withf(|id, kind, keep| {
                *id == uid(1) && *kind == Some(CredentialKind::Token) && keep.is_none()
            })
            .returning(|_, _, _| Ok(1));
        let form = Form::new().with("revoke_token", crate::form::RawValue::Bool(true));
        assert!(block_on(kit.accounts().logout(&caller(CredentialKind::Token), &form)).is_ok());
    }

    #[test]
    fn logout_bad_boolean_and_store_failure() {
        let kit = Kit::new();
        let form = Form::new().text("revoke_token", "maybe");
        assert!(matches!(
            block_on(kit.accounts().logout(&caller(CredentialKind::Token), &form)),
            Err(LogoutError::Invalid(_))
        ));
        let mut kit = Kit::new();
        kit.tokens
            .expect_revoke()
            .returning(|_, _| Err(TokenError("down".into())));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .logout(&caller(CredentialKind::Session), &Form::new())
            ),
            Err(LogoutError::Token(_))
        ));
    }
}
