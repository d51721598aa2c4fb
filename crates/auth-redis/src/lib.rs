//! Redis adapters for auth-core: token manager with TTL and a rate limiter shared by every instance.
//!
//! Not built yet: this crate is a placeholder in the workspace layout
//! (see the project README's status section). Its issue fills it in.
