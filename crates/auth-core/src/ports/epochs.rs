//! Change counters that let caches of credentials and users, in this
//! process or in every instance, tell a stale entry from a good one.

use async_trait::async_trait;

use super::Cause;
use crate::domain::UserId;

/// How many counters users share out: a bounded set, so that a store of
/// any size needs no more, at the price of a change to one user now and
/// then dropping a cached neighbour too.
pub const EPOCH_SLOTS: u64 = 4096;

/// The counter `user` is under.
pub fn epoch_slot(user: UserId) -> u64 {
    user.get().rem_euclid(EPOCH_SLOTS as i64) as u64
}

/// Why a counter could not be read or moved on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change counters unavailable")]
pub struct EpochError(#[source] pub Cause);

/// A counter per user (several users may share one) that moves on after
/// every change to the user or its credentials. A cache notes the counter
/// before it reads the store and keeps the entry only while the counter
/// has not moved, so an entry never outlives a change made anywhere the
/// counters are shared.
#[async_trait]
pub trait Epochs: Send + Sync {
    /// The counter `user` is under now.
    async fn current(&self, user: UserId) -> Result<u64, EpochError>;

    /// Moves `user`'s counter on; called after the change is stored.
    async fn bump(&self, user: UserId) -> Result<(), EpochError>;

    /// Moves the counters of all `users` on (a batch of an import). The
    /// default moves them one by one.
    async fn bump_all(&self, users: &[UserId]) -> Result<(), EpochError> {
        for user in users {
            self.bump(*user).await?;
        }
        Ok(())
    }
}
