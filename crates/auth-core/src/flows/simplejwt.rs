//! simplejwt's token views, as the djoser (`jwt/*`) and dj-rest-auth
//! (`token/*`) dialects serve them: each dialect reads its own fields and
//! answers its own errors around these checks.

use time::OffsetDateTime;

use super::Accounts;
use crate::ports::StoreError;
use crate::signing::jwt::{JwtSigner, TokenType};

/// A refreshed access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// The new access token.
    pub access: String,
    /// When it expires.
    pub access_expires: OffsetDateTime,
}

/// Why a refresh token got no access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefreshRefused {
    /// Not a good refresh token (of another type, expired, or not ours).
    NotValid,
    /// A good token of a user who is gone or may not log in.
    NoActiveAccount,
}

impl Accounts {
    /// `TokenVerifyView`: whether `token` is a good access or refresh token.
    pub(super) fn jwt_is_good(&self, token: &str) -> bool {
        self.jwt.check(token, self.clock.now()).is_ok()
    }

    /// `TokenRefreshView` (no rotation): a new access token for a good
    /// refresh token of a user who may log in.
    pub(super) async fn refresh_access(
        &self,
        refresh: &str,
    ) -> Result<Result<Refreshed, RefreshRefused>, StoreError> {
        let now = self.clock.now();
        let Some(claims) = self
            .jwt
            .check(refresh, now)
            .ok()
            .filter(|c| c.is(TokenType::Refresh))
        else {
            return Ok(Err(RefreshRefused::NotValid));
        };
        let user = match claims.user() {
            Some(id) => self.store.get(id).await?,
            None => None,
        };
        Ok(match user {
            // simplejwt 5.5.1 fails with a 500 for a deleted user; this is its 401.
            Some(user) if user.can_log_in() => Ok(Refreshed {
                access: self.jwt.issue(TokenType::Access, user.id, now),
                access_expires: now + JwtSigner::ACCESS_LIFETIME,
            }),
            _ => Err(RefreshRefused::NoActiveAccount),
        })
    }
}
