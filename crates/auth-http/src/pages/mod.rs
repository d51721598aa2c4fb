//! Server-rendered pages for a site with no front end of its own: the three
//! pages the mailed links open (verify the registration, set a new
//! password, confirm a new address) and plain register, sign-in, sign-out,
//! forgot-password and change-password forms, under `/accounts/`.
//!
//! They are another facade over the same flows as the JSON API, with the
//! same rate limits and the same session cookie; failures are shown in
//! words on the page (`ApiError::in_words`), never as JSON. Forms carry a
//! CSRF token (a cookie echoed in a hidden field, and the `Origin` check
//! the API's sessions use); links are used by a button, not by opening
//! them, so a mail scanner that fetches links cannot use them up.

mod templates;

use std::collections::BTreeMap;
use std::sync::Arc;

use auth_core::flows::{AuthenticateError, Authenticated, Issue};
use auth_core::form::{Form, RawValue};
use auth_core::ports::{AuthToken, CredentialKind};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::any;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

pub use templates::{Pages, PagesError};

use crate::AppState;
use crate::error::{ApiError, Failure, ToApiError};
use crate::limits::Action;
use crate::session;

/// Where the pages live.
pub const PREFIX: &str = "/accounts";
/// The page a registration link opens (the default `REGISTER_VERIFICATION_URL` path).
pub const VERIFY_USER: &str = "/accounts/verify-user/";
/// The page a reset link opens (the default `RESET_PASSWORD_VERIFICATION_URL` path).
pub const RESET_PASSWORD: &str = "/accounts/reset-password/";
/// The page an e-mail change link opens (the default `REGISTER_EMAIL_VERIFICATION_URL` path).
pub const VERIFY_EMAIL: &str = "/accounts/verify-email/";

const CSRF_COOKIE: &str = "pagecsrf";
const CSRF_FIELD: &str = "csrfmiddlewaretoken";
/// The fields a mailed link carries.
const LINK_FIELDS: [&str; 4] = ["user_id", "email", "timestamp", "signature"];

#[derive(Clone)]
struct PageState {
    app: AppState,
    pages: Arc<Pages>,
}

/// The pages' routes.
pub(crate) fn routes(app: AppState, pages: Arc<Pages>) -> Router {
    let at = |path: &str| format!("{PREFIX}/{path}");
    Router::new()
        .route(&at(""), any(home))
        .route(&at("register/"), any(register))
        .route(VERIFY_USER, any(verify_user))
        .route(&at("login/"), any(login))
        .route(&at("logout/"), any(logout))
        .route(&at("forgot-password/"), any(forgot_password))
        .route(RESET_PASSWORD, any(reset_password))
        .route(VERIFY_EMAIL, any(verify_email))
        .route(&at("change-password/"), any(change_password))
        .with_state(PageState { app, pages })
}

/// One request to a page, read and checked.
struct Visit {
    method: Method,
    parts: Parts,
    form: Form,
    user: Option<Authenticated>,
    csrf: String,
    new_csrf: bool,
}

impl Visit {
    fn posted(&self) -> bool {
        self.method == Method::POST
    }

