//! The only place statuses are chosen: every failure becomes a DRF-shaped
//! JSON response here.

use std::collections::BTreeMap;

use auth_core::flows::{
    AuthenticateError, BearerError, ChangePasswordError, DeleteAccountError, DjoserError,
    LoginError, LogoutError, ProfileError, RegisterEmailError, RegisterError,
    ResendVerificationError, ResetPasswordError, RestAuthError, RevokeCredentialsError,
    SendResetLinkError, VerifyEmailError, VerifyRegistrationError,
};
use auth_core::form::{FormError, ValidationErrors};
use auth_core::ports::{Cause, HashError, StoreError, TokenError};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A failed request, as the client will see it.
#[derive(Debug)]
pub enum ApiError {
    /// 400 `{field: [msgs], ["non_field_errors": [...]]}`.
    Invalid(ValidationErrors),
    /// 400 with a DRR-raised message: `{"detail": msg}`, or
    /// `{"non_field_errors": [msg]}` under `USE_NON_FIELD_ERRORS_KEY…`.
    Drr {
        /// The message.
        message: &'static str,
        /// Render under `non_field_errors`.
        non_field: bool,
    },
    /// 400 `{"detail": "JSON parse error - …"}`.
    Parse(String),
    /// 400 with a bare JSON list of messages (djoser's "email not found").
    BareList(&'static str),
    /// 400 with an empty body (djoser's resend without activation mails).
    EmptyBadRequest,
    /// 401 in simplejwt's shape: `{"detail", ["code"], ["messages"]}` with
    /// `WWW-Authenticate: Bearer realm="api"`.
    Jwt {
        /// The message.
        detail: &'static str,
        /// simplejwt's error code, when it gives one.
        code: Option<&'static str>,
        /// Add `messages` (the `Authorization` header's refusals).
        messages: bool,
    },
    /// 400 `{"non_field_errors": [msg]}`: the body is not an object.
    NotAnObject(String),
    /// 401 with `WWW-Authenticate: Token`.
    Unauthenticated(&'static str),
    /// 403 (CSRF).
    Forbidden(String),
    /// 404 `{"detail": "Not found."}`.
    NotFound,
    /// 405 with `Allow`.
    MethodNotAllowed {
        /// The refused method.
        method: String,
        /// What the route allows.
        allow: &'static str,
    },
    /// 413.
    PayloadTooLarge,
    /// 415.
    UnsupportedMediaType(String),
    /// 429 with `Retry-After`: a rate limit is spent.
    Throttled(time::Duration),
    /// 503 with `Retry-After: 1`: the password-hashing queue is full; the
    /// request is shed (load, not a failure: logged at WARN).
    Busy,
    /// 503: a dependency is down; the client may retry. The cause goes to
    /// the log (once, by [`crate::observe`]), never to the client.
    Unavailable(Cause),
    /// 500: a defect; logged, never shown.
    Internal(Cause),
}

impl ApiError {
    /// A DRR-raised error in the configured shape.
    pub(crate) fn drr(message: &'static str, non_field: bool) -> Self {
        Self::Drr { message, non_field }
    }

    /// The response, built without extractor state (usable from layers).
    pub(crate) fn into_json(self) -> Response {
        let detail = |status: StatusCode, msg: &str| {
            (status, Json(json!({ "detail": msg }))).into_response()
        };
        match self {
            Self::Invalid(errors) => {
                (StatusCode::BAD_REQUEST, Json(validation_body(&errors))).into_response()
            }
            Self::Drr {
                message,
                non_field: true,
            } => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "non_field_errors": [message] })),
            )
                .into_response(),
            Self::Drr {
                message,
                non_field: false,
            } => detail(StatusCode::BAD_REQUEST, message),
            Self::BareList(msg) => (StatusCode::BAD_REQUEST, Json(json!([msg]))).into_response(),
            Self::EmptyBadRequest => StatusCode::BAD_REQUEST.into_response(),
            Self::Jwt {
                detail,
                code,
                messages,
            } => {
                let mut body = json!({ "detail": detail });
                if let Some(code) = code {
                    body["code"] = json!(code);
                }
                if messages {
                    body["messages"] = json!([{
                        "token_class": "AccessToken",
                        "token_type": "access",
                        "message": "Token is invalid",
                    }]);
                }
                let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"api\""),
                );
                response
            }
            Self::Parse(msg) => detail(
                StatusCode::BAD_REQUEST,
                &format!("JSON parse error - {msg}"),
            ),
            Self::NotAnObject(msg) => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "non_field_errors": [msg] })),
            )
                .into_response(),
            Self::Unauthenticated(msg) => {
                let mut response = detail(StatusCode::UNAUTHORIZED, msg);
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
                response
            }
            Self::Forbidden(msg) => detail(StatusCode::FORBIDDEN, &msg),
            Self::NotFound => detail(StatusCode::NOT_FOUND, "Not found."),
            Self::MethodNotAllowed { method, allow } => {
                let mut response = detail(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("Method \"{method}\" not allowed."),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                response
            }
            Self::PayloadTooLarge => {
                detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.")
            }
            Self::UnsupportedMediaType(ct) => detail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("Unsupported media type \"{ct}\" in request."),
            ),
            Self::Throttled(wait) => {
                // Whole seconds, rounded up: a client that waits this long is served.
                let secs = (wait.whole_milliseconds().max(0) as u64)
                    .div_ceil(1000)
                    .max(1);
                let mut response = detail(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Request was throttled. Expected available in {secs} seconds."),
                );
                if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            Self::Busy => {
                let mut response = detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Too many requests are waiting for a password check; try again in a moment.",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response.extensions_mut().insert(Shed);
                response
            }
            Self::Unavailable(cause) => {
                let mut response = detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service temporarily unavailable.",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                response.extensions_mut().insert(Failure(cause));
                response
            }
            Self::Internal(cause) => {
                let mut response = detail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "A server error occurred.",
                );
                response.extensions_mut().insert(Failure(cause));
                response
            }
        }
    }
}

