//! Resolving a presented credential to a user.

use super::Accounts;
use crate::domain::User;
use crate::ports::{AuthToken, CredentialKind, StoreError, TokenError};

/// Why a credential was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// Unknown, revoked or expired credential.
    #[error("Invalid token.")]
    InvalidToken,
    /// The credential's user is gone, unverified or disabled.
    #[error("User inactive or deleted.")]
    UserInactive,
    /// The token store failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The user store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request's authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who is calling.
    pub user: User,
    /// How they authenticated.
    pub kind: CredentialKind,
    /// The credential they presented.
    pub credential: AuthToken,
}

impl Accounts {
    /// The caller a token or session key belongs to.
    pub async fn authenticate(
        &self,
        credential: AuthToken,
        kind: CredentialKind,
    ) -> Result<Authenticated, AuthenticateError> {
        let found = self
            .tokens
            .resolve(&credential, kind)
            .await?
            .ok_or(AuthenticateError::InvalidToken)?;
        let account = match found.account {
            Some(account) => Some(account),
            None => self.store.get(found.user).await?,
        };
        match account {
            Some(user) if user.can_log_in() => Ok(Authenticated {
                user,
                kind,
                credential,
            }),
            _ => Err(AuthenticateError::UserInactive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testkit::*;
    use crate::ports::Resolved;

    #[test]
    fn authenticate_resolves_a_live_token() {
        let mut kit = Kit::new();
        kit.tokens
            .expect_resolve()
            .returning(|_, _| Ok(Some(owner(1))));
        kit.store
            .expect_get()
            .returning(|_| Ok(Some(user(1, "ann"))));
        let caller = block_on(
            kit.accounts()
                .authenticate(token("t"), CredentialKind::Token),
        )
        .unwrap();
        assert_eq!(caller.user.id, uid(1));
    }

    #[test]
    fn authenticate_refuses_unknown_tokens_and_inactive_users() {
        let mut kit = Kit::new();
        kit.tokens.expect_resolve().returning(|_, _| Ok(None));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .authenticate(token("t"), CredentialKind::Token)
            ),
            Err(AuthenticateError::InvalidToken)
        ));
        for stored in [
            None,
            Some(User {
                active: false,
                ..user(1, "ann")
            }),
        ] {
            let mut kit = Kit::new();
            kit.tokens
                .expect_resolve()
                .returning(|_, _| Ok(Some(owner(1))));
            kit.store
                .expect_get()
                .returning(move |_| Ok(stored.clone()));
            assert!(matches!(
                block_on(
                    kit.accounts()
                        .authenticate(token("t"), CredentialKind::Session)
                ),
                Err(AuthenticateError::UserInactive)
            ));
        }
    }

    #[test]
    fn authenticate_takes_the_account_the_resolver_brings() {
        for (active, refused) in [(true, false), (false, true)] {
            let mut kit = Kit::new();
            // No expectation on the user store: asking it would panic.
            kit.tokens.expect_resolve().returning(move |_, _| {
                Ok(Some(Resolved {
                    account: Some(User {
                        active,
                        ..user(1, "ann")
                    }),
                    ..owner(1)
                }))
            });
            let answer = block_on(
                kit.accounts()
                    .authenticate(token("t"), CredentialKind::Token),
            );
            assert_eq!(
                matches!(answer, Err(AuthenticateError::UserInactive)),
                refused
            );
            if !refused {
                assert_eq!(answer.unwrap().user.username.as_str(), "ann");
            }
        }
    }

    #[test]
    fn authenticate_reports_store_failures() {
        let mut kit = Kit::new();
        kit.tokens
            .expect_resolve()
            .returning(|_, _| Err(TokenError("down".into())));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .authenticate(token("t"), CredentialKind::Token)
            ),
            Err(AuthenticateError::Token(_))
        ));
    }

    #[test]
    fn authenticate_reports_user_store_failures() {
        let mut kit = Kit::new();
        kit.tokens
            .expect_resolve()
            .returning(|_, _| Ok(Some(owner(1))));
        kit.store.expect_get().returning(|_| Err(down()));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .authenticate(token("t"), CredentialKind::Token)
            ),
            Err(AuthenticateError::Store(_))
        ));
    }
}
