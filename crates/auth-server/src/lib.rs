//! The composition root: reads the configuration, wires auth-core to its
//! adapters, and serves DRR's API. Used by the binary and by the end-to-end
//! tests alike.

mod backend;
pub mod check;
pub mod config;
pub mod mail_url;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_core::flows::{Accounts, Ports, RetryPolicy};
use auth_core::hashing::{Argon2Hasher, Argon2Params};
use auth_core::ports::{Clock, Mailer, Outbox, RateLimiter, SystemClock};
use auth_core::signing::{LinkSigner, SecretKey};
use auth_http::{ApiConfig, Throttle};
use auth_redis::{RedisConnection, RedisRateLimiter, RedisTokenManager};
use auth_runtime::{BlockingHasher, MemoryRateLimiter};
use auth_smtp::{ConsoleMailer, DirMailer, Envelope, SmtpMailer, Templates};
use auth_sql::TokenMode;
use tokio::net::TcpListener;
use tokio::sync::watch;
use zeroize::Zeroizing;

pub use backend::{Database, open_database};
pub use config::{Compat, Config, ConfigError};
use mail_url::MailTarget;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
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

/// A wired server, not yet serving.
pub struct App {
    router: axum::Router,
    outbox: Arc<dyn Outbox>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    poll: std::time::Duration,
    retry: RetryPolicy,
}

