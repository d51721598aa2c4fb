//! dj-rest-auth's `REST_AUTH` settings and the allauth `ACCOUNT_*` settings
//! its registration relies on, under their own names (restauth-api.md §6).
//! The defaults are dj-rest-auth 7.2.0's and allauth 65's in every profile.

use super::LoginField;

/// allauth's `ACCOUNT_EMAIL_VERIFICATION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {
    /// `mandatory`: no login until the address is confirmed.
    Mandatory,
    /// `optional`: a confirmation mail, but login right away.
    Optional,
    /// `none`: no confirmation mail.
    None,
}

impl EmailVerification {
    /// allauth's name of the mode.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mandatory => "mandatory",
            Self::Optional => "optional",
            Self::None => "none",
        }
    }

    /// Every mode, for parsing and documentation.
    pub const ALL: [Self; 3] = [Self::Mandatory, Self::Optional, Self::None];
}

/// allauth's `ACCOUNT_SIGNUP_FIELDS`, as far as they vary here: `username*`
/// and `password1*` are always asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignupFields {
    /// `email*` (required) rather than `email` (optional).
    pub email_required: bool,
    /// `password2*`: the retype is asked for.
    pub password2: bool,
}

impl Default for SignupFields {
    /// The reference deployment's `email*, username*, password1*,
    /// password2*` (allauth's own default leaves `email` optional; mandatory
    /// verification needs it).
    fn default() -> Self {
        Self {
            email_required: true,
            password2: true,
        }
    }
}

/// What the dj-rest-auth dialect does; each field names its setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestAuthSettings {
    /// `USE_JWT`: `login/` and `registration/` answer simplejwt's tokens,
    /// and `token/verify/`, `token/refresh/` are served.
    pub use_jwt: bool,
    /// `SESSION_LOGIN`: `login/` also starts a session (and records the
    /// login, which ends outstanding reset links).
    pub session_login: bool,
    /// `OLD_PASSWORD_FIELD_ENABLED`: `password/change/` needs `old_password`.
    pub old_password_field_enabled: bool,
    /// `LOGOUT_ON_PASSWORD_CHANGE`: `password/change/` ends the session.
    pub logout_on_password_change: bool,
    /// `JWT_AUTH_HTTPONLY`: the refresh token is left out of the bodies
    /// (`""` on login).
    pub jwt_auth_httponly: bool,
    /// `JWT_AUTH_RETURN_EXPIRATION`: `login/` adds the tokens' expiry times.
    pub jwt_auth_return_expiration: bool,
    /// `JWT_AUTH_COOKIE`: the access token also travels in this cookie, which
    /// authenticates like the `Bearer` header; empty: no cookie.
    pub jwt_auth_cookie: String,
    /// `JWT_AUTH_REFRESH_COOKIE`: the refresh token's cookie, which
    /// `token/refresh/` reads when the body has none; empty: no cookie.
    pub jwt_auth_refresh_cookie: String,
    /// `JWT_AUTH_REFRESH_COOKIE_PATH`: the refresh cookie's `Path`.
    pub jwt_auth_refresh_cookie_path: String,
    /// `JWT_AUTH_SECURE`: the JWT cookies are `Secure`.
    pub jwt_auth_secure: bool,
    /// `JWT_AUTH_SAMESITE`: the JWT cookies' `SameSite` (`Lax`, `Strict`,
    /// `None`).
    pub jwt_auth_samesite: String,
    /// `JWT_AUTH_COOKIE_DOMAIN`: the JWT cookies' `Domain`; empty: the host.
    pub jwt_auth_cookie_domain: String,
    /// `JWT_AUTH_COOKIE_USE_CSRF`: an unsafe request authenticated by the
    /// access cookie must pass the CSRF check, as a session's does.
    pub jwt_auth_cookie_use_csrf: bool,
    /// `ACCOUNT_EMAIL_VERIFICATION`.
    pub email_verification: EmailVerification,
    /// `ACCOUNT_LOGIN_METHODS`: which of `username`, `email` log in.
    pub login_methods: Vec<LoginField>,
    /// `ACCOUNT_SIGNUP_FIELDS`.
    pub signup_fields: SignupFields,
    /// `ACCOUNT_UNIQUE_EMAIL`: registration refuses a confirmed address.
    pub unique_email: bool,
    /// `ACCOUNT_LOGOUT_ON_GET`: `GET logout/` logs out.
    pub logout_on_get: bool,
    /// `ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS`: confirmation key lifetime.
    pub email_confirmation_expire_days: i64,
    /// The password reset link, with `{uid}` and `{token}` (the front-end
    /// URL the reference's reset serializer builds).
    pub reset_url: String,
    /// The e-mail confirmation link, with `{key}` (the reference's
    /// account adapter's `get_email_confirmation_url`).
    pub confirm_email_url: String,
}

impl RestAuthSettings {
    /// Whether `field` logs in.
    pub fn logs_in_by(&self, field: LoginField) -> bool {
        self.login_methods.contains(&field)
    }
}

impl Default for RestAuthSettings {
    fn default() -> Self {
        Self {
            use_jwt: false,
            session_login: true,
            old_password_field_enabled: false,
            logout_on_password_change: false,
            jwt_auth_httponly: true,
            jwt_auth_return_expiration: false,
            jwt_auth_cookie: String::new(),
            jwt_auth_refresh_cookie: String::new(),
            jwt_auth_refresh_cookie_path: "/".into(),
            jwt_auth_secure: false,
            jwt_auth_samesite: "Lax".into(),
            jwt_auth_cookie_domain: String::new(),
            jwt_auth_cookie_use_csrf: false,
            email_verification: EmailVerification::Optional,
            login_methods: vec![LoginField::Username],
            signup_fields: SignupFields::default(),
            unique_email: true,
            logout_on_get: false,
            email_confirmation_expire_days: 3,
            reset_url: "http://localhost/password-reset/{uid}/{token}/".into(),
            confirm_email_url: "http://localhost/confirm-email/{key}/".into(),
        }
    }
}
