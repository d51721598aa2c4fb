//! `auth-server check`: Django-style system checks of a configuration.

use crate::config::Config;

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

/// Every finding for `config`; any `Error` means the server should not start.
pub fn run(config: &Config) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut error = |id, message: String| {
        findings.push(Finding {
            level: Level::Error,
            id,
            message,
        })
    };
    let settings = match config.settings() {
        Ok(settings) => Some(settings),
        Err(e) => {
            error("auth.E001", e.to_string());
            None
        }
    };
    if let Err(e) = crate::mail_url::parse(&config.mail_url) {
        error("auth.E002", format!("AUTH_MAIL_URL: {e}"));
    }
    if config
        .verification_from_email
        .parse::<auth_smtp::Mailbox>()
        .is_err()
    {
        error(
            "E003",
            format!(
                "VERIFICATION_FROM_EMAIL {:?} is not an e-mail address",
                config.verification_from_email
            ),
        );
    }
    let url = &config.database_url;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        error(
            "auth.E004",
            format!(
                "AUTH_DATABASE_URL {:?}: use sqlite://PATH or postgres://…",
                crate::backend::redact(url)
            ),
        );
    }
    if let Err(e) = config.trusted_proxy_ips() {
        error("auth.E006", e.to_string());
    }
    if let Err(e) = auth_smtp::Templates::load(config.templates_dir.as_deref()) {
        error("E009", format!("templates: {e}"));
    }
    let params = auth_core::hashing::Argon2Params {
        m_cost: config.password_hash_memory_kib,
        t_cost: config.password_hash_iterations,
        p_cost: config.password_hash_parallelism,
    };
    if params.is_below_owasp_minimum() && !config.password_hash_allow_weak {
        error(
            "auth.E005",
            "argon2id parameters are below OWASP's minimum (m=19456 KiB, t=2, p=1); set AUTH_PASSWORD_HASH_ALLOW_WEAK=1 to accept them".into(),
        );
    }
    let mut warn = |id, message: String| {
        findings.push(Finding {
            level: Level::Warning,
            id,
            message,
        })
    };
    match (&config.secret_key, &config.secret_key_file) {
        (None, None) => warn(
            "auth.W010",
            "no AUTH_SECRET_KEY: a generated key saved beside the database is used; set one explicitly in production".into(),
        ),
        (Some(key), None) if key.chars().count() < 32 => warn(
            "auth.W011",
            format!("AUTH_SECRET_KEY has {} characters; use at least 32 random ones", key.chars().count()),
        ),
        _ => {}
    }
    if let Some(s) = settings {
        if s.register.auto_login && !s.register.one_time_use {
            warn(
                "W001",
                "REGISTER_VERIFICATION_AUTO_LOGIN without REGISTER_VERIFICATION_ONE_TIME_USE: a leaked link logs in for its whole period".into(),
            );
        }
        let defaults = [
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
        for (key, value, enabled) in defaults {
            if enabled && value.is_none() {
                warn(
                    "auth.W012",
                    format!("{key} is not set: links point at the placeholder on localhost"),
                );
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_have_warnings_but_no_errors() {
        let findings = run(&Config::default());
        assert!(
            findings.iter().all(|f| f.level == Level::Warning),
            "{findings:?}"
        );
        assert!(findings.iter().any(|f| f.id == "auth.W010"));
    }

    #[test]
    fn bad_values_are_errors_naming_the_setting() {
        let config = Config {
            mail_url: "http://nope".into(),
            password_hash_memory_kib: 1024,
            user_login_fields: Some(vec!["phone".into()]),
            secret_key: Some("short".into()),
            ..Config::default()
        };
        let findings = run(&config);
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| f.id)
            .collect();
        assert_eq!(
            errors,
            ["auth.E001", "auth.E002", "auth.E005"],
            "{findings:?}"
        );
        assert!(findings.iter().any(|f| f.id == "auth.W011"));
    }
}
