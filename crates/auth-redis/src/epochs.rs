//! `Epochs` in Redis: the change counters every instance's credential
//! cache reads, so a revocation or a disabled account on one instance is
//! seen by the next request on any other.

use std::collections::BTreeSet;

use async_trait::async_trait;
use auth_core::domain::UserId;
use auth_core::ports::{Cause, EpochError, Epochs, epoch_slot};

use crate::connection::{RedisConnection, RedisError};

/// Counters under `{prefix}epoch:{slot}`, one key per slot (a bounded set
/// whatever the number of users), never expiring.
#[derive(Clone)]
pub struct RedisEpochs {
    conn: RedisConnection,
    prefix: String,
}

fn fail(error: RedisError) -> EpochError {
    EpochError(Cause::new(error))
}

impl RedisEpochs {
    /// Counters on `conn`, their keys starting with `prefix`.
    pub fn new(conn: RedisConnection, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
        }
    }

    fn key(&self, slot: u64) -> String {
        format!("{}epoch:{slot}", self.prefix)
    }
}

#[async_trait]
impl Epochs for RedisEpochs {
    async fn current(&self, user: UserId) -> Result<u64, EpochError> {
        let value: Option<u64> = self
            .conn
            .run(redis::cmd("GET").arg(self.key(epoch_slot(user))))
            .await
            .map_err(fail)?;
        Ok(value.unwrap_or(0))
    }

    async fn bump(&self, user: UserId) -> Result<(), EpochError> {
        self.conn
            .run::<u64>(redis::cmd("INCR").arg(self.key(epoch_slot(user))))
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn bump_all(&self, users: &[UserId]) -> Result<(), EpochError> {
        let slots: BTreeSet<u64> = users.iter().map(|u| epoch_slot(*u)).collect();
        let mut pipe = redis::pipe();
        for slot in slots {
            pipe.cmd("INCR").arg(self.key(slot)).ignore();
        }
        self.conn.run_all(&pipe).await.map_err(fail)
    }
}
