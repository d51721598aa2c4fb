//! The request pipeline every endpoint shares, in DRF's order:
//! authentication → permission → method → feature switch → body → the flow.

use auth_core::flows::Authenticated;
use auth_core::form::Form;
use auth_core::settings::Settings;
use axum::Json;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::limits::Action;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone (DRF `AllowAny`).
    Open,
    /// Anyone, and no credential is even read (simplejwt's token views:
    /// `authentication_classes = ()`), so a stale header or cookie cannot
    /// refuse the call.
    Unauthenticated,
    /// Authenticated callers only.
    Authenticated,
    /// Anyone for these methods, authenticated callers for any other: a
    /// DRF viewset action, whose other methods fall back to the viewset's
    /// own permission (so a wrong method is 401 before it is 405).
    OpenFor(&'static [Method]),
}

impl Access {
    /// Whether `method` needs an authenticated caller.
    fn needs_caller(self, method: &Method) -> bool {
        match self {
            Self::Open | Self::Unauthenticated => false,
            Self::Authenticated => true,
            Self::OpenFor(open) => !open.contains(method),
        }
    }
}

/// What an endpoint accepts.
pub(crate) struct Spec {
    /// DRR's view name, for OPTIONS.
    pub name: &'static str,
    /// Methods besides OPTIONS (HEAD comes with GET).
    pub methods: &'static [Method],
    /// The `Allow` header value.
    pub allow: &'static str,
    /// Permission.
    pub access: Access,
    /// The feature switch; off answers 404.
    pub enabled: fn(&Settings) -> bool,
    /// The rate-limited action, if any.
    pub throttle: Option<Action>,
    /// Answer no sooner than `ApiConfig::enumeration_floor`.
    pub padded: bool,
}

/// One request, past the pipeline's checks.
pub(crate) struct Call {
    pub method: Method,
    pub caller: Option<Authenticated>,
    pub form: Form,
}

impl Call {
    /// The caller of an `Access::Authenticated` endpoint.
    pub(crate) fn me(&self) -> Result<&Authenticated, ApiError> {
        self.caller.as_ref().ok_or(ApiError::Unauthenticated(
            "Authentication credentials were not provided.",
        ))
    }
}

impl Spec {
    /// A POST-only endpoint (every DRR endpoint but `profile/`).
    pub(crate) const fn post(
        name: &'static str,
        access: Access,
        enabled: fn(&Settings) -> bool,
    ) -> Self {
        Self {
            name,
            methods: &[Method::POST],
            allow: "POST, OPTIONS",
            access,
            enabled,
            throttle: None,
            padded: false,
        }
    }

    /// The same endpoint, its answers padded to the enumeration floor.
    pub(crate) const fn padded(self) -> Self {
        Self {
            padded: true,
            ..self
        }
    }

    /// The same endpoint, rate-limited as `action`.
    pub(crate) const fn throttled(self, action: Action) -> Self {
        Self {
            throttle: Some(action),
            ..self
        }
    }
}

pub(crate) fn always(_: &Settings) -> bool {
    true
}

impl AppState {
    /// Runs `flow` for `request` once the shared checks pass.
    pub(crate) async fn run<F>(&self, spec: &Spec, request: Request, flow: F) -> Response
    where
        F: AsyncFnOnce(&AppState, Call) -> Result<Response, ApiError>,
    {
        let started = tokio::time::Instant::now();
        let response = match self.pipeline(spec, request, flow).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        if spec.padded {
            // Found or not, wrote mail or not: the answer leaves at the same time.
            tokio::time::sleep_until(started + self.config.enumeration_floor).await;
        }
        response
    }

    async fn pipeline<F>(
        &self,
        spec: &Spec,
        request: Request,
        flow: F,
    ) -> Result<Response, ApiError>
    where
        F: AsyncFnOnce(&AppState, Call) -> Result<Response, ApiError>,
    {
        let (parts, body) = request.into_parts();
        let method = parts.method.clone();
        let caller = if spec.access == Access::Unauthenticated {
            None
        } else {
            crate::auth::caller(self, &method, &parts.headers).await?
        };
        if spec.access.needs_caller(&method) && caller.is_none() {
            return Err(self.not_authenticated());
        }
        if method == Method::OPTIONS {
            return Ok(metadata(spec));
        }
        let allowed = spec.methods.contains(&method)
            || (method == Method::HEAD && spec.methods.contains(&Method::GET));
        if !allowed {
            return Err(ApiError::MethodNotAllowed {
                method: method.to_string(),
                allow: spec.allow,
            });
        }
        if !(spec.enabled)(self.accounts.settings()) {
            return Err(ApiError::NotFound);
        }
        let form = if matches!(method, Method::GET | Method::HEAD) {
            Form::new()
        } else {
            let bytes = crate::body::read_bytes(body, self.config.body_limit).await?;
            crate::body::parse(&parts.headers, bytes).await?
        };
        if let Some(action) = spec.throttle {
            self.throttle(action, &parts, &form, caller.as_ref())
                .await?;
        }
        let call = Call {
            method: method.clone(),
            caller,
            form,
        };
        let mut response = flow(self, call).await?;
        if method == Method::HEAD {
            *response.body_mut() = axum::body::Body::empty();
        }
        Ok(response)
    }

    /// The 401 of an anonymous call that needs a caller, with the challenge
    /// of the first authentication scheme: simplejwt's `Bearer` in
    /// dj-rest-auth's JWT mode, DRF's `Token` otherwise.
    fn not_authenticated(&self) -> ApiError {
        const MESSAGE: &str = "Authentication credentials were not provided.";
        if self.config.dialect == crate::Dialect::RestAuth
            && self.accounts.settings().restauth.use_jwt
        {
            ApiError::Jwt {
                detail: MESSAGE,
                code: None,
                messages: false,
            }
        } else {
            ApiError::Unauthenticated(MESSAGE)
        }
    }

    /// Counts a request against `action`'s rate limits, when they are on.
    pub(crate) async fn throttle(
        &self,
        action: Action,
        parts: &Parts,
        form: &Form,
        caller: Option<&Authenticated>,
    ) -> Result<(), ApiError> {
        let Some(throttle) = &self.throttle else {
            return Ok(());
        };
        let checked = throttle
            .limits
            .check(
                throttle.limiter.as_ref(),
                action,
                parts,
                &self.config.trusted_proxies,
                form,
                caller,
            )
            .await;
        if let (Err(ApiError::Throttled(_)), Some(metrics)) = (&checked, &self.config.metrics) {
            metrics.rate_limited(action);
        }
        checked
    }

    /// Whether DRR errors go under `non_field_errors`.
    pub(crate) fn non_field(&self) -> bool {
        self.config.non_field_errors_key
    }
}

/// DRF's OPTIONS answer.
fn metadata(spec: &Spec) -> Response {
    Json(json!({
        "name": spec.name,
        "description": "",
        "renders": ["application/json"],
        "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
    }))
    .into_response()
}

/// `200 {"detail": message}`.
pub(crate) fn detail(message: &str) -> Response {
    (StatusCode::OK, Json(json!({ "detail": message }))).into_response()
}
