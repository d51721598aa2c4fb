//! Password hashing off the async executor, on a bounded pool: a flood of
//! logins queues for hashing instead of stalling every other request.

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
}

impl HashMetrics {
    /// Creates the series and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            computed: Family::default(),
            // 0.1 ms to ~3 s: none, up to a long queue of argon2 hashes.
            wait: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
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
        metrics
    }
}

/// Runs [`Argon2Hasher`] on tokio's blocking threads, at most `limit` at a time.
#[derive(Debug, Clone)]
pub struct BlockingHasher {
    inner: Arc<Argon2Hasher>,
    permits: Arc<Semaphore>,
    metrics: Option<HashMetrics>,
}

impl BlockingHasher {
    /// Wraps `inner`, allowing `limit` concurrent hashes (at least one).
    pub fn new(inner: Argon2Hasher, limit: usize) -> Self {
        Self {
            inner: Arc::new(inner),
            permits: Arc::new(Semaphore::new(limit.max(1))),
            metrics: None,
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
