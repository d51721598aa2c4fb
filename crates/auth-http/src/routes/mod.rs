//! DRR's endpoints under the configured prefix, one module per view group.

mod change_password;
mod credentials;
mod delete_account;
mod djoser;
mod login;
mod profile;
mod register;
mod register_email;
mod reset_password;
mod restauth;

use auth_core::domain::{Email, User};
use auth_core::flows::{Credentials, RegisteredProfile};
use auth_core::settings::{LoginField, Settings, UserField, UserFields};
use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{MethodRouter, any};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::endpoint::Spec;
use crate::error::ApiError;
use crate::openapi::{Doc, Fields, detail_answer, schema};
use crate::{ApiConfig, AppState};

/// One endpoint: where it is, what it accepts, how it is served and how
/// it is documented. The router and the OpenAPI document both read
/// [`ROUTES`], so neither can name an endpoint the other lacks.
pub(crate) struct Route {
    /// Its path under the prefix, without slashes (`credentials/revoke`).
    pub path: &'static str,
    /// What it accepts; its feature switch decides whether it is mounted.
    pub spec: &'static Spec,
    /// Its handler, for every method (the pipeline answers 405).
    pub handler: fn() -> MethodRouter<AppState>,
    /// Its documentation.
    pub doc: Doc,
}

fn no_body(_: &Settings, _: &Method) -> Option<Fields> {
    None
}

fn password_fields(confirm: bool) -> Fields {
    let fields = Fields::new().text("password", true, None);
    if confirm {
        fields.text("password_confirm", true, None)
    } else {
        fields
    }
}

/// Every endpoint, DRR's first.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        path: "register",
        spec: &register::REGISTER,
        handler: || any(register::register),
        doc: Doc {
            summary: "Create an account; with verification on, mail its link",
            request: |s, _| {
                let email_only = !s.login_fields.contains(&LoginField::Username);
                let mut fields = Fields::new()
                    .text("username", !email_only, Some(150))
                    .email("email", email_only);
                for name in [UserField::FirstName, UserField::LastName] {
                    if s.user_fields.shows(name) {
                        fields = fields.blank_text(name.name(), Some(150));
                    }
                }
                Some(
                    fields
                        .text("password", true, Some(s.register.password_max_length))
                        .merge(
                            s.register
                                .password_confirm
                                .then(|| Fields::new().text("password_confirm", true, None)),
                        ),
                )
            },
            answer: |s, _| {
                let shown = if register::hides_taken_addresses(s) {
                    "RegisteredProfile"
                } else {
                    "Profile"
                };
                (StatusCode::CREATED, schema(shown))
            },
        },
    },
    Route {
        path: "verify-registration",
        spec: &register::VERIFY_REGISTRATION,
        handler: || any(register::verify_registration),
        doc: Doc {
            summary: "Verify an account with its mailed link",
            request: |_, _| Some(Fields::new().link()),
            answer: |s, _| {
                let body = if s.register.auto_login {
                    "Login"
                } else {
                    "Detail"
                };
                (StatusCode::OK, schema(body))
            },
        },
    },
    Route {
        path: "send-reset-password-link",
        spec: &reset_password::SEND_LINK,
        handler: || any(reset_password::send_link),
        doc: Doc {
            summary: "Mail a password-reset link",
            request: |s, _| {
                Some(if s.reset_password.use_email {
                    Fields::new().email("email", true)
                } else {
                    Fields::new().text("login", true, None)
                })
            },
            answer: detail_answer,
        },
    },
    Route {
        path: "reset-password",
        spec: &reset_password::RESET,
        handler: || any(reset_password::reset),
        doc: Doc {
            summary: "Set a new password with a mailed reset link",
            request: |s, _| {
                Some(
                    Fields::new()
                        .link()
                        .merge(Some(password_fields(s.reset_password.password_confirm))),
                )
            },
            answer: detail_answer,
        },
    },
    Route {
        path: "login",
        spec: &login::LOGIN,
        handler: || any(login::login),
        doc: Doc {
            summary: "Log in: a token in the body and/or a session cookie",
            request: |_, _| {
                Some(
                    Fields::new()
                        .text("login", true, None)
                        .text("password", true, None),
                )
            },
            answer: |_, _| (StatusCode::OK, schema("Login")),
        },
    },
    Route {
        path: "logout",
        spec: &login::LOGOUT,
        handler: || any(login::logout),
        doc: Doc {
            summary: "Log out; `revoke_token` also revokes the API token",
            request: |_, _| Some(Fields::new().flag("revoke_token")),
            answer: detail_answer,
        },
    },
    Route {
        path: "profile",
        spec: &profile::PROFILE,
        handler: || any(profile::profile),
        doc: Doc {
            summary: "Read (GET) or update (PUT/POST full, PATCH partial) the caller's profile",
            request: |s, method| match *method {
                Method::GET | Method::HEAD => None,
                Method::PATCH => Some(Fields::new().profile(s, true)),
                _ => Some(Fields::new().profile(s, false)),
            },
            answer: |_, _| (StatusCode::OK, schema("Profile")),
        },
    },
    Route {
        path: "change-password",
        spec: &change_password::CHANGE_PASSWORD,
        handler: || any(change_password::change_password),
        doc: Doc {
            summary: "Change the caller's password",
            request: |s, _| {
                Some(
                    Fields::new()
                        .text("old_password", true, None)
                        .merge(Some(password_fields(s.change_password_confirm))),
                )
            },
            answer: detail_answer,
        },
    },
    Route {
        path: "register-email",
        spec: &register_email::REGISTER_EMAIL,
        handler: || any(register_email::register_email),
        doc: Doc {
            summary: "Change the caller's address; with verification on, mail a link to the new one",
            request: |s, _| {
                let fields = Fields::new().email("email", true);
                Some(if s.register_email.requires_password {
                    fields.text("password", true, None)
                } else {
                    fields
                })
            },
            answer: detail_answer,
        },
    },
    Route {
        path: "verify-email",
        spec: &register_email::VERIFY_EMAIL,
        handler: || any(register_email::verify_email),
        doc: Doc {
            summary: "Confirm a new address with its mailed link",
            request: |_, _| Some(Fields::new().link().email("email", true)),
            answer: detail_answer,
        },
    },
    // Beyond DRR.
    Route {
        path: "resend-verification",
        spec: &register::RESEND_VERIFICATION,
        handler: || any(register::resend_verification),
        doc: Doc {
            summary: "Mail a new verification link to an unverified account",
            request: |_, _| Some(Fields::new().text("login", true, None)),
            answer: detail_answer,
        },
    },
    Route {
        path: "credentials",
        spec: &credentials::CREDENTIALS,
        handler: || any(credentials::list),
        doc: Doc {
            summary: "The caller's live tokens and sessions",
            request: no_body,
            answer: |_, _| (StatusCode::OK, schema("Credentials")),
        },
    },
    Route {
        path: "credentials/revoke",
        spec: &credentials::REVOKE,
        handler: || any(credentials::revoke),
        doc: Doc {
            summary: "Revoke one credential (`id`) or all others (`all`), after the password",
            request: |_, _| {
                Some(
                    Fields::new()
                        .text("password", true, None)
                        .text("id", false, None)
                        .flag("all"),
                )
            },
            answer: detail_answer,
        },
    },
    Route {
        path: "delete-account",
        spec: &delete_account::DELETE_ACCOUNT,
        handler: || any(delete_account::delete_account),
        doc: Doc {
            summary: "Delete the caller's account, after the password",
            request: |_, _| Some(Fields::new().text("password", true, None)),
            answer: detail_answer,
        },
    },
];

