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
use auth_core::flows::Credentials;
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::any;
use serde_json::{Value, json};

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

/// DRR's profile body.
pub(crate) fn profile_body(user: &User) -> Value {
    let mut body = public_profile(
        user.username.as_str(),
        &user.first_name,
        &user.last_name,
        user.email.as_ref(),
    );
    body["id"] = json!(user.id.get());
    body
}

/// A profile body without `id`: what the safe profile's registration
/// answer shows.
pub(crate) fn public_profile(
    username: &str,
    first_name: &str,
    last_name: &str,
    email: Option<&Email>,
) -> Value {
    json!({
        "username": username,
        "first_name": first_name,
        "last_name": last_name,
        "email": email.map(Email::as_str).unwrap_or_default(),
    })
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
