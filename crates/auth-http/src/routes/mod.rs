//! DRR's endpoints under the configured prefix, one module per view group.

mod change_password;
mod credentials;
mod delete_account;
mod login;
mod profile;
mod register;
mod register_email;
mod reset_password;

use auth_core::domain::{Email, User};
use auth_core::flows::{Credentials, RegisteredProfile};
use auth_core::settings::{UserField, UserFields};
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::any;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn routes(state: AppState) -> Router {
    let prefix = state.config.prefix.trim_end_matches('/').to_owned();
    let at = |path: &str| format!("{prefix}/{path}/");
    Router::new()
        .route(&at("register"), any(register::register))
        .route(
            &at("verify-registration"),
            any(register::verify_registration),
        )
        .route(
            &at("resend-verification"),
            any(register::resend_verification),
        )
        .route(
            &at("send-reset-password-link"),
            any(reset_password::send_link),
        )
        .route(&at("reset-password"), any(reset_password::reset))
        .route(&at("login"), any(login::login))
        .route(&at("logout"), any(login::logout))
        .route(&at("profile"), any(profile::profile))
        .route(
            &at("change-password"),
            any(change_password::change_password),
        )
        .route(&at("register-email"), any(register_email::register_email))
        .route(&at("verify-email"), any(register_email::verify_email))
        // Beyond DRR.
        .route(&at("credentials"), any(credentials::list))
        .route(&at("credentials/revoke"), any(credentials::revoke))
        .route(&at("delete-account"), any(delete_account::delete_account))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

/// DRR's profile body: the shown fields (`USER_HIDDEN_FIELDS` and friends).
pub(crate) fn profile_body(user: &User, fields: &UserFields) -> Value {
    let time = |at: OffsetDateTime| at.format(&Rfc3339).ok();
    let body = fields.shown().iter().map(|&field| {
        let value = match field {
            UserField::Id => json!(user.id.get()),
            UserField::Username => json!(user.username.as_str()),
            UserField::FirstName => json!(user.first_name),
            UserField::LastName => json!(user.last_name),
            UserField::Email => json!(user.email.as_ref().map(Email::as_str).unwrap_or_default()),
            UserField::LastLogin => json!(user.last_login.and_then(time)),
            UserField::IsActive => json!(user.can_log_in()),
            UserField::DateJoined => json!(time(user.date_joined)),
        };
        (field.name().to_owned(), value)
    });
    Value::Object(body.collect())
}

/// A registration's answer without what only a stored user has (`id`,
/// times, flags): what the safe profile shows, alike whether an account
/// was created or an existing one's owner was mailed instead.
pub(crate) fn public_profile(profile: &RegisteredProfile, fields: &UserFields) -> Value {
    let body = fields.shown().iter().filter_map(|&field| {
        let value = match field {
            UserField::Username => json!(profile.username.as_str()),
            UserField::FirstName => json!(profile.first_name),
            UserField::LastName => json!(profile.last_name),
            UserField::Email => json!(
                profile
                    .email
                    .as_ref()
                    .map(Email::as_str)
                    .unwrap_or_default()
            ),
            _ => return None,
        };
        Some((field.name().to_owned(), value))
    });
    Value::Object(body.collect())
}

/// The body and cookies of a started login: `token` in the body, the
/// session in cookies.
pub(crate) fn login_body(
    state: &AppState,
    message: &str,
    credentials: &Credentials,
    headers: &mut HeaderMap,
) -> Value {
    if let Some(session) = &credentials.session {
        crate::session::start(
            headers,
            session,
            state.config.session_max_age,
            state.config.secure_cookies,
        );
    }
    match &credentials.token {
        Some(token) => json!({ "detail": message, "token": token.expose() }),
        None => json!({ "detail": message }),
    }
}