    /// A text the form (or, on a GET, the query) carries.
    fn text(&self, name: &str) -> Option<&str> {
        match self.form.get(name) {
            Some(RawValue::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// The mailed link's fields, from the query or the posted form.
    fn link(&self) -> BTreeMap<&'static str, String> {
        LINK_FIELDS
            .iter()
            .filter_map(|&field| Some((field, self.text(field)?.to_owned())))
            .collect()
    }
}

impl PageState {
    /// Reads the request: the signed-in user, the CSRF token, and for a
    /// POST the form, refused when its CSRF token or origin is wrong.
    async fn visit(&self, request: Request) -> Result<Visit, (Option<Visit>, ApiError)> {
        let (parts, body) = request.into_parts();
        let method = parts.method.clone();
        let secure = self.app.config.secure_cookies;
        let session = session::cookie(&parts.headers, session::session_cookie(secure))
            .filter(|s| !s.is_empty())
            .map(AuthToken::new);
        let user = match &session {
            Some(key) => match self
                .app
                .accounts
                .authenticate(key.clone(), CredentialKind::Session)
                .await
            {
                Ok(user) => Some(user),
                Err(AuthenticateError::InvalidToken | AuthenticateError::UserInactive) => None,
                Err(other) => return Err((None, other.to_api(false))),
            },
            None => None,
        };
        let cookie = session::cookie(&parts.headers, CSRF_COOKIE)
            .filter(|c| c.len() == 32)
            .map(str::to_owned);
        let new_csrf = cookie.is_none();
        let csrf = cookie.unwrap_or_else(session::new_csrf_secret);
        let mut visit = Visit {
            method: method.clone(),
            form: query_form(&parts),
            parts,
            user,
            csrf,
            new_csrf,
        };
        match method {
            Method::GET | Method::HEAD => Ok(visit),
            Method::POST => {
                let read = async {
                    let bytes = crate::body::read_bytes(body, self.app.config.body_limit).await?;
                    crate::body::parse(&visit.parts.headers, bytes).await
                };
                visit.form = match read.await {
                    Ok(form) => form,
                    Err(error) => return Err((Some(visit), error)),
                };
                let sent = visit.text(CSRF_FIELD).unwrap_or_default();
                let matches =
                    !visit.new_csrf && bool::from(sent.as_bytes().ct_eq(visit.csrf.as_bytes()));
                let origin =
                    session::check_origin(&visit.parts.headers, &self.app.config.trusted_origins);
                if !matches || origin.is_err() {
                    return Err((Some(visit), ApiError::Forbidden("CSRF".into())));
                }
                Ok(visit)
            }
            _ => Err((
                Some(visit),
                ApiError::MethodNotAllowed {
                    method: method.to_string(),
                    allow: "GET, POST",
                },
            )),
        }
    }

    /// Counts a posted form against `action`'s rate limits.
    async fn throttle(&self, action: Action, visit: &Visit) -> Result<(), ApiError> {
        self.app
            .throttle(action, &visit.parts, &visit.form, visit.user.as_ref())
            .await
    }

    /// `file` with the page's context: what the visit says, `extra`, and
    /// the failure (if any) in words.
    fn render(
        &self,
        file: &str,
        title: &str,
        visit: &Visit,
        extra: Value,
        failed: Option<ApiError>,
    ) -> Response {
        let words = failed.map(ApiError::in_words).unwrap_or_default();
        let values: BTreeMap<&str, &str> = ["username", "email", "login"]
            .into_iter()
            .filter_map(|field| Some((field, visit.text(field)?)))
            .collect();
        let mut context = json!({
            "title": title,
            "user": visit.user.as_ref().map(|u| u.user.username.as_str().to_owned()),
            "csrf": visit.csrf,
            "values": values,
            "fields": words.fields,
            "errors": words.general,
            "link": visit.link(),
            "paths": {
                "home": format!("{PREFIX}/"),
                "register": format!("{PREFIX}/register/"),
                "login": format!("{PREFIX}/login/"),
                "logout": format!("{PREFIX}/logout/"),
                "forgot_password": format!("{PREFIX}/forgot-password/"),
                "change_password": format!("{PREFIX}/change-password/"),
            },
        });
        if let (Value::Object(context), Value::Object(extra)) = (&mut context, extra) {
            context.extend(extra);
        }
        let status = if words.status == StatusCode::default() {
            StatusCode::OK
        } else {
            words.status
        };
        let mut response = match self.pages.render(file, &context) {
            Ok(html) => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                html,
            )
                .into_response(),
            Err(error) => {
                let mut response = (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    )],
                    "This page cannot be shown; the server's log says why.",
                )
                    .into_response();
                response
                    .extensions_mut()
                    .insert(Failure(auth_core::ports::Cause::new(error)));
                return response;
            }
        };
        if let Some(cause) = words.failure {
            response.extensions_mut().insert(Failure(cause));
        }
        // Under `no-referrer` a browser sends `Origin: null` with the form,
        // which the origin check must refuse; `same-origin` still keeps a
        // link's token from every other site.
        response.headers_mut().insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        if visit.new_csrf {
            self.set_csrf(&mut response, &visit.csrf);
        }
        response
    }

    fn set_csrf(&self, response: &mut Response, token: &str) {
        let secure = if self.app.config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        let cookie =
            format!("{CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path={PREFIX}/{secure}");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    /// A page for a request that could not even be read.
    fn refused(&self, file: &str, title: &str, visit: Option<Visit>, error: ApiError) -> Response {
        match visit {
            Some(visit) => self.render(file, title, &visit, json!({}), Some(error)),
            None => {
                let words = error.in_words();
                let mut response = (words.status, words.general.join(" ")).into_response();
                if let Some(cause) = words.failure {
                    response.extensions_mut().insert(Failure(cause));
                }
                response
            }
        }
    }
}

