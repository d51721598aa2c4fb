//! dj-rest-auth's endpoints (`API=rest-auth`, restauth-api.md §2) under the
//! prefix, with allauth's registration under `registration/`: `login/`,
//! `logout/`, `user/`, `password/change/`, `password/reset/`,
//! `password/reset/confirm/`, `registration/`, `registration/verify-email/`,
//! `registration/resend-email/`, and in the JWT mode `token/verify/` and
//! `token/refresh/`.

use auth_core::domain::{Email, User};
use auth_core::flows::{JwtPair, Registered, RestAuthLogin};
use auth_core::settings::Settings;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Route, no_body};
use crate::AppState;
use crate::endpoint::{Access, Spec, always};
use crate::error::ToApiError;
use crate::limits::Action;
use crate::openapi::{Doc, Fields, schema};

/// dj-rest-auth's `UserDetailsSerializer`.
fn user_body(user: &User) -> Value {
    json!({
        "pk": user.id.get(),
        "username": user.username.as_str(),
        "email": user.email.as_ref().map(Email::as_str).unwrap_or_default(),
        "first_name": user.first_name,
        "last_name": user.last_name,
    })
}

/// `{"detail": message}` with 200.
fn detail(message: &str) -> Response {
    Json(json!({ "detail": message })).into_response()
}

/// DRF's datetime: ISO 8601 in UTC with microseconds and `Z`.
fn datetime(at: OffsetDateTime) -> Value {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    json!(at.format(format).ok())
}

/// Which view answers with a started login: dj-rest-auth's `LoginView`
/// adds the expiry times and sets the JWT cookies, its `RegisterView` does
/// neither.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LoggedInBy {
    Login,
    Registration,
}

/// The body of a login (and of a registration that logs in): the DRF
/// token, or the JWTs with the user; the session goes in cookies.
fn login_response(
    state: &AppState,
    login: &RestAuthLogin,
    status: StatusCode,
    by: LoggedInBy,
) -> Response {
    let restauth = &state.accounts.settings().restauth;
    let credentials = &login.credentials;
    let body = match &login.jwt {
        Some(JwtPair {
            access,
            refresh,
            access_expires,
            refresh_expires,
        }) => {
            let refresh = if restauth.jwt_auth_httponly {
                ""
            } else {
                refresh.as_str()
            };
            let mut body = json!({
                "access": access,
                "refresh": refresh,
                "user": user_body(&credentials.user),
            });
            if by == LoggedInBy::Login && restauth.jwt_auth_return_expiration {
                body["access_expiration"] = datetime(*access_expires);
                body["refresh_expiration"] = datetime(*refresh_expires);
            }
            body
        }
        None => json!({ "key": credentials.token.as_ref().map(|t| t.expose()) }),
    };
    let mut headers = HeaderMap::new();
    if let (Some(jwt), LoggedInBy::Login) = (&login.jwt, by) {
        crate::jwt_cookies::set_access(&mut headers, restauth, &jwt.access);
        crate::jwt_cookies::set_refresh(&mut headers, restauth, &jwt.refresh);
        // The access cookie's unsafe requests echo a CSRF secret; a
        // session (below) sets one too.
        if restauth.jwt_auth_cookie_use_csrf
            && !restauth.jwt_auth_cookie.is_empty()
            && credentials.session.is_none()
        {
            crate::session::issue_csrf(&mut headers, state.config.secure_cookies);
        }
    }
    if let Some(session) = &credentials.session {
        crate::session::start(
            &mut headers,
            session,
            state.config.session_max_age,
            state.config.secure_cookies,
        );
    }
    (status, headers, Json(body)).into_response()
}

const LOGIN: Spec = Spec::post("Login", Access::Open, always).throttled(Action::Login);

