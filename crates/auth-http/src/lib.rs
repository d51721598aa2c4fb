//! axum facade: django-rest-registration's HTTP API over auth-core, or
//! djoser's ([`Dialect::Djoser`]).
//!
//! [`router`] serves DRR's ten endpoints (plus `resend-verification/`)
//! under a configurable prefix, with DRF's status codes and JSON error
//! shapes, token and session authentication (with CSRF) and per-action rate
//! limits on any `RateLimiter`. Adapters it needs come from elsewhere
//! (`auth-runtime` has the blocking hasher and the in-process limiter).

mod auth;
mod body;
mod endpoint;
mod error;
mod jwt_cookies;
mod limits;
mod metrics;
mod observe;
mod openapi;
pub mod pages;
mod routes;
mod session;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use auth_core::Accounts;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use limits::{Action, Limits};
pub use metrics::HttpMetrics;

/// Which Django app's HTTP API is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// django-rest-registration's.
    #[default]
    Drr,
    /// djoser's (`users/`, `token/`).
    Djoser,
    /// dj-rest-auth's, with allauth's registration (`login/`, `user/`,
    /// `password/`, `registration/`).
    RestAuth,
}

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The API served under [`prefix`](Self::prefix).
    pub dialect: Dialect,
    /// Path prefix of every endpoint, without trailing slash
    /// (default `/api/v1/accounts`).
    pub prefix: String,
    /// `USE_NON_FIELD_ERRORS_KEY_FROM_DRF_SETTINGS`: DRR errors as
    /// `{"non_field_errors": [msg]}` instead of `{"detail": msg}`.
    pub non_field_errors_key: bool,
    /// Mark the session and CSRF cookies `Secure` (HTTPS only).
    pub secure_cookies: bool,
    /// Session cookie lifetime (Django: two weeks).
    pub session_max_age: Duration,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// Longest time a request may take.
    pub request_timeout: Duration,
    /// Origins (`https://app.example`) allowed to make session-authenticated
    /// unsafe requests besides the server's own host (`CSRF_TRUSTED_ORIGINS`).
    pub trusted_origins: Vec<String>,
    /// The least time the answers of `register/`, `send-reset-password-link/`,
    /// `resend-verification/` and `register-email/` take, so that whether
    /// they found an account (and wrote mail for it) does not show in their
    /// timing. Zero turns the padding off.
    pub enumeration_floor: Duration,
    /// The server-rendered pages under [`pages::PREFIX`], when served.
    pub pages: Option<Arc<pages::Pages>>,
    /// Proxies whose `X-Forwarded-For` and `X-Request-Id` are believed; any
    /// other peer's are ignored, so a client can pick neither its rate-limit
    /// key nor the id its requests are logged under.
    pub trusted_proxies: Vec<IpAddr>,
    /// Where requests, logins and rate-limit refusals are counted, when
    /// metrics are on.
    pub metrics: Option<HttpMetrics>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            dialect: Dialect::Drr,
            prefix: "/api/v1/accounts".into(),
            non_field_errors_key: false,
            secure_cookies: false,
            session_max_age: Duration::from_secs(14 * 24 * 3600),
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            trusted_origins: Vec::new(),
            enumeration_floor: Duration::ZERO,
            pages: None,
            trusted_proxies: Vec::new(),
            metrics: None,
        }
    }
}

/// Rate limiting: the rules and where the counters live.
#[derive(Clone)]
pub struct Throttle {
    /// Rules per action and the trusted proxies.
    pub limits: Limits,
    /// The counters (in-process, or Redis for several instances).
    pub limiter: Arc<dyn auth_core::ports::RateLimiter>,
}

/// The OpenAPI 3.1 document of the endpoints [`router`] mounts under
/// `config` and `settings` (a disabled flow's endpoint is left out, as it
/// answers 404). Serve it as JSON; add the paths of any routes merged
/// beside the API.
pub fn openapi(
    config: &ApiConfig,
    settings: &auth_core::settings::Settings,
) -> utoipa::openapi::OpenApi {
    openapi::document(config, settings, routes::table(config.dialect))
}

pub use utoipa;

/// What every handler shares, behind one `Arc`: axum clones the state
/// for every request, and one reference count costs less than the nine
/// of the parts (profiled: dropping the unshared state was ~1 % of a read).
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

/// The parts of [`AppState`].
pub(crate) struct Shared {
    pub(crate) accounts: Accounts,
    pub(crate) config: Arc<ApiConfig>,
    pub(crate) throttle: Option<Arc<Throttle>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The API's router, ready to serve. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so rate limits see
/// client addresses. `throttle: None` turns rate limiting off.
pub fn router(accounts: Accounts, config: ApiConfig, throttle: Option<Throttle>) -> Router {
    let timeout = config.request_timeout;
    let state = AppState(Arc::new(Shared {
        accounts,
        config: Arc::new(config),
        throttle: throttle.map(Arc::new),
    }));
    let pages = state.config.pages.clone();
    let trusted = Arc::new(state.config.trusted_proxies.clone());
    let metrics = state.config.metrics.clone();
    let mut routes = routes::routes(state.clone());
    if let Some(pages) = pages {
        routes = routes.merge(pages::routes(state, pages));
    }
    routes.layer(
        ServiceBuilder::new()
            .map_request(move |request| observe::trust_request_id(&trusted, request))
            .layer(SetRequestIdLayer::new(observe::REQUEST_ID, MakeRequestUuid))
            .layer(
                // Failures are logged once, by `observe::log_failures`.
                TraceLayer::new_for_http()
                    .make_span_with(observe::span)
                    .on_failure(()),
            )
            .layer(PropagateRequestIdLayer::new(observe::REQUEST_ID))
            .layer(axum::middleware::from_fn_with_state(
                metrics,
                observe::answer,
            ))
            .layer(CatchPanicLayer::custom(|_| {
                ApiError::Internal("handler panicked".into()).into_json()
            }))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            ))
            // Auth responses carry credentials and personal data: never cache them.
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            // A link's token must not leak to the next site. The pages set
            // `same-origin` themselves: their form posts must carry an Origin.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            )),
    )
}
