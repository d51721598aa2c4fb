//! djoser's endpoints (`API=djoser`, djoser-api.md §2) under the prefix,
//! over the same flows as DRR's. Served so far: `users/` (create, list),
//! `users/me/`, `users/activation/`, `users/resend_activation/`,
//! `users/set_password/`, `users/reset_password/`,
//! `users/reset_password_confirm/`, `users/set_username/`,
//! `users/reset_username/`, `users/reset_username_confirm/`, `token/login/`,
//! `token/logout/`, `users/{id}/`, and
//! simplejwt's `jwt/create/`, `jwt/refresh/`, `jwt/verify/`.

use auth_core::domain::{Email, User, UserId};
use auth_core::flows::Site;
use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use super::{Route, no_body};
use crate::AppState;
use crate::endpoint::{Access, Spec, always};
use crate::error::{ApiError, ToApiError};
use crate::limits::Action;
use crate::openapi::{Doc, Fields, schema};

/// djoser's user object: `{"email", "id", "username"}`.
fn user_body(user: &User) -> Value {
    json!({
        "email": user.email.as_ref().map(Email::as_str).unwrap_or_default(),
        "id": user.id.get(),
        "username": user.username.as_str(),
    })
}

/// 204 with no body and no `Content-Type`, djoser's answer to an action.
fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Where the request came to: the scheme is `http` (TLS ends before us)
/// and the host is the request's, as Django's `get_host()` sees them.
fn site_of(headers: &HeaderMap) -> Site {
    Site {
        protocol: "http".into(),
        domain: headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned(),
    }
}

const USERS: Spec = Spec {
    name: "User List",
    methods: &[Method::GET, Method::POST],
    allow: "GET, POST, HEAD, OPTIONS",
    access: Access::OpenFor(&[Method::POST]),
    enabled: always,
    throttle: Some(Action::Register),
    padded: false,
};

async fn users(State(state): State<AppState>, request: Request) -> Response {
    let site = site_of(request.headers());
    state
        .run(&USERS, request, async move |state, call| {
            if call.method == Method::POST {
                let user = state
                    .accounts
                    .djoser_create(&call.form, &site)
                    .await
                    .map_err(|e| e.to_api(false))?;
                return Ok((StatusCode::CREATED, Json(user_body(&user))).into_response());
            }
            let me = call.me()?;
            let listed = if state.accounts.settings().djoser.hide_users && !me.user.staff {
                vec![me.user.clone()]
            } else {
                every_user(state).await?
            };
            let body: Vec<Value> = listed.iter().map(user_body).collect();
            Ok(Json(body).into_response())
        })
        .await
}

/// Every user, by id, read page by page.
async fn every_user(state: &AppState) -> Result<Vec<User>, ApiError> {
    const PAGE: u32 = 1000;
    let mut users = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = state
            .accounts
            .list_accounts(after, PAGE)
            .await
            .map_err(ApiError::from)?;
        let done = page.len() < PAGE as usize;
        after = page.last().map(|u| u.id);
        users.extend(page);
        if done || after.is_none() {
            return Ok(users);
        }
    }
}

const ME: Spec = Spec {
    name: "User Instance",
    methods: &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
    allow: "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
    access: Access::Authenticated,
    enabled: always,
    throttle: None,
    padded: false,
};

async fn me(State(state): State<AppState>, request: Request) -> Response {
    let site = site_of(request.headers());
    state
        .run(&ME, request, async move |state, call| {
            let me = call.me()?;
            on_user(state, &call, &me.user, &site).await
        })
        .await
}

/// `users/me/` and `users/{id}/` on `user`, once the caller may act on it:
/// read (GET), change the e-mail (PUT, PATCH), delete (DELETE).
async fn on_user(
    state: &AppState,
    call: &crate::endpoint::Call,
    user: &User,
    site: &Site,
) -> Result<Response, ApiError> {
    let accounts = &state.accounts;
    match call.method {
        Method::PUT | Method::PATCH => {
            let user = accounts
                .djoser_update(user, &call.form, site)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(Json(user_body(&user)).into_response())
        }
        Method::DELETE => {
            accounts
                .djoser_delete(call.me()?, user, &call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        }
        _ => Ok(Json(user_body(user)).into_response()),
    }
}

const USER: Spec = Spec {
    name: "User Instance",
    ..ME
};

async fn user_detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let site = site_of(request.headers());
    state
        .run(&USER, request, async move |state, call| {
            let me = call.me()?;
            let user = state
                .accounts
                .djoser_user(me, &id, call.method == Method::DELETE)
                .await
                .map_err(|e| e.to_api(false))?;
            on_user(state, &call, &user, &site).await
        })
        .await
}

