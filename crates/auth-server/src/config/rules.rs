//! What the configured values mean: each rule that turns settings into the
//! values the server runs with, written once. `check` calls them all to
//! build the plan start-up uses.

use std::net::IpAddr;

use auth_core::credentials::CredentialPolicy;
use auth_core::hashing::Argon2Params;
use auth_core::policy::PasswordPolicy;
use auth_core::ports::RateRule;
use auth_core::settings::{Settings, UserFields};
use auth_http::{Action, Limits};
use auth_smtp::MailFiles;
use time::Duration;

use super::{Api, Config, ConfigError, Profile};

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
        match self.api {
            // djoser's stock user: usernames compare exactly (`Alice` and
            // `alice` are two accounts), unless configured otherwise below.
            Api::Djoser => settings.matching = auth_core::ports::Matching::Exact,
            // allauth looks usernames and addresses up ignoring case.
            Api::RestAuth => settings.matching = auth_core::ports::Matching::CaseInsensitive,
            Api::Drr => {}
        }
        if !self.allauth_email_confirmation_hmac {
            return Err(invalid(
                "ALLAUTH_EMAIL_CONFIRMATION_HMAC",
                "stored confirmation rows are not served: keys are allauth's signed HMAC keys; \
                 a site moving with unused stored keys must ask its users to resend"
                    .into(),
            ));
        }
        self.apply(&mut settings)?;
        settings.user_fields = UserFields::resolve(
            &self.user_hidden_fields,
            self.user_public_fields.as_deref(),
            self.user_editable_fields.as_deref(),
        )
        .map_err(|message| match message.split_once(": ") {
            Some((key, message)) => ConfigError::Invalid {
                key: key.to_owned(),
                message: message.to_owned(),
            },
            None => ConfigError::Invalid {
                key: "USER_HIDDEN_FIELDS".into(),
                message,
            },
        })?;
        let fixed = [
            (
                "USER_VERIFICATION_ID_FIELD",
                &self.user_verification_id_field,
                &["pk", "id"][..],
                "links carry the primary key; a site whose links carried another field must mail new ones",
            ),
            (
                "USER_VERIFICATION_FLAG_FIELD",
                &self.user_verification_flag_field,
                &["is_active"][..],
                "this server's users have one verification flag, which `import-django --inactive` maps `is_active` onto",
            ),
            (
                "USER_EMAIL_FIELD",
                &self.user_email_field,
                &["email"][..],
                "import the address column with `import-django --email-column` instead",
            ),
        ];
        for (key, value, allowed, instead) in fixed {
            if !allowed.contains(&value.as_str()) {
                return Err(ConfigError::Invalid {
                    key: key.to_owned(),
                    message: format!("{value:?} cannot carry over: {instead}"),
                });
            }
        }
        self.check_link_templates(&settings)?;
        if !["Lax", "Strict", "None"].contains(&settings.restauth.jwt_auth_samesite.as_str()) {
            return Err(invalid(
                "RESTAUTH_JWT_AUTH_SAMESITE",
                format!(
                    "{:?} is not one of Lax, Strict, None",
                    settings.restauth.jwt_auth_samesite
                ),
            ));
        }
        Ok(settings)
    }

    /// The served dialect's mailed links must name what they carry: a link
    /// without its `{uid}` or `{key}` could never be followed.
    fn check_link_templates(&self, settings: &Settings) -> Result<(), ConfigError> {
        const UID_TOKEN: &[&str] = &["uid", "token"];
        let (djoser, restauth) = (&settings.djoser, &settings.restauth);
        let templates: Vec<(&str, &str, &[&str])> = match self.api {
            Api::Drr => Vec::new(),
            Api::Djoser => vec![
                ("DJOSER_ACTIVATION_URL", &djoser.activation_url, UID_TOKEN),
                (
                    "DJOSER_PASSWORD_RESET_CONFIRM_URL",
                    &djoser.password_reset_confirm_url,
                    UID_TOKEN,
                ),
                (
                    "DJOSER_USERNAME_RESET_CONFIRM_URL",
                    &djoser.username_reset_confirm_url,
                    UID_TOKEN,
                ),
            ],
            Api::RestAuth => vec![
                ("FRONTEND_RESET_URL", &restauth.reset_url, UID_TOKEN),
                (
                    "FRONTEND_CONFIRM_EMAIL_URL",
                    &restauth.confirm_email_url,
                    &["key"],
                ),
            ],
        };
        for (key, template, names) in templates {
            if let Some(name) = names
                .iter()
                .find(|n| !template.contains(&format!("{{{n}}}")))
            {
                return Err(invalid(
                    key,
                    format!(
                        "{template:?} has no {{{name}}}: the mailed link could not be followed"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The mails whose template files DRR's `*_EMAIL_TEMPLATES` name.
    pub fn mail_files(&self) -> Result<Vec<(&'static str, MailFiles)>, ConfigError> {
        let named = [
            (
                "REGISTER_VERIFICATION_EMAIL_TEMPLATES",
                "register",
                &self.register_verification_email_templates,
            ),
            (
                "RESET_PASSWORD_VERIFICATION_EMAIL_TEMPLATES",
                "reset_password",
                &self.reset_password_verification_email_templates,
            ),
            (
                "REGISTER_EMAIL_VERIFICATION_EMAIL_TEMPLATES",
                "register_email",
                &self.register_email_verification_email_templates,
            ),
        ];
        let mut files = Vec::new();
        for (key, kind, templates) in named {
            let Some(t) = templates else { continue };
            let (text, html) = match (&t.body, t.is_html) {
                (Some(body), false) => (Some(body.clone()), t.html_body.clone()),
                (Some(body), true) => (t.text_body.clone(), Some(body.clone())),
                (None, _) => (t.text_body.clone(), t.html_body.clone()),
            };
            if text.is_none() && html.is_none() {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: "needs `body`, `text_body` or `html_body` beside `subject`".into(),
                });
            }
            files.push((
                kind,
                MailFiles {
                    subject: t.subject.clone(),
                    text,
                    html,
                },
            ));
        }
        Ok(files)
    }

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
        // djoser's sites run Django's validators unless told otherwise.
        let name = match (self.api, &self.password_policy) {
            (Api::Djoser | Api::RestAuth, None) => "django".to_owned(),
            _ => self.password_policy(),
        };
        match name.as_str() {
            "safe" => Ok(PasswordPolicy::safe(self.password_context_words.clone())),
            "django" => Ok(PasswordPolicy::django_default()),
            other => Err(invalid(
                "PASSWORD_POLICY",
                format!("unknown policy {other:?} (safe, django)"),
            )),
        }
    }

    /// Whether requests are rate-limited: `RATE_LIMITS`, or off when unset
    /// under `API=djoser`, as djoser throttles nothing, and
    /// `ALLAUTH_RATE_LIMITS` (on when unset) under `API=rest-auth`.
    pub fn rate_limits_effective(&self) -> bool {
        match (self.api, self.rate_limits) {
            (Api::Djoser, None) => false,
            (Api::RestAuth, None) => self.allauth_rate_limits.unwrap_or(true),
            _ => self.rate_limits(),
        }
    }

    /// Whether API tokens are one per user (the DRR profile's default, and
    /// djoser's and dj-rest-auth's unless `TOKEN_PER_LOGIN` says otherwise:
    /// DRF's token model).
    pub fn one_token_per_user(&self) -> bool {
        match (self.api, self.token_per_login) {
            (Api::Djoser | Api::RestAuth, None) => true,
            _ => !self.token_per_login(),
        }
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
