//! The delivery side of the notification outbox. Workflows put
//! notifications in through [`UserStore`](super::UserStore), in the same
//! transaction as the change they announce; a worker takes them out here.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::StoreError;
use crate::notification::Notification;

/// Key of a queued notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutboxId(pub i64);

/// A notification waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedNotification {
    /// Its key.
    pub id: OutboxId,
    /// What to send.
    pub notification: Notification,
    /// Delivery attempts made before this one.
    pub attempts: u32,
}

/// The undelivered mail at one moment, as operators watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Notifications neither sent nor given up.
    pub waiting: u64,
    /// When the oldest of them was queued (`None`: none waits). Mail that
    /// keeps failing keeps its age, so a stuck outbox shows here.
    pub oldest_queued: Option<OffsetDateTime>,
}

/// Queue operations for delivery workers. Several workers (in several
/// processes) may run at once: a claimed row is leased to one worker until
/// the lease ends, so no message is sent twice while its worker lives.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Leases up to `limit` notifications that are due at `now` (not sent,
    /// not given up, retry time reached, no live lease) until `now + lease`.
    async fn claim_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<QueuedNotification>, StoreError>;

    /// Records a successful delivery; the row is never claimed again.
    async fn mark_sent(&self, id: OutboxId, at: OffsetDateTime) -> Result<(), StoreError>;

    /// Records a failed attempt: retry at `retry_at`, or give up when `None`.
    async fn mark_failed(
        &self,
        id: OutboxId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;

    /// The mail waiting now, for monitoring and readiness.
    async fn backlog(&self) -> Result<Backlog, StoreError>;
}
