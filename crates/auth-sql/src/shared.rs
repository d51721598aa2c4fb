//! Engine-independent logic of the token manager and the outbox. Each
//! engine supplies only its SQL, through the small traits below; the
//! rules live here once.

use async_trait::async_trait;
use auth_core::credentials::{
    TokenMode, credential_id, derived_token, digest, kind_from_name, kind_name, random_token,
};
use auth_core::domain::UserId;
use auth_core::ports::{
    AuthToken, CredentialInfo, CredentialKind, OutboxId, QueuedNotification, StoreError, TokenError,
};
use time::{Duration, OffsetDateTime};

use crate::error::{store_error, token_error};
use crate::row::QueuedRow;

/// How long credentials live; each engine's store holds one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CredentialLimits {
    /// API tokens, from issue (`None`: forever).
    pub token: Option<Duration>,
    /// Sessions, from issue (`None`: forever).
    pub session: Option<Duration>,
    /// Since last use (`None`: no idle timeout).
    pub idle: Option<Duration>,
}

impl CredentialLimits {
    /// How long a credential of `kind` lives after issue.
    pub fn lifetime(&self, kind: CredentialKind) -> Option<Duration> {
        match kind {
            CredentialKind::Token => self.token,
            CredentialKind::Session => self.session,
        }
    }
}

/// The credential statements of one engine.
#[async_trait]
pub(crate) trait CredentialSql: Send + Sync {
    /// How API tokens are issued.
    fn mode(&self) -> &TokenMode;
    /// How long credentials live.
    fn limits(&self) -> &CredentialLimits;
    /// Unix seconds now.
    fn now(&self) -> i64;
    /// The user's token generation (one-token mode).
    async fn generation(&self, user: i64) -> Result<Option<i64>, sqlx::Error>;
    /// Moves the user's token generation on.
    async fn bump_generation(&self, user: i64) -> Result<(), sqlx::Error>;
    /// Stores a digest (no-op if present).
    async fn insert(
        &self,
        digest: Vec<u8>,
        user: i64,
        kind: &'static str,
        now: i64,
    ) -> Result<(), sqlx::Error>;
    /// The owner of a digest of `kind` issued at or after `not_before`, and
    /// when the digest was last used (its issue time if never).
    async fn owner(
        &self,
        digest: Vec<u8>,
        kind: &'static str,
        not_before: i64,
    ) -> Result<Option<(i64, i64)>, sqlx::Error>;
    /// Records a use of a digest at `now`.
    async fn touch(&self, digest: Vec<u8>, now: i64) -> Result<(), sqlx::Error>;
    /// Deletes a digest of `kind`, returning its owner.
    async fn delete(&self, digest: Vec<u8>, kind: &'static str)
    -> Result<Option<i64>, sqlx::Error>;
    /// A user's stored digests with their kind, issue and last-use times,
    /// oldest first.
    async fn of_user(&self, user: i64) -> Result<Vec<(Vec<u8>, String, i64, i64)>, sqlx::Error>;
    /// Deletes a user's digests (of `kind`, except `keep`), returning their kinds.
    async fn delete_all(
        &self,
        user: i64,
        kind: Option<&'static str>,
        keep: Option<Vec<u8>>,
    ) -> Result<Vec<String>, sqlx::Error>;
}

pub(crate) async fn provide(
    sql: &impl CredentialSql,
    user: UserId,
    kind: CredentialKind,
) -> Result<AuthToken, TokenError> {
    let token = match (sql.mode(), kind) {
        (TokenMode::OnePerUser { key }, CredentialKind::Token) => {
            let generation = sql.generation(user.get()).await.map_err(token_error)?;
            derived_token(key, user, generation.unwrap_or(0))
        }
        _ => random_token(),
    };
    sql.insert(digest(&token), user.get(), kind_name(kind), sql.now())
        .await
        .map_err(token_error)?;
    Ok(token)
}

pub(crate) async fn authenticate(
    sql: &impl CredentialSql,
    token: &AuthToken,
    kind: CredentialKind,
) -> Result<Option<UserId>, TokenError> {
    // An expired credential is refused here; it is deleted when its user's
    // credentials are next revoked.
    let now = sql.now();
    let digest = digest(token);
    let Some((owner, last_used)) = sql
        .owner(digest.clone(), kind_name(kind), not_before(sql, kind, now))
        .await
        .map_err(token_error)?
    else {
        return Ok(None);
    };
    if let Some(idle) = sql.limits().idle {
        if last_used < now.saturating_sub(idle.whole_seconds()) {
            return Ok(None);
        }
        if now - last_used >= auth_core::credentials::touch_every(idle) {
            sql.touch(digest, now).await.map_err(token_error)?;
        }
    }
    Ok(Some(UserId::new(owner)))
}

/// The oldest issue time a live credential of `kind` can have.
fn not_before(sql: &impl CredentialSql, kind: CredentialKind, now: i64) -> i64 {
    sql.limits().lifetime(kind).map_or(i64::MIN, |lifetime| {
        now.saturating_sub(lifetime.whole_seconds())
    })
}

/// In one-token mode a revoked token must not come back at the next login:
/// moving the user's generation on derives a new one.
async fn forget_derived(sql: &impl CredentialSql, user: i64) -> Result<(), TokenError> {
    if matches!(sql.mode(), TokenMode::OnePerUser { .. }) {
        sql.bump_generation(user).await.map_err(token_error)?;
    }
    Ok(())
}

pub(crate) async fn revoke(
    sql: &impl CredentialSql,
    token: &AuthToken,
    kind: CredentialKind,
) -> Result<bool, TokenError> {
    let owner = sql
        .delete(digest(token), kind_name(kind))
        .await
        .map_err(token_error)?;
    if let (Some(user), CredentialKind::Token) = (owner, kind) {
        forget_derived(sql, user).await?;
    }
    Ok(owner.is_some())
}

pub(crate) async fn revoke_all(
    sql: &impl CredentialSql,
    user: UserId,
    kind: Option<CredentialKind>,
    keep: Option<AuthToken>,
) -> Result<u64, TokenError> {
    let kinds = sql
        .delete_all(user.get(), kind.map(kind_name), keep.as_ref().map(digest))
        .await
        .map_err(token_error)?;
    if kinds.iter().any(|k| k == kind_name(CredentialKind::Token)) {
        forget_derived(sql, user.get()).await?;
    }
    Ok(kinds.len() as u64)
}

/// The user's credentials that have not expired.
pub(crate) async fn list(
    sql: &impl CredentialSql,
    user: UserId,
) -> Result<Vec<(Vec<u8>, CredentialKind, i64)>, TokenError> {
    let now = sql.now();
    let idle_cutoff = sql
        .limits()
        .idle
        .map_or(i64::MIN, |idle| now.saturating_sub(idle.whole_seconds()));
    let rows = sql.of_user(user.get()).await.map_err(token_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|(digest, kind, created, last_used)| {
            let kind = kind_from_name(&kind)?;
            let live = created >= not_before(sql, kind, now) && last_used >= idle_cutoff;
            live.then_some((digest, kind, created))
        })
        .collect())
}

