//! The credential statements of this engine; `TokenManager` itself is
//! implemented once, in `crate::shared`, over them.

use async_trait::async_trait;
use auth_core::credentials::TokenMode;

use super::PgStore;
use crate::shared::{CredentialLimits, CredentialSql};

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

    fn limits(&self) -> &CredentialLimits {
        &self.limits
    }

    async fn owner(
        &self,
        digest: Vec<u8>,
        kind: &'static str,
        not_before: i64,
    ) -> Result<Option<(i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT user_id, COALESCE(last_used_at, created_at) FROM auth_tokens WHERE digest = $1 AND kind = $2 AND created_at >= $3",
        )
        .bind(digest)
        .bind(kind)
        .bind(not_before)
        .fetch_optional(&self.pool)
        .await
    }

    async fn touch(&self, digest: Vec<u8>, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE auth_tokens SET last_used_at = $2 WHERE digest = $1")
            .bind(digest)
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|_| ())
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

    async fn of_user(&self, user: i64) -> Result<Vec<(Vec<u8>, String, i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT digest, kind, created_at, COALESCE(last_used_at, created_at) FROM auth_tokens WHERE user_id = $1 ORDER BY created_at, digest",
        )
        .bind(user)
        .fetch_all(&self.pool)
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
