//! Configuration: compiled defaults, then a TOML file, then `AUTH_*`
//! environment variables. Every django-rest-registration setting keeps its
//! name (`RESET_PASSWORD_VERIFICATION_ONE_TIME_USE` in the file,
//! `AUTH_RESET_PASSWORD_VERIFICATION_ONE_TIME_USE` in the environment).

use std::path::{Path, PathBuf};

use auth_core::credentials::CredentialPolicy;
use auth_core::policy::PasswordPolicy;
use auth_core::ports::{Matching, RateRule};
use auth_core::settings::{CredentialsEnded, LoginField, Settings};
use auth_http::{Action, Limits};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};
use time::Duration;

/// Which behaviour profile the settings start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compat {
    /// Our safe defaults.
    #[default]
    Safe,
    /// Every client-visible DRR behaviour, including those DRR has no
    /// setting for (one token per user, token kept on logout, exact
    /// identifiers, …).
    Drr,
}

/// Everything the server reads. Optional DRR settings left unset take the
/// profile's value (see `docs/configuration.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", default)]
pub struct Config {
    /// Listen address.
    pub bind: String,
    /// `sqlite://PATH` (created if missing), `sqlite::memory:`, or
    /// `postgres://user[:password]@host[:port]/database`.
    pub database_url: String,
    /// Link-signing key (Django's `SECRET_KEY`). Generated and saved beside
    /// the database when unset.
    pub secret_key: Option<String>,
    /// Redis for tokens and sessions (several instances share them there);
    /// comma-separated node URLs mean Redis Cluster. Unset: the database.
    pub redis_url: Option<String>,
    /// Key prefix in Redis.
    pub redis_prefix: String,
    /// API token lifetime in seconds; 0: no expiry (DRR). Unset: 30 days
    /// in the safe profile, no expiry in the DRR profile.
    pub token_ttl: Option<u64>,
    /// Seconds a token or session may go unused; 0: no idle timeout. Unset:
    /// 7 days in the safe profile, none in the DRR profile.
    pub credential_idle_timeout: Option<u64>,
    /// Session lifetime in seconds (default two weeks, as Django).
    pub session_ttl: Option<u64>,
    /// A use restarts the lifetime (idle timeout). Redis only.
    #[serde(deserialize_with = "flag")]
    pub token_sliding_expiry: bool,
    /// A file holding the secret key (wins over `SECRET_KEY`).
    pub secret_key_file: Option<PathBuf>,
    /// Older keys that still verify links (newest first), for rotation.
    #[serde(deserialize_with = "list")]
    pub secret_key_fallbacks: Vec<String>,
    /// `console`, `dir:PATH`, `smtp://[user:pass@]host:port`,
    /// `smtp+starttls://…` or `smtps://…`.
    pub mail_url: String,
    /// Sender address (DRR: `VERIFICATION_FROM_EMAIL`; `MAIL_FROM` is an alias).
    #[serde(alias = "MAIL_FROM")]
    pub verification_from_email: String,
    /// `VERIFICATION_REPLY_TO_EMAIL`.
    pub verification_reply_to_email: Option<String>,
    /// A folder overriding the e-mail templates.
    pub templates_dir: Option<PathBuf>,
    /// Where DRR's endpoints live.
    pub api_prefix: String,
    /// `safe` (default) or `drr`.
    pub compat: Compat,
    /// Mark cookies `Secure`.
    #[serde(deserialize_with = "opt_bool")]
    pub secure_cookies: Option<bool>,
    /// Rate limits per action, by client IP and target account (safe
    /// profile: on; DRR profile: off, as DRR has none).
    #[serde(deserialize_with = "opt_bool")]
    pub rate_limits: Option<bool>,
    /// Least milliseconds the answers of register, send-reset-password-link,
    /// resend-verification and register-email take (default 200 in the safe
    /// profile, 0 in the DRR profile).
    pub enumeration_floor_ms: Option<u64>,
    /// Rate-limit overrides by action name (`login`, `register`,
    /// `send_reset_link`, `reset_password`, `verify`, `register_email`,
    /// `resend`, `reauthenticate`): `"IP_LIMIT/SECONDS,ACCOUNT_LIMIT/SECONDS"`.
    pub rate_limit_rules: std::collections::BTreeMap<String, String>,
    /// Proxies whose `X-Forwarded-For` names the client, comma-separated
    /// IP addresses. Requests from any other peer are keyed by the peer.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
    /// `CSRF_TRUSTED_ORIGINS`, comma-separated.
    #[serde(deserialize_with = "list")]
    pub csrf_trusted_origins: Vec<String>,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// argon2id memory in KiB.
    pub password_hash_memory_kib: u32,
    /// argon2id iterations.
    pub password_hash_iterations: u32,
    /// argon2id lanes.
    pub password_hash_parallelism: u32,
    /// Accept argon2id parameters below OWASP's minimum.
    #[serde(deserialize_with = "flag")]
    pub password_hash_allow_weak: bool,
    /// Concurrent password hashes (default: CPU count).
    pub password_hash_workers: Option<usize>,
    /// How often the mail worker looks for due mail, in milliseconds.
    pub mail_poll_interval_ms: u64,
    /// Seconds before the first retry of a failed mail (doubling after each
    /// further failure, up to an hour).
    pub mail_retry_delay: u64,