/// A failure as a server-rendered page shows it: in words, by field where
/// it is about one, never as JSON.
#[derive(Debug, Default)]
pub(crate) struct InWords {
    /// The page's status.
    pub status: StatusCode,
    /// Messages about one field each.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Messages about the whole form.
    pub general: Vec<String>,
    /// A 5xx's cause, for the log.
    pub failure: Option<Cause>,
}

impl ApiError {
    /// This failure for a person reading a page.
    pub(crate) fn in_words(self) -> InWords {
        let said = |status: StatusCode, message: &str| InWords {
            status,
            general: vec![message.to_owned()],
            ..InWords::default()
        };
        match self {
            Self::Invalid(errors) => {
                let mut words = InWords {
                    status: StatusCode::BAD_REQUEST,
                    ..InWords::default()
                };
                for (field, errs) in &errors.fields {
                    let messages = errs.iter().map(|e| e.message.clone()).collect();
                    words.fields.insert((*field).to_owned(), messages);
                }
                if let Some(non_field) = &errors.non_field {
                    words.general = non_field.iter().map(|e| e.message.clone()).collect();
                }
                words
            }
            Self::Drr { message, .. } | Self::BareList(message) => {
                said(StatusCode::BAD_REQUEST, message)
            }
            Self::EmptyBadRequest => said(StatusCode::BAD_REQUEST, "This request was refused."),
            Self::Parse(_) | Self::NotAnObject(_) | Self::UnsupportedMediaType(_) => said(
                StatusCode::BAD_REQUEST,
                "The form could not be read; reload the page and try again.",
            ),
            Self::Unauthenticated(_) | Self::Jwt { .. } => {
                said(StatusCode::UNAUTHORIZED, "Please sign in first.")
            }
            Self::Forbidden(_) => said(
                StatusCode::FORBIDDEN,
                "This form has expired; reload the page and try again.",
            ),
            Self::NotFound => said(StatusCode::NOT_FOUND, "This page is not available here."),
            Self::MethodNotAllowed { .. } => said(
                StatusCode::METHOD_NOT_ALLOWED,
                "This page cannot be used that way.",
            ),
            Self::PayloadTooLarge => said(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."),
            Self::Throttled(wait) => {
                let secs = (wait.whole_milliseconds().max(0) as u64)
                    .div_ceil(1000)
                    .max(1);
                said(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too many attempts; try again in {secs} seconds."),
                )
            }
            Self::Busy => said(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is busy right now; try again in a moment.",
            ),
            Self::Unavailable(cause) => InWords {
                failure: Some(cause),
                ..said(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is unavailable right now; try again in a moment.",
                )
            },
            Self::Internal(cause) => InWords {
                failure: Some(cause),
                ..said(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; try again later.",
                )
            },
        }
    }
}

/// The cause of a 5xx answer, carried in the response's extensions to the
/// one place that logs it ([`crate::observe`]).
#[derive(Debug, Clone)]
pub(crate) struct Failure(pub(crate) Cause);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_json()
    }
}

