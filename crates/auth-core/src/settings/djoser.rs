//! djoser's `DJOSER` settings, under djoser's names (djoser-api.md §7).
//! The defaults are djoser 2.3.5's in every profile: a djoser site moves
//! without restating them.

/// What the djoser dialect does; each field names its `DJOSER` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DjoserSettings {
    /// `SEND_ACTIVATION_EMAIL`: new users start inactive and are mailed an
    /// activation link; an e-mail change deactivates and mails the new address.
    pub send_activation_email: bool,
    /// `SEND_CONFIRMATION_EMAIL`: a confirmation mail on create (when no
    /// activation mail goes) and on activation.
    pub send_confirmation_email: bool,
    /// `USER_CREATE_PASSWORD_RETYPE`: `re_password` on create.
    pub user_create_password_retype: bool,
    /// `SET_PASSWORD_RETYPE`: `re_new_password` on `set_password`.
    pub set_password_retype: bool,
    /// `PASSWORD_RESET_CONFIRM_RETYPE`: `re_new_password` on
    /// `reset_password_confirm`.
    pub password_reset_confirm_retype: bool,
    /// `SET_USERNAME_RETYPE`: `re_new_username` on `set_username`.
    pub set_username_retype: bool,
    /// `USERNAME_RESET_CONFIRM_RETYPE`: `re_new_username` on
    /// `reset_username_confirm`.
    pub username_reset_confirm_retype: bool,
    /// `PASSWORD_RESET_SHOW_EMAIL_NOT_FOUND`: an unknown address is a 400.
    pub password_reset_show_email_not_found: bool,
    /// `USERNAME_RESET_SHOW_EMAIL_NOT_FOUND`: the same switch under its
    /// other name (either turns it on for every lookup by address).
    pub username_reset_show_email_not_found: bool,
    /// `PASSWORD_CHANGED_EMAIL_CONFIRMATION`: mail after a password change.
    pub password_changed_email_confirmation: bool,
    /// `USERNAME_CHANGED_EMAIL_CONFIRMATION`: mail after a username change.
    pub username_changed_email_confirmation: bool,
    /// `LOGOUT_ON_PASSWORD_CHANGE`: `set_password` ends the user's tokens.
    pub logout_on_password_change: bool,
    /// `CREATE_SESSION_ON_LOGIN`: `token/login/` also starts a session.
    pub create_session_on_login: bool,
    /// `HIDE_USERS`: non-staff callers see only themselves, and other users
    /// are 404 rather than 403.
    pub hide_users: bool,
    /// `ACTIVATION_URL`: the activation link's path, with `{uid}` and `{token}`.
    pub activation_url: String,
    /// `PASSWORD_RESET_CONFIRM_URL`: the password reset link's path.
    pub password_reset_confirm_url: String,
    /// `USERNAME_RESET_CONFIRM_URL`: the username reset link's path.
    pub username_reset_confirm_url: String,
    /// `EMAIL_FRONTEND_PROTOCOL`: the links' scheme; empty: the request's.
    pub email_frontend_protocol: String,
    /// `EMAIL_FRONTEND_DOMAIN`: the links' host; empty: the request's.
    pub email_frontend_domain: String,
    /// `EMAIL_FRONTEND_SITE_NAME`: the site name in mails; empty: the host.
    pub email_frontend_site_name: String,
}

impl DjoserSettings {
    /// Whether an unknown address is a 400 on the lookups by address
    /// (reset password, reset username, resend activation).
    pub fn show_email_not_found(&self) -> bool {
        self.password_reset_show_email_not_found || self.username_reset_show_email_not_found
    }
}

impl Default for DjoserSettings {
    fn default() -> Self {
        Self {
            send_activation_email: false,
            send_confirmation_email: false,
            user_create_password_retype: false,
            set_password_retype: false,
            password_reset_confirm_retype: false,
            set_username_retype: false,
            username_reset_confirm_retype: false,
            password_reset_show_email_not_found: false,
            username_reset_show_email_not_found: false,
            password_changed_email_confirmation: false,
            username_changed_email_confirmation: false,
            logout_on_password_change: false,
            create_session_on_login: false,
            hide_users: true,
            activation_url: "activate/{uid}/{token}".into(),
            password_reset_confirm_url: "password/reset/confirm/{uid}/{token}".into(),
            username_reset_confirm_url: "username/reset/confirm/{uid}/{token}".into(),
            email_frontend_protocol: String::new(),
            email_frontend_domain: String::new(),
            email_frontend_site_name: String::new(),
        }
    }
}