    // ---- django-rest-registration settings ----
    /// `USER_LOGIN_FIELDS`: `username`, `email`, comma-separated.
    #[serde(deserialize_with = "opt_list")]
    pub user_login_fields: Option<Vec<String>>,
    /// `REGISTER_FLOW_ENABLED`.
    #[serde(deserialize_with = "opt_bool")]
    pub register_flow_enabled: Option<bool>,
    /// `REGISTER_SERIALIZER_PASSWORD_CONFIRM`.
    #[serde(deserialize_with = "opt_bool")]
    pub register_serializer_password_confirm: Option<bool>,
    /// `REGISTER_VERIFICATION_ENABLED`.
    #[serde(deserialize_with = "opt_bool")]
    pub register_verification_enabled: Option<bool>,
    /// `REGISTER_VERIFICATION_URL`.
    pub register_verification_url: Option<String>,
    /// `REGISTER_VERIFICATION_PERIOD`, seconds.
    pub register_verification_period: Option<i64>,
    /// `REGISTER_VERIFICATION_ONE_TIME_USE`.
    #[serde(deserialize_with = "opt_bool")]
    pub register_verification_one_time_use: Option<bool>,
    /// `REGISTER_VERIFICATION_AUTO_LOGIN`.
    #[serde(deserialize_with = "opt_bool")]
    pub register_verification_auto_login: Option<bool>,
    /// `LOGIN_RETRIEVE_TOKEN`.
    #[serde(deserialize_with = "opt_bool")]
    pub login_retrieve_token: Option<bool>,
    /// `LOGIN_AUTHENTICATE_SESSION`.
    #[serde(deserialize_with = "opt_bool")]
    pub login_authenticate_session: Option<bool>,
    /// `RESET_PASSWORD_VERIFICATION_ENABLED`.
    #[serde(deserialize_with = "opt_bool")]
    pub reset_password_verification_enabled: Option<bool>,
    /// `RESET_PASSWORD_VERIFICATION_URL`.
    pub reset_password_verification_url: Option<String>,
    /// `RESET_PASSWORD_VERIFICATION_PERIOD`, seconds.
    pub reset_password_verification_period: Option<i64>,
    /// `RESET_PASSWORD_VERIFICATION_ONE_TIME_USE`.
    #[serde(deserialize_with = "opt_bool")]
    pub reset_password_verification_one_time_use: Option<bool>,
    /// `RESET_PASSWORD_FAIL_WHEN_USER_NOT_FOUND`.
    #[serde(deserialize_with = "opt_bool")]
    pub reset_password_fail_when_user_not_found: Option<bool>,
    /// `RESET_PASSWORD_SERIALIZER_PASSWORD_CONFIRM`.
    #[serde(deserialize_with = "opt_bool")]
    pub reset_password_serializer_password_confirm: Option<bool>,
    /// `SEND_RESET_PASSWORD_LINK_SERIALIZER_USE_EMAIL`.
    #[serde(deserialize_with = "opt_bool")]
    pub send_reset_password_link_serializer_use_email: Option<bool>,
    /// `REGISTER_EMAIL_VERIFICATION_ENABLED`.
    #[serde(deserialize_with = "opt_bool")]
    pub register_email_verification_enabled: Option<bool>,
    /// `REGISTER_EMAIL_VERIFICATION_URL`.
    pub register_email_verification_url: Option<String>,
    /// `REGISTER_EMAIL_VERIFICATION_PERIOD`, seconds.
    pub register_email_verification_period: Option<i64>,
    /// `CHANGE_PASSWORD_SERIALIZER_PASSWORD_CONFIRM`.
    #[serde(deserialize_with = "opt_bool")]
    pub change_password_serializer_password_confirm: Option<bool>,
    /// `USE_NON_FIELD_ERRORS_KEY_FROM_DRF_SETTINGS`.
    #[serde(deserialize_with = "opt_bool")]
    pub use_non_field_errors_key_from_drf_settings: Option<bool>,

