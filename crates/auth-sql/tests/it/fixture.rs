//! A fresh database per test: a SQLite file in a temporary folder, or a
//! PostgreSQL database created on the server at `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped afterwards.
//! An unreachable PostgreSQL skips the test locally and fails it when
//! `CI=true`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use auth_core::ports::{FixedClock, Matching, Outbox, TokenManager, UserStore};
use auth_sql::{PgStore, SqliteStore, TokenMode};
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
        let clock = Arc::new(FixedClock::new(
            OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
        ));
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("auth.db").display());
                let pool = SqliteStore::connect(&url).await.unwrap();
                SqliteStore::migrate(&pool).await.unwrap();
                let store = SqliteStore::new(pool.clone(), matching, tokens, clock.clone());
                Some(Self::wrap(store, clock, Raw::Sqlite { pool, _dir: dir }))
            }
            Engine::Postgres => {
                let database = PgDatabase::create().await?;
                let pool = PgStore::connect(&database.url).await.unwrap();
                PgStore::migrate(&pool).await.unwrap();
                let store = PgStore::new(pool.clone(), matching, tokens, clock.clone());
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

    /// Every stored token digest, read straight from the table.
    pub async fn stored_digests(&self) -> Vec<Vec<u8>> {
        let sql = "SELECT digest FROM auth_tokens";
        match &self.raw {
            Raw::Sqlite { pool, .. } => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            Raw::Postgres { pool, .. } => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        }
    }
}

/// A database of its own on the PostgreSQL server; dropped with the value,
/// also when the test panics.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl PgDatabase {
    async fn create() -> Option<Self> {
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin = match PgStore::connect(&admin_url).await {
            Ok(pool) => pool,
            Err(error) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but PostgreSQL at {admin_url} is unreachable: {error}")
            }
            Err(error) => {
                eprintln!(
                    "skipped: PostgreSQL at {admin_url} is unreachable ({error}); `cargo xtask services` starts one"
                );
                return None;
            }
        };
        let name = format!(
            "auth_it_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        Some(Self {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; a thread with its own runtime can block on the cleanup.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(admin) = PgStore::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&admin)
                    .await;
                }
            });
        })
        .join();
    }
}
