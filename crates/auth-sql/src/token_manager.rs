//! `TokenManager`: credentials stored as digests, held to the core's
//! [`CredentialPolicy`](auth_core::credentials::CredentialPolicy).

use async_trait::async_trait;
use auth_core::credentials::{
    Stamps, TokenMode, credential_id, derived_token, digest, kind_from_name, kind_name,
    random_token,
};
use auth_core::domain::UserId;
use auth_core::ports::{
    Adopted, Adoption, AuthToken, CredentialInfo, CredentialKind, Holds, LiveCount, Resolved,
    TokenError, TokenManager,
};
use time::OffsetDateTime;

use crate::error::token_error;
use crate::queries::{Conn, Queries};
use crate::row::CredentialRow;
use crate::store::SqlStore;

fn stamps(row: &CredentialRow) -> Stamps {
    Stamps::from_unix(Some(row.created_at), row.last_used_at)
}

// `Queries` is crate plumbing that every `Engine` implements; callers only
// ever see `SqliteStore` and `PgStore`.
#[allow(private_bounds)]
impl<DB: Queries> SqlStore<DB> {
    fn at(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The user's live credentials, oldest first. An expired one stays
    /// stored until its user's credentials are next revoked.
    async fn live(&self, user: UserId) -> Result<Vec<(CredentialRow, CredentialKind)>, TokenError> {
        let now = self.at();
        let mut conn = self.conn().await.map_err(token_error)?;
        let rows = DB::credentials_of(&mut conn, user.get())
            .await
            .map_err(token_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let kind = kind_from_name(&row.kind)?;
                self.policy
                    .is_live(kind, stamps(&row), now)
                    .then_some((row, kind))
            })
            .collect())
    }

    /// Deletes one credential, answering its owner; in one-token mode a
    /// revoked token must not come back at the next login, so the user's
    /// generation moves on.
    async fn delete(
        &self,
        digest: Vec<u8>,
        kind: CredentialKind,
    ) -> Result<Option<UserId>, TokenError> {
        let mut conn = self.conn().await.map_err(token_error)?;
        let owner = DB::delete_credential(&mut conn, digest, kind_name(kind))
            .await
            .map_err(token_error)?;
        if let (Some(user), CredentialKind::Token) = (owner, kind) {
            self.forget_derived(&mut conn, user).await?;
        }
        Ok(owner.map(UserId::new))
    }

    /// Runs on the caller's connection: the embedded in-memory database
    /// has only one, so waiting for a second would wait forever.
    async fn forget_derived(&self, conn: &mut Conn<DB>, user: i64) -> Result<(), TokenError> {
        if matches!(*self.tokens, TokenMode::OnePerUser { .. }) {
            DB::bump_generation(conn, user).await.map_err(token_error)?;
        }
        Ok(())
    }
}

#[async_trait]
impl<DB: Queries> TokenManager for SqlStore<DB> {
    async fn provide(&self, user: UserId, kind: CredentialKind) -> Result<AuthToken, TokenError> {
        let mut conn = self.conn().await.map_err(token_error)?;
        let token = match (&*self.tokens, kind) {
            (TokenMode::OnePerUser { key }, CredentialKind::Token) => {
                let generation = DB::generation(&mut conn, user.get())
                    .await
                    .map_err(token_error)?;
                derived_token(key, user, generation.unwrap_or(0))
            }
            _ => random_token(),
        };
        DB::insert_credential(
            &mut conn,
            digest(&token),
            user.get(),
            kind_name(kind),
            self.now(),
        )
        .await
        .map_err(token_error)?;
        Ok(token)
    }

