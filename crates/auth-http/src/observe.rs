//! One span per request, named by a request id the client sees
//! (`x-request-id`, kept when a trusted proxy sent one), carrying the
//! method, the route template, the status and the latency; one `answered`
//! event per request; the one place a failed request is logged (a 5xx,
//! once, with its cause chain); and the request series of [`HttpMetrics`].

use std::net::{IpAddr, SocketAddr};

use auth_core::ports::report;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;

use crate::error::{Failure, Shed};
use crate::metrics::HttpMetrics;

/// The header carrying the request id, both ways.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

fn route(request: &Request) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
}

/// Drops an `x-request-id` that did not come from a trusted proxy, so a
/// client cannot choose the id its requests are logged under; one is
/// generated instead.
/// A plain function (for `ServiceBuilder::map_request`), not an axum
/// middleware: it runs on every request and needs no future of its own.
pub(crate) fn trust_request_id(trusted: &[IpAddr], mut request: Request) -> Request {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if !peer.is_some_and(|ip| trusted.contains(&ip)) {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

/// The span a request runs in. The query string stays out: it may hold a
/// link's signature. Its level is INFO, so under `AUTH_LOG=warn` it is not
/// made at all (making it was a visible share of a profile read's cost);
/// the failures [`answer`] logs carry the request's method, route and id
/// themselves for that case.
pub(crate) fn span(request: &Request) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = route(request),
        request_id = %id,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Records the answer: in the span and an `answered` event, in the
/// metrics, and, for a 5xx, the cause its [`ApiError`](crate::ApiError)
/// left.
pub(crate) async fn answer(
    State(metrics): State<Option<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    // An Arc inside: no copy of the template per request.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let id = request.extensions().get::<RequestId>().cloned();
    let method = request.method().clone();
    let response = next.run(request).await;
    let took = started.elapsed();
    let status = response.status();
    let span = tracing::Span::current();
    span.record("status", status.as_u16());
    span.record("latency_ms", took.as_secs_f64() * 1000.0);
    let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let request_id = id
        .as_ref()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    if response.extensions().get::<Shed>().is_some() {
        tracing::warn!(%method, route, request_id, "shed: the password-hashing queue is full");
    } else if status.is_server_error() {
        let status = status.as_u16();
        match response.extensions().get::<Failure>() {
            Some(Failure(cause)) => {
                tracing::error!(%method, route, request_id, status, error = %report(cause), "request failed");
            }
            None => tracing::error!(%method, route, request_id, status, "request failed"),
        }
    } else {
        tracing::info!("answered");
    }
    if let Some(metrics) = metrics {
        metrics.answered(route, &method, status, took);
    }
    response
}