pub(crate) async fn list_info(
    sql: &impl CredentialSql,
    user: UserId,
) -> Result<Vec<CredentialInfo>, TokenError> {
    Ok(list(sql, user)
        .await?
        .into_iter()
        .map(|(digest, kind, created)| CredentialInfo {
            id: credential_id(&digest),
            kind,
            created_at: time::OffsetDateTime::from_unix_timestamp(created).ok(),
        })
        .collect())
}

pub(crate) async fn revoke_id(
    sql: &impl CredentialSql,
    user: UserId,
    id: &str,
) -> Result<bool, TokenError> {
    let Some((digest, kind, _)) = list(sql, user)
        .await?
        .into_iter()
        .find(|(digest, _, _)| credential_id(digest) == id)
    else {
        return Ok(false);
    };
    let owner = sql
        .delete(digest, kind_name(kind))
        .await
        .map_err(token_error)?;
    if let (Some(user), CredentialKind::Token) = (owner, kind) {
        forget_derived(sql, user).await?;
    }
    Ok(owner.is_some())
}

/// The outbox statements of one engine.
#[async_trait]
pub(crate) trait OutboxSql: Send + Sync {
    /// Leases up to `limit` due rows until `until`.
    async fn claim(&self, now: i64, until: i64, limit: i64) -> Result<Vec<QueuedRow>, sqlx::Error>;
    /// Marks a row sent.
    async fn sent(&self, id: i64, at: i64) -> Result<(), sqlx::Error>;
    /// Records a failed attempt; `retry_at` `None` gives up at `now`.
    async fn failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), sqlx::Error>;
    /// Unix seconds now.
    fn now(&self) -> i64;
}