    // ---- behaviours DRR has no setting for (the profile decides by default) ----
    /// Compare usernames and addresses ignoring case.
    #[serde(deserialize_with = "opt_bool")]
    pub identifiers_case_insensitive: Option<bool>,
    /// A new token per login (else DRR's one token per user).
    #[serde(deserialize_with = "opt_bool")]
    pub token_per_login: Option<bool>,
    /// Logout revokes the token that made the request.
    #[serde(deserialize_with = "opt_bool")]
    pub logout_revokes_token: Option<bool>,
    /// `sessions`, `all_but_caller` or `all`.
    pub change_password_ends: Option<String>,
    /// `sessions`, `all_but_caller` or `all`.
    pub reset_password_ends: Option<String>,
    /// Check reset links before the new password.
    #[serde(deserialize_with = "opt_bool")]
    pub reset_password_signature_first: Option<bool>,
    /// Only the newest requested e-mail change can be confirmed.
    #[serde(deserialize_with = "opt_bool")]
    pub register_email_newest_only: Option<bool>,
    /// Registering with a taken address is a field error (DRR) rather than
    /// the answer of a new account plus a notice to the owner.
    #[serde(deserialize_with = "opt_bool")]
    pub register_fail_when_email_taken: Option<bool>,
    /// `django` (Django's four validators) or `safe` (no all-digit rule,
    /// plus the user's names and `PASSWORD_CONTEXT_WORDS`); default by profile.
    pub password_policy: Option<String>,
    /// Words no password may contain (the service's name, …),
    /// comma-separated; `safe` policy only.
    #[serde(deserialize_with = "list")]
    pub password_context_words: Vec<String>,
    /// `register-email/` needs the current `password`.
    #[serde(deserialize_with = "opt_bool")]
    pub register_email_requires_password: Option<bool>,
    /// Mail the account when its password or address changes.
    #[serde(deserialize_with = "opt_bool")]
    pub notify_changes: Option<bool>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8000".into(),
            database_url: "sqlite://auth.sqlite3".into(),
            secret_key: None,
            secret_key_file: None,
            redis_url: None,
            redis_prefix: "auth:".into(),
            token_ttl: None,
            credential_idle_timeout: None,
            session_ttl: Some(14 * 24 * 3600),
            token_sliding_expiry: false,
            secret_key_fallbacks: Vec::new(),
            mail_url: "console".into(),
            verification_from_email: "no-reply@localhost".into(),
            verification_reply_to_email: None,
            templates_dir: None,
            api_prefix: "/api/v1/accounts".into(),
            compat: Compat::Safe,
            secure_cookies: None,
            csrf_trusted_origins: Vec::new(),
            rate_limits: None,
            trusted_proxies: Vec::new(),
            body_limit: 64 * 1024,
            password_hash_memory_kib: 19_456,
            password_hash_iterations: 2,
            password_hash_parallelism: 1,
            password_hash_allow_weak: false,
            password_hash_workers: None,
            mail_poll_interval_ms: 250,
            mail_retry_delay: 30,
            user_login_fields: None,
            register_flow_enabled: None,
            register_serializer_password_confirm: None,
            register_verification_enabled: None,
            register_verification_url: None,
            register_verification_period: None,
            register_verification_one_time_use: None,
            register_verification_auto_login: None,
            login_retrieve_token: None,
            login_authenticate_session: None,
            reset_password_verification_enabled: None,
            reset_password_verification_url: None,
            reset_password_verification_period: None,
            reset_password_verification_one_time_use: None,
            reset_password_fail_when_user_not_found: None,
            reset_password_serializer_password_confirm: None,
            send_reset_password_link_serializer_use_email: None,
            register_email_verification_enabled: None,
            register_email_verification_url: None,
            register_email_verification_period: None,
            change_password_serializer_password_confirm: None,
            use_non_field_errors_key_from_drf_settings: None,
            identifiers_case_insensitive: None,
            token_per_login: None,
            logout_revokes_token: None,
            change_password_ends: None,
            reset_password_ends: None,
            reset_password_signature_first: None,
            register_email_newest_only: None,
            register_fail_when_email_taken: None,
            notify_changes: None,
            register_email_requires_password: None,
            password_policy: None,
            password_context_words: Vec::new(),
            rate_limit_rules: std::collections::BTreeMap::new(),
            enumeration_floor_ms: None,
        }
    }
}

