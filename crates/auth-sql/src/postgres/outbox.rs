//! `Outbox` on PostgreSQL: due rows are claimed with `FOR UPDATE SKIP
//! LOCKED` and leased, so concurrent workers in several instances each take
//! different rows.

use async_trait::async_trait;
use auth_core::ports::{Outbox, OutboxId, QueuedNotification, StoreError};
use time::{Duration, OffsetDateTime};

use super::PgStore;
use crate::error::store_error;
use crate::row::QueuedRow;

#[async_trait]
impl Outbox for PgStore {
    async fn claim_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<QueuedNotification>, StoreError> {
        let rows: Vec<QueuedRow> = sqlx::query_as(
            "UPDATE outbox SET leased_until = $1
             WHERE id IN (SELECT id FROM outbox
                          WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
                            AND (leased_until IS NULL OR leased_until <= $2)
                          ORDER BY id LIMIT $3
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, payload, attempts::BIGINT",
        )
        .bind((now + lease).unix_timestamp())
        .bind(now.unix_timestamp())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            match row.decode() {
                Ok(queued) => claimed.push(queued),
                Err((id, error)) => self.mark_failed(id, &error, None).await?,
            }
        }
        claimed.sort_by_key(|q| q.id.0);
        Ok(claimed)
    }

    async fn mark_sent(&self, id: OutboxId, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET sent_at = $1, leased_until = NULL WHERE id = $2")
            .bind(at.unix_timestamp())
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: OutboxId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, leased_until = NULL,
                next_attempt_at = COALESCE($2, next_attempt_at),
                failed_at = CASE WHEN $2::BIGINT IS NULL THEN $3 ELSE NULL END
             WHERE id = $4",
        )
        .bind(error)
        .bind(retry_at.map(OffsetDateTime::unix_timestamp))
        .bind(self.now())
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
