//! sqlx adapters for auth-core: the user store (with its notification
//! outbox) and the database token manager, on SQLite (`sqlite/`, the
//! embedded default) and PostgreSQL (`postgres/`, for several instances).

mod credentials;
mod error;
pub mod postgres;
mod row;
pub mod sqlite;

pub use credentials::TokenMode;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use sqlx::postgres::PgPool;
pub use sqlx::sqlite::SqlitePool;
