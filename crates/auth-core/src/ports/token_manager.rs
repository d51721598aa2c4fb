//! Opaque credentials: API tokens and session keys.

use std::fmt;

use async_trait::async_trait;
use zeroize::Zeroizing;

use super::Cause;
use crate::domain::{User, UserId};

/// What a credential is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// Sent as `Authorization: Token …` (or `Bearer …`).
    Token,
    /// Held in a session cookie; unsafe requests need a CSRF token too.
    Session,
}

/// A bearer credential as handed to the client. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(Zeroizing<String>);

impl AuthToken {
    /// Wraps a credential string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret, to send to its owner or to digest for storage.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(***)")
    }
}

/// A live credential as its owner may see it: never the secret, nor the
/// stored digest whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialInfo {
    /// Public id: see [`credential_id`](crate::credentials::credential_id).
    pub id: String,
    /// Token or session.
    pub kind: CredentialKind,
    /// When it was issued, if the store records it.
    pub created_at: Option<time::OffsetDateTime>,
}

/// A credential issued elsewhere, to store for its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// Its owner here.
    pub user: UserId,
    /// The credential as clients send it.
    pub token: AuthToken,
    /// What it is used as.
    pub kind: CredentialKind,
    /// When the old system issued it; its lifetime counts from then.
    pub issued: time::OffsetDateTime,
}

/// What became of an adopted credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adopted {
    /// Stored: it authenticates from now on.
    Stored,
    /// It was stored already (an earlier import); left as it is.
    AlreadyStored,
    /// Past its lifetime under the configured policy: not stored.
    Expired,
}

/// Why the credential store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token store unavailable")]
pub struct TokenError(#[source] pub Cause);

/// Issues, resolves and revokes credentials. Implementations store digests,
/// never the credentials themselves.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait TokenManager: Send + Sync {
    /// A credential of `kind` for `user`. Whether each call makes a new one
    /// or returns the user's existing token (DRR's one token per user) is the
    /// adapter's configuration.
    async fn provide(&self, user: UserId, kind: CredentialKind) -> Result<AuthToken, TokenError>;

    /// The user a live credential of `kind` belongs to, if any, and for
    /// how long that answer holds unless the credential is revoked (see
    /// [`CredentialPolicy::holds_until`](crate::credentials::CredentialPolicy::holds_until)),
    /// for caches in front of the store; a store that cannot say answers
    /// [`Holds::ThisRequest`].
    async fn resolve(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<Resolved>, TokenError>;

    /// The user a live credential of `kind` belongs to, if any.
    async fn authenticate(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<UserId>, TokenError> {
        Ok(self.resolve(token, kind).await?.map(|found| found.user))
    }

    /// Stores existing credentials, issued by the system a site moved from
    /// (DRF token keys), so they authenticate as if issued here, under the
    /// same lifetime rules; what became of each, in order.
    /// Needed by `auth_core::import` only; the default refuses.
    async fn adopt_all(&self, _credentials: &[Adoption]) -> Result<Vec<Adopted>, TokenError> {
        Err(TokenError(Cause::msg(
            "this token manager does not support adopting credentials",
        )))
    }

    /// Revokes one credential; its owner, or `None` if it was not live.
    async fn revoke(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<UserId>, TokenError>;

    /// Revokes every credential of `user` (of `kind` only, when given),
    /// except `keep`; returns how many were revoked.
    async fn revoke_all(
        &self,
        user: UserId,
        kind: Option<CredentialKind>,
        keep: Option<AuthToken>,
    ) -> Result<u64, TokenError>;

    /// The live credentials of `user`, oldest first.
    async fn list(&self, user: UserId) -> Result<Vec<CredentialInfo>, TokenError>;

    /// Revokes the credential of `user` whose public id is `id`; false if
    /// `user` has no such live credential.
    async fn revoke_id(&self, user: UserId, id: &str) -> Result<bool, TokenError>;

    /// How many credentials of every user are live, for monitoring; a
    /// sample taken now and then, not a figure kept up per request. The
    /// default says it cannot count.
    async fn count_live(&self) -> Result<LiveCount, TokenError> {
        Err(TokenError(Cause::msg(
            "this token manager does not count its credentials",
        )))
    }
}

/// A live credential's owner, and how long that answer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Whose it is.
    pub user: UserId,
    /// Until when the store would answer the same, short of a revocation.
    pub holds: Holds,
    /// The owner's account, when the resolver had it at hand and knows it
    /// current as of this answer (a cache holding both); `None` sends the
    /// caller to the user store for it.
    pub account: Option<User>,
}

impl Resolved {
    /// The owner and how long the answer holds, the account left to the
    /// user store.
    pub fn owner(user: UserId, holds: Holds) -> Self {
        Self {
            user,
            holds,
            account: None,
        }
    }
}

/// How long a [`Resolved`] answer holds, short of a revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Ask the store again next time (a use must be recorded, or the
    /// store cannot say).
    ThisRequest,
    /// Until this instant (expiry, idle deadline or next recording of use).
    Until(time::OffsetDateTime),
    /// No limit applies.
    Always,
}

impl Holds {
    /// The answer for a bound from
    /// [`CredentialPolicy::holds_until`](crate::credentials::CredentialPolicy::holds_until).
    pub fn from_bound(until: Option<time::OffsetDateTime>, now: time::OffsetDateTime) -> Self {
        match until {
            None => Self::Always,
            Some(until) if until > now => Self::Until(until),
            Some(_) => Self::ThisRequest,
        }
    }
}

/// Live credentials by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveCount {
    /// API tokens.
    pub tokens: u64,
    /// Sessions.
    pub sessions: u64,
}

impl LiveCount {
    /// The count of `kind`.
    pub fn of(&self, kind: CredentialKind) -> u64 {
        match kind {
            CredentialKind::Token => self.tokens,
            CredentialKind::Session => self.sessions,
        }
    }
}
