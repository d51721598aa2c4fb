//! tokio adapters for auth-core's ports that need no network: password
//! hashing off the async executor ([`BlockingHasher`]), in-process
//! rate-limit counters ([`MemoryRateLimiter`]) and a cache of resolved
//! credentials and users in front of any stores ([`CredentialCache`]).
//! Any front end (axum or not) can use them; the HTTP facade itself
//! depends on none.

mod cache;
mod hasher;
mod rate_limiter;

pub use cache::{CachedTokens, CachedUsers, CredentialCache, FileEpochs, LocalEpochs};
pub use hasher::{BlockingHasher, HashMetrics};
pub use rate_limiter::MemoryRateLimiter;