/// A configuration that cannot be used, with where the bad value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value has the wrong type or shape (figment names its source).
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    /// A value parses but means nothing.
    #[error("{key}: {message}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Loads defaults, then `file` (if given, or `auth.toml` if present), then
    /// `AUTH_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("auth.toml")),
        }
        // `lowercase(false)` must come last: `ignore` resets it.
        figment = figment.merge(
            Env::prefixed("AUTH_")
                .ignore(&["CONFIG", "SERVER_BIN"])
                .lowercase(false),
        );
        figment
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))
    }

    /// The workflow settings: the profile's values with every configured
    /// DRR setting applied.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let mut s = match self.compat {
            Compat::Safe => Settings::default(),
            Compat::Drr => Settings::drr(),
        };
        if let Some(fields) = &self.user_login_fields {
            s.login_fields = fields
                .iter()
                .map(|f| match f.as_str() {
                    "username" => Ok(LoginField::Username),
                    "email" => Ok(LoginField::Email),
                    other => Err(invalid(
                        "USER_LOGIN_FIELDS",
                        format!("unknown field {other:?} (username, email)"),
                    )),
                })
                .collect::<Result<_, _>>()?;
            if s.login_fields.is_empty() {
                return Err(invalid(
                    "USER_LOGIN_FIELDS",
                    "at least one field is required".into(),
                ));
            }
        }
        if let Some(ci) = self.identifiers_case_insensitive {
            s.matching = if ci {
                Matching::CaseInsensitive
            } else {
                Matching::Exact
            };
        }
        set(&mut s.register.enabled, self.register_flow_enabled);
        set(
            &mut s.register.password_confirm,
            self.register_serializer_password_confirm,
        );
        set(
            &mut s.register.verification_enabled,
            self.register_verification_enabled,
        );
        set(
            &mut s.register.one_time_use,
            self.register_verification_one_time_use,
        );
        set(
            &mut s.register.auto_login,
            self.register_verification_auto_login,
        );
        set(
            &mut s.register.fail_when_email_taken,
            self.register_fail_when_email_taken,
        );
        set(&mut s.notify_changes, self.notify_changes);
        set_url(
            &mut s.register.verification_url,
            &self.register_verification_url,
        );
        set_period(
            &mut s.register.verification_period,
            self.register_verification_period,
            "REGISTER_VERIFICATION_PERIOD",
        )?;
        set(&mut s.login.retrieve_token, self.login_retrieve_token);
        set(
            &mut s.login.authenticate_session,
            self.login_authenticate_session,
        );
        set(&mut s.login.logout_revokes_token, self.logout_revokes_token);
        let reset = &mut s.reset_password;
        set(&mut reset.enabled, self.reset_password_verification_enabled);
        set_url(
            &mut reset.verification_url,
            &self.reset_password_verification_url,
        );
        set_period(
            &mut reset.verification_period,
            self.reset_password_verification_period,
            "RESET_PASSWORD_VERIFICATION_PERIOD",
        )?;
        set(
            &mut reset.one_time_use,
            self.reset_password_verification_one_time_use,
        );
        set(
            &mut reset.fail_when_user_not_found,
            self.reset_password_fail_when_user_not_found,
        );
        set(
            &mut reset.password_confirm,
            self.reset_password_serializer_password_confirm,
        );
        set(
            &mut reset.use_email,
            self.send_reset_password_link_serializer_use_email,
        );
        set(
            &mut reset.signature_first,
            self.reset_password_signature_first,
        );
        if let Some(ends) = &self.reset_password_ends {
            reset.ends = credentials_ended("RESET_PASSWORD_ENDS", ends)?;
        }
        let email = &mut s.register_email;
        set(
            &mut email.verification_enabled,
            self.register_email_verification_enabled,
        );
        set_url(
            &mut email.verification_url,
            &self.register_email_verification_url,
        );
        set_period(
            &mut email.verification_period,
            self.register_email_verification_period,
            "REGISTER_EMAIL_VERIFICATION_PERIOD",
        )?;
        set(&mut email.newest_only, self.register_email_newest_only);
        set(
            &mut email.requires_password,
            self.register_email_requires_password,
        );
        set(
            &mut s.change_password_confirm,
            self.change_password_serializer_password_confirm,
        );
        if let Some(ends) = &self.change_password_ends {
            s.change_password_ends = credentials_ended("CHANGE_PASSWORD_ENDS", ends)?;
        }
        Ok(s)
    }

    /// Whether cookies are marked `Secure`: as configured, else whenever the
    /// server listens beyond loopback (where plain HTTP is only for local
    /// development).
    pub fn secure_cookies_effective(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| {
            let host = self
                .bind
                .rsplit_once(':')
                .map_or(self.bind.as_str(), |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            !(host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback()))
        })
    }

    /// Whether requests are rate-limited.
    pub fn rate_limited(&self) -> bool {
        self.rate_limits.unwrap_or(self.compat == Compat::Safe)
    }

    /// The trusted proxies' addresses.
    pub fn trusted_proxy_ips(&self) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|_| invalid("TRUSTED_PROXIES", format!("{p:?} is not an IP address")))
            })
            .collect()
    }

    /// The default rate limits with `RATE_LIMIT_RULES` applied.
    pub fn limits(&self) -> Result<Limits, ConfigError> {
        let mut limits = Limits::default();
        for (name, text) in &self.rate_limit_rules {
            let action = Action::ALL
                .into_iter()
                .find(|a| a.name() == name)
                .ok_or_else(|| invalid("RATE_LIMIT_RULES", format!("unknown action {name:?}")))?;
            let rule = |part: &str| -> Option<RateRule> {
                let (limit, seconds) = part.trim().split_once('/')?;
                let seconds: i64 = seconds.trim().parse().ok().filter(|s| *s > 0)?;
                Some(RateRule {
                    limit: limit.trim().parse().ok()?,
                    window: Duration::seconds(seconds),
                })
            };
            let parsed = text
                .split_once(',')
                .and_then(|(ip, account)| Some((rule(ip)?, rule(account)?)));
            let Some((per_ip, per_account)) = parsed else {
                return Err(invalid(
                    "RATE_LIMIT_RULES",
                    format!("{name}: {text:?} is not \"IP_LIMIT/SECONDS,ACCOUNT_LIMIT/SECONDS\""),
                ));
            };
            limits.set(action, per_ip, per_account);
        }
        limits.trusted_proxies = self.trusted_proxy_ips()?;
        Ok(limits)
    }

    /// How long credentials live.
    pub fn credential_policy(&self) -> CredentialPolicy {
        const DAY: u64 = 24 * 3600;
        let safe = self.compat == Compat::Safe;
        let seconds = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
        let limit = |configured: Option<u64>, safe_default: u64| {
            Some(configured.unwrap_or(if safe { safe_default } else { 0 }))
                .filter(|s| *s > 0)
                .map(seconds)
        };
        CredentialPolicy {
            token_lifetime: limit(self.token_ttl, 30 * DAY),
            session_lifetime: self.session_ttl.filter(|s| *s > 0).map(seconds),
            idle_timeout: limit(self.credential_idle_timeout, 7 * DAY),
            sliding: self.token_sliding_expiry,
        }
    }

    /// How long enumeration-sensitive answers take at least.
    pub fn enumeration_floor(&self) -> std::time::Duration {
        let default = match self.compat {
            Compat::Safe => 200,
            Compat::Drr => 0,
        };
        std::time::Duration::from_millis(self.enumeration_floor_ms.unwrap_or(default))
    }

    /// The password validators.
    pub fn password_policy(&self) -> Result<PasswordPolicy, ConfigError> {
        let name = self
            .password_policy
            .as_deref()
            .unwrap_or(match self.compat {
                Compat::Safe => "safe",
                Compat::Drr => "django",
            });
        match name {
            "safe" => Ok(PasswordPolicy::safe(self.password_context_words.clone())),
            "django" => Ok(PasswordPolicy::django_default()),
            other => Err(invalid(
                "PASSWORD_POLICY",
                format!("unknown policy {other:?} (safe, django)"),
            )),
        }
    }

    /// Whether API tokens are one per user (the DRR profile's default).
    pub fn one_token_per_user(&self) -> bool {
        match self.token_per_login {
            Some(per_login) => !per_login,
            None => self.compat == Compat::Drr,
        }
    }
}

