//! `auth-server check`: Django-style system checks of a configuration, and
//! the [`Plan`] start-up uses — one run of every rule serves both.

use std::sync::Arc;

use auth_core::flows::RetryPolicy;
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::plan::{KeySource, Plan};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The server must not start.
    Error,
    /// The server runs, but probably not as meant.
    Warning,
}

/// One finding, with a DRR-style identifier where DRR has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub level: Level,
    /// Stable identifier (`E001`, `W001`, `auth.W010`, …).
    pub id: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The outcome of the checks: every finding, and the plan when there is
/// no error.
pub struct Report {
    /// Errors and warnings, in the order found.
    pub findings: Vec<Finding>,
    /// What the server runs with; `None` when any finding is an error.
    pub plan: Option<Plan>,
}

impl Report {
    /// The errors among the findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.level == Level::Error)
    }
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn error(&mut self, id: &'static str, message: String) {
        self.0.push(Finding {
            level: Level::Error,
            id,
            message,
        });
    }

    fn warn(&mut self, id: &'static str, message: String) {
        self.0.push(Finding {
            level: Level::Warning,
            id,
            message,
        });
    }

    /// The value, or `None` with the error recorded under `id`.
    fn need<T, E: std::fmt::Display>(
        &mut self,
        id: &'static str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.error(id, e.to_string())).ok()
    }
}

/// Checks `config` and, when nothing is wrong, plans the server.
pub fn run(config: &Config) -> Report {
    let mut f = Findings::default();
    let mut settings = f.need("auth.E001", config.settings());
    let pages_on = config.pages_on();
    if pages_on && let Some(settings) = settings.as_mut() {
        config.point_links_at_pages(settings);
    }
    let pages = if pages_on {
        f.need(
            "auth.E010",
            auth_http::pages::Pages::load(config.templates_dir.as_deref())
                .map(|pages| Some(Arc::new(pages)))
                .map_err(|e| format!("page templates: {e}")),
        )
    } else {
        Some(None)
    };
    let mail = f.need(
        "auth.E002",
        crate::mail_url::parse(&config.mail_url).map_err(|e| format!("AUTH_MAIL_URL: {e}")),
    );
    let envelope = f.need("E003", envelope(config));
    let url = &config.database_url;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        f.error(
            "auth.E004",
            format!(
                "AUTH_DATABASE_URL {:?}: use sqlite://PATH or postgres://…",
                crate::backend::redact(url)
            ),
        );
    }
    let hashing = f.need("auth.E005", config.hash_params());
    let limits = f.need("auth.E006", config.limits());
    let proxies = f.need("auth.E006", config.trusted_proxy_ips());
    let passwords = f.need("auth.E007", config.password_policy_rules());
    let templates = f.need(
        "E009",
        config
            .mail_files()
            .map_err(|e| e.to_string())
            .and_then(|named| {
                auth_smtp::Templates::load_with(config.templates_dir.as_deref(), &named)
                    .map_err(|e| format!("templates: {e}"))
            }),
    );
    match (&config.secret_key, &config.secret_key_file) {
        (None, None) => f.warn(
            "auth.W010",
            "no AUTH_SECRET_KEY: a generated key saved beside the database is used; set one explicitly in production".into(),
        ),
        (Some(key), None) if key.expose_secret().chars().count() < 32 => f.warn(
            "auth.W011",
            format!(
                "AUTH_SECRET_KEY has {} characters; use at least 32 random ones",
                key.expose_secret().chars().count()
            ),
        ),
        (Some(_), Some(_)) => f.warn(
            "auth.W013",
            "AUTH_SECRET_KEY and AUTH_SECRET_KEY_FILE are both set: the file wins and AUTH_SECRET_KEY is ignored".into(),
        ),
        _ => {}
    }
    if config.metrics_bind.as_deref() == Some(config.bind.as_str()) {
        f.error(
            "auth.E011",
            format!(
                "AUTH_METRICS_BIND {:?} is AUTH_BIND: give it another address, or leave it unset to serve metrics and probes beside the API",
                config.bind
            ),
        );
    }
    if config.redis_url.is_none() && config.redis_prefix != Config::default().redis_prefix {
        f.warn(
            "auth.W014",
            "AUTH_REDIS_PREFIX is set but AUTH_REDIS_URL is not: it has no effect".into(),
        );
    }
    if let Some(s) = &settings {
        if s.register.auto_login && !s.register.one_time_use {
            f.warn(
                "W001",
                "REGISTER_VERIFICATION_AUTO_LOGIN without REGISTER_VERIFICATION_ONE_TIME_USE: a leaked link logs in for its whole period".into(),
            );
        }
        let links = [
            (
                "REGISTER_VERIFICATION_URL",
                &config.register_verification_url,
                s.register.verification_enabled,
            ),
            (
                "RESET_PASSWORD_VERIFICATION_URL",
                &config.reset_password_verification_url,
                s.reset_password.enabled,
            ),
            (
                "REGISTER_EMAIL_VERIFICATION_URL",
                &config.register_email_verification_url,
                s.register_email.verification_enabled,
            ),
        ];
        for (key, value, enabled) in links {
            if enabled && value.is_none() && !pages_on {
                f.warn(
                    "auth.W012",
                    format!("{key} is not set: links point at the placeholder on localhost"),
                );
            }
        }
    }
    let plan = match (
        settings, mail, envelope, hashing, limits, passwords, templates, pages, proxies,
    ) {
        (
            Some(settings),
            Some(mail),
            Some(envelope),
            Some(hashing),
            Some(limits),
            Some(passwords),
            Some(templates),
            Some(pages),
            Some(proxies),
        ) if f.0.iter().all(|finding| finding.level == Level::Warning) => {
            let mut plan = plan(
                config, settings, mail, envelope, hashing, limits, passwords, templates,
            );
            plan.api.pages = pages;
            plan.api.trusted_proxies = proxies;
            Some(plan)
        }
        _ => None,
    };
    Report {
        findings: f.0,
        plan,
    }
}

