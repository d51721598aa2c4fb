//! Password hashing as a port, so a server can run it off its async executor.

use async_trait::async_trait;

use super::Cause;
use crate::domain::{Password, PasswordHash};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Wrong password (or an unusable hash).
    Mismatch,
    /// Right password; `needs_rehash` asks the caller to store a fresh hash
    /// (imported or outdated format or parameters).
    Match {
        /// Whether the stored hash should be upgraded.
        needs_rehash: bool,
    },
}

/// Why hashing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The parameters are unusable.
    #[error("invalid password hashing configuration")]
    Config(#[source] Cause),
    /// The hash could not be computed (e.g. no randomness for a salt, or
    /// the pool running hashes is gone).
    #[error("password hashing failed")]
    Failed(#[source] Cause),
    /// Too many passwords already wait for a hashing slot: the request is
    /// shed rather than queued without end; the client may retry soon.
    #[error("too many passwords are waiting to be checked")]
    Busy,
}

/// Hashes and checks passwords.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash of `password` with a fresh salt.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Checks `password` against `hash`.
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError>;

    /// Spends the time of one `verify`, for a login that names no account,
    /// so timing does not reveal which accounts exist.
    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError>;
}