fn validation_body(errors: &ValidationErrors) -> Value {
    let mut body: BTreeMap<&str, Value> = errors
        .fields
        .iter()
        .map(|(field, errs)| {
            (
                *field,
                Value::from(errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>()),
            )
        })
        .collect();
    if let Some(non_field) = &errors.non_field {
        body.insert(
            "non_field_errors",
            Value::from(
                non_field
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>(),
            ),
        );
    }
    json!(body)
}

impl From<FormError> for ApiError {
    fn from(error: FormError) -> Self {
        Self::NotAnObject(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::Unavailable(Cause::new(error)),
            // The flows map conflicts and guards themselves; reaching here is a defect.
            other => Self::Internal(Cause::new(other)),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        Self::Unavailable(Cause::new(error))
    }
}

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            other => Self::Internal(Cause::new(other)),
        }
    }
}

/// Marks an answer that shed load ([`ApiError::Busy`]): a 5xx, but no
/// failure to log as one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shed;

/// Flow errors → API errors; DRR-raised messages need the
/// `non_field_errors` setting, hence a method rather than `From`.
pub(crate) trait ToApiError {
    /// The API error for this flow error.
    fn to_api(self, non_field: bool) -> ApiError;
}

macro_rules! drr {
    ($nf:expr, $msg:literal) => {
        ApiError::drr($msg, $nf)
    };
}

impl ToApiError for RegisterError {
    fn to_api(self, nf: bool) -> ApiError {
        match self {
            Self::Disabled => ApiError::NotFound,
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::UserWithoutEmail => drr!(nf, "User without email cannot be verified"),
            Self::Store(e) => e.into(),
            Self::Hash(e) => e.into(),
        }
    }
}

