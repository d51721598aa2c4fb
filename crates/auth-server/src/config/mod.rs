//! Configuration: compiled defaults, then a TOML file, then `AUTH_*`
//! environment variables. Every setting is declared once, below; every
//! django-rest-registration setting keeps its name
//! (`RESET_PASSWORD_VERIFICATION_ONE_TIME_USE` in the file,
//! `AUTH_RESET_PASSWORD_VERIFICATION_ONE_TIME_USE` in the environment).
//!
//! A new setting is one entry in the `settings!` list (see `declare.rs`
//! for the forms); `cargo test -p auth-server` then names the table of
//! `docs/configuration.md` to regenerate (`UPDATE_DOCS=1`).

mod declare;
#[cfg(test)]
mod docs;
mod drr_only;
mod load;
mod rules;

use std::collections::BTreeMap;
use std::path::PathBuf;

use auth_core::settings::Settings;
use secrecy::SecretString;
use serde::Deserialize;

use declare::{Core, Show, settings};
pub use declare::{Declared, Section, Shown};
pub use load::ConfigError;
use load::{flag, list, opt_bool, opt_list, secret, secret_list};

const DAY: u64 = 24 * 3600;

/// Which behaviour profile the settings start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
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

impl Show for Compat {
    fn show(&self) -> String {
        match self {
            Self::Safe => "`safe`",
            Self::Drr => "`drr`",
        }
        .into()
    }
}

/// DRR's `*_EMAIL_TEMPLATES` dict: the files of one mail, relative to
/// `TEMPLATES_DIR` (DRR's keys: `subject`, and `body` with `is_html`, or
/// `text_body` and/or `html_body`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailTemplates {
    /// The subject's file.
    pub subject: PathBuf,
    /// The body's file, HTML when `is_html`.
    #[serde(default)]
    pub body: Option<PathBuf>,
    /// Whether `body` is HTML.
    #[serde(default)]
    pub is_html: bool,
    /// The text body's file.
    #[serde(default)]
    pub text_body: Option<PathBuf>,
    /// The HTML body's file.
    #[serde(default)]
    pub html_body: Option<PathBuf>,
}

/// Which Django app's HTTP API is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// django-rest-registration's.
    #[default]
    Drr,
    /// djoser's (`users/`, `token/`, `jwt/`).
    Djoser,
    /// dj-rest-auth's with allauth's registration (`login/`, `user/`,
    /// `password/`, `registration/`).
    #[serde(rename = "rest-auth")]
    RestAuth,
}

impl Show for Api {
    fn show(&self) -> String {
        match self {
            Self::Drr => "`drr`",
            Self::Djoser => "`djoser`",
            Self::RestAuth => "`rest-auth`",
        }
        .into()
    }
}

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Text, coloured when standard error is a terminal.
    #[default]
    Auto,
    /// Text without colour codes.
    Text,
    /// One JSON object per line, with the request span's fields.
    Json,
}

impl Show for LogFormat {
    fn show(&self) -> String {
        match self {
            Self::Auto => "`auto`",
            Self::Text => "`text`",
            Self::Json => "`json`",
        }
        .into()
    }
}

/// A profile's defaults: what unset settings take.
pub struct Profile {
    /// Which profile.
    pub compat: Compat,
    /// Its workflow settings (auth-core's, where the workflow defaults live).
    pub settings: Settings,
}

impl Profile {
    /// The defaults of `compat`.
    pub fn of(compat: Compat) -> Self {
        let settings = match compat {
            Compat::Safe => Settings::default(),
            Compat::Drr => Settings::drr(),
        };
        Self { compat, settings }
    }

    fn safe(&self) -> bool {
        self.compat == Compat::Safe
    }
}

