//! Rate limiting, as a port so counters can be shared by every instance.

use async_trait::async_trait;
use time::Duration;

use super::Cause;

/// At most `limit` hits per `window` for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRule {
    /// Hits allowed per window.
    pub limit: u32,
    /// Window length.
    pub window: Duration,
}

/// The verdict on one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; `remaining` more hits fit in the window.
    Allowed {
        /// Hits left.
        remaining: u32,
    },
    /// Refused; try again after `retry_after`.
    Limited {
        /// Time until a hit is allowed again.
        retry_after: Duration,
    },
}

/// Why the limiter could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limiter unavailable")]
pub struct RateLimitError(#[source] pub Cause);

/// Counts hits per key (`login:ip:127.0.0.1`, `login:account:ann`, …).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit for `key` and says whether it is allowed.
    async fn hit(&self, key: &str, rule: &RateRule) -> Result<Decision, RateLimitError>;

    /// Forgets the hits of `key` (e.g. an account's failures after it logs in).
    async fn reset(&self, key: &str) -> Result<(), RateLimitError>;
}
