//! SQLite: the embedded default. One file, WAL journal, migrations applied
//! at start.

mod outbox;
mod token_manager;
mod user_store;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use auth_core::ports::{Clock, Matching};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use auth_core::credentials::TokenMode;

use crate::shared::CredentialLimits;

/// The SQLite migrations, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Users, credentials and the outbox in one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    matching: Matching,
    tokens: Arc<TokenMode>,
    clock: Arc<dyn Clock>,
    /// How long credentials live.
    limits: CredentialLimits,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`).
    pub async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
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

    /// Applies pending migrations.
    pub async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(pool).await
    }

    /// A store over a migrated pool. `matching` decides how usernames and
    /// addresses are keyed for uniqueness; it must match the workflows'
    /// setting (changing it on a populated database needs a re-key).
    pub fn new(
        pool: SqlitePool,
        matching: Matching,
        tokens: TokenMode,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            pool,
            matching,
            tokens: Arc::new(tokens),
            clock,
            limits: CredentialLimits::default(),
        }
    }

    /// Refuses API tokens older than `token` and sessions older than
    /// `session` (`None`: no expiry, DRR's behaviour for tokens).
    pub fn with_lifetimes(
        mut self,
        token: Option<time::Duration>,
        session: Option<time::Duration>,
    ) -> Self {
        self.limits.token = token;
        self.limits.session = session;
        self
    }

    /// Refuses credentials unused for longer than `idle` (`None`: no idle
    /// timeout). The absolute lifetimes still apply: use cannot extend them.
    pub fn with_idle_timeout(mut self, idle: Option<time::Duration>) -> Self {
        self.limits.idle = idle;
        self
    }

    fn key(&self, value: &str) -> String {
        crate::row::identifier_key(self.matching, value)
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }
}

crate::shared::impl_ports_over_sql!(SqliteStore);
