//! sqlx adapters for auth-core: the user store (with its notification
//! outbox) and the database token manager. SQLite today; Postgres follows
//! the same layout (`postgres/` beside `sqlite/`).

mod credentials;
mod error;
pub mod sqlite;

pub use credentials::TokenMode;
pub use sqlite::SqliteStore;
pub use sqlx::sqlite::SqlitePool;
