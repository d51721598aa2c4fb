//! sqlx adapters for auth-core: the user store (with its notification
//! outbox) and the database token manager, on SQLite (`sqlite/`, the
//! embedded default) and PostgreSQL (`postgres/`, for several instances).

mod error;
pub mod postgres;
mod row;
mod shared;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use auth_core::credentials::TokenMode;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use sqlx::postgres::PgPool;
pub use sqlx::sqlite::SqlitePool;

/// A database driver error.
pub type DbError = sqlx::Error;

/// Whether a SQLite pool answers.
pub async fn ping_sqlite(pool: &SqlitePool) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// Whether a PostgreSQL pool answers.
pub async fn ping_postgres(pool: &PgPool) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}
