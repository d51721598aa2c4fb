//! `Outbox`: leases due mail to a worker, records the outcome.

use async_trait::async_trait;
use auth_core::ports::{Backlog, Outbox, OutboxId, QueuedNotification, StoreError};
use time::{Duration, OffsetDateTime};

use crate::error::store_error;
use crate::queries::Queries;
use crate::store::SqlStore;

#[async_trait]
impl<DB: Queries> Outbox for SqlStore<DB> {
    async fn claim_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<QueuedNotification>, StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        let rows = DB::claim(
            &mut conn,
            now.unix_timestamp(),
            (now + lease).unix_timestamp(),
            i64::from(limit),
        )
        .await
        .map_err(store_error::<DB>)?;
        drop(conn);
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            match row.decode() {
                Ok(queued) => claimed.push(queued),
                // A row this version cannot read is set aside, not retried forever.
                Err((id, error)) => self.mark_failed(id, &error, None).await?,
            }
        }
        claimed.sort_by_key(|q| q.id.0);
        Ok(claimed)
    }

    async fn mark_sent(&self, id: OutboxId, at: OffsetDateTime) -> Result<(), StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        DB::sent(&mut conn, id.0, at.unix_timestamp())
            .await
            .map_err(store_error::<DB>)
    }

    async fn mark_failed(
        &self,
        id: OutboxId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        let retry_at = retry_at.map(OffsetDateTime::unix_timestamp);
        DB::failed(&mut conn, id.0, error.to_owned(), retry_at, self.now())
            .await
            .map_err(store_error::<DB>)
    }

    async fn backlog(&self) -> Result<Backlog, StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        let (waiting, oldest) = DB::backlog(&mut conn).await.map_err(store_error::<DB>)?;
        Ok(Backlog {
            waiting: u64::try_from(waiting).unwrap_or(0),
            oldest_queued: oldest.and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()),
        })
    }
}
