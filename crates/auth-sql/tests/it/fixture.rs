//! A fresh database per test: a SQLite file in a temporary folder, or a
//! PostgreSQL database created on the server at `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped afterwards.
//! An unreachable PostgreSQL skips the test locally and fails it when
//! `CI=true`.

use std::sync::Arc;

use auth_core::ports::{FixedClock, Matching, Outbox, TokenManager, UserStore};
use auth_sql::testing::PgDatabase;
use auth_sql::{CredentialPolicy, PgStore, SqliteStore, TokenMode};
use time::OffsetDateTime;

pub const NOW: i64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct Db {
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<dyn TokenManager>,
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<FixedClock>,
    raw: Raw,
}

/// A raw pool for direct reads, and what keeps the database alive.
enum Raw {
    Sqlite {
        pool: sqlx::SqlitePool,
        _dir: tempfile::TempDir,
    },
    Postgres {
        pool: sqlx::PgPool,
        _database: PgDatabase,
    },
}

/// Opens a fresh database, or returns `None` (test skipped) when
/// PostgreSQL is unreachable outside CI.
#[macro_export]
macro_rules! open_or_skip {
    ($engine:expr) => {
        $crate::open_or_skip!(
            $engine,
            auth_core::ports::Matching::CaseInsensitive,
            auth_sql::TokenMode::PerLogin
        )
    };
    ($engine:expr, $matching:expr, $tokens:expr) => {
        match $crate::fixture::Db::open($engine, $matching, $tokens).await {
            Some(db) => db,
            None => return,
        }
    };
}

impl Db {
    pub async fn open(engine: Engine, matching: Matching, tokens: TokenMode) -> Option<Self> {
        Self::open_with_lifetimes(engine, matching, tokens, None, None, None).await
    }

    /// Like [`Db::open`], with token and session lifetimes and an idle timeout.
    pub async fn open_with_lifetimes(
        engine: Engine,
        matching: Matching,
        tokens: TokenMode,
        token_lifetime: Option<time::Duration>,
        session_lifetime: Option<time::Duration>,
        idle: Option<time::Duration>,
    ) -> Option<Self> {
        let policy = CredentialPolicy {
            token_lifetime,
            session_lifetime,
            idle_timeout: idle,
            sliding: false,
        };
        let clock = Arc::new(FixedClock::new(
            OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
        ));
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("auth.db").display());
                let pool = SqliteStore::connect(&url).await.unwrap();
                SqliteStore::migrate(&pool).await.unwrap();
                let store = SqliteStore::new(pool.clone(), matching, tokens, clock.clone())
                    .with_credential_policy(policy);
                Some(Self::wrap(store, clock, Raw::Sqlite { pool, _dir: dir }))
            }
            Engine::Postgres => {
                let database = PgDatabase::create().await?;
                let pool = PgStore::connect(&database.url).await.unwrap();
                PgStore::migrate(&pool).await.unwrap();
                let store = PgStore::new(pool.clone(), matching, tokens, clock.clone())
                    .with_credential_policy(policy);
                Some(Self::wrap(
                    store,
                    clock,
                    Raw::Postgres {
                        pool,
                        _database: database,
                    },
                ))
            }
        }
    }

    fn wrap<S>(store: S, clock: Arc<FixedClock>, raw: Raw) -> Self
    where
        S: UserStore + TokenManager + Outbox + Clone + 'static,
    {
        Self {
            users: Arc::new(store.clone()),
            tokens: Arc::new(store.clone()),
            outbox: Arc::new(store),
            clock,
            raw,
        }
    }

    /// Rebuilds the keys of this database's users under `matching`.
    pub async fn rekey(&self, matching: Matching) -> auth_sql::Rekeyed {
        let clock = self.clock.clone();
        match &self.raw {
            Raw::Sqlite { pool, .. } => {
                SqliteStore::new(pool.clone(), matching, TokenMode::PerLogin, clock)
                    .rekey()
                    .await
                    .unwrap()
            }
            Raw::Postgres { pool, .. } => {
                PgStore::new(pool.clone(), matching, TokenMode::PerLogin, clock)
                    .rekey()
                    .await
                    .unwrap()
            }
        }
    }

    /// Two text columns of every row `sql` selects.
    pub async fn raw_rows(&self, sql: &'static str) -> Vec<(String, Option<String>)> {
        match &self.raw {
            Raw::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
            Raw::Postgres { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        }
    }

    /// Every stored token digest, read straight from the table.
    pub async fn stored_digests(&self) -> Vec<Vec<u8>> {
        let sql = "SELECT digest FROM auth_tokens";
        match &self.raw {
            Raw::Sqlite { pool, .. } => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            Raw::Postgres { pool, .. } => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        }
    }
}