fn envelope(config: &Config) -> Result<auth_smtp::Envelope, String> {
    let mailbox = |key: &str, value: &str| {
        value
            .parse()
            .map_err(|_| format!("{key} {value:?} is not an e-mail address"))
    };
    Ok(auth_smtp::Envelope {
        from: mailbox("VERIFICATION_FROM_EMAIL", &config.verification_from_email)?,
        reply_to: config
            .verification_reply_to_email
            .as_deref()
            .map(|v| mailbox("VERIFICATION_REPLY_TO_EMAIL", v))
            .transpose()?,
    })
}

#[allow(clippy::too_many_arguments)] // the checked parts, each once
fn plan(
    config: &Config,
    settings: auth_core::settings::Settings,
    mail: crate::mail_url::MailTarget,
    envelope: auth_smtp::Envelope,
    hashing: auth_core::hashing::Argon2Params,
    limits: auth_http::Limits,
    passwords: auth_core::policy::PasswordPolicy,
    templates: auth_smtp::Templates,
) -> Plan {
    let api = auth_http::ApiConfig {
        dialect: match config.api {
            crate::config::Api::Drr => auth_http::Dialect::Drr,
            crate::config::Api::Djoser => auth_http::Dialect::Djoser,
            crate::config::Api::RestAuth => auth_http::Dialect::RestAuth,
        },
        prefix: config.api_prefix.trim_end_matches('/').to_owned(),
        non_field_errors_key: config.use_non_field_errors_key_from_drf_settings(),
        secure_cookies: config.secure_cookies_effective(),
        session_max_age: std::time::Duration::from_secs(config.session_ttl),
        body_limit: config.body_limit,
        trusted_origins: config.csrf_trusted_origins.clone(),
        enumeration_floor: config.enumeration_floor(),
        ..auth_http::ApiConfig::default()
    };
    let hash_workers = config.password_hash_workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2)
    });
    Plan {
        bind: config.bind.clone(),
        settings,
        passwords,
        hashing,
        hash_workers,
        hash_queue: config.password_hash_queue.unwrap_or(64 * hash_workers),
        credential_cache: (config.credential_cache_entries > 0).then(|| {
            (
                config.credential_cache_entries,
                std::time::Duration::from_secs(config.credential_cache_seconds),
            )
        }),
        credentials: config.credential_policy(),
        one_token_per_user: config.one_token_per_user(),
        database_url: config.database_url.clone(),
        redis: config
            .redis_url
            .clone()
            .map(|url| (url, config.redis_prefix.clone())),
        keys: KeySource {
            file: config.secret_key_file.clone(),
            key: config.secret_key.clone(),
            fallbacks: config.secret_key_fallbacks.clone(),
        },
        mail,
        envelope,
        templates: Arc::new(templates),
        api,
        throttle: config.rate_limits_effective().then_some(limits),
        mail_poll: std::time::Duration::from_millis(config.mail_poll_interval_ms.max(10)),
        metrics_bind: config.metrics_bind.clone(),
        ready_max_mail_age: (config.ready_max_mail_age > 0)
            .then(|| std::time::Duration::from_secs(config.ready_max_mail_age)),
        admin: config
            .admin_username
            .clone()
            .map(|username| auth_core::flows::NewAccount {
                username,
                email: config.admin_email.clone(),
                first_name: String::new(),
                last_name: String::new(),
                password: auth_core::domain::Password::new(
                    config
                        .admin_password
                        .as_ref()
                        .map(|p| p.expose_secret().to_owned())
                        .unwrap_or_default(),
                ),
                verified: true,
                staff: true,
            }),
        mail_retry: RetryPolicy {
            first_delay: time::Duration::seconds(
                i64::try_from(config.mail_retry_delay.max(1)).unwrap_or(30),
            ),
            ..RetryPolicy::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_have_warnings_but_no_errors_and_a_plan() {
        let report = run(&Config::default());
        assert_eq!(report.errors().count(), 0, "{:?}", report.findings);
        assert!(report.findings.iter().any(|f| f.id == "auth.W010"));
        assert!(report.plan.is_some());
    }

    #[test]
    fn conflicting_settings_are_reported() {
        let config = Config {
            secret_key: Some("k".repeat(40).into()),
            secret_key_file: Some("/run/secrets/key".into()),
            metrics_bind: Some(Config::default().bind),
            redis_prefix: "other:".into(),
            ..Config::default()
        };
        let report = run(&config);
        let ids: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
        for id in ["auth.W013", "auth.E011", "auth.W014"] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert!(report.plan.is_none());
    }

    #[test]
    fn bad_values_are_errors_naming_the_setting_and_no_plan() {
        let config = Config {
            mail_url: "http://nope".into(),
            password_hash_memory_kib: 1024,
            user_login_fields: Some(vec!["phone".into()]),
            secret_key: Some("short".into()),
            ..Config::default()
        };
        let report = run(&config);
        let errors: Vec<_> = report.errors().map(|f| f.id).collect();
        assert_eq!(
            errors,
            ["auth.E001", "auth.E002", "auth.E005"],
            "{:?}",
            report.findings
        );
        assert!(report.findings.iter().any(|f| f.id == "auth.W011"));
        assert!(report.plan.is_none());
    }
}