impl ToApiError for VerifyRegistrationError {
    fn to_api(self, nf: bool) -> ApiError {
        match self {
            Self::Disabled => ApiError::NotFound,
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::UserNotFound => drr!(nf, "User not found"),
            Self::InvalidSignature => drr!(nf, "Invalid signature"),
            Self::SignatureExpired => drr!(nf, "Signature expired"),
            Self::Store(e) => e.into(),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for ResendVerificationError {
    fn to_api(self, _nf: bool) -> ApiError {
        match self {
            Self::Disabled => ApiError::NotFound,
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::Store(e) => e.into(),
        }
    }
}

impl ToApiError for LoginError {
    fn to_api(self, nf: bool) -> ApiError {
        match self {
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::LoginInvalid => drr!(nf, "Login or password invalid."),
            Self::Store(e) => e.into(),
            Self::Hash(e) => e.into(),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for DjoserError {
    fn to_api(self, _: bool) -> ApiError {
        match self {
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::StaleToken => ApiError::Forbidden("Stale token for given user.".into()),
            Self::EmailNotFound => ApiError::BareList("User with given email does not exist."),
            Self::ActivationOff => ApiError::EmptyBadRequest,
            Self::NotFound => ApiError::NotFound,
            Self::NoActiveAccount => ApiError::Jwt {
                detail: "No active account found with the given credentials",
                code: None,
                messages: false,
            },
            Self::TokenNotValid => ApiError::Jwt {
                detail: "Token is invalid",
                code: Some("token_not_valid"),
                messages: false,
            },
            Self::NoActiveAccountForToken => ApiError::Jwt {
                detail: "No active account found for the given token.",
                code: None,
                messages: false,
            },
            Self::Forbidden => {
                ApiError::Forbidden("You do not have permission to perform this action.".into())
            }
            Self::Store(e) => e.into(),
            Self::Hash(e) => e.into(),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for RestAuthError {
    fn to_api(self, _: bool) -> ApiError {
        let jwt = |detail| ApiError::Jwt {
            detail,
            code: Some("token_not_valid"),
            messages: false,
        };
        match self {
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::KeyNotFound => ApiError::NotFound,
            Self::NotLoggedIn => ApiError::Drr {
                message: "You should be logged in to logout. Check whether the token is passed.",
                non_field: false,
            },
            Self::TokenNotValid => jwt("Token is invalid"),
            Self::NoRefreshToken => jwt("No valid refresh token found."),
            Self::Store(e) => e.into(),
            Self::Hash(e) => e.into(),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for BearerError {
    fn to_api(self, _: bool) -> ApiError {
        let jwt = |detail, code, messages| ApiError::Jwt {
            detail,
            code: Some(code),
            messages,
        };
        match self {
            Self::Invalid => jwt(
                "Given token not valid for any token type",
                "token_not_valid",
                true,
            ),
            Self::UserNotFound => jwt("User not found", "user_not_found", false),
            Self::UserInactive => jwt("User is inactive", "user_inactive", false),
            Self::Store(e) => e.into(),
        }
    }
}

impl ToApiError for LogoutError {
    fn to_api(self, nf: bool) -> ApiError {
        match self {
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::TokenNotFound => drr!(nf, "Authentication token not found"),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for ProfileError {
    fn to_api(self, _nf: bool) -> ApiError {
        match self {
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::Store(e) => e.into(),
        }
    }
}

impl ToApiError for ChangePasswordError {
    fn to_api(self, _nf: bool) -> ApiError {
        match self {
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::Store(e) => e.into(),
            Self::Hash(e) => e.into(),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for DeleteAccountError {
    fn to_api(self, _nf: bool) -> ApiError {
        match self {
            Self::Disabled => ApiError::NotFound,
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::Store(e) => e.into(),
            Self::Hash(e) => e.into(),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for RevokeCredentialsError {
    fn to_api(self, _nf: bool) -> ApiError {
        match self {
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::NotFound => ApiError::NotFound,
            Self::Hash(e) => e.into(),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for SendResetLinkError {
    fn to_api(self, nf: bool) -> ApiError {
        match self {
            Self::Disabled => ApiError::NotFound,
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::UserNotFound => drr!(nf, "User not found"),
            Self::Store(e) => e.into(),
        }
    }
}

impl ToApiError for ResetPasswordError {
    fn to_api(self, nf: bool) -> ApiError {
        match self {
            Self::Disabled => ApiError::NotFound,
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::UserNotFound => drr!(nf, "User not found"),
            Self::InvalidSignature => drr!(nf, "Invalid signature"),
            Self::SignatureExpired => drr!(nf, "Signature expired"),
            Self::Store(e) => e.into(),
            Self::Hash(e) => e.into(),
            Self::Token(e) => e.into(),
        }
    }
}

impl ToApiError for RegisterEmailError {
    fn to_api(self, nf: bool) -> ApiError {
        match self {
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::EmailAlreadyRegistered => drr!(nf, "This email is already registered."),
            Self::Store(e) => e.into(),
            Self::Hash(e) => e.into(),
        }
    }
}

impl ToApiError for VerifyEmailError {
    fn to_api(self, nf: bool) -> ApiError {
        match self {
            Self::Disabled => ApiError::NotFound,
            Self::Invalid(e) => ApiError::Invalid(e),
            Self::InvalidSignature => drr!(nf, "Invalid signature"),
            Self::SignatureExpired => drr!(nf, "Signature expired"),
            Self::EmailAlreadyRegistered => drr!(nf, "This email is already registered."),
            Self::UserNotFound => drr!(nf, "User not found"),
            Self::Store(e) => e.into(),
        }
    }
}

impl ToApiError for AuthenticateError {
    fn to_api(self, _nf: bool) -> ApiError {
        match self {
            Self::InvalidToken => ApiError::Unauthenticated("Invalid token."),
            Self::UserInactive => ApiError::Unauthenticated("User inactive or deleted."),
            Self::Token(e) => e.into(),
            Self::Store(e) => e.into(),
        }
    }
}