pub(crate) async fn claim_due(
    sql: &impl OutboxSql,
    now: OffsetDateTime,
    limit: u32,
    lease: Duration,
) -> Result<Vec<QueuedNotification>, StoreError> {
    let rows = sql
        .claim(
            now.unix_timestamp(),
            (now + lease).unix_timestamp(),
            i64::from(limit),
        )
        .await
        .map_err(store_error)?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        match row.decode() {
            Ok(queued) => claimed.push(queued),
            // A row this version cannot read is set aside, not retried forever.
            Err((id, error)) => mark_failed(sql, id, &error, None).await?,
        }
    }
    claimed.sort_by_key(|q| q.id.0);
    Ok(claimed)
}

pub(crate) async fn mark_sent(
    sql: &impl OutboxSql,
    id: OutboxId,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sql.sent(id.0, at.unix_timestamp())
        .await
        .map_err(store_error)
}

pub(crate) async fn mark_failed(
    sql: &impl OutboxSql,
    id: OutboxId,
    error: &str,
    retry_at: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    sql.failed(
        id.0,
        error,
        retry_at.map(OffsetDateTime::unix_timestamp),
        sql.now(),
    )
    .await
    .map_err(store_error)
}

/// Implements the `TokenManager` and `Outbox` ports for an engine's store
/// by delegating to the rules above; the engine implements only
/// [`CredentialSql`] and [`OutboxSql`].
macro_rules! impl_ports_over_sql {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl auth_core::ports::TokenManager for $store {
            async fn provide(
                &self,
                user: auth_core::domain::UserId,
                kind: auth_core::ports::CredentialKind,
            ) -> Result<auth_core::ports::AuthToken, auth_core::ports::TokenError> {
                $crate::shared::provide(self, user, kind).await
            }

            async fn authenticate(
                &self,
                token: &auth_core::ports::AuthToken,
                kind: auth_core::ports::CredentialKind,
            ) -> Result<Option<auth_core::domain::UserId>, auth_core::ports::TokenError> {
                $crate::shared::authenticate(self, token, kind).await
            }

            async fn revoke(
                &self,
                token: &auth_core::ports::AuthToken,
                kind: auth_core::ports::CredentialKind,
            ) -> Result<bool, auth_core::ports::TokenError> {
                $crate::shared::revoke(self, token, kind).await
            }

            async fn revoke_all(
                &self,
                user: auth_core::domain::UserId,
                kind: Option<auth_core::ports::CredentialKind>,
                keep: Option<auth_core::ports::AuthToken>,
            ) -> Result<u64, auth_core::ports::TokenError> {
                $crate::shared::revoke_all(self, user, kind, keep).await
            }

            async fn list(
                &self,
                user: auth_core::domain::UserId,
            ) -> Result<Vec<auth_core::ports::CredentialInfo>, auth_core::ports::TokenError> {
                $crate::shared::list_info(self, user).await
            }

            async fn revoke_id(
                &self,
                user: auth_core::domain::UserId,
                id: &str,
            ) -> Result<bool, auth_core::ports::TokenError> {
                $crate::shared::revoke_id(self, user, id).await
            }
        }

        #[async_trait::async_trait]
        impl auth_core::ports::Outbox for $store {
            async fn claim_due(
                &self,
                now: time::OffsetDateTime,
                limit: u32,
                lease: time::Duration,
            ) -> Result<Vec<auth_core::ports::QueuedNotification>, auth_core::ports::StoreError>
            {
                $crate::shared::claim_due(self, now, limit, lease).await
            }

            async fn mark_sent(
                &self,
                id: auth_core::ports::OutboxId,
                at: time::OffsetDateTime,
            ) -> Result<(), auth_core::ports::StoreError> {
                $crate::shared::mark_sent(self, id, at).await
            }

            async fn mark_failed(
                &self,
                id: auth_core::ports::OutboxId,
                error: &str,
                retry_at: Option<time::OffsetDateTime>,
            ) -> Result<(), auth_core::ports::StoreError> {
                $crate::shared::mark_failed(self, id, error, retry_at).await
            }
        }
    };
}
pub(crate) use impl_ports_over_sql;