const ACTIVATION: Spec = action("Activation", Action::Verify);

async fn activation(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&ACTIVATION, request, async |state, call| {
            state
                .accounts
                .djoser_activate(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        })
        .await
}

/// A djoser action: POST, anyone may call it (other methods: 401, then 405).
const fn action(name: &'static str, throttle: Action) -> Spec {
    Spec {
        access: Access::OpenFor(&[Method::POST]),
        ..Spec::post(name, Access::Open, always).throttled(throttle)
    }
}

const RESEND_ACTIVATION: Spec = action("Resend Activation", Action::Resend);

async fn resend_activation(State(state): State<AppState>, request: Request) -> Response {
    let site = site_of(request.headers());
    state
        .run(&RESEND_ACTIVATION, request, async move |state, call| {
            state
                .accounts
                .djoser_resend_activation(&call.form, &site)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        })
        .await
}

const RESET_PASSWORD: Spec = action("Reset Password", Action::SendResetLink);

async fn reset_password(State(state): State<AppState>, request: Request) -> Response {
    let site = site_of(request.headers());
    state
        .run(&RESET_PASSWORD, request, async move |state, call| {
            state
                .accounts
                .djoser_reset_password(&call.form, &site)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        })
        .await
}

const RESET_PASSWORD_CONFIRM: Spec = action("Reset Password Confirm", Action::ResetPassword);

async fn reset_password_confirm(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&RESET_PASSWORD_CONFIRM, request, async |state, call| {
            state
                .accounts
                .djoser_reset_password_confirm(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        })
        .await
}

const SET_PASSWORD: Spec =
    Spec::post("Set Password", Access::Authenticated, always).throttled(Action::Reauthenticate);

async fn set_password(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&SET_PASSWORD, request, async |state, call| {
            state
                .accounts
                .djoser_set_password(call.me()?, &call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        })
        .await
}

const SET_USERNAME: Spec =
    Spec::post("Set Username", Access::Authenticated, always).throttled(Action::Reauthenticate);

async fn set_username(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&SET_USERNAME, request, async |state, call| {
            state
                .accounts
                .djoser_set_username(call.me()?, &call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        })
        .await
}

const RESET_USERNAME: Spec = action("Reset Username", Action::SendResetLink);

async fn reset_username(State(state): State<AppState>, request: Request) -> Response {
    let site = site_of(request.headers());
    state
        .run(&RESET_USERNAME, request, async move |state, call| {
            state
                .accounts
                .djoser_reset_username(&call.form, &site)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        })
        .await
}

const RESET_USERNAME_CONFIRM: Spec = action("Reset Username Confirm", Action::ResetPassword);

async fn reset_username_confirm(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&RESET_USERNAME_CONFIRM, request, async |state, call| {
            state
                .accounts
                .djoser_reset_username_confirm(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(no_content())
        })
        .await
}

const JWT_CREATE: Spec =
    Spec::post("Token Obtain Pair", Access::Unauthenticated, always).throttled(Action::Login);

async fn jwt_create(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&JWT_CREATE, request, async |state, call| {
            let (refresh, access) = state
                .accounts
                .djoser_jwt_create(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(Json(json!({ "refresh": refresh, "access": access })).into_response())
        })
        .await
}

const JWT_REFRESH: Spec = Spec::post("Token Refresh", Access::Unauthenticated, always);

async fn jwt_refresh(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&JWT_REFRESH, request, async |state, call| {
            let access = state
                .accounts
                .djoser_jwt_refresh(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            Ok(Json(json!({ "access": access })).into_response())
        })
        .await
}

const JWT_VERIFY: Spec = Spec::post("Token Verify", Access::Unauthenticated, always);

async fn jwt_verify(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&JWT_VERIFY, request, async |state, call| {
            state
                .accounts
                .djoser_jwt_verify(&call.form)
                .map_err(|e| e.to_api(false))?;
            Ok(Json(json!({})).into_response())
        })
        .await
}