impl App {
    /// Opens the database (migrating it), loads keys and templates, and
    /// builds the router.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let settings = config.settings()?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let database = open_database(&config.database_url).await?;
        let keys = key_texts(config)?;
        let token_mode = if config.one_token_per_user() {
            // The derivation's message prefix ("drr-token:") keeps these
            // tokens apart from link signatures made with the same key.
            TokenMode::OnePerUser {
                key: Zeroizing::new(keys[0].as_bytes().to_vec()),
            }
        } else {
            TokenMode::PerLogin
        };
        let keys = keys
            .into_iter()
            .map(|k| {
                SecretKey::new(k.to_string())
                    .map_err(|e| StartError::Setup(format!("SECRET_KEY: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut probes: Vec<Arc<dyn backend::Probe>> = vec![Arc::new(database.clone())];
        let policy = config.credential_policy();
        let mut stores =
            database.stores(settings.matching, token_mode.clone(), policy, clock.clone());
        let mut limiter: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new(clock.clone()));
        if let Some(url) = &config.redis_url {
            let redis = RedisConnection::connect(url, std::time::Duration::from_secs(2))
                .await
                .map_err(|e| {
                    StartError::Setup(format!("REDIS_URL {}: {e}", backend::redact(url)))
                })?;
            stores.tokens = Arc::new(RedisTokenManager::new(
                redis.clone(),
                config.redis_prefix.clone(),
                token_mode,
                policy,
                clock.clone(),
            ));
            // Counters in Redis hold across instances.
            limiter = Arc::new(RedisRateLimiter::new(
                redis.clone(),
                config.redis_prefix.clone(),
            ));
            probes.push(Arc::new(redis));
        }
        let hasher = Argon2Hasher::new(hash_params(config)?)
            .map_err(|e| StartError::Setup(e.to_string()))?;
        let workers = config.password_hash_workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
        });
        let signer = LinkSigner::new(keys).map_err(|e| StartError::Setup(e.to_string()))?;
        let ports = Ports {
            store: stores.users,
            tokens: stores.tokens,
            hasher: Arc::new(BlockingHasher::new(hasher, workers)),
            clock: clock.clone(),
        };
        let accounts = Accounts::new(ports, signer, config.password_policy()?, settings);
        let api = ApiConfig {
            prefix: config.api_prefix.trim_end_matches('/').to_owned(),
            non_field_errors_key: config
                .use_non_field_errors_key_from_drf_settings
                .unwrap_or(false),
            secure_cookies: config.secure_cookies_effective(),
            session_max_age: std::time::Duration::from_secs(
                config.session_ttl.unwrap_or(14 * 24 * 3600),
            ),
            body_limit: config.body_limit,
            trusted_origins: config.csrf_trusted_origins.clone(),
            enumeration_floor: config.enumeration_floor(),
            ..ApiConfig::default()
        };
        let limits = config.limits()?;
        let throttle = config
            .rate_limited()
            .then_some(Throttle { limits, limiter });
        Ok(Self {
            router: auth_http::router(accounts, api, throttle)
                .merge(backend::health_routes(probes)),
            outbox: stores.outbox,
            mailer: mailer(config)?,
            clock,
            poll: std::time::Duration::from_millis(config.mail_poll_interval_ms.max(10)),
            retry: RetryPolicy {
                first_delay: time::Duration::seconds(
                    i64::try_from(config.mail_retry_delay.max(1)).unwrap_or(30),
                ),
                ..RetryPolicy::default()
            },
        })
    }

    /// Serves on `listener` and delivers mail until `shutdown` turns true;
    /// in-flight requests finish first.
    pub async fn serve(
        self,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let worker = tokio::spawn(worker::run(
            self.outbox.clone(),
            self.mailer.clone(),
            self.clock.clone(),
            self.retry,
            self.poll,
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
        served
    }

    /// The router alone, for driving the API in process without a socket
    /// or a mail worker (the fuzz targets); rate limits keyed by client IP
    /// need `serve`'s connection info.
    pub fn into_router(self) -> axum::Router {
        self.router
    }
}

fn hash_params(config: &Config) -> Result<Argon2Params, StartError> {
    let params = Argon2Params {
        m_cost: config.password_hash_memory_kib,
        t_cost: config.password_hash_iterations,
        p_cost: config.password_hash_parallelism,
    };
    if params.is_below_owasp_minimum() && !config.password_hash_allow_weak {
        return Err(StartError::Setup(format!(
            "argon2id parameters m={} KiB, t={}, p={} are below OWASP's minimum (m=19456, t=2, p=1); \
             raise them or set AUTH_PASSWORD_HASH_ALLOW_WEAK=1",
            params.m_cost, params.t_cost, params.p_cost
        )));
    }
    Ok(params)
}

/// The signing keys, newest first: the configured key (or the generated
/// one), then the fallbacks.
fn key_texts(config: &Config) -> Result<Vec<Zeroizing<String>>, StartError> {
    let primary = match (&config.secret_key_file, &config.secret_key) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map(|k| k.trim().to_owned())
            .map_err(|e| StartError::Setup(format!("SECRET_KEY_FILE {}: {e}", path.display())))?,
        (None, Some(key)) => key.clone(),
        (None, None) => generated_key(&config.database_url)?,
    };
    Ok(std::iter::once(primary)
        .chain(config.secret_key_fallbacks.iter().cloned())
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
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .filter(|p| !p.starts_with(":memory:") && !p.is_empty())
        .map(|p| p.split('?').next().unwrap_or(p));
    match file {
        Some(db) => {
            let db = Path::new(db);
            let name = db
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            db.with_file_name(format!("{name}.secret-key"))
        }
        None => PathBuf::from("auth.secret-key"),
    }
}

fn mailer(config: &Config) -> Result<Arc<dyn Mailer>, StartError> {
    let templates = Arc::new(
        Templates::load(config.templates_dir.as_deref())
            .map_err(|e| StartError::Setup(e.to_string()))?,
    );
    let mailbox = |key: &str, value: &str| {
        value.parse().map_err(|e| {
            StartError::Setup(format!("{key} {value:?} is not an e-mail address: {e}"))
        })
    };
    let envelope = Envelope {
        from: mailbox("VERIFICATION_FROM_EMAIL", &config.verification_from_email)?,
        reply_to: config
            .verification_reply_to_email
            .as_deref()
            .map(|v| mailbox("VERIFICATION_REPLY_TO_EMAIL", v))
            .transpose()?,
    };
    let target = mail_url::parse(&config.mail_url)
        .map_err(|e| StartError::Setup(format!("MAIL_URL: {e}")))?;
    Ok(match target {
        MailTarget::Console => Arc::new(ConsoleMailer::new(templates, envelope)),
        MailTarget::Dir(dir) => Arc::new(DirMailer::new(dir, templates, envelope)),
        MailTarget::Smtp(smtp) => Arc::new(
            SmtpMailer::new(&smtp, templates, envelope)
                .map_err(|e| StartError::Setup(format!("MAIL_URL: {e}")))?,
        ),
    })
}

/// Binds `config.bind`.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    TcpListener::bind(&config.bind)
        .await
        .map_err(|source| StartError::Bind {
            bind: config.bind.clone(),
            source,
        })
}
