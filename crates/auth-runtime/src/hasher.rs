//! Password hashing off the async executor, on a bounded pool: a flood of
//! logins queues for hashing instead of stalling every other request, and
//! past a bounded queue is shed ([`HashError::Busy`]) instead of waiting
//! without end.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::domain::{Password, PasswordHash};
use auth_core::hashing::Argon2Hasher;
use auth_core::ports::{Cause, HashError, PasswordHasher, Verification};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::Semaphore;

/// What a hash was computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values are lower case
enum Operation {
    /// A new password's hash.
    hash,
    /// A password checked against a stored hash.
    verify,
    /// The stand-in check for an unknown account, so that it takes as long.
    dummy,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    operation: Operation,
}

/// The hashing pool's series: hashes computed, and time spent waiting for
/// a slot (how far demand is beyond the pool).
#[derive(Debug, Clone)]
pub struct HashMetrics {
    computed: Family<OperationLabels, Counter>,
    wait: Histogram,
    shed: Counter,
}

impl HashMetrics {
    /// Creates the series and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            computed: Family::default(),
            // 0.1 ms to ~3 s: none, up to a long queue of argon2 hashes.
            wait: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
            shed: Counter::default(),
        };
        registry.register(
            "auth_password_hashes",
            "Password hashes computed, by operation",
            metrics.computed.clone(),
        );
        registry.register_with_unit(
            "auth_password_hash_wait",
            "Time a password hash waited for a hashing slot",
            Unit::Seconds,
            metrics.wait.clone(),
        );
        registry.register(
            "auth_password_hashes_shed",
            "Password checks refused because the hashing queue was full (503)",
            metrics.shed.clone(),
        );
        metrics
    }
}

/// Runs [`Argon2Hasher`] on tokio's blocking threads, at most `limit` at a time.
#[derive(Debug, Clone)]
pub struct BlockingHasher {
    inner: Arc<Argon2Hasher>,
    /// One per hash running.
    permits: Arc<Semaphore>,
    /// One per hash running or waiting; none left means shed.
    admitted: Option<Arc<Semaphore>>,
    metrics: Option<HashMetrics>,
}

impl BlockingHasher {
    /// Wraps `inner`, allowing `limit` concurrent hashes (at least one).
    pub fn new(inner: Argon2Hasher, limit: usize) -> Self {
        Self {
            inner: Arc::new(inner),
            permits: Arc::new(Semaphore::new(limit.max(1))),
            admitted: None,
            metrics: None,
        }
    }

    /// The same pool, with at most `waiting` hashes waiting for a slot
    /// beyond those running; one more is refused with [`HashError::Busy`].
    pub fn with_queue(self, waiting: usize) -> Self {
        let running = self.permits.available_permits();
        Self {
            admitted: Some(Arc::new(Semaphore::new(running + waiting))),
            ..self
        }
    }

    /// The same pool, counted in `metrics`.
    pub fn with_metrics(self, metrics: HashMetrics) -> Self {
        Self {
            metrics: Some(metrics),
            ..self
        }
    }

    async fn run<T, F>(&self, operation: Operation, work: F) -> Result<T, HashError>
    where
        T: Send + 'static,
        F: FnOnce(&Argon2Hasher) -> T + Send + 'static,
    {
        let _admitted = match &self.admitted {
            Some(admitted) => match admitted.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    if let Some(metrics) = &self.metrics {
                        metrics.shed.inc();
                    }
                    return Err(HashError::Busy);
                }
            },
            None => None,
        };
        let queued = std::time::Instant::now();
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Failed("hashing pool closed".into()))?;
        if let Some(metrics) = &self.metrics {
            metrics.wait.observe(queued.elapsed().as_secs_f64());
        }
        let inner = self.inner.clone();
        let done = tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| HashError::Failed(Cause::new(e)))?;
        if let Some(metrics) = &self.metrics {
            metrics
                .computed
                .get_or_create(&OperationLabels { operation })
                .inc();
        }
        Ok(done)
    }
}

#[async_trait]
impl PasswordHasher for BlockingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        self.run(Operation::hash, move |h| h.hash_sync(&password))
            .await?
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        let (password, hash) = (password.clone(), hash.clone());
        self.run(Operation::verify, move |h| h.verify_sync(&password, &hash))
            .await
    }

    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError> {
        let password = password.clone();
        self.run(Operation::dummy, move |h| h.verify_dummy_sync(&password))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::hashing::Argon2Params;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_a_hash_is_refused_and_the_pool_recovers() {
        // Slow enough that the first two are still in the pool when the
        // third arrives.
        let params = Argon2Params {
            m_cost: 65_536,
            t_cost: 4,
            p_cost: 1,
        };
        let hasher = Argon2Hasher::new(params).unwrap();
        let pool = BlockingHasher::new(hasher, 1).with_queue(1);
        let password = Password::new("a long enough passphrase 42");
        let (a, b, c) = tokio::join!(
            pool.hash(&password),
            pool.hash(&password),
            pool.hash(&password)
        );
        let outcomes = [a.is_ok(), b.is_ok(), c.is_ok()];
        assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 2, "{outcomes:?}");
        assert_eq!(
            [a, b, c].into_iter().find_map(Result::err),
            Some(HashError::Busy)
        );
        // Once the queue drains, hashes are admitted again.
        assert!(pool.hash(&password).await.is_ok());
    }
}