settings! {
    /// Listen address.
    #[setting(Server)]
    fixed bind: String = "127.0.0.1:8000".into();
    /// SQLite file, created and migrated at start (`sqlite::memory:` for throwaway runs), or `postgres://user[:password]@host[:port]/database` for several instances.
    #[setting(Server)]
    fixed database_url: String = "sqlite://auth.sqlite3".into();
    /// Tokens and sessions in Redis, shared by every instance; several comma-separated URLs mean Redis Cluster.
    #[setting(Server)]
    optional redis_url: String;
    /// Key prefix in Redis.
    #[setting(Server)]
    fixed redis_prefix: String = "auth:".into();
    /// API token lifetime in seconds from issue; use does not extend it; `0`: no expiry (DRR).
    #[setting(Server)]
    profile token_ttl: u64 = |p| if p.safe() { 30 * DAY } else { 0 };
    /// Seconds a token or session may go unused before it is refused (uses are recorded at most every minute, or every quarter of the timeout); `0`: none.
    #[setting(Server)]
    profile credential_idle_timeout: u64 = |p| if p.safe() { 7 * DAY } else { 0 };
    /// Session lifetime in seconds from issue, enforced by the server (the cookie's Max-Age follows it); `0`: none.
    #[setting(Server)]
    fixed session_ttl: u64 = 14 * DAY;
    /// Each use restarts the lifetime, so there is no absolute cap; kept for existing deployments — prefer `CREDENTIAL_IDLE_TIMEOUT`.
    #[setting(Server)]
    #[serde(deserialize_with = "flag")]
    fixed token_sliding_expiry: bool = false;
    /// Signs links (Django's `SECRET_KEY`: a DRR site's key keeps its links valid).
    #[setting(Server, shown = "generated on first run, saved beside the database as `<file>.secret-key`, with a warning")]
    #[serde(deserialize_with = "secret")]
    optional secret_key: SecretString;
    /// Read the key from a file (wins over `SECRET_KEY`).
    #[setting(Server)]
    optional secret_key_file: PathBuf;
    /// Older keys that still verify links, newest first (Django's name; DRR itself ignores it).
    #[setting(Server, shown = "—")]
    #[serde(deserialize_with = "secret_list")]
    fixed secret_key_fallbacks: Vec<SecretString> = Vec::new();
    /// `console`, `dir:PATH` (one `.eml` per mail), `smtp://[user:pass@]host[:port]` (no TLS, for a local relay), `smtp+starttls://…`, `smtps://…`.
    #[setting(Server)]
    fixed mail_url: String = "console".into();
    /// Sender of every mail (DRR's name).
    #[setting(Server, alias = "MAIL_FROM")]
    fixed verification_from_email: String = "no-reply@localhost".into();
    /// Reply-To of every mail.
    #[setting(Server, shown = "the sender")]
    optional verification_reply_to_email: String;
    /// Folder overriding mail templates and (under `pages/`) page templates, file by file.
    #[setting(Server)]
    optional templates_dir: PathBuf;
    /// Server-rendered pages at `/accounts/…` for the mailed links and plain register, sign-in, reset and change-password forms; the `*_VERIFICATION_URL` settings left unset then point at them.
    #[setting(Server, shown = "on when no `*_VERIFICATION_URL` is set")]
    #[serde(deserialize_with = "opt_bool")]
    optional pages: bool;
    /// How browsers reach this server (`https://auth.example.org`), for links to its own pages.
    #[setting(Server, shown = "`http://` + `BIND` (`0.0.0.0` read as `localhost`)")]
    optional public_url: String;
    /// How often, in milliseconds, the outbox worker looks for due mail.
    #[setting(Server)]
    fixed mail_poll_interval_ms: u64 = 250;
    /// Seconds before a failed mail's first retry (doubling, capped at one hour, about 30 attempts).
    #[setting(Server)]
    fixed mail_retry_delay: u64 = 30;
    /// `auto` (text, coloured on a terminal), `text`, or `json`: one JSON object per line, each with its request's span (method, route, status, latency, request id). The level comes from `AUTH_LOG` (`info`; `debug`, `warn`, or a tracing filter).
    #[setting(Server)]
    fixed log_format: LogFormat = LogFormat::Auto;
    /// Serve `/metrics` and the probes (`/livez`, `/healthz`, `/readyz`) on this address only, not on `BIND`, so that they are not public.
    #[setting(Server, shown = "unset: served on `BIND`")]
    optional metrics_bind: String;
    /// Seconds the oldest mail not yet sent (nor given up) may wait before `/readyz` fails: mail is stuck; `0`: never.
    #[setting(Server)]
    fixed ready_max_mail_age: u64 = 900;
    /// An account created at start (active and verified) when no user has this username, with `ADMIN_PASSWORD` (held to the password policy) and `ADMIN_EMAIL`: a site's first operator.
    #[setting(Server)]
    optional admin_username: String;
    /// The password of `ADMIN_USERNAME`'s account.
    #[setting(Server, shown = "—")]
    #[serde(deserialize_with = "secret")]
    optional admin_password: SecretString;
    /// The address of `ADMIN_USERNAME`'s account.
    #[setting(Server)]
    optional admin_email: String;
    /// Which app's API is served: `drr` (django-rest-registration), `djoser` (which also makes `TOKEN_PER_LOGIN`, `RATE_LIMITS` and `IDENTIFIERS_CASE_INSENSITIVE` default to off and `PASSWORD_POLICY` to `django`, as on djoser's sites) or `rest-auth` (dj-rest-auth with allauth: `TOKEN_PER_LOGIN` off, `IDENTIFIERS_CASE_INSENSITIVE` on, `RATE_LIMITS` as `ALLAUTH_RATE_LIMITS`, `PASSWORD_POLICY` `django`); each app's settings have their own table below.
    #[setting(Server)]
    fixed api: Api = Api::Drr;
    /// Path prefix of the endpoints (djoser's and dj-rest-auth's sites usually mount them at `/auth`).
    #[setting(Server)]
    fixed api_prefix: String = "/api/v1/accounts".into();
    /// Largest request body in bytes (larger: 413).
    #[setting(Server)]
    fixed body_limit: usize = 64 * 1024;
    /// Mark session and CSRF cookies `Secure` (HTTPS only); set `false` only for plain-HTTP development beyond loopback.
    #[setting(Server, shown = "on unless `BIND` is a loopback address")]
    #[serde(deserialize_with = "opt_bool")]
    optional secure_cookies: bool;
    /// Origins allowed to make session-authenticated unsafe requests besides the server's host (Django's name).
    #[setting(Server)]
    #[serde(deserialize_with = "list")]
    fixed csrf_trusted_origins: Vec<String> = Vec::new();
    /// Per-action limits by client IP and by target account; counters in process, or in Redis when `REDIS_URL` is set (DRR throttles nothing).
    #[setting(Server)]
    #[serde(deserialize_with = "opt_bool")]
    profile rate_limits: bool = |p| p.safe();
    /// Overrides by action: `{login="50/300,8/300"}` is 50 per 300 s per client IP and 8 per 300 s per account (actions below).
    #[setting(Server, shown = "(the table below)")]
    fixed rate_limit_rules: BTreeMap<String, String> = BTreeMap::new();
    /// IP addresses of proxies whose `X-Forwarded-For` names the client; any other peer is keyed by its own address.
    #[setting(Server)]
    #[serde(deserialize_with = "list")]
    fixed trusted_proxies: Vec<String> = Vec::new();
    /// The least milliseconds the answers of `register/`, `send-reset-password-link/`, `resend-verification/` and `register-email/` take, so finding an account does not show in their timing.
    #[setting(Server)]
    profile enumeration_floor_ms: u64 = |p| if p.safe() { 200 } else { 0 };
    /// argon2id memory in KiB (OWASP's minimum; lower values refuse to start).
    #[setting(Server)]
    fixed password_hash_memory_kib: u32 = 19_456;
    /// argon2id iterations.
    #[setting(Server)]
    fixed password_hash_iterations: u32 = 2;
    /// argon2id lanes.
    #[setting(Server)]
    fixed password_hash_parallelism: u32 = 1;
    /// Accept argon2id parameters below OWASP's minimum.
    #[setting(Server)]
    #[serde(deserialize_with = "flag")]
    fixed password_hash_allow_weak: bool = false;
    /// Concurrent password hashes (hashing runs off the async executor).
    #[setting(Server, shown = "CPU count")]
    optional password_hash_workers: usize;
    /// Password checks that may wait for a hashing slot beyond those running; one more is refused with 503 and `Retry-After: 1` (login, register, password changes), not queued without end.
    #[setting(Server, shown = "64 × `PASSWORD_HASH_WORKERS`")]
    optional password_hash_queue: usize;
    /// Credentials (and as many users) kept in process after a store lookup, so an authenticated read needs no store while nothing changed; `0`: no cache. Every revocation, password change and account change made by a server or the CLI drops the affected entries at once — on every instance through Redis, on every process of a SQLite file through `<database>-epochs` beside it. PostgreSQL without Redis: no cache.
    #[setting(Server)]
    fixed credential_cache_entries: u64 = 100_000;
    /// Seconds a cached credential or user is kept at most: how late a change written to the database by something other than this server and its CLI (SQL by hand) is seen.
    #[setting(Server)]
    fixed credential_cache_seconds: u64 = 2;
    /// `safe` or `drr`: the profile every setting left unset takes its value from.
    #[setting(Server)]
    fixed compat: Compat = Compat::Safe;

    /// Fields `login` is matched against, in order (`username`, `email`).
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_list")]
    core user_login_fields: Vec<String> => login_fields;
    /// Never shown or written through the API; Django's fields this server has not (`is_staff`, `groups`, …) may be listed.
    #[setting(Drr, shown = "`last_login, is_active, is_staff, is_superuser, user_permissions, groups, date_joined`")]
    #[serde(deserialize_with = "list")]
    fixed user_hidden_fields: Vec<String> = auth_core::settings::DEFAULT_HIDDEN.map(str::to_owned).to_vec();
    /// If set: the only fields shown (plus `email`).
    #[setting(Drr)]
    #[serde(default, deserialize_with = "opt_list")]
    optional user_public_fields: Vec<String>;
    /// If set: the only profile fields a user may write (of `username`, `first_name`, `last_name`).
    #[setting(Drr)]
    #[serde(default, deserialize_with = "opt_list")]
    optional user_editable_fields: Vec<String>;
    /// What a link's `user_id` holds: the primary key (`pk` or `id`; other fields cannot carry over).
    #[setting(Drr)]
    fixed user_verification_id_field: String = "pk".into();
    /// The flag registration clears and verification sets: `is_active` (the only one this server's users have).
    #[setting(Drr)]
    fixed user_verification_flag_field: String = "is_active".into();
    /// The address field: `email`.
    #[setting(Drr)]
    fixed user_email_field: String = "email".into();
    /// The registration mail's files (`{subject = "…", text_body = "…", html_body = "…"}`), relative to `TEMPLATES_DIR`.
    #[setting(Drr, shown = "`register/subject.txt`, `register/body.txt`")]
    optional register_verification_email_templates: MailTemplates;
    /// The reset mail's files, as above.
    #[setting(Drr, shown = "`reset_password/subject.txt`, `reset_password/body.txt`")]
    optional reset_password_verification_email_templates: MailTemplates;
    /// The e-mail change mail's files, as above.
    #[setting(Drr, shown = "`register_email/subject.txt`, `register_email/body.txt`")]
    optional register_email_verification_email_templates: MailTemplates;
    /// Off: `register/` is 404.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core register_flow_enabled: bool => register.enabled;
    /// `password_confirm` required on register.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core register_serializer_password_confirm: bool => register.password_confirm;
    /// New users unverified and mailed a link; off: verified at once, `verify-registration/` 404.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core register_verification_enabled: bool => register.verification_enabled;
    /// Base of the registration link (the front end's page).
    #[setting(Drr)]
    core register_verification_url: String => register.verification_url;
    /// Registration link validity, seconds.
    #[setting(Drr)]
    core register_verification_period: i64 => register.verification_period;
    /// The link dies once the user is verified.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core register_verification_one_time_use: bool => register.one_time_use;
    /// Verification logs in and returns `token`.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core register_verification_auto_login: bool => register.auto_login;
    /// Login returns `token`.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core login_retrieve_token: bool => login.retrieve_token;
    /// Login starts a session (cookies).
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core login_authenticate_session: bool => login.authenticate_session;
    /// Off: both reset endpoints 404.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core reset_password_verification_enabled: bool => reset_password.enabled;
    /// Base of the reset link.
    #[setting(Drr)]
    core reset_password_verification_url: String => reset_password.verification_url;
    /// Reset link validity, seconds.
    #[setting(Drr)]
    core reset_password_verification_period: i64 => reset_password.verification_period;
    /// The link dies with any password change.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core reset_password_verification_one_time_use: bool => reset_password.one_time_use;
    /// Unknown user: 400 "User not found" (on) or the same 200 as for a known one (off).
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core reset_password_fail_when_user_not_found: bool => reset_password.fail_when_user_not_found;
    /// `password_confirm` required on reset.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core reset_password_serializer_password_confirm: bool => reset_password.password_confirm;
    /// Field `email` instead of `login` on `send-reset-password-link/`.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core send_reset_password_link_serializer_use_email: bool => reset_password.use_email;
    /// Off: `register-email/` changes the address at once; `verify-email/` 404.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core register_email_verification_enabled: bool => register_email.verification_enabled;
    /// Base of the e-mail change link.
    #[setting(Drr)]
    core register_email_verification_url: String => register_email.verification_url;
    /// E-mail change link validity, seconds.
    #[setting(Drr)]
    core register_email_verification_period: i64 => register_email.verification_period;
    /// `password_confirm` required on change-password.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    core change_password_serializer_password_confirm: bool => change_password_confirm;
    /// DRR's errors as `{"non_field_errors": [msg]}` instead of `{"detail": msg}`.
    #[setting(Drr)]
    #[serde(deserialize_with = "opt_bool")]
    profile use_non_field_errors_key_from_drf_settings: bool = |_| false;

    /// Usernames and e-mails match, and are unique, ignoring case.
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    core identifiers_case_insensitive: bool => matching;
    /// A new 256-bit token per login (off: DRR's one token per user, returned by every login until revoked).
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    profile token_per_login: bool = |p| p.safe();
    /// Logout revokes the token that made the request, even without `revoke_token`.
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    core logout_revokes_token: bool => login.logout_revokes_token;
    /// What a password change ends: `sessions` (every session; tokens survive), `all_but_caller`, `all`.
    #[setting(Behaviour)]
    core change_password_ends: String => change_password_ends;
    /// What a password reset ends (`sessions`, `all_but_caller`, `all`).
    #[setting(Behaviour)]
    core reset_password_ends: String => reset_password.ends;
    /// Check the reset link before the new password (DRR checks the password first, so a caller without a link can probe).
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    core reset_password_signature_first: bool => reset_password.signature_first;
    /// Only the newest e-mail change request can be confirmed.
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    core register_email_newest_only: bool => register_email.newest_only;
    /// Registering a taken address is a field error (DRR); off, it gets a new account's answer and the owner a notice (needs verification on).
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    core register_fail_when_email_taken: bool => register.fail_when_email_taken;
    /// `register-email/` needs the current `password` too, so a stolen session cannot move the recovery address.
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    core register_email_requires_password: bool => register_email.requires_password;
    /// `django` (Django's four validators) or `safe` (no all-digit rule, plus the user's names and `PASSWORD_CONTEXT_WORDS`).
    #[setting(Behaviour)]
    profile password_policy: String = |p| if p.safe() { "safe" } else { "django" }.into();
    /// Words no password may contain (the service's name, …), comma-separated; `safe` policy only.
    #[setting(Behaviour)]
    #[serde(deserialize_with = "list")]
    fixed password_context_words: Vec<String> = Vec::new();
    /// Mail the account when its password or address changes.
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    core notify_changes: bool => notify_changes;
    /// `delete-account/`: a user deletes their own account with the current `password`.
    #[setting(Behaviour)]
    #[serde(deserialize_with = "opt_bool")]
    core delete_account_enabled: bool => delete_account_enabled;

    /// New users start inactive and are mailed an activation link; an e-mail change deactivates the account and mails the new address; `users/resend_activation/` works (off: 400).
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_send_activation_email: bool => djoser.send_activation_email;
    /// A confirmation mail on create (when no activation mail goes) and after activation.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_send_confirmation_email: bool => djoser.send_confirmation_email;
    /// `re_password` required on `users/`.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_user_create_password_retype: bool => djoser.user_create_password_retype;
    /// `re_new_password` required on `users/set_password/`.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_set_password_retype: bool => djoser.set_password_retype;
    /// `re_new_password` required on `users/reset_password_confirm/`.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_password_reset_confirm_retype: bool => djoser.password_reset_confirm_retype;
    /// `re_new_username` required on `users/set_username/`.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_set_username_retype: bool => djoser.set_username_retype;
    /// `re_new_username` required on `users/reset_username_confirm/`.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_username_reset_confirm_retype: bool => djoser.username_reset_confirm_retype;
    /// An unknown address is a 400 (a bare list) on `reset_password/`, `reset_username/` and `resend_activation/`; off: the same 204 as a known one.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_password_reset_show_email_not_found: bool => djoser.password_reset_show_email_not_found;
    /// The same switch under its other name (either turns it on).
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_username_reset_show_email_not_found: bool => djoser.username_reset_show_email_not_found;
    /// Mail the user after `set_password/` and `reset_password_confirm/`.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_password_changed_email_confirmation: bool => djoser.password_changed_email_confirmation;
    /// Mail the user after `set_username/` and `reset_username_confirm/`.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_username_changed_email_confirmation: bool => djoser.username_changed_email_confirmation;
    /// `set_password/` ends the user's token (and session).
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_logout_on_password_change: bool => djoser.logout_on_password_change;
    /// `token/login/` also starts a session; `token/logout/` ends it.
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_create_session_on_login: bool => djoser.create_session_on_login;
    /// Non-staff callers list only themselves, and another user is 404 (off: everyone is listed, another user is 403).
    #[setting(Djoser)]
    #[serde(deserialize_with = "opt_bool")]
    core djoser_hide_users: bool => djoser.hide_users;
    /// Path of the activation link, with `{uid}` and `{token}`.
    #[setting(Djoser)]
    core djoser_activation_url: String => djoser.activation_url;
    /// Path of the password reset link, with `{uid}` and `{token}`.
    #[setting(Djoser)]
    core djoser_password_reset_confirm_url: String => djoser.password_reset_confirm_url;
    /// Path of the username reset link, with `{uid}` and `{token}`.
    #[setting(Djoser)]
    core djoser_username_reset_confirm_url: String => djoser.username_reset_confirm_url;
    /// Scheme of the mailed links (`https`); unset: the request's.
    #[setting(Djoser)]
    core djoser_email_frontend_protocol: String => djoser.email_frontend_protocol;
    /// Host of the mailed links (`app.example`); unset: the request's `Host`.
    #[setting(Djoser)]
    core djoser_email_frontend_domain: String => djoser.email_frontend_domain;
    /// Site name in the mails; unset: the host.
    #[setting(Djoser)]
    core djoser_email_frontend_site_name: String => djoser.email_frontend_site_name;
    /// Seconds a uid/token link stays valid (Django's setting of this name).
    #[setting(Djoser)]
    core password_reset_timeout: i64 => password_reset_timeout;

    /// `login/` and `registration/` answer simplejwt's access and refresh tokens (not a DRF token), `Authorization: Bearer` authenticates, and `token/verify/`, `token/refresh/` are served.
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core restauth_use_jwt: bool => restauth.use_jwt;
    /// `login/` also starts a session (which records the login and so ends outstanding reset links).
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core restauth_session_login: bool => restauth.session_login;
    /// `password/change/` requires `old_password`.
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core restauth_old_password_field_enabled: bool => restauth.old_password_field_enabled;
    /// `password/change/` ends the session that made it (tokens survive).
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core restauth_logout_on_password_change: bool => restauth.logout_on_password_change;
    /// JWT mode: the refresh token is left out of the bodies (`""` on `login/`).
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core restauth_jwt_auth_httponly: bool => restauth.jwt_auth_httponly;
    /// JWT mode: `login/` adds `access_expiration` and `refresh_expiration`.
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core restauth_jwt_auth_return_expiration: bool => restauth.jwt_auth_return_expiration;
    /// JWT mode: the access token also travels in a cookie of this name, which authenticates when no `Authorization` header does; unset: no cookie.
    #[setting(RestAuth)]
    core restauth_jwt_auth_cookie: String => restauth.jwt_auth_cookie;
    /// JWT mode: the refresh token's cookie, which `token/refresh/` reads when the body has none; unset: no cookie.
    #[setting(RestAuth)]
    core restauth_jwt_auth_refresh_cookie: String => restauth.jwt_auth_refresh_cookie;
    /// The refresh cookie's `Path`.
    #[setting(RestAuth)]
    core restauth_jwt_auth_refresh_cookie_path: String => restauth.jwt_auth_refresh_cookie_path;
    /// The JWT cookies are `Secure` (HTTPS only).
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core restauth_jwt_auth_secure: bool => restauth.jwt_auth_secure;
    /// The JWT cookies' `SameSite`: `Lax`, `Strict` or `None`.
    #[setting(RestAuth)]
    core restauth_jwt_auth_samesite: String => restauth.jwt_auth_samesite;
    /// The JWT cookies' `Domain`; unset: the request's host.
    #[setting(RestAuth)]
    core restauth_jwt_auth_cookie_domain: String => restauth.jwt_auth_cookie_domain;
    /// An unsafe request authenticated by the access cookie must pass the CSRF check, as a session's does.
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core restauth_jwt_auth_cookie_use_csrf: bool => restauth.jwt_auth_cookie_use_csrf;
    /// `mandatory` (no login until the address is confirmed), `optional` (a confirmation mail, login at once) or `none` (no mail).
    #[setting(RestAuth)]
    core allauth_email_verification: String => restauth.email_verification;
    /// Which of `username`, `email` log in on `login/`.
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_list")]
    core allauth_login_methods: Vec<String> => restauth.login_methods;
    /// Fields of `registration/`, `*` marking required ones; `username*` and `password1*` always (allauth's default leaves `email` optional).
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_list")]
    core allauth_signup_fields: Vec<String> => restauth.signup_fields;
    /// `registration/` refuses an address another account has confirmed (an unconfirmed one may be held by several accounts).
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core allauth_unique_email: bool => restauth.unique_email;
    /// `GET logout/` logs out too.
    #[setting(RestAuth)]
    #[serde(deserialize_with = "opt_bool")]
    core allauth_logout_on_get: bool => restauth.logout_on_get;
    /// Days a mailed confirmation key stays valid.
    #[setting(RestAuth)]
    core allauth_email_confirmation_expire_days: i64 => restauth.email_confirmation_expire_days;
    /// Confirmation keys are allauth's signed HMAC keys (no stored rows); the only kind served.
    #[setting(RestAuth)]
    #[serde(deserialize_with = "flag")]
    fixed allauth_email_confirmation_hmac: bool = true;
    /// allauth's throttling; under `API=rest-auth` it is what `RATE_LIMITS` defaults to.
    #[setting(RestAuth, shown = "on")]
    #[serde(deserialize_with = "opt_bool")]
    optional allauth_rate_limits: bool;
    /// The mailed password reset link, with `{uid}` and `{token}`.
    #[setting(RestAuth)]
    core frontend_reset_url: String => restauth.reset_url;
    /// The mailed e-mail confirmation link, with `{key}`.
    #[setting(RestAuth)]
    core frontend_confirm_email_url: String => restauth.confirm_email_url;
}

#[cfg(test)]
mod tests;
