//! Test support for this crate's users (feature `testing`): a throwaway
//! PostgreSQL database per test.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::PgStore;

/// A database of its own on the PostgreSQL server; dropped with the value,
/// also when the test panics.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl PgDatabase {
    /// Creates a database on the server at `DATABASE_URL` (default
    /// `postgres://postgres@127.0.0.1:5432/postgres`); `None` when that server
    /// is unreachable outside CI (the caller skips), a panic under `CI=true`.
    pub async fn create() -> Option<Self> {
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
        if let Err(error) = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
        {
            panic!("cannot create the test database {name}: {error}");
        }
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
            // Cleanup is best effort: a leftover database is named auth_it_*.
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
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
