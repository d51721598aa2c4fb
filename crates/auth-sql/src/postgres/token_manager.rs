//! `TokenManager` on this engine: its SQL only; the rules are in `crate::shared`.

use async_trait::async_trait;
use auth_core::credentials::TokenMode;
use auth_core::domain::UserId;
use auth_core::ports::{AuthToken, CredentialKind, TokenError, TokenManager};

use super::PgStore;
use crate::shared::{self, CredentialSql};

#[async_trait]
impl CredentialSql for PgStore {
    fn mode(&self) -> &TokenMode {
        &self.tokens
    }

    fn now(&self) -> i64 {
        PgStore::now(self)
    }

    async fn generation(&self, user: i64) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT generation FROM token_generations WHERE user_id = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await
    }

    async fn bump_generation(&self, user: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO token_generations (user_id, generation) VALUES ($1, 1) ON CONFLICT (user_id) DO UPDATE SET generation = token_generations.generation + 1").bind(user).execute(&self.pool).await.map(|_| ())
    }

    async fn insert(
        &self,
        digest: Vec<u8>,
        user: i64,
        kind: &'static str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO auth_tokens (digest, user_id, kind, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO NOTHING")
            .bind(digest)
            .bind(user)
            .bind(kind)
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    fn lifetime(&self, kind: CredentialKind) -> Option<time::Duration> {
        match kind {
            CredentialKind::Token => self.lifetimes.0,
            CredentialKind::Session => self.lifetimes.1,
        }
    }

    async fn owner(
        &self,
        digest: Vec<u8>,
        kind: &'static str,
        not_before: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT user_id FROM auth_tokens WHERE digest = $1 AND kind = $2 AND created_at >= $3",
        )
        .bind(digest)
        .bind(kind)
        .bind(not_before)
        .fetch_optional(&self.pool)
        .await
    }

    async fn delete(
        &self,
        digest: Vec<u8>,
        kind: &'static str,
    ) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "DELETE FROM auth_tokens WHERE digest = $1 AND kind = $2 RETURNING user_id",
        )
        .bind(digest)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await
    }

    async fn delete_all(
        &self,
        user: i64,
        kind: Option<&'static str>,
        keep: Option<Vec<u8>>,
    ) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("DELETE FROM auth_tokens WHERE user_id = $1 AND ($2::TEXT IS NULL OR kind = $2) AND ($3::BYTEA IS NULL OR digest <> $3) RETURNING kind")
            .bind(user)
            .bind(kind)
            .bind(keep)
            .fetch_all(&self.pool)
            .await
    }
}

#[async_trait]
impl TokenManager for PgStore {
    async fn provide(&self, user: UserId, kind: CredentialKind) -> Result<AuthToken, TokenError> {
        shared::provide(self, user, kind).await
    }

    async fn authenticate(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<UserId>, TokenError> {
        shared::authenticate(self, token, kind).await
    }

    async fn revoke(&self, token: &AuthToken, kind: CredentialKind) -> Result<bool, TokenError> {
        shared::revoke(self, token, kind).await
    }

    async fn revoke_all(
        &self,
        user: UserId,
        kind: Option<CredentialKind>,
        keep: Option<AuthToken>,
    ) -> Result<u64, TokenError> {
        shared::revoke_all(self, user, kind, keep).await
    }
}