const TOKEN_LOGIN: Spec = Spec::post("Token Create", Access::Open, always).throttled(Action::Login);

async fn token_login(State(state): State<AppState>, request: Request) -> Response {
    let attempt = request.method() == Method::POST;
    let response = state
        .run(&TOKEN_LOGIN, request, async |state, call| {
            let credentials = state
                .accounts
                .djoser_token_login(&call.form)
                .await
                .map_err(|e| e.to_api(false))?;
            let mut response = ().into_response();
            if let Some(session) = &credentials.session {
                crate::session::start(
                    response.headers_mut(),
                    session,
                    state.config.session_max_age,
                    state.config.secure_cookies,
                );
            }
            let key = credentials.token.as_ref().map(|t| t.expose());
            Ok((response.into_parts().0, Json(json!({ "auth_token": key }))).into_response())
        })
        .await;
    if let (true, Some(metrics)) = (attempt, &state.config.metrics) {
        metrics.login(response.status());
    }
    response
}

const TOKEN_LOGOUT: Spec = Spec::post("Token Destroy", Access::Authenticated, always);

async fn token_logout(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&TOKEN_LOGOUT, request, async |state, call| {
            let me = call.me()?;
            state
                .accounts
                .djoser_token_logout(me)
                .await
                .map_err(|e| e.to_api(false))?;
            let mut response = no_content();
            if me.kind == auth_core::ports::CredentialKind::Session {
                crate::session::end(response.headers_mut(), state.config.secure_cookies);
            }
            Ok(response)
        })
        .await
}

/// Whether `path` is also served without its trailing slash (djoser's
/// `^token/login/?$`, `^jwt/create/?`).
pub(super) fn slash_optional(path: &str) -> bool {
    path.starts_with("token/") || path.starts_with("jwt/")
}

/// What `users/me/` and `users/{id}/` read: `email` to change it,
/// `current_password` to delete.
fn user_fields(_: &auth_core::settings::Settings, method: &Method) -> Option<Fields> {
    match *method {
        Method::PUT | Method::PATCH => Some(Fields::new().email("email", false)),
        Method::DELETE => Some(Fields::new().text("current_password", true, None)),
        _ => None,
    }
}

fn uid_token(_: &auth_core::settings::Settings, _: &Method) -> Option<Fields> {
    Some(
        Fields::new()
            .text("uid", true, None)
            .text("token", true, None),
    )
}

