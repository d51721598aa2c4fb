//! One span per request, named by a request id the client sees
//! (`x-request-id`, kept when a proxy sent one), and the one place a failed
//! request is logged: a 5xx, once, with its cause chain, inside that span.

use auth_core::ports::report;
use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;

use crate::error::Failure;

/// The header carrying the request id, both ways.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The span a request runs in. The query string stays out: it may hold a
/// link's signature. Its level is ERROR so that it is never filtered out
/// while the failures logged in it are shown (`AUTH_LOG=warn` included).
pub(crate) fn span(request: &Request) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::error_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

/// Logs a 5xx answer with the cause its [`ApiError`](crate::ApiError) left.
pub(crate) async fn log_failures(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.is_server_error() {
        match response.extensions().get::<Failure>() {
            Some(Failure(cause)) => {
                tracing::error!(status = status.as_u16(), error = %report(cause), "request failed");
            }
            None => tracing::error!(status = status.as_u16(), "request failed"),
        }
    }
    response
}
