//! What the configured values mean: each rule that turns settings into the
//! values the server runs with, written once. `check` calls them all to
//! build the plan start-up uses.

use std::net::IpAddr;

use auth_core::credentials::CredentialPolicy;
use auth_core::hashing::Argon2Params;
use auth_core::policy::PasswordPolicy;
use auth_core::ports::RateRule;
use auth_core::settings::Settings;
use auth_http::{Action, Limits};
use time::Duration;

use super::{Config, ConfigError, Profile};

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message,
    }
}

/// Seconds as a duration, `0` meaning no limit.
fn limit(seconds: u64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX)))
}

impl Config {
    /// The workflow settings: the profile's, with every configured DRR
    /// setting and behaviour applied.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let mut settings = Profile::of(self.compat).settings;
        self.apply(&mut settings)?;
        Ok(settings)
    }

    /// Whether cookies are marked `Secure`: as configured, else whenever the
    /// server listens beyond loopback (where plain HTTP is only for local
    /// development).
    /// Whether the pages are served: as `PAGES` says, else when no link
    /// base is configured (a site with no front end of its own).
    pub fn pages_on(&self) -> bool {
        self.pages.unwrap_or(
            self.register_verification_url.is_none()
                && self.reset_password_verification_url.is_none()
                && self.register_email_verification_url.is_none(),
        )
    }

    /// How browsers reach this server, without a trailing slash.
    pub fn public_url_effective(&self) -> String {
        let url = self.public_url.clone().unwrap_or_else(|| {
            let bind = self
                .bind
                .replace("0.0.0.0", "localhost")
                .replace("[::]", "localhost");
            format!("http://{bind}")
        });
        url.trim_end_matches('/').to_owned()
    }

    /// Points each unset `*_VERIFICATION_URL` at the page serving it.
    pub fn point_links_at_pages(&self, settings: &mut auth_core::settings::Settings) {
        use auth_http::pages::{RESET_PASSWORD, VERIFY_EMAIL, VERIFY_USER};
        let base = self.public_url_effective();
        if self.register_verification_url.is_none() {
            settings.register.verification_url = format!("{base}{VERIFY_USER}");
        }
        if self.reset_password_verification_url.is_none() {
            settings.reset_password.verification_url = format!("{base}{RESET_PASSWORD}");
        }
        if self.register_email_verification_url.is_none() {
            settings.register_email.verification_url = format!("{base}{VERIFY_EMAIL}");
        }
    }

    pub fn secure_cookies_effective(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| {
            let host = self
                .bind
                .rsplit_once(':')
                .map_or(self.bind.as_str(), |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            !(host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
        })
    }

    /// The trusted proxies' addresses.
    pub fn trusted_proxy_ips(&self) -> Result<Vec<IpAddr>, ConfigError> {
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
        CredentialPolicy {
            token_lifetime: limit(self.token_ttl()),
            session_lifetime: limit(self.session_ttl),
            idle_timeout: limit(self.credential_idle_timeout()),
            sliding: self.token_sliding_expiry,
        }
    }

    /// How long enumeration-sensitive answers take at least.
    pub fn enumeration_floor(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.enumeration_floor_ms())
    }

    /// The password validators.
    pub fn password_policy_rules(&self) -> Result<PasswordPolicy, ConfigError> {
        match self.password_policy().as_str() {
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
        !self.token_per_login()
    }

    /// The argon2id parameters, refused below OWASP's minimum unless allowed.
    pub fn hash_params(&self) -> Result<Argon2Params, ConfigError> {
        let params = Argon2Params {
            m_cost: self.password_hash_memory_kib,
            t_cost: self.password_hash_iterations,
            p_cost: self.password_hash_parallelism,
        };
        if params.is_below_owasp_minimum() && !self.password_hash_allow_weak {
            return Err(invalid(
                "PASSWORD_HASH_MEMORY_KIB",
                format!(
                    "argon2id parameters m={} KiB, t={}, p={} are below OWASP's minimum (m=19456, t=2, p=1); \
                     raise them or set AUTH_PASSWORD_HASH_ALLOW_WEAK=1",
                    params.m_cost, params.t_cost, params.p_cost
                ),
            ));
        }
        Ok(params)
    }
}