/// `route` under the configured prefix, with DRR's trailing slash.
pub(crate) fn full_path(config: &ApiConfig, route: &str) -> String {
    format!("{}/{route}/", config.prefix.trim_end_matches('/'))
}

/// The endpoints of `dialect`.
pub(crate) fn table(dialect: crate::Dialect) -> &'static [Route] {
    match dialect {
        crate::Dialect::Drr => ROUTES,
        crate::Dialect::Djoser => djoser::ROUTES,
        crate::Dialect::RestAuth => restauth::ROUTES,
    }
}

pub(crate) fn routes(state: AppState) -> Router {
    let router = table(state.config.dialect)
        .iter()
        .fold(Router::new(), |router, route| {
            let path = full_path(&state.config, route.path);
            let router = if djoser::slash_optional(route.path)
                && state.config.dialect == crate::Dialect::Djoser
            {
                router.route(path.trim_end_matches('/'), (route.handler)())
            } else {
                router
            };
            router.route(&path, (route.handler)())
        });
    router
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

/// DRR's profile body: the shown fields (`USER_HIDDEN_FIELDS` and friends),
/// in their configured order. Serialised straight from the user: a read is
/// the hottest answer, and building a `serde_json::Value` first cost a map
/// and a string per field on every one.
pub(crate) struct ProfileBody<'a> {
    user: &'a User,
    fields: &'a [UserField],
}

/// The profile body of `user`, showing what `fields` shows.
pub(crate) fn profile_body<'a>(user: &'a User, fields: &'a UserFields) -> ProfileBody<'a> {
    ProfileBody {
        user,
        fields: fields.shown(),
    }
}

impl Serialize for ProfileBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let time = |at: OffsetDateTime| at.format(&Rfc3339).ok();
        let user = self.user;
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for &field in self.fields {
            let name = field.name();
            match field {
                UserField::Id => map.serialize_entry(name, &user.id.get()),
                UserField::Username => map.serialize_entry(name, user.username.as_str()),
                UserField::FirstName => map.serialize_entry(name, &user.first_name),
                UserField::LastName => map.serialize_entry(name, &user.last_name),
                UserField::Email => map.serialize_entry(
                    name,
                    user.email.as_ref().map(Email::as_str).unwrap_or_default(),
                ),
                UserField::LastLogin => map.serialize_entry(name, &user.last_login.and_then(time)),
                UserField::IsActive => map.serialize_entry(name, &user.can_log_in()),
                UserField::DateJoined => map.serialize_entry(name, &time(user.date_joined)),
            }?;
        }
        map.end()
    }
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
