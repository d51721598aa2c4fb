//! Fixed-window rate limiting with counters in Redis, shared by every
//! instance: one atomic script per hit (INCR, and PEXPIRE on the first).

use async_trait::async_trait;
use auth_core::ports::{Cause, Decision, RateLimitError, RateLimiter, RateRule};
use time::Duration;

use crate::RedisConnection;
use crate::connection::script;

const HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// Counts hits per key in Redis.
#[derive(Debug, Clone)]
pub struct RedisRateLimiter {
    conn: RedisConnection,
    prefix: String,
}

impl RedisRateLimiter {
    /// A limiter using keys under `prefix`.
    pub fn new(conn: RedisConnection, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, rule: &RateRule) -> Result<Decision, RateLimitError> {
        let window_ms = rule.window.whole_milliseconds().max(1);
        let script = script(HIT);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(format!("{}rl:{key}", self.prefix))
            .arg(i64::try_from(window_ms).unwrap_or(i64::MAX));
        let (count, ttl_ms): (i64, i64) = self
            .conn
            .invoke(&invocation)
            .await
            .map_err(|e| RateLimitError(Cause::new(e)))?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        Ok(if count <= rule.limit {
            Decision::Allowed {
                remaining: rule.limit - count,
            }
        } else {
            Decision::Limited {
                retry_after: Duration::milliseconds(ttl_ms.max(0)),
            }
        })
    }

    async fn reset(&self, key: &str) -> Result<(), RateLimitError> {
        self.conn
            .run::<i64>(redis::cmd("DEL").arg(format!("{}rl:{key}", self.prefix)))
            .await
            .map(|_| ())
            .map_err(|e| RateLimitError(Cause::new(e)))
    }
}
