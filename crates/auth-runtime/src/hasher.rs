//! Password hashing off the async executor, on a bounded pool: a flood of
//! logins queues for hashing instead of stalling every other request.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::domain::{Password, PasswordHash};
use auth_core::hashing::Argon2Hasher;
use auth_core::ports::{Cause, HashError, PasswordHasher, Verification};
use tokio::sync::Semaphore;

/// Runs [`Argon2Hasher`] on tokio's blocking threads, at most `limit` at a time.
#[derive(Debug, Clone)]
pub struct BlockingHasher {
    inner: Arc<Argon2Hasher>,
    permits: Arc<Semaphore>,
}

impl BlockingHasher {
    /// Wraps `inner`, allowing `limit` concurrent hashes (at least one).
    pub fn new(inner: Argon2Hasher, limit: usize) -> Self {
        Self {
            inner: Arc::new(inner),
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    async fn run<T, F>(&self, work: F) -> Result<T, HashError>
    where
        T: Send + 'static,
        F: FnOnce(&Argon2Hasher) -> T + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Failed("hashing pool closed".into()))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| HashError::Failed(Cause::new(e)))
    }
}

#[async_trait]
impl PasswordHasher for BlockingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        self.run(move |h| h.hash_sync(&password)).await?
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        let (password, hash) = (password.clone(), hash.clone());
        self.run(move |h| h.verify_sync(&password, &hash)).await
    }

    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError> {
        let password = password.clone();
        self.run(move |h| h.verify_dummy_sync(&password)).await
    }
}