/// The query's fields, as a form (a link's parameters on a GET).
fn query_form(parts: &Parts) -> Form {
    let query = parts.uri.query().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).fold(Form::new(), |form, (k, v)| form.text(&k, v))
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Reads the visit or answers the page that says why it cannot be read.
macro_rules! visit {
    ($state:expr, $request:expr, $file:expr, $title:expr) => {
        match $state.visit($request).await {
            Ok(visit) => visit,
            Err((visit, error)) => return $state.refused($file, $title, visit, error),
        }
    };
}

async fn home(State(state): State<PageState>, request: Request) -> Response {
    let visit = visit!(state, request, "home.html", "Your account");
    if visit.user.is_none() {
        return see_other(&format!("{PREFIX}/login/"));
    }
    state.render("home.html", "Your account", &visit, json!({}), None)
}

async fn register(State(state): State<PageState>, request: Request) -> Response {
    const FILE: &str = "register.html";
    const TITLE: &str = "Create an account";
    let visit = visit!(state, request, FILE, TITLE);
    if !state.app.accounts.settings().register.enabled {
        return state.refused(FILE, TITLE, Some(visit), ApiError::NotFound);
    }
    if !visit.posted() {
        return state.render(FILE, TITLE, &visit, json!({}), None);
    }
    let done = async {
        state.throttle(Action::Register, &visit).await?;
        state
            .app
            .accounts
            .register(&visit.form)
            .await
            .map_err(|e| e.to_api(false))
    };
    match done.await {
        Ok(_) => {
            let message = if state.app.accounts.settings().register.verification_enabled {
                "Thank you. We sent you a mail with a link: open it to finish creating your account."
            } else {
                "Your account is ready: you can sign in now."
            };
            state.render(
                FILE,
                TITLE,
                &visit,
                json!({"done": true, "message": message}),
                None,
            )
        }
        Err(error) => state.render(FILE, TITLE, &visit, json!({}), Some(error)),
    }
}

/// The page of a mailed link that is used with one button press: `use_it`
/// runs the flow on the posted link.
async fn confirm_link<F>(
    state: PageState,
    request: Request,
    title: &str,
    prompt: &str,
    action: &str,
    done: &str,
    use_it: F,
) -> Response
where
    F: AsyncFnOnce(&PageState, &Visit) -> Result<(), ApiError>,
{
    const FILE: &str = "confirm_link.html";
    let visit = visit!(state, request, FILE, title);
    let words = json!({"prompt": prompt, "action": action});
    if !visit.posted() {
        return state.render(FILE, title, &visit, words, None);
    }
    match use_it(&state, &visit).await {
        Ok(()) => state.render(
            FILE,
            title,
            &visit,
            json!({"done": true, "message": done}),
            None,
        ),
        Err(error) => state.render(FILE, title, &visit, words, Some(error)),
    }
}

async fn verify_user(State(state): State<PageState>, request: Request) -> Response {
    confirm_link(
        state,
        request,
        "Verify your account",
        "Press the button to finish creating your account.",
        "Verify my account",
        "Your account is verified: you can sign in now.",
        async |state, visit| {
            state.throttle(Action::Verify, visit).await?;
            state
                .app
                .accounts
                .verify_registration(&visit.form)
                .await
                .map(drop)
                .map_err(|e| e.to_api(false))
        },
    )
    .await
}

async fn verify_email(State(state): State<PageState>, request: Request) -> Response {
    confirm_link(
        state,
        request,
        "Confirm your new address",
        "Press the button to make this your account's address.",
        "Confirm the address",
        "Your new address is confirmed.",
        async |state, visit| {
            state.throttle(Action::Verify, visit).await?;
            state
                .app
                .accounts
                .verify_email(&visit.form)
                .await
                .map_err(|e| e.to_api(false))
        },
    )
    .await
}

