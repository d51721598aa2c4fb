//! Behaviour switches of the workflows.
//!
//! Every field that corresponds to a django-rest-registration setting names
//! it in its doc comment. [`Settings::default`] is our safe profile;
//! [`Settings::drr`] reproduces DRR's defaults, including behaviours DRR has
//! no setting for (a site moves from one to the other one switch at a time).

mod djoser;
mod restauth;
mod user_fields;

pub use djoser::DjoserSettings;
pub use restauth::{EmailVerification, RestAuthSettings, SignupFields};
pub use user_fields::{DEFAULT_HIDDEN, UserField, UserFields};

use time::Duration;

use crate::ports::Matching;

/// A field `login` is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginField {
    /// The username.
    Username,
    /// The e-mail address.
    Email,
}

/// Which credentials a password change or reset ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsEnded {
    /// Every session, the caller's included; tokens survive (DRR).
    Sessions,
    /// Every session and token except the one that made the request
    /// (like Django's `update_session_auth_hash`).
    AllButCaller,
    /// Every session and token.
    All,
}

/// All workflow settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `USER_LOGIN_FIELDS`: fields `login` is tried against, in order.
    pub login_fields: Vec<LoginField>,
    /// How usernames and addresses are compared (DRR: exact).
    pub matching: Matching,
    /// Registration.
    pub register: RegisterSettings,
    /// Login and logout.
    pub login: LoginSettings,
    /// Password reset.
    pub reset_password: ResetPasswordSettings,
    /// E-mail change.
    pub register_email: RegisterEmailSettings,
    /// `CHANGE_PASSWORD_SERIALIZER_PASSWORD_CONFIRM`.
    pub change_password_confirm: bool,
    /// What a password change ends (DRR: sessions only).
    pub change_password_ends: CredentialsEnded,
    /// Mail the account's address when its password changes or is reset,
    /// and the old address when the address changes (DRR: no such mail).
    pub notify_changes: bool,
    /// `delete-account/`: users may delete their own account with their
    /// password (DRR has no such endpoint).
    pub delete_account_enabled: bool,
    /// `USER_HIDDEN_FIELDS`, `USER_PUBLIC_FIELDS`, `USER_EDITABLE_FIELDS`.
    pub user_fields: UserFields,
    /// Django's `PASSWORD_RESET_TIMEOUT`: how long the uid/token links of
    /// the djoser and dj-rest-auth dialects stay valid (Django: 3 days).
    pub password_reset_timeout: Duration,
    /// The djoser dialect's switches.
    pub djoser: DjoserSettings,
    /// The dj-rest-auth dialect's switches.
    pub restauth: RestAuthSettings,
}

/// Registration settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterSettings {
    /// `REGISTER_FLOW_ENABLED`.
    pub enabled: bool,
    /// `REGISTER_SERIALIZER_PASSWORD_CONFIRM`.
    pub password_confirm: bool,
    /// `REGISTER_VERIFICATION_ENABLED`.
    pub verification_enabled: bool,
    /// `REGISTER_VERIFICATION_URL`.
    pub verification_url: String,
    /// `REGISTER_VERIFICATION_PERIOD`.
    pub verification_period: Duration,
    /// `REGISTER_VERIFICATION_ONE_TIME_USE`.
    pub one_time_use: bool,
    /// `REGISTER_VERIFICATION_AUTO_LOGIN`.
    pub auto_login: bool,
    /// A taken address is a field error (DRR). Off, registering with it
    /// answers like a new account and mails the owner instead, so the
    /// answer reveals no account; this needs verification on (without it a
    /// new account works at once, which a pretended one cannot).
    pub fail_when_email_taken: bool,
    /// Longest password accepted, in characters (DRR: 128, the length of
    /// Django's password column, which it wrongly applies to the password).
    pub password_max_length: usize,
}

/// Login settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginSettings {
    /// `LOGIN_RETRIEVE_TOKEN`: login returns an API token.
    pub retrieve_token: bool,
    /// `LOGIN_AUTHENTICATE_SESSION`: login starts a cookie session.
    pub authenticate_session: bool,
    /// Logout revokes the token that made the request even without
    /// `revoke_token` (DRR: no, the token stays valid).
    pub logout_revokes_token: bool,
}

