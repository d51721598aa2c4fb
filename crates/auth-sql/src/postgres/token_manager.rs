//! `TokenManager` on PostgreSQL: digests only, never the credentials.

use async_trait::async_trait;
use auth_core::domain::UserId;
use auth_core::ports::{AuthToken, CredentialKind, TokenError, TokenManager};

use super::PgStore;
use crate::error::token_error;
use auth_core::credentials::{TokenMode, derived_token, digest, kind_name, random_token};

impl PgStore {
    async fn bump_generation(&self, user: UserId) -> Result<(), TokenError> {
        if matches!(*self.tokens, TokenMode::OnePerUser { .. }) {
            sqlx::query(
                "INSERT INTO token_generations (user_id, generation) VALUES ($1, 1)
                 ON CONFLICT (user_id) DO UPDATE SET generation = token_generations.generation + 1",
            )
            .bind(user.get())
            .execute(&self.pool)
            .await
            .map_err(token_error)?;
        }
        Ok(())
    }
}

#[async_trait]
impl TokenManager for PgStore {
    async fn provide(&self, user: UserId, kind: CredentialKind) -> Result<AuthToken, TokenError> {
        let token = match (&*self.tokens, kind) {
            (TokenMode::OnePerUser { key }, CredentialKind::Token) => {
                let generation: Option<i64> = sqlx::query_scalar(
                    "SELECT generation FROM token_generations WHERE user_id = $1",
                )
                .bind(user.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(token_error)?;
                derived_token(key, user, generation.unwrap_or(0))
            }
            _ => random_token(),
        };
        sqlx::query(
            "INSERT INTO auth_tokens (digest, user_id, kind, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest(&token))
        .bind(user.get())
        .bind(kind_name(kind))
        .bind(self.now())
        .execute(&self.pool)
        .await
        .map_err(token_error)?;
        Ok(token)
    }

    async fn authenticate(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<UserId>, TokenError> {
        let user: Option<i64> =
            sqlx::query_scalar("SELECT user_id FROM auth_tokens WHERE digest = $1 AND kind = $2")
                .bind(digest(token))
                .bind(kind_name(kind))
                .fetch_optional(&self.pool)
                .await
                .map_err(token_error)?;
        Ok(user.map(UserId::new))
    }

    async fn revoke(&self, token: &AuthToken, kind: CredentialKind) -> Result<bool, TokenError> {
        let owner: Option<i64> = sqlx::query_scalar(
            "DELETE FROM auth_tokens WHERE digest = $1 AND kind = $2 RETURNING user_id",
        )
        .bind(digest(token))
        .bind(kind_name(kind))
        .fetch_optional(&self.pool)
        .await
        .map_err(token_error)?;
        if let (Some(user), CredentialKind::Token) = (owner, kind) {
            self.bump_generation(UserId::new(user)).await?;
        }
        Ok(owner.is_some())
    }

    async fn revoke_all(
        &self,
        user: UserId,
        kind: Option<CredentialKind>,
        keep: Option<AuthToken>,
    ) -> Result<u64, TokenError> {
        let revoked_kinds: Vec<String> = sqlx::query_scalar(
            "DELETE FROM auth_tokens
             WHERE user_id = $1 AND ($2::TEXT IS NULL OR kind = $2) AND ($3::BYTEA IS NULL OR digest <> $3)
             RETURNING kind",
        )
        .bind(user.get())
        .bind(kind.map(kind_name))
        .bind(keep.as_ref().map(digest))
        .fetch_all(&self.pool)
        .await
        .map_err(token_error)?;
        if revoked_kinds.iter().any(|k| k == "token") {
            self.bump_generation(user).await?;
        }
        Ok(revoked_kinds.len() as u64)
    }
}
