//! tokio adapters for auth-core's ports that need no network: password
//! hashing off the async executor ([`BlockingHasher`]) and in-process
//! rate-limit counters ([`MemoryRateLimiter`]). Any front end (axum or not)
//! can use them; the HTTP facade itself depends on neither.

mod hasher;
mod rate_limiter;

pub use hasher::{BlockingHasher, HashMetrics};
pub use rate_limiter::MemoryRateLimiter;
