//! The composition root: reads the configuration, wires auth-core to its
//! adapters, and serves DRR's API. Used by the binary and by the end-to-end
//! tests alike.

pub mod admin;
mod backend;
pub mod check;
pub mod config;
pub mod import;
pub mod mail_url;
mod ops;
pub mod plan;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_core::flows::{Accounts, Ports, RetryPolicy};
use auth_core::hashing::Argon2Hasher;
use auth_core::ports::{Clock, Epochs, Mailer, Outbox, RateLimiter, SystemClock};
use auth_core::signing::{LinkSigner, SecretKey};
use auth_http::Throttle;
use auth_redis::{RedisConnection, RedisEpochs, RedisRateLimiter, RedisTokenManager};
use auth_runtime::{BlockingHasher, CredentialCache, FileEpochs, LocalEpochs, MemoryRateLimiter};
use auth_smtp::{ConsoleMailer, DirMailer, Envelope, SmtpMailer, Templates};
use auth_sql::TokenMode;
use tokio::net::TcpListener;
use tokio::sync::watch;
use zeroize::Zeroizing;

pub use backend::{Database, open_database};
pub use config::{Compat, Config, ConfigError, LogFormat};
use mail_url::MailTarget;
pub use plan::{KeySource, Plan};
use secrecy::ExposeSecret;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Checks failed: the errors, as `auth-server check` lists them.
    #[error("configuration errors: {}", .0.iter().map(|f| format!("{}: {}", f.id, f.message)).collect::<Vec<_>>().join("; "))]
    Check(Vec<check::Finding>),
    /// The database could not be opened or migrated.
    #[error("database {url}: {message}")]
    Database {
        /// The configured URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Templates, keys or hashing parameters are unusable.
    #[error("{0}")]
    Setup(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        /// The address.
        bind: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Creates `account` unless a user already has its username (`ADMIN_*`).
async fn ensure_account(
    accounts: &auth_core::Accounts,
    account: auth_core::flows::NewAccount,
) -> Result<(), StartError> {
    let username = account.username.clone();
    let exists = accounts
        .find_account(&username)
        .await
        .map_err(|e| StartError::Setup(format!("ADMIN_USERNAME {username:?}: {e}")))?;
    if exists.is_none() {
        accounts
            .create_account(account)
            .await
            .map_err(|e| StartError::Setup(format!("ADMIN_USERNAME {username:?}: {e}")))?;
        tracing::info!(username = %username, "created the ADMIN_USERNAME account");
    }
    Ok(())
}

/// A wired server, not yet serving.
pub struct App {
    router: axum::Router,
    /// `/metrics` and the probes, when served apart from the API.
    ops: Option<(String, axum::Router)>,
    outbox: Arc<dyn Outbox>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    poll: std::time::Duration,
    retry: RetryPolicy,
    mail_metrics: ops::MailMetrics,
}

impl App {
    /// Checks `config` (as `auth-server check` does) and builds from its
    /// plan; any error stops it.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let report = check::run(config);
        match report.plan {
            Some(plan) => Self::from_plan(plan).await,
            None => Err(StartError::Check(report.errors().cloned().collect())),
        }
    }

    /// Opens the database (migrating it), reads the keys and wires the
    /// router from a checked plan.
    pub async fn from_plan(mut plan: Plan) -> Result<Self, StartError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let telemetry = ops::Telemetry::new();
        let Wired {
            accounts,
            stores,
            limiter,
            probes,
        } = Wired::open(&plan, clock.clone(), Some(telemetry.hashing.clone())).await?;
        if let Some(admin) = plan.admin.take() {
            ensure_account(&accounts, admin).await?;
        }
        let mut document = auth_http::openapi(&plan.api, &plan.settings);
        let throttle = plan.throttle.map(|limits| Throttle { limits, limiter });
        plan.api.metrics = Some(telemetry.http.clone());
        let mail_metrics = telemetry.mail.clone();
        let ops = ops::routes(Arc::new(ops::Ops {
            telemetry,
            probes,
            outbox: stores.outbox.clone(),
            tokens: stores.tokens,
            clock: clock.clone(),
            max_mail_age: plan.ready_max_mail_age,
        }));
        let api = auth_http::router(accounts, plan.api, throttle);
        let (api, ops) = match plan.metrics_bind {
            Some(bind) => (api, Some((bind, ops))),
            None => {
                document.paths.merge(ops::document());
                (api.merge(ops), None)
            }
        };
        // Serialised once: it does not change while the server runs.
        let document = serde_json::to_string(&document)
            .map_err(|e| StartError::Setup(format!("the OpenAPI document: {e}")))?;
        let document = axum::body::Bytes::from(document);
        let router = api.route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document,
                    )
                }
            }),
        );
        Ok(Self {
            router,
            ops,
            outbox: stores.outbox,
            mailer: mailer(plan.mail, plan.templates, plan.envelope)?,
            clock,
            poll: plan.mail_poll,
            retry: plan.mail_retry,
            mail_metrics,
        })
    }

    /// Serves on `listener` (and `/metrics` with the probes on
    /// `METRICS_BIND`, when set) and delivers mail until `shutdown` turns
    /// true; in-flight requests finish first.
    pub async fn serve(
        self,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), StartError> {
        let ops = match self.ops {
            Some((bind, router)) => {
                let listener =
                    TcpListener::bind(&bind)
                        .await
                        .map_err(|source| StartError::Bind {
                            bind: bind.clone(),
                            source,
                        })?;
                tracing::info!(addr = %bind, "serving metrics and probes");
                let mut stop = shutdown.clone();
                Some(tokio::spawn(async move {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = stop.wait_for(|stop| *stop).await;
                        })
                        .await
                }))
            }
            None => None,
        };
        let worker = tokio::spawn(worker::run(
            self.outbox.clone(),
            self.mailer.clone(),
            self.clock.clone(),
            self.retry,
            self.poll,
            self.mail_metrics.clone(),
            shutdown.clone(),
        ));
        let served = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
        let _ = worker.await;
        if let Some(ops) = ops {
            ops.await
                .map_err(|e| StartError::Setup(format!("metrics listener: {e}")))?
                .map_err(|source| StartError::Bind {
                    bind: "METRICS_BIND".into(),
                    source,
                })?;
        }
        served.map_err(|source| StartError::Bind {
            bind: "BIND".into(),
            source,
        })
    }

    /// The router alone, for driving the API in process without a socket
    /// or a mail worker (the fuzz targets); rate limits keyed by client IP
    /// need `serve`'s connection info.
    pub fn into_router(self) -> axum::Router {
        self.router
    }
}

