//! The store: users, credentials and the mail outbox in one database of
//! either engine.

use std::sync::Arc;

use auth_core::credentials::{CredentialPolicy, TokenMode};
use auth_core::ports::{Clock, Matching};
use sqlx::Pool;
use sqlx::pool::PoolConnection;

use crate::engine::Engine;

/// Users, credentials and the outbox in one database of engine `DB`
/// ([`SqliteStore`](crate::SqliteStore) or [`PgStore`](crate::PgStore)).
pub struct SqlStore<DB: Engine> {
    pub(crate) pool: Pool<DB>,
    pub(crate) matching: Matching,
    pub(crate) tokens: Arc<TokenMode>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: CredentialPolicy,
}

// Derived `Clone` would ask `DB: Clone`; the pool is what is shared.
impl<DB: Engine> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            matching: self.matching,
            tokens: self.tokens.clone(),
            clock: self.clock.clone(),
            policy: self.policy,
        }
    }
}

impl<DB: Engine> SqlStore<DB> {
    /// Opens a pool on `url` (`sqlite://path`, `sqlite::memory:` or
    /// `postgres://…`), creating a SQLite file if missing.
    pub async fn connect(url: &str) -> Result<Pool<DB>, sqlx::Error> {
        DB::connect(url).await
    }

    /// Applies pending migrations (safe from several instances at once on
    /// PostgreSQL: sqlx takes an advisory lock).
    pub async fn migrate(pool: &Pool<DB>) -> Result<(), sqlx::migrate::MigrateError>
    where
        DB::Connection: sqlx::migrate::Migrate,
    {
        DB::MIGRATOR.run(pool).await
    }

    /// A store over a migrated pool. `matching` decides how usernames and
    /// addresses are keyed for uniqueness; it must match the workflows'
    /// setting (changing it on a populated database needs a re-key).
    /// Credentials never expire until [`with_credential_policy`](Self::with_credential_policy).
    pub fn new(
        pool: Pool<DB>,
        matching: Matching,
        tokens: TokenMode,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            pool,
            matching,
            tokens: Arc::new(tokens),
            clock,
            policy: CredentialPolicy::default(),
        }
    }

    /// Limits how long credentials work.
    pub fn with_credential_policy(mut self, policy: CredentialPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    pub(crate) async fn conn(&self) -> Result<PoolConnection<DB>, sqlx::Error> {
        self.pool.acquire().await
    }
}