async fn reset_password(State(state): State<PageState>, request: Request) -> Response {
    const FILE: &str = "reset_password.html";
    const TITLE: &str = "Choose a new password";
    let visit = visit!(state, request, FILE, TITLE);
    if !visit.posted() {
        return state.render(FILE, TITLE, &visit, json!({}), None);
    }
    let done = async {
        state.throttle(Action::ResetPassword, &visit).await?;
        state
            .app
            .accounts
            .reset_password(&visit.form)
            .await
            .map_err(|e| e.to_api(false))
    };
    match done.await {
        Ok(()) => {
            let message = "Your password is changed: sign in with the new one.";
            state.render(
                FILE,
                TITLE,
                &visit,
                json!({"done": true, "message": message}),
                None,
            )
        }
        Err(error) => state.render(FILE, TITLE, &visit, json!({}), Some(error)),
    }
}

async fn forgot_password(State(state): State<PageState>, request: Request) -> Response {
    const FILE: &str = "forgot_password.html";
    const TITLE: &str = "Forgot your password?";
    let visit = visit!(state, request, FILE, TITLE);
    let settings = state.app.accounts.settings();
    let field = if settings.reset_password.use_email {
        "email"
    } else {
        "login"
    };
    let words = json!({"login_field": field});
    if !visit.posted() {
        return state.render(FILE, TITLE, &visit, words, None);
    }
    let done = async {
        state.throttle(Action::SendResetLink, &visit).await?;
        state
            .app
            .accounts
            .send_reset_password_link(&visit.form)
            .await
            .map_err(|e| e.to_api(false))
    };
    match done.await {
        Ok(()) => {
            let message =
                "If the account exists, a mail with a link to choose a new password is on its way.";
            state.render(
                FILE,
                TITLE,
                &visit,
                json!({"done": true, "message": message, "login_field": field}),
                None,
            )
        }
        Err(error) => state.render(FILE, TITLE, &visit, words, Some(error)),
    }
}

async fn login(State(state): State<PageState>, request: Request) -> Response {
    const FILE: &str = "login.html";
    const TITLE: &str = "Sign in";
    let visit = visit!(state, request, FILE, TITLE);
    if !visit.posted() {
        return state.render(FILE, TITLE, &visit, json!({}), None);
    }
    let done = async {
        state.throttle(Action::Login, &visit).await?;
        state
            .app
            .accounts
            .login_issuing(&visit.form, Issue::Session)
            .await
            .map_err(|e| e.to_api(false))
    };
    let response = match done.await {
        Ok(credentials) => {
            let mut response = see_other(&format!("{PREFIX}/"));
            if let Some(key) = &credentials.session {
                let config = &state.app.config;
                session::start(
                    response.headers_mut(),
                    key,
                    config.session_max_age,
                    config.secure_cookies,
                );
            }
            response
        }
        Err(error) => state.render(FILE, TITLE, &visit, json!({}), Some(error)),
    };
    if let Some(metrics) = &state.app.config.metrics {
        metrics.login(response.status());
    }
    response
}

async fn logout(State(state): State<PageState>, request: Request) -> Response {
    const FILE: &str = "logout.html";
    const TITLE: &str = "Sign out";
    let visit = visit!(state, request, FILE, TITLE);
    let Some(me) = &visit.user else {
        return see_other(&format!("{PREFIX}/login/"));
    };
    if !visit.posted() {
        return state.render(FILE, TITLE, &visit, json!({}), None);
    }
    if let Err(error) = state.app.accounts.logout(me, &Form::new()).await {
        return state.render(FILE, TITLE, &visit, json!({}), Some(error.to_api(false)));
    }
    let mut response = see_other(&format!("{PREFIX}/login/"));
    session::end(response.headers_mut(), state.app.config.secure_cookies);
    response
}

async fn change_password(State(state): State<PageState>, request: Request) -> Response {
    const FILE: &str = "change_password.html";
    const TITLE: &str = "Change your password";
    let visit = visit!(state, request, FILE, TITLE);
    let Some(me) = &visit.user else {
        return see_other(&format!("{PREFIX}/login/"));
    };
    if !visit.posted() {
        return state.render(FILE, TITLE, &visit, json!({}), None);
    }
    let done = async {
        state.throttle(Action::Reauthenticate, &visit).await?;
        state
            .app
            .accounts
            .change_password(me, &visit.form)
            .await
            .map_err(|e| e.to_api(false))
    };
    match done.await {
        Ok(_) => {
            let message = "Your password is changed.";
            state.render(
                FILE,
                TITLE,
                &visit,
                json!({"done": true, "message": message}),
                None,
            )
        }
        Err(error) => state.render(FILE, TITLE, &visit, json!({}), Some(error)),
    }
}