fn invalid(key: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { key, message }
}

fn set(target: &mut bool, value: Option<bool>) {
    if let Some(value) = value {
        *target = value;
    }
}

fn set_url(target: &mut String, value: &Option<String>) {
    if let Some(value) = value {
        value.clone_into(target);
    }
}

fn set_period(
    target: &mut Duration,
    seconds: Option<i64>,
    key: &'static str,
) -> Result<(), ConfigError> {
    match seconds {
        Some(s) if s <= 0 => Err(invalid(
            key,
            format!("must be a positive number of seconds, not {s}"),
        )),
        Some(s) => {
            *target = Duration::seconds(s);
            Ok(())
        }
        None => Ok(()),
    }
}

fn credentials_ended(key: &'static str, value: &str) -> Result<CredentialsEnded, ConfigError> {
    match value {
        "sessions" => Ok(CredentialsEnded::Sessions),
        "all_but_caller" => Ok(CredentialsEnded::AllButCaller),
        "all" => Ok(CredentialsEnded::All),
        other => Err(invalid(
            key,
            format!("{other:?} is not one of sessions, all_but_caller, all"),
        )),
    }
}

/// A value written as a TOML boolean, a number (`1`/`0`) or a word
/// (`true`, `yes`, `on`, …), as environment variables usually are.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flexible {
    Bool(bool),
    Int(i64),
    Text(String),
}