    async fn resolve(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<Resolved>, TokenError> {
        let now = self.at();
        let mut conn = self.conn().await.map_err(token_error)?;
        let Some(row) = DB::credential(&mut conn, digest(token), kind_name(kind))
            .await
            .map_err(token_error)?
        else {
            return Ok(None);
        };
        if !self.policy.is_live(kind, stamps(&row), now) {
            return Ok(None);
        }
        let mut stamps = stamps(&row);
        if self.policy.should_record_use(kind, stamps, now) {
            DB::touch(&mut conn, row.digest, now.unix_timestamp())
                .await
                .map_err(token_error)?;
            stamps.last_used = Some(now);
        }
        Ok(Some(Resolved::owner(
            UserId::new(row.user_id),
            Holds::from_bound(self.policy.holds_until(kind, stamps, now), now),
        )))
    }

    async fn adopt_all(&self, credentials: &[Adoption]) -> Result<Vec<Adopted>, TokenError> {
        let now = self.at();
        let live = |c: &Adoption| {
            let stamps = Stamps::from_unix(Some(c.issued.unix_timestamp()), None);
            self.policy.is_live(c.kind, stamps, now)
        };
        let rows = credentials
            .iter()
            .filter(|c| live(c))
            .map(|c| {
                let issued = c.issued.unix_timestamp();
                (digest(&c.token), c.user.get(), kind_name(c.kind), issued)
            })
            .collect();
        let mut conn = self.conn().await.map_err(token_error)?;
        let stored: std::collections::HashSet<Vec<u8>> = DB::insert_credentials(&mut conn, rows)
            .await
            .map_err(token_error)?
            .into_iter()
            .collect();
        Ok(credentials
            .iter()
            .map(|c| {
                if !live(c) {
                    Adopted::Expired
                } else if stored.contains(&digest(&c.token)) {
                    Adopted::Stored
                } else {
                    Adopted::AlreadyStored
                }
            })
            .collect())
    }

    async fn revoke(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<UserId>, TokenError> {
        self.delete(digest(token), kind).await
    }

    async fn revoke_all(
        &self,
        user: UserId,
        kind: Option<CredentialKind>,
        keep: Option<AuthToken>,
    ) -> Result<u64, TokenError> {
        let mut conn = self.conn().await.map_err(token_error)?;
        let kinds = DB::delete_credentials(
            &mut conn,
            user.get(),
            kind.map(kind_name),
            keep.as_ref().map(digest),
        )
        .await
        .map_err(token_error)?;
        if kinds.iter().any(|k| k == kind_name(CredentialKind::Token)) {
            self.forget_derived(&mut conn, user.get()).await?;
        }
        Ok(kinds.len() as u64)
    }

    async fn list(&self, user: UserId) -> Result<Vec<CredentialInfo>, TokenError> {
        Ok(self
            .live(user)
            .await?
            .into_iter()
            .map(|(row, kind)| CredentialInfo {
                id: credential_id(&row.digest),
                kind,
                created_at: OffsetDateTime::from_unix_timestamp(row.created_at).ok(),
            })
            .collect())
    }

    async fn revoke_id(&self, user: UserId, id: &str) -> Result<bool, TokenError> {
        let found = self
            .live(user)
            .await?
            .into_iter()
            .find(|(row, _)| credential_id(&row.digest) == id);
        match found {
            Some((row, kind)) => Ok(self.delete(row.digest, kind).await?.is_some()),
            None => Ok(false),
        }
    }

    async fn count_live(&self) -> Result<LiveCount, TokenError> {
        let now = self.at();
        let mut conn = self.conn().await.map_err(token_error)?;
        let unix = |at: Option<OffsetDateTime>| at.map_or(i64::MIN, OffsetDateTime::unix_timestamp);
        let mut counts = [0_u64; 2];
        for (slot, kind) in counts
            .iter_mut()
            .zip([CredentialKind::Token, CredentialKind::Session])
        {
            let bounds = self.policy.live_bounds(kind, now);
            let n = DB::count_credentials(
                &mut conn,
                kind_name(kind),
                unix(bounds.issued_since),
                unix(bounds.seen_since),
            )
            .await
            .map_err(token_error)?;
            *slot = u64::try_from(n).unwrap_or(0);
        }
        Ok(LiveCount {
            tokens: counts[0],
            sessions: counts[1],
        })
    }
}
