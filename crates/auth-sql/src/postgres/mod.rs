//! PostgreSQL: shared state for several server instances. Uniqueness is
//! enforced by the database, one-time updates are compare-and-set, and the
//! outbox is claimed with `FOR UPDATE SKIP LOCKED`, so instances draining
//! it concurrently never send a message twice.

mod outbox;
mod token_manager;
mod user_store;

use std::sync::Arc;
use std::time::Duration;

use auth_core::ports::{Clock, Matching};
use sqlx::postgres::{PgPool, PgPoolOptions};

use auth_core::credentials::TokenMode;

use crate::shared::CredentialLimits;

/// The PostgreSQL migrations, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Users, credentials and the outbox in one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    matching: Matching,
    tokens: Arc<TokenMode>,
    clock: Arc<dyn Clock>,
    /// How long credentials live.
    limits: CredentialLimits,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`). Connection attempts fail fast, so
    /// requests get a 503 instead of hanging while the database is down.
    pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
        PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await
    }

    /// Applies pending migrations (safe to run from several instances at
    /// once: sqlx takes an advisory lock).
    pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(pool).await
    }

    /// A store over a migrated pool; see [`crate::SqliteStore::new`].
    pub fn new(pool: PgPool, matching: Matching, tokens: TokenMode, clock: Arc<dyn Clock>) -> Self {
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

crate::shared::impl_ports_over_sql!(PgStore);