/// djoser's endpoints served so far.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        path: "users",
        spec: &USERS,
        handler: || any(users),
        doc: Doc {
            summary: "Create an account (POST; with activation on, mail its link), or list users (GET)",
            request: |s, method| {
                (*method == Method::POST).then(|| {
                    let fields = Fields::new()
                        .text("username", true, Some(150))
                        .text("password", true, None)
                        .email("email", false);
                    if s.djoser.user_create_password_retype {
                        fields.text("re_password", true, None)
                    } else {
                        fields
                    }
                })
            },
            answer: |_, method| {
                if *method == Method::POST {
                    (StatusCode::CREATED, schema("DjoserUser"))
                } else {
                    (StatusCode::OK, schema("DjoserUser"))
                }
            },
        },
    },
    Route {
        path: "users/me",
        spec: &ME,
        handler: || any(me),
        doc: Doc {
            summary: "The caller's user object: read (GET), change its e-mail (PUT/PATCH), delete it with `current_password` (DELETE)",
            request: user_fields,
            answer: |_, _| (StatusCode::OK, schema("DjoserUser")),
        },
    },
    Route {
        path: "users/{id}",
        spec: &USER,
        handler: || any(user_detail),
        doc: Doc {
            summary: "A user object by id: as `users/me/`, for oneself or staff",
            request: user_fields,
            answer: |_, _| (StatusCode::OK, schema("DjoserUser")),
        },
    },
    Route {
        path: "users/activation",
        spec: &ACTIVATION,
        handler: || any(activation),
        doc: Doc {
            summary: "Activate an account with its mailed uid and token",
            request: uid_token,
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
    Route {
        path: "users/resend_activation",
        spec: &RESEND_ACTIVATION,
        handler: || any(resend_activation),
        doc: Doc {
            summary: "Mail a new activation link to an inactive account",
            request: |_, _| Some(Fields::new().email("email", true)),
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
    Route {
        path: "users/set_password",
        spec: &SET_PASSWORD,
        handler: || any(set_password),
        doc: Doc {
            summary: "Change the caller's password",
            request: |s, _| {
                let fields = Fields::new().text("new_password", true, None).text(
                    "current_password",
                    true,
                    None,
                );
                Some(if s.djoser.set_password_retype {
                    fields.text("re_new_password", true, None)
                } else {
                    fields
                })
            },
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
    Route {
        path: "users/reset_password",
        spec: &RESET_PASSWORD,
        handler: || any(reset_password),
        doc: Doc {
            summary: "Mail a password reset link to an active account",
            request: |_, _| Some(Fields::new().email("email", true)),
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
    Route {
        path: "users/reset_password_confirm",
        spec: &RESET_PASSWORD_CONFIRM,
        handler: || any(reset_password_confirm),
        doc: Doc {
            summary: "Set a new password with a mailed uid and token",
            request: |s, m| {
                let fields = uid_token(s, m).map(|f| f.text("new_password", true, None));
                if s.djoser.password_reset_confirm_retype {
                    fields.map(|f| f.text("re_new_password", true, None))
                } else {
                    fields
                }
            },
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
    Route {
        path: "users/set_username",
        spec: &SET_USERNAME,
        handler: || any(set_username),
        doc: Doc {
            summary: "Change the caller's username",
            request: |s, _| {
                let fields = Fields::new().text("new_username", true, Some(150)).text(
                    "current_password",
                    true,
                    None,
                );
                Some(if s.djoser.set_username_retype {
                    fields.text("re_new_username", true, None)
                } else {
                    fields
                })
            },
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
    Route {
        path: "users/reset_username",
        spec: &RESET_USERNAME,
        handler: || any(reset_username),
        doc: Doc {
            summary: "Mail a username reset link to an active account",
            request: |_, _| Some(Fields::new().email("email", true)),
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
    Route {
        path: "users/reset_username_confirm",
        spec: &RESET_USERNAME_CONFIRM,
        handler: || any(reset_username_confirm),
        doc: Doc {
            summary: "Set a new username with a mailed uid and token",
            request: |s, m| {
                let fields = uid_token(s, m).map(|f| f.text("new_username", true, Some(150)));
                if s.djoser.username_reset_confirm_retype {
                    fields.map(|f| f.text("re_new_username", true, None))
                } else {
                    fields
                }
            },
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
    Route {
        path: "jwt/create",
        spec: &JWT_CREATE,
        handler: || any(jwt_create),
        doc: Doc {
            summary: "simplejwt: a refresh and an access token for `username` and `password`",
            request: |_, _| {
                Some(
                    Fields::new()
                        .text("username", true, None)
                        .text("password", true, None),
                )
            },
            answer: |_, _| (StatusCode::OK, schema("TokenPair")),
        },
    },
    Route {
        path: "jwt/refresh",
        spec: &JWT_REFRESH,
        handler: || any(jwt_refresh),
        doc: Doc {
            summary: "simplejwt: a new access token for a refresh token",
            request: |_, _| Some(Fields::new().text("refresh", true, None)),
            answer: |_, _| (StatusCode::OK, schema("AccessToken")),
        },
    },
    Route {
        path: "jwt/verify",
        spec: &JWT_VERIFY,
        handler: || any(jwt_verify),
        doc: Doc {
            summary: "simplejwt: whether a token (access or refresh) is good",
            request: |_, _| Some(Fields::new().text("token", true, None)),
            answer: |_, _| (StatusCode::OK, schema("Empty")),
        },
    },
    Route {
        path: "token/login",
        spec: &TOKEN_LOGIN,
        handler: || any(token_login),
        doc: Doc {
            summary: "Log in: the user's DRF token as `auth_token`",
            request: |_, _| {
                Some(
                    Fields::new()
                        .text("username", false, None)
                        .text("password", false, None),
                )
            },
            answer: |_, _| (StatusCode::OK, schema("AuthToken")),
        },
    },
    Route {
        path: "token/logout",
        spec: &TOKEN_LOGOUT,
        handler: || any(token_logout),
        doc: Doc {
            summary: "Log out: the caller's token (and session) end",
            request: no_body,
            answer: |_, _| (StatusCode::NO_CONTENT, schema("Empty")),
        },
    },
];
