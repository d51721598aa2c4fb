//! Redis adapters for auth-core: a token manager (opaque credentials held
//! to the core's credential policy, revoke one or all through a per-user index)
//! a fixed-window rate limiter whose counters every instance shares, and
//! the change counters that keep every instance's credential cache fresh.
//! Works with a single Redis and with Redis Cluster.

mod connection;
mod epochs;
mod rate_limiter;
mod token_manager;

pub use connection::{RedisConnection, RedisError};
pub use epochs::RedisEpochs;
pub use rate_limiter::RedisRateLimiter;
pub use token_manager::RedisTokenManager;
