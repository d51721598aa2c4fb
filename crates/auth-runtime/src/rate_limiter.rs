//! Fixed-window rate-limit counters in this process: the embedded default.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auth_core::ports::{Clock, Decision, RateLimitError, RateLimiter, RateRule};
use time::OffsetDateTime;

/// Fixed-window counters in this process: the embedded default. The same
/// semantics as the Redis adapter's script (so moving to Redis changes
/// where counters live, not how they count); governor's GCRA would differ
/// and cannot forget one key, which `reset` needs.
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, (u32, OffsetDateTime)>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryRateLimiter")
    }
}

impl MemoryRateLimiter {
    /// A limiter timed by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            clock,
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, rule: &RateRule) -> Result<Decision, RateLimitError> {
        let now = self.clock.now();
        let mut windows = self
            .windows
            .lock()
            .map_err(|_| RateLimitError("limiter state poisoned".into()))?;
        // Forget finished windows now and then, so memory follows live keys.
        if windows.len() > 10_000 {
            windows.retain(|_, (_, ends)| *ends > now);
        }
        let entry = windows
            .entry(key.to_owned())
            .or_insert((0, now + rule.window));
        if entry.1 <= now {
            *entry = (0, now + rule.window);
        }
        entry.0 = entry.0.saturating_add(1);
        Ok(if entry.0 <= rule.limit {
            Decision::Allowed {
                remaining: rule.limit - entry.0,
            }
        } else {
            Decision::Limited {
                retry_after: entry.1 - now,
            }
        })
    }

    async fn reset(&self, key: &str) -> Result<(), RateLimitError> {
        self.windows
            .lock()
            .map_err(|_| RateLimitError("limiter state poisoned".into()))?
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use auth_core::ports::FixedClock;
    use time::Duration;

    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn rule(limit: u32, window: Duration) -> RateRule {
        RateRule { limit, window }
    }

    #[test]
    fn memory_limiter_counts_per_key_and_window() {
        let clock = Arc::new(FixedClock::new(OffsetDateTime::UNIX_EPOCH));
        let limiter = MemoryRateLimiter::new(clock.clone());
        let rule = rule(2, Duration::seconds(60));
        assert_eq!(
            block_on(limiter.hit("a", &rule)).unwrap(),
            Decision::Allowed { remaining: 1 }
        );
        assert_eq!(
            block_on(limiter.hit("a", &rule)).unwrap(),
            Decision::Allowed { remaining: 0 }
        );
        clock.advance(Duration::seconds(10));
        assert_eq!(
            block_on(limiter.hit("a", &rule)).unwrap(),
            Decision::Limited {
                retry_after: Duration::seconds(50)
            }
        );
        assert_eq!(
            block_on(limiter.hit("b", &rule)).unwrap(),
            Decision::Allowed { remaining: 1 }
        );
        clock.advance(Duration::seconds(50));
        assert_eq!(
            block_on(limiter.hit("a", &rule)).unwrap(),
            Decision::Allowed { remaining: 1 }
        );
        block_on(limiter.reset("b")).unwrap();
        assert_eq!(
            block_on(limiter.hit("b", &rule)).unwrap(),
            Decision::Allowed { remaining: 1 }
        );
    }
}
