//! `Epochs` in Redis: the change counters every instance's credential
//! cache reads, so a revocation or a disabled account on one instance is
//! seen by the next request on any other.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use auth_core::domain::UserId;
use auth_core::ports::{Cause, EpochError, Epochs, epoch_slot};
use tokio::sync::{mpsc, oneshot};

use crate::connection::{RedisConnection, RedisError};

/// Counters under `{prefix}epoch:{slot}`, one key per slot (a bounded set
/// whatever the number of users), never expiring.
///
/// Every cached request reads one counter, so on a single Redis the reads
/// are gathered: a reader task takes every read waiting when it is free and
/// asks for them in one `MGET`. Reads that arrive while an `MGET` is out
/// wait for the next one, so each value is still read after its request
/// asked for it, and a change finished before a request began is seen by
/// it. Profiled, a loopback round trip per read (the syscalls and wake-ups
/// at both ends, and Redis's own work) was most of what a cached read cost
/// beyond SQLite; gathered, it is shared by the reads waiting together.
#[derive(Clone)]
pub struct RedisEpochs {
    conn: RedisConnection,
    prefix: Arc<str>,
    reads: Arc<OnceLock<mpsc::UnboundedSender<Read>>>,
}

/// One counter wanted, and where its value goes.
struct Read {
    slot: u64,
    answer: oneshot::Sender<Result<u64, EpochError>>,
}

/// The most reads one `MGET` asks for.
const GATHER: usize = 256;

fn fail(error: RedisError) -> EpochError {
    EpochError(Cause::new(error))
}

fn key(prefix: &str, slot: u64) -> String {
    format!("{prefix}epoch:{slot}")
}

impl RedisEpochs {
    /// Counters on `conn`, their keys starting with `prefix`.
    pub fn new(conn: RedisConnection, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into().into(),
            reads: Arc::default(),
        }
    }

    fn key(&self, slot: u64) -> String {
        key(&self.prefix, slot)
    }

    /// The reader's queue, its task started at the first read (there is
    /// a runtime then). A cluster spreads the keys over nodes, where one
    /// `MGET` cannot reach them all: no reader there.
    fn queue(&self) -> Option<&mpsc::UnboundedSender<Read>> {
        if matches!(self.conn, RedisConnection::Cluster(_)) {
            return None;
        }
        Some(self.reads.get_or_init(|| {
            let (queue, waiting) = mpsc::unbounded_channel();
            tokio::spawn(gather(self.conn.clone(), self.prefix.clone(), waiting));
            queue
        }))
    }

    async fn read_one(&self, slot: u64) -> Result<u64, EpochError> {
        let value: Option<u64> = self
            .conn
            .run(redis::cmd("GET").arg(self.key(slot)))
            .await
            .map_err(fail)?;
        Ok(value.unwrap_or(0))
    }
}

/// The reader: waits for a read, takes every other one already waiting,
/// answers them all from one `MGET`. Ends when every handle is dropped.
async fn gather(
    conn: RedisConnection,
    prefix: Arc<str>,
    mut waiting: mpsc::UnboundedReceiver<Read>,
) {
    let mut batch = Vec::with_capacity(GATHER);
    while waiting.recv_many(&mut batch, GATHER).await > 0 {
        let mut mget = redis::cmd("MGET");
        for read in &batch {
            mget.arg(key(&prefix, read.slot));
        }
        let answered = match conn.run::<Vec<Option<u64>>>(&mget).await {
            Ok(values) if values.len() == batch.len() => Ok(values),
            Ok(values) => Err(Cause::msg(format!(
                "MGET of {} counters answered {} values",
                batch.len(),
                values.len()
            ))),
            Err(error) => Err(Cause::new(error)),
        };
        for (n, read) in batch.drain(..).enumerate() {
            let value = match &answered {
                Ok(values) => Ok(values[n].unwrap_or(0)),
                Err(cause) => Err(EpochError(cause.clone())),
            };
            // A reader that gave up (its request ended) is no loss.
            let _ = read.answer.send(value);
        }
    }
}

#[async_trait]
impl Epochs for RedisEpochs {
    async fn current(&self, user: UserId) -> Result<u64, EpochError> {
        let slot = epoch_slot(user);
        let Some(queue) = self.queue() else {
            return self.read_one(slot).await;
        };
        let (answer, value) = oneshot::channel();
        if queue.send(Read { slot, answer }).is_err() {
            // The reader is gone (it can only have panicked): read alone.
            return self.read_one(slot).await;
        }
        match value.await {
            Ok(value) => value,
            Err(_) => self.read_one(slot).await,
        }
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
