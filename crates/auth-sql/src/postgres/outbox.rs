//! The outbox statements of this engine; `Outbox` itself is implemented
//! once, in `crate::shared`, over them.

use async_trait::async_trait;

use super::PgStore;
use crate::row::QueuedRow;
use crate::shared::OutboxSql;

#[async_trait]
impl OutboxSql for PgStore {
    async fn claim(&self, now: i64, until: i64, limit: i64) -> Result<Vec<QueuedRow>, sqlx::Error> {
        sqlx::query_as("UPDATE outbox SET leased_until = $2 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, payload, attempts::BIGINT")
            .bind(now)
            .bind(until)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }

    async fn sent(&self, id: i64, at: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE outbox SET sent_at = $1, leased_until = NULL WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    async fn failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, leased_until = NULL, next_attempt_at = COALESCE($2, next_attempt_at), failed_at = CASE WHEN $2::BIGINT IS NULL THEN $3 ELSE NULL END WHERE id = $4")
            .bind(error)
            .bind(retry_at)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    fn now(&self) -> i64 {
        PgStore::now(self)
    }
}