async fn login(State(state): State<AppState>, request: Request) -> Response {
    let attempt = request.method() == Method::POST;
    let response = state
        .run(&LOGIN, request, async |state, call| {
            let login = state
                .accounts
                .restauth_login(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(login_response(
                state,
                &login,
                StatusCode::OK,
                LoggedInBy::Login,
            ))
        })
        .await;
    if let (true, Some(metrics)) = (attempt, &state.config.metrics) {
        metrics.login(response.status());
    }
    response
}

const LOGOUT: Spec = Spec::post("Logout", Access::Open, always);

/// `logout/` under `ACCOUNT_LOGOUT_ON_GET`.
const LOGOUT_ON_GET: Spec = Spec {
    methods: &[Method::GET, Method::POST],
    allow: "GET, POST, HEAD, OPTIONS",
    ..LOGOUT
};

async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let spec = if state.accounts.settings().restauth.logout_on_get {
        &LOGOUT_ON_GET
    } else {
        &LOGOUT
    };
    state
        .run(spec, request, async |state, call| {
            state
                .accounts
                .restauth_logout(call.caller.as_ref())
                .await
                .map_err(|e| e.to_api(false))?;
            let restauth = &state.accounts.settings().restauth;
            let message = if restauth.use_jwt && restauth.jwt_auth_cookie.is_empty() {
                "Neither cookies or blacklist are enabled, so the token has not been deleted server side. \
                 Please make sure the token is deleted client side."
            } else {
                "Successfully logged out."
            };
            let mut response = detail(message);
            crate::session::end(response.headers_mut(), state.config.secure_cookies);
            if restauth.use_jwt {
                crate::jwt_cookies::unset(response.headers_mut(), restauth);
            }
            Ok(response)
        })
        .await
}

const USER: Spec = Spec {
    name: "User Details",
    methods: &[Method::GET, Method::PUT, Method::PATCH],
    allow: "GET, PUT, PATCH, HEAD, OPTIONS",
    access: Access::Authenticated,
    enabled: always,
    throttle: None,
    padded: false,
};

async fn user(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&USER, request, async |state, call| {
            let me = call.me()?;
            let user = match call.method {
                Method::PUT | Method::PATCH => state
                    .accounts
                    .restauth_update(&me.user, &call.form, call.method == Method::PATCH)
                    .await
                    .map_err(|e| e.to_api(false))?,
                _ => me.user.clone(),
            };
            Ok(Json(user_body(&user)).into_response())
        })
        .await
}

const PASSWORD_CHANGE: Spec =
    Spec::post("Password Change", Access::Authenticated, always).throttled(Action::Reauthenticate);

async fn password_change(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&PASSWORD_CHANGE, request, async |state, call| {
            let me = call.me()?;
            state
                .accounts
                .restauth_change_password(me, &call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            let mut response = detail("New password has been saved.");
            if me.kind == auth_core::ports::CredentialKind::Session
                && state.accounts.settings().restauth.logout_on_password_change
            {
                crate::session::end(response.headers_mut(), state.config.secure_cookies);
            }
            Ok(response)
        })
        .await
}

const PASSWORD_RESET: Spec =
    Spec::post("Password Reset", Access::Open, always).throttled(Action::SendResetLink);

async fn password_reset(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&PASSWORD_RESET, request, async |state, call| {
            state
                .accounts
                .restauth_reset_password(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(detail("Password reset e-mail has been sent."))
        })
        .await
}

const PASSWORD_RESET_CONFIRM: Spec =
    Spec::post("Password Reset Confirm", Access::Open, always).throttled(Action::ResetPassword);

async fn password_reset_confirm(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&PASSWORD_RESET_CONFIRM, request, async |state, call| {
            state
                .accounts
                .restauth_reset_password_confirm(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(detail("Password has been reset with the new password."))
        })
        .await
}

const REGISTER: Spec = Spec::post("Register", Access::Open, always).throttled(Action::Register);

