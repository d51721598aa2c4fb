//! The storage backend chosen by `DATABASE_URL`, and what `/readyz` probes.

use std::sync::Arc;

use auth_core::credentials::CredentialPolicy;
use auth_core::ports::{Clock, Matching, Outbox, TokenManager, UserStore};
use auth_sql::{PgPool, PgStore, SqlitePool, SqliteStore, TokenMode};

use crate::StartError;

/// An open, migrated database.
#[derive(Clone)]
pub enum Database {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// Shared by several instances.
    Postgres(PgPool),
}

/// The ports a database provides.
pub(crate) struct Stores {
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<dyn TokenManager>,
    pub outbox: Arc<dyn Outbox>,
}

/// Opens the database at `url` (`sqlite://…` or `postgres://…`) and applies
/// pending migrations.
pub async fn open_database(url: &str) -> Result<Database, StartError> {
    let db = |message: String| StartError::Database {
        url: redact(url),
        message,
    };
    if url.starts_with("sqlite:") {
        let pool = SqliteStore::connect(url)
            .await
            .map_err(|e| db(e.to_string()))?;
        SqliteStore::migrate(&pool)
            .await
            .map_err(|e| db(e.to_string()))?;
        Ok(Database::Sqlite(pool))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgStore::connect(url).await.map_err(|e| db(e.to_string()))?;
        PgStore::migrate(&pool)
            .await
            .map_err(|e| db(e.to_string()))?;
        Ok(Database::Postgres(pool))
    } else {
        Err(db(
            "unsupported scheme: use sqlite://PATH or postgres://…".into()
        ))
    }
}

/// A URL with its password hidden, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Database {
    /// The ports over this database, credentials held to `policy`.
    pub(crate) fn stores(
        &self,
        matching: Matching,
        tokens: TokenMode,
        policy: CredentialPolicy,
        clock: Arc<dyn Clock>,
    ) -> Stores {
        match self {
            Self::Sqlite(pool) => Stores::over(
                SqliteStore::new(pool.clone(), matching, tokens, clock)
                    .with_credential_policy(policy),
            ),
            Self::Postgres(pool) => Stores::over(
                PgStore::new(pool.clone(), matching, tokens, clock).with_credential_policy(policy),
            ),
        }
    }

    /// Rebuilds every user's uniqueness keys under `matching` (after
    /// `IDENTIFIERS_CASE_INSENSITIVE` changed on a populated database).
    pub async fn rekey(
        &self,
        matching: Matching,
    ) -> Result<auth_sql::Rekeyed, auth_core::ports::StoreError> {
        let clock: Arc<dyn Clock> = Arc::new(auth_core::ports::SystemClock);
        match self {
            Self::Sqlite(pool) => {
                SqliteStore::new(pool.clone(), matching, TokenMode::PerLogin, clock)
                    .rekey()
                    .await
            }
            Self::Postgres(pool) => {
                PgStore::new(pool.clone(), matching, TokenMode::PerLogin, clock)
                    .rekey()
                    .await
            }
        }
    }

    async fn ping(&self) -> Result<(), auth_sql::DbError> {
        match self {
            Self::Sqlite(pool) => auth_sql::ping(pool).await,
            Self::Postgres(pool) => auth_sql::ping(pool).await,
        }
    }
}

impl Stores {
    /// The three ports of one store.
    fn over<S: UserStore + TokenManager + Outbox + Clone + 'static>(store: S) -> Self {
        Self {
            users: Arc::new(store.clone()),
            tokens: Arc::new(store.clone()),
            outbox: Arc::new(store),
        }
    }
}

/// A dependency whose health `/readyz` reports.
#[async_trait::async_trait]
pub(crate) trait Probe: Send + Sync {
    /// The name shown in the report.
    fn name(&self) -> &'static str;
    /// `Ok` when the dependency answers.
    async fn check(&self) -> Result<(), String>;
}

#[async_trait::async_trait]
impl Probe for auth_redis::RedisConnection {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn check(&self) -> Result<(), String> {
        self.ping().await.map_err(|e| e.to_string())
    }
}

#[async_trait::async_trait]
impl Probe for Database {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        self.ping().await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_in_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/auth"),
            "postgres://app:***@db:5432/auth"
        );
        assert_eq!(redact("postgres://app@db/auth"), "postgres://app@db/auth");
        assert_eq!(redact("sqlite://auth.db"), "sqlite://auth.db");
    }
}