/// Password-reset settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetPasswordSettings {
    /// `RESET_PASSWORD_VERIFICATION_ENABLED`.
    pub enabled: bool,
    /// `RESET_PASSWORD_VERIFICATION_URL`.
    pub verification_url: String,
    /// `RESET_PASSWORD_VERIFICATION_PERIOD`.
    pub verification_period: Duration,
    /// `RESET_PASSWORD_VERIFICATION_ONE_TIME_USE`.
    pub one_time_use: bool,
    /// `RESET_PASSWORD_FAIL_WHEN_USER_NOT_FOUND`: reveal unknown accounts.
    pub fail_when_user_not_found: bool,
    /// `RESET_PASSWORD_SERIALIZER_PASSWORD_CONFIRM`.
    pub password_confirm: bool,
    /// `SEND_RESET_PASSWORD_LINK_SERIALIZER_USE_EMAIL`: field `email`
    /// instead of `login`.
    pub use_email: bool,
    /// Check the link before the new password (DRR: after, which lets a
    /// caller probe ids and user attributes without a valid link).
    pub signature_first: bool,
    /// What a reset ends (DRR: sessions only).
    pub ends: CredentialsEnded,
}

/// E-mail change settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterEmailSettings {
    /// `REGISTER_EMAIL_VERIFICATION_ENABLED`.
    pub verification_enabled: bool,
    /// `REGISTER_EMAIL_VERIFICATION_URL`.
    pub verification_url: String,
    /// `REGISTER_EMAIL_VERIFICATION_PERIOD`.
    pub verification_period: Duration,
    /// Only the newest requested change can be confirmed (DRR: any link of
    /// the period, so an old link can switch the address back).
    pub newest_only: bool,
    /// The request must carry the current `password` (DRR: no), so a
    /// stolen session cannot move the account's recovery address.
    pub requires_password: bool,
}

impl Default for Settings {
    /// The safe profile: one-time links, no account enumeration through the
    /// reset or registration forms, mail on password and address changes,
    /// logout revokes, a password change ends every other
    /// credential, case-insensitive identifiers.
    fn default() -> Self {
        let drr = Self::drr();
        Self {
            login_fields: vec![LoginField::Username, LoginField::Email],
            matching: Matching::CaseInsensitive,
            register: RegisterSettings {
                one_time_use: true,
                fail_when_email_taken: false,
                // Passphrases welcome; the bound only keeps hashing cheap.
                password_max_length: 4096,
                ..drr.register
            },
            login: LoginSettings {
                logout_revokes_token: true,
                ..drr.login
            },
            reset_password: ResetPasswordSettings {
                one_time_use: true,
                fail_when_user_not_found: false,
                signature_first: true,
                ends: CredentialsEnded::All,
                ..drr.reset_password
            },
            register_email: RegisterEmailSettings {
                newest_only: true,
                requires_password: true,
                ..drr.register_email
            },
            change_password_confirm: true,
            change_password_ends: CredentialsEnded::AllButCaller,
            notify_changes: true,
            delete_account_enabled: true,
            user_fields: UserFields::default(),
            ..drr
        }
    }
}

impl Settings {
    /// django-rest-registration 0.9's defaults, on a site with token and
    /// session authentication (`USER_LOGIN_FIELDS` defaults to the username).
    pub fn drr() -> Self {
        Self {
            login_fields: vec![LoginField::Username],
            matching: Matching::Exact,
            register: RegisterSettings {
                enabled: true,
                password_confirm: true,
                verification_enabled: true,
                verification_url: "http://localhost:8000/verify-user/".into(),
                verification_period: Duration::days(7),
                one_time_use: false,
                auto_login: false,
                fail_when_email_taken: true,
                password_max_length: 128,
            },
            login: LoginSettings {
                retrieve_token: true,
                authenticate_session: true,
                logout_revokes_token: false,
            },
            reset_password: ResetPasswordSettings {
                enabled: true,
                verification_url: "http://localhost:8000/reset-password/".into(),
                verification_period: Duration::days(1),
                one_time_use: false,
                fail_when_user_not_found: true,
                password_confirm: false,
                use_email: false,
                signature_first: false,
                ends: CredentialsEnded::Sessions,
            },
            register_email: RegisterEmailSettings {
                verification_enabled: true,
                verification_url: "http://localhost:8000/verify-email/".into(),
                verification_period: Duration::days(7),
                newest_only: false,
                requires_password: false,
            },
            change_password_confirm: true,
            change_password_ends: CredentialsEnded::Sessions,
            notify_changes: false,
            delete_account_enabled: false,
            user_fields: UserFields::default(),
            password_reset_timeout: Duration::days(3),
            djoser: DjoserSettings::default(),
            restauth: RestAuthSettings::default(),
        }
    }
}