async fn register(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&REGISTER, request, async |state, call| {
            let registered = state
                .accounts
                .restauth_register(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(match registered {
                Registered::AwaitingConfirmation => (
                    StatusCode::CREATED,
                    Json(json!({ "detail": "Verification e-mail sent." })),
                )
                    .into_response(),
                Registered::LoggedIn(login) => {
                    login_response(state, &login, StatusCode::CREATED, LoggedInBy::Registration)
                }
            })
        })
        .await
}

const VERIFY_EMAIL: Spec =
    Spec::post("Verify Email", Access::Open, always).throttled(Action::Verify);

async fn verify_email(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&VERIFY_EMAIL, request, async |state, call| {
            state
                .accounts
                .restauth_verify_email(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(detail("ok"))
        })
        .await
}

const RESEND_EMAIL: Spec =
    Spec::post("Resend Email Verification", Access::Open, always).throttled(Action::Resend);

async fn resend_email(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&RESEND_EMAIL, request, async |state, call| {
            state
                .accounts
                .restauth_resend_email(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(detail("ok"))
        })
        .await
}

/// The JWT endpoints exist in the JWT mode only.
fn jwt_mode(settings: &Settings) -> bool {
    settings.restauth.use_jwt
}

const TOKEN_VERIFY: Spec = Spec::post("Token Verify", Access::Unauthenticated, jwt_mode);

async fn token_verify(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&TOKEN_VERIFY, request, async |state, call| {
            state
                .accounts
                .restauth_token_verify(&call.form)
                .map_err(|e| e.to_api(false))?;
            Ok(Json(json!({})).into_response())
        })
        .await
}

const TOKEN_REFRESH: Spec = Spec::post("Token Refresh", Access::Unauthenticated, jwt_mode);

async fn token_refresh(State(state): State<AppState>, request: Request) -> Response {
    // The refresh cookie stands in for a body without `refresh`.
    let restauth = &state.accounts.settings().restauth;
    let from_cookie = crate::jwt_cookies::refresh(request.headers(), restauth).map(str::to_owned);
    state
        .run(&TOKEN_REFRESH, request, async move |state, call| {
            let refresh = match call.form.get("refresh") {
                Some(auth_core::form::RawValue::Text(text)) if !text.is_empty() => {
                    Some(text.as_str())
                }
                _ => from_cookie.as_deref(),
            };
            let refreshed = state
                .accounts
                .restauth_token_refresh(refresh)
                .await
                .map_err(|e| e.to_api(false))?;
            let mut headers = HeaderMap::new();
            let restauth = &state.accounts.settings().restauth;
            crate::jwt_cookies::set_access(&mut headers, restauth, &refreshed.access);
            let body = json!({
                "access": refreshed.access,
                "access_expiration": datetime(refreshed.access_expires),
            });
            Ok((headers, Json(body)).into_response())
        })
        .await
}

fn password_pair(first: &'static str, second: &'static str) -> Fields {
    Fields::new()
        .text(first, true, None)
        .text(second, true, None)
}

