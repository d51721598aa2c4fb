//! One connection handle for a single Redis or a Redis Cluster.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Script, ScriptInvocation};

/// A Redis failure.
pub type RedisError = redis::RedisError;

/// A cheap-to-clone handle that reconnects by itself.
#[derive(Clone)]
pub enum RedisConnection {
    /// One server (`redis://host:port[/db]`, `rediss://…`).
    Single(ConnectionManager),
    /// A cluster, reached through any of its nodes.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Single(_) => "RedisConnection::Single",
            Self::Cluster(_) => "RedisConnection::Cluster",
        })
    }
}

impl RedisConnection {
    /// Connects to `url`; several comma-separated URLs mean a cluster.
    /// Commands time out after `timeout`, so a dead Redis fails requests
    /// fast instead of hanging them.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, RedisError> {
        let urls: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        if urls.len() > 1 {
            let client = ClusterClient::builder(urls)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .build()?;
            return Ok(Self::Cluster(client.get_async_connection().await?));
        }
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        Ok(Self::Single(
            client.get_connection_manager_with_config(config).await?,
        ))
    }

    /// Runs one command.
    pub async fn run<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, RedisError> {
        match self {
            Self::Single(conn) => cmd.query_async(&mut conn.clone()).await,
            Self::Cluster(conn) => cmd.query_async(&mut conn.clone()).await,
        }
    }

    /// Runs a pipeline of commands in one round trip; their answers are
    /// ignored.
    pub(crate) async fn run_all(&self, pipe: &redis::Pipeline) -> Result<(), RedisError> {
        match self {
            Self::Single(conn) => pipe.query_async(&mut conn.clone()).await,
            Self::Cluster(conn) => pipe.query_async(&mut conn.clone()).await,
        }
    }

    /// Runs a Lua script (loaded on first use).
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisError> {
        match self {
            Self::Single(conn) => invocation.invoke_async(&mut conn.clone()).await,
            Self::Cluster(conn) => invocation.invoke_async(&mut conn.clone()).await,
        }
    }

    /// Every key whose name starts with `prefix`, walked with SCAN (never
    /// KEYS, which blocks the server). On a cluster this would need a walk
    /// of every primary, which is not built: it is an error there.
    pub async fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, RedisError> {
        let Self::Single(conn) = self else {
            return Err(RedisError::from((
                redis::ErrorKind::Client,
                "walking keys is not supported on Redis Cluster",
            )));
        };
        let pattern: String = prefix
            .chars()
            .flat_map(|c| {
                let escape = matches!(c, '*' | '?' | '[' | ']' | '\\');
                escape.then_some('\\').into_iter().chain([c])
            })
            .chain(['*'])
            .collect();
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn.clone())
                .await?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> Result<(), RedisError> {
        self.run::<String>(&redis::cmd("PING")).await.map(|_| ())
    }
}

/// Makes a script value usable from other modules without naming redis types.
pub(crate) fn script(source: &str) -> Script {
    Script::new(source)
}