fn to_bool<E: serde::de::Error>(value: Flexible) -> Result<bool, E> {
    match value {
        Flexible::Bool(b) => Ok(b),
        Flexible::Int(1) => Ok(true),
        Flexible::Int(0) => Ok(false),
        Flexible::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            other => Err(E::custom(format!(
                "expected a boolean (1/0, true/false), got {other:?}"
            ))),
        },
        Flexible::Int(n) => Err(E::custom(format!(
            "expected a boolean (1/0, true/false), got {n}"
        ))),
    }
}

fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Option::<Flexible>::deserialize(d)?.map(to_bool).transpose()
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    to_bool(Flexible::deserialize(d)?)
}

/// A list written as a TOML array or as comma-separated text.
#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrText {
    List(Vec<String>),
    Text(String),
}

fn to_list(value: ListOrText) -> Vec<String> {
    match value {
        ListOrText::List(items) => items,
        ListOrText::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<ListOrText>::deserialize(d)?.map(to_list))
}

fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(to_list(ListOrText::deserialize(d)?))
}

#[cfg(test)]
// figment::Jail's closure signature is figment's, large error and all.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_rules_override_one_action_and_bad_ones_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AUTH_RATE_LIMIT_RULES", "{login=\"5/60,3/2\"}");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            let limits = config.limits().map_err(|e| e.to_string())?;
            let rule = |limit, seconds| RateRule {
                limit,
                window: Duration::seconds(seconds),
            };
            assert_eq!(limits.rules(Action::Login), Some((rule(5, 60), rule(3, 2))));
            assert_eq!(
                limits.rules(Action::Register),
                Limits::default().rules(Action::Register)
            );
            jail.set_env("AUTH_RATE_LIMIT_RULES", "{login=\"5 per minute\"}");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert!(
                config
                    .limits()
                    .is_err_and(|e| e.to_string().contains("RATE_LIMIT_RULES"))
            );
            jail.set_env("AUTH_RATE_LIMIT_RULES", "{logon=\"5/60,3/2\"}");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert!(
                config
                    .limits()
                    .is_err_and(|e| e.to_string().contains("logon"))
            );
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_override_defaults_with_drr_names() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "auth.toml",
                "BIND = \"127.0.0.1:9000\"\nRESET_PASSWORD_VERIFICATION_ONE_TIME_USE = false\nUSER_LOGIN_FIELDS = [\"email\"]\n",
            )?;
            jail.set_env("AUTH_BIND", "127.0.0.1:9001");
            jail.set_env("AUTH_COMPAT", "drr");
            jail.set_env("AUTH_REGISTER_VERIFICATION_ONE_TIME_USE", "1");
            jail.set_env("AUTH_REGISTER_VERIFICATION_PERIOD", "60");
            jail.set_env("AUTH_SERVER_BIN", "/ignored");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.bind, "127.0.0.1:9001");
            assert_eq!(config.compat, Compat::Drr);
            let settings = config.settings().map_err(|e| e.to_string())?;
            assert!(settings.register.one_time_use);
            assert!(!settings.reset_password.one_time_use);
            assert_eq!(settings.register.verification_period, Duration::seconds(60));
            assert_eq!(settings.login_fields, [LoginField::Email]);
            assert_eq!(settings.matching, Matching::Exact);
            assert!(config.one_token_per_user());
            Ok(())
        });
    }

    #[test]
    fn cookies_are_secure_by_default_beyond_loopback() {
        let at = |bind: &str| {
            Config {
                bind: bind.into(),
                ..Config::default()
            }
            .secure_cookies_effective()
        };
        assert!(!at("127.0.0.1:8000") && !at("localhost:8000") && !at("[::1]:8000"));
        assert!(at("0.0.0.0:8000") && at("10.1.2.3:443") && at("[::]:8000"));
        let forced = Config {
            bind: "0.0.0.0:80".into(),
            secure_cookies: Some(false),
            ..Config::default()
        };
        assert!(!forced.secure_cookies_effective());
    }

    #[test]
    fn bad_values_name_their_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AUTH_LOGIN_RETRIEVE_TOKEN", "maybe");
            let err = Config::load(None)
                .expect_err("maybe is no boolean")
                .to_string();
            assert!(
                err.contains("LOGIN_RETRIEVE_TOKEN") && err.contains("maybe"),
                "{err}"
            );
            Ok(())
        });
        let config = Config {
            reset_password_verification_period: Some(0),
            ..Config::default()
        };
        let err = config.settings().expect_err("zero period").to_string();
        assert!(
            err.starts_with("RESET_PASSWORD_VERIFICATION_PERIOD"),
            "{err}"
        );
    }
}