/// The workflows over a plan's storage, and what else the server needs of
/// that storage; the operator commands use the workflows alone.
pub(crate) struct Wired {
    pub accounts: Accounts,
    pub stores: backend::Stores,
    pub limiter: Arc<dyn RateLimiter>,
    pub probes: Vec<Arc<dyn backend::Probe>>,
}

impl Wired {
    /// Opens the storage (migrating it), reads the keys and assembles the
    /// workflows; hashes are counted in `hashing` when given.
    pub(crate) async fn open(
        plan: &Plan,
        clock: Arc<dyn Clock>,
        hashing: Option<auth_runtime::HashMetrics>,
    ) -> Result<Self, StartError> {
        let Storage {
            stores,
            limiter,
            probes,
            keys,
        } = Storage::open(plan, clock.clone()).await?;
        let keys = keys
            .into_iter()
            .map(|k| {
                SecretKey::new(k.to_string())
                    .map_err(|e| StartError::Setup(format!("SECRET_KEY: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let hasher =
            Argon2Hasher::new(plan.hashing).map_err(|e| StartError::Setup(e.to_string()))?;
        let signer = LinkSigner::new(keys).map_err(|e| StartError::Setup(e.to_string()))?;
        let mut hasher = BlockingHasher::new(hasher, plan.hash_workers).with_queue(plan.hash_queue);
        if let Some(metrics) = hashing {
            hasher = hasher.with_metrics(metrics);
        }
        let ports = Ports {
            store: stores.users.clone(),
            tokens: stores.tokens.clone(),
            hasher: Arc::new(hasher),
            clock,
        };
        let accounts = Accounts::new(ports, signer, plan.passwords.clone(), plan.settings.clone());
        Ok(Self {
            accounts,
            stores,
            limiter,
            probes,
        })
    }
}

/// What a plan's storage provides, opened (and migrated): the database's
/// stores, with tokens and rate limits in Redis when it is configured.
pub(crate) struct Storage {
    pub stores: backend::Stores,
    pub limiter: Arc<dyn RateLimiter>,
    pub probes: Vec<Arc<dyn backend::Probe>>,
    /// The signing keys' texts, newest first.
    pub keys: Vec<Zeroizing<String>>,
}

impl Storage {
    pub(crate) async fn open(plan: &Plan, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let database = open_database(&plan.database_url).await?;
        let keys = key_texts(&plan.keys, &plan.database_url)?;
        let token_mode = if plan.one_token_per_user {
            // The derivation's message prefix ("drr-token:") keeps these
            // tokens apart from link signatures made with the same key.
            TokenMode::OnePerUser {
                key: Zeroizing::new(keys[0].as_bytes().to_vec()),
            }
        } else {
            TokenMode::PerLogin
        };
        let mut probes: Vec<Arc<dyn backend::Probe>> = vec![Arc::new(database.clone())];
        let mut stores = database.stores(
            plan.settings.matching,
            token_mode.clone(),
            plan.credentials,
            clock.clone(),
        );
        let mut limiter: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new(clock.clone()));
        let mut shared = None;
        if let Some((url, prefix)) = &plan.redis {
            let redis = RedisConnection::connect(url, std::time::Duration::from_secs(2))
                .await
                .map_err(|e| {
                    StartError::Setup(format!("REDIS_URL {}: {e}", backend::redact(url)))
                })?;
            stores.tokens = Arc::new(RedisTokenManager::new(
                redis.clone(),
                prefix.clone(),
                token_mode,
                plan.credentials,
                clock.clone(),
            ));
            // Counters in Redis hold across instances.
            limiter = Arc::new(RedisRateLimiter::new(redis.clone(), prefix.clone()));
            shared = Some(redis.clone());
            probes.push(Arc::new(redis));
        }
        if let Some((entries, max_age)) = plan.credential_cache
            && let Some(epochs) = cache_epochs(plan, shared.as_ref())?
        {
            let cache = CredentialCache::new(entries, max_age, epochs, clock);
            stores.tokens = Arc::new(cache.tokens(stores.tokens));
            stores.users = Arc::new(cache.users(stores.users));
        }
        Ok(Self {
            stores,
            limiter,
            probes,
            keys,
        })
    }
}

/// The signing keys, newest first: the configured key (or the generated
/// one), then the fallbacks.
fn key_texts(keys: &KeySource, database_url: &str) -> Result<Vec<Zeroizing<String>>, StartError> {
    let primary = match (&keys.file, &keys.key) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map(|k| k.trim().to_owned())
            .map_err(|e| StartError::Setup(format!("SECRET_KEY_FILE {}: {e}", path.display())))?,
        (None, Some(key)) => key.expose_secret().to_owned(),
        (None, None) => generated_key(database_url)?,
    };
    Ok(std::iter::once(primary)
        .chain(keys.fallbacks.iter().map(|k| k.expose_secret().to_owned()))
        .map(Zeroizing::new)
        .collect())
}

/// The key saved beside the database, made on first run.
fn generated_key(database_url: &str) -> Result<String, StartError> {
    let path = key_path(database_url);
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_owned());
    }
    let mut bytes = [0u8; 48];
    rand::fill(&mut bytes[..]);
    let key = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    std::fs::write(&path, &key).map_err(|e| {
        StartError::Setup(format!(
            "cannot save a new secret key at {}: {e}",
            path.display()
        ))
    })?;
    tracing::warn!(
        path = %path.display(),
        "no AUTH_SECRET_KEY configured: generated one and saved it; keep this file (links die without it) \
         or set AUTH_SECRET_KEY"
    );
    Ok(key)
}

fn key_path(database_url: &str) -> PathBuf {
    beside_sqlite(database_url, ".secret-key").unwrap_or_else(|| PathBuf::from("auth.secret-key"))
}

/// The file named after a SQLite database file with `suffix` added,
/// beside it; `None` for an in-memory database or another engine.
fn beside_sqlite(database_url: &str, suffix: &str) -> Option<PathBuf> {
    let db = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .filter(|p| !p.starts_with(":memory:") && !p.is_empty())
        .map(|p| p.split('?').next().unwrap_or(p))?;
    let db = Path::new(db);
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(db.with_file_name(format!("{name}{suffix}")))
}

/// Where the credential cache's change counters live: in Redis when it is
/// configured (every instance), in a file beside a SQLite database (every
/// process on it), in this process for an in-memory database. PostgreSQL
/// without Redis has nowhere cheap to share them: no cache there.
fn cache_epochs(
    plan: &Plan,
    redis: Option<&RedisConnection>,
) -> Result<Option<Arc<dyn Epochs>>, StartError> {
    if let (Some(redis), Some((_, prefix))) = (redis, &plan.redis) {
        return Ok(Some(Arc::new(RedisEpochs::new(
            redis.clone(),
            prefix.clone(),
        ))));
    }
    if let Some(path) = beside_sqlite(&plan.database_url, "-epochs") {
        let epochs = FileEpochs::open(&path).map_err(|e| {
            StartError::Setup(format!("credential cache counters {}: {e}", path.display()))
        })?;
        return Ok(Some(Arc::new(epochs)));
    }
    if plan.database_url.starts_with("sqlite:") {
        return Ok(Some(Arc::new(LocalEpochs::default())));
    }
    Ok(None)
}

fn mailer(
    target: MailTarget,
    templates: Arc<Templates>,
    envelope: Envelope,
) -> Result<Arc<dyn Mailer>, StartError> {
    Ok(match target {
        MailTarget::Console => Arc::new(ConsoleMailer::new(templates, envelope)),
        MailTarget::Dir(dir) => Arc::new(DirMailer::new(dir, templates, envelope)),
        MailTarget::Smtp(smtp) => Arc::new(
            SmtpMailer::new(&smtp, templates, envelope)
                .map_err(|e| StartError::Setup(format!("MAIL_URL: {e}")))?,
        ),
    })
}

/// Binds the configured listen address.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    TcpListener::bind(&config.bind)
        .await
        .map_err(|source| StartError::Bind {
            bind: config.bind.clone(),
            source,
        })
}
