//! The validated plan: every value the server runs with, derived from a
//! [`Config`](crate::Config) by [`check::run`](crate::check::run), which
//! is the only place the rules are checked. Start-up builds from a plan and
//! checks nothing again.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auth_core::credentials::CredentialPolicy;
use auth_core::flows::RetryPolicy;
use auth_core::hashing::Argon2Params;
use auth_core::policy::PasswordPolicy;
use auth_core::settings::Settings;
use auth_http::{ApiConfig, Limits};
use auth_smtp::{Envelope, Templates};
use secrecy::SecretString;

use crate::mail_url::MailTarget;

/// What the server will run with.
pub struct Plan {
    /// Listen address.
    pub bind: String,
    /// The workflows' settings.
    pub settings: Settings,
    /// The password validators.
    pub passwords: PasswordPolicy,
    /// argon2id parameters.
    pub hashing: Argon2Params,
    /// Concurrent password hashes.
    pub hash_workers: usize,
    /// Password hashes that may wait beyond those running.
    pub hash_queue: usize,
    /// The credential cache's size and the longest it keeps an entry;
    /// `None`: no cache.
    pub credential_cache: Option<(u64, std::time::Duration)>,
    /// How long credentials live.
    pub credentials: CredentialPolicy,
    /// DRR's one token per user, rather than one per login.
    pub one_token_per_user: bool,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Tokens, sessions and rate-limit counters in Redis: URL and key prefix.
    pub redis: Option<(String, String)>,
    /// Where the signing keys come from.
    pub keys: KeySource,
    /// Where mail goes.
    pub mail: MailTarget,
    /// Sender addresses.
    pub envelope: Envelope,
    /// The mail templates, loaded.
    pub templates: Arc<Templates>,
    /// HTTP-level settings.
    pub api: ApiConfig,
    /// Rate limits, when on.
    pub throttle: Option<Limits>,
    /// How often the mail worker looks for due mail.
    pub mail_poll: Duration,
    /// When failed mail is retried.
    pub mail_retry: RetryPolicy,
    /// Where `/metrics` and the probes are served, when not beside the API.
    pub metrics_bind: Option<String>,
    /// `/readyz` fails when unsent mail has waited longer (`None`: never).
    pub ready_max_mail_age: Option<Duration>,
    /// The account `ADMIN_USERNAME` asks for, created at start when absent.
    pub admin: Option<auth_core::flows::NewAccount>,
}

/// The signing keys' sources, newest first; read at start-up (a generated
/// key is saved beside the database then).
pub struct KeySource {
    /// `SECRET_KEY_FILE`, which wins over `SECRET_KEY`.
    pub file: Option<PathBuf>,
    /// `SECRET_KEY`.
    pub key: Option<SecretString>,
    /// `SECRET_KEY_FALLBACKS`.
    pub fallbacks: Vec<SecretString>,
}
