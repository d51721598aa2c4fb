//! sqlx adapters for auth-core: Postgres and SQLite user store, database token manager, mail outbox.
//!
//! Not built yet: this crate is a placeholder in the workspace layout
//! (see the project README's status section). Its issue fills it in.
