//! SQLite: the embedded default. One file, WAL journal, one writer at a
//! time (so a plain `UPDATE … RETURNING` claims outbox rows safely).

use std::str::FromStr;
use std::time::Duration;

use auth_core::ports::UniqueField;
use sqlx::error::DatabaseError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Pool, Sqlite};

use crate::engine::{Engine, field_of};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

impl Engine for Sqlite {
    const MIGRATOR: &'static sqlx::migrate::Migrator = &MIGRATOR;

    async fn connect(url: &str) -> Result<Pool<Self>, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        // An in-memory database exists per connection: keep exactly one.
        let max = if url.contains(":memory:") { 1 } else { 8 };
        SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await
    }

    const CLAIM_DUE: &'static str = "UPDATE outbox SET leased_until = $2 WHERE id IN (\
        SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
        AND (leased_until IS NULL OR leased_until <= $1) ORDER BY id LIMIT $3) \
        RETURNING id, payload, attempts";

    /// `AUTOINCREMENT` keeps its high mark in `sqlite_sequence`, which has
    /// a row for `users` only once a user was inserted.
    const RESERVE_IDS: &'static [&'static str] = &[
        "UPDATE sqlite_sequence SET seq = MAX(seq, $1) WHERE name = 'users'",
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'users', $1 \
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users')",
    ];

    /// AUTOINCREMENT already counts ids written explicitly.
    const RESERVE_ADDRESS_IDS: &'static [&'static str] = &[];

    /// SQLite reports the constraint's columns, not its name:
    /// "UNIQUE constraint failed: users.email_key".
    fn unique_field(error: &dyn DatabaseError) -> Option<UniqueField> {
        let columns = error.message().strip_prefix("UNIQUE constraint failed: ")?;
        field_of(columns, |rule| format!("{}.{}", rule.table, rule.column))
    }
}
