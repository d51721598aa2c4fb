//! sqlx adapters for auth-core: the user store (with its notification
//! outbox) and the database token manager, written once over an [`Engine`]:
//! SQLite (the embedded default) or PostgreSQL (for several instances).
//!
//! Where a change goes: a statement in `queries.rs`, a column mapping in
//! `row.rs`, a port's rules in `user_store.rs`, `token_manager.rs` or
//! `outbox.rs`, and only what differs by engine in `sqlite.rs` /
//! `postgres.rs` (with a migration per engine in `migrations/`).

pub mod django;
mod engine;
mod error;
mod outbox;
mod postgres;
mod queries;
mod rekey;
mod row;
mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod token_manager;
mod user_store;

pub use auth_core::credentials::{CredentialPolicy, TokenMode};
pub use engine::Engine;
pub use rekey::{Clash, Rekeyed};
pub use sqlx::postgres::PgPool;
pub use sqlx::sqlite::SqlitePool;
pub use sqlx::{Postgres, Sqlite};
pub use store::SqlStore;

/// The store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

/// The store on PostgreSQL.
pub type PgStore = SqlStore<Postgres>;

/// A database driver error.
pub type DbError = sqlx::Error;

/// Whether the database behind `pool` answers.
// `Queries` is crate plumbing every `Engine` implements.
#[allow(private_bounds)]
pub async fn ping<DB: queries::Queries>(pool: &sqlx::Pool<DB>) -> Result<(), DbError> {
    DB::ping(&mut *pool.acquire().await?).await
}