/// dj-rest-auth's endpoints.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        path: "login",
        spec: &LOGIN,
        handler: || any(login),
        doc: Doc {
            summary: "Log in by username or e-mail (ACCOUNT_LOGIN_METHODS): the DRF token as `key`, or JWTs with the user",
            request: |_, _| {
                Some(
                    Fields::new()
                        .text("username", false, None)
                        .email("email", false)
                        .text("password", true, None),
                )
            },
            answer: |s, _| {
                let body = if s.restauth.use_jwt {
                    "RestAuthJwt"
                } else {
                    "RestAuthKey"
                };
                (StatusCode::OK, schema(body))
            },
        },
    },
    Route {
        path: "logout",
        spec: &LOGOUT,
        handler: || any(logout),
        doc: Doc {
            summary: "Log out: the user's DRF token and the caller's session end",
            request: no_body,
            answer: |_, _| (StatusCode::OK, schema("Detail")),
        },
    },
    Route {
        path: "user",
        spec: &USER,
        handler: || any(user),
        doc: Doc {
            summary: "The caller's details: read (GET), change username and names (PUT, PATCH)",
            request: |_, method| match *method {
                Method::PUT | Method::PATCH => Some(
                    Fields::new()
                        .text("username", *method == Method::PUT, Some(150))
                        .blank_text("first_name", Some(150))
                        .blank_text("last_name", Some(150)),
                ),
                _ => None,
            },
            answer: |_, _| (StatusCode::OK, schema("RestAuthUser")),
        },
    },
    Route {
        path: "password/change",
        spec: &PASSWORD_CHANGE,
        handler: || any(password_change),
        doc: Doc {
            summary: "Change the caller's password",
            request: |s, _| {
                let fields = password_pair("new_password1", "new_password2");
                Some(if s.restauth.old_password_field_enabled {
                    fields.text("old_password", true, None)
                } else {
                    fields
                })
            },
            answer: |_, _| (StatusCode::OK, schema("Detail")),
        },
    },
    Route {
        path: "password/reset",
        spec: &PASSWORD_RESET,
        handler: || any(password_reset),
        doc: Doc {
            summary: "Mail a password reset link to every account holding the address",
            request: |_, _| Some(Fields::new().email("email", true)),
            answer: |_, _| (StatusCode::OK, schema("Detail")),
        },
    },
    Route {
        path: "password/reset/confirm",
        spec: &PASSWORD_RESET_CONFIRM,
        handler: || any(password_reset_confirm),
        doc: Doc {
            summary: "Set a new password with a mailed uid and token",
            request: |_, _| {
                Some(
                    password_pair("new_password1", "new_password2")
                        .text("uid", true, None)
                        .text("token", true, None),
                )
            },
            answer: |_, _| (StatusCode::OK, schema("Detail")),
        },
    },
    Route {
        path: "registration",
        spec: &REGISTER,
        handler: || any(register),
        doc: Doc {
            summary: "Create an account and mail its confirmation key; logged in unless verification is mandatory",
            request: |s, _| {
                let fields = Fields::new()
                    .text("username", true, Some(150))
                    .email("email", s.restauth.signup_fields.email_required)
                    .text("password1", true, None);
                Some(if s.restauth.signup_fields.password2 {
                    fields.text("password2", true, None)
                } else {
                    fields
                })
            },
            answer: |_, _| (StatusCode::CREATED, schema("RestAuthRegistered")),
        },
    },
    Route {
        path: "registration/verify-email",
        spec: &VERIFY_EMAIL,
        handler: || any(verify_email),
        doc: Doc {
            summary: "Confirm an address with its mailed key",
            request: |_, _| Some(Fields::new().text("key", true, None)),
            answer: |_, _| (StatusCode::OK, schema("Detail")),
        },
    },
    Route {
        path: "registration/resend-email",
        spec: &RESEND_EMAIL,
        handler: || any(resend_email),
        doc: Doc {
            summary: "Mail a new confirmation key to an unconfirmed address",
            request: |_, _| Some(Fields::new().email("email", true)),
            answer: |_, _| (StatusCode::OK, schema("Detail")),
        },
    },
    Route {
        path: "token/verify",
        spec: &TOKEN_VERIFY,
        handler: || any(token_verify),
        doc: Doc {
            summary: "JWT mode: whether a token (access or refresh) is good",
            request: |_, _| Some(Fields::new().text("token", true, None)),
            answer: |_, _| (StatusCode::OK, schema("Empty")),
        },
    },
    Route {
        path: "token/refresh",
        spec: &TOKEN_REFRESH,
        handler: || any(token_refresh),
        doc: Doc {
            summary: "JWT mode: a new access token for a refresh token",
            request: |_, _| Some(Fields::new().text("refresh", true, None)),
            answer: |_, _| (StatusCode::OK, schema("RestAuthRefreshed")),
        },
    },
];
