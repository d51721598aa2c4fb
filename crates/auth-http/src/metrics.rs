//! What the HTTP layer counts for Prometheus: requests by route template
//! and status, latency by route, logins by outcome and rate-limit
//! rejections by action. Register once with [`HttpMetrics::register`] and
//! hand the result to [`ApiConfig::metrics`](crate::ApiConfig::metrics).

use std::time::Duration;

use axum::http::{Method, StatusCode};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::limits::Action;

/// The route a request matched: its template (`/api/v1/accounts/login/`),
/// never the path as sent, so that the series stay few.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

/// The one copy of each route template, kept for the process's life: the
/// templates are the router's (a fixed set), and labels made of them cost
/// no allocation per request.
fn interned(route: &str) -> &'static str {
    static ROUTES: std::sync::OnceLock<std::sync::RwLock<std::collections::HashSet<&'static str>>> =
        std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(known) = routes.read().ok().and_then(|set| set.get(route).copied()) {
        return known;
    }
    let Ok(mut set) = routes.write() else {
        return "unknown";
    };
    if let Some(known) = set.get(route) {
        return known;
    }
    let kept: &'static str = Box::leak(route.to_owned().into_boxed_str());
    set.insert(kept);
    kept
}

/// A method as a label: the ones the API serves, the rest as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values are lower case
enum Outcome {
    /// Credentials were issued.
    succeeded,
    /// Refused: wrong password, unknown, unverified or disabled account
    /// (the answer does not tell them apart, nor does this).
    refused,
    /// Refused by a rate limit before any password was checked.
    throttled,
    /// The server failed.
    error,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s: a cached read to a slow hash behind a queue.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The HTTP layer's series. Cheap to clone: clones share their counters.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    logins: Family<OutcomeLabels, Counter>,
    rate_limited: Family<ActionLabels, Counter>,
}

impl HttpMetrics {
    /// Creates the series and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            logins: Family::default(),
            rate_limited: Family::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            metrics.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by route template",
            Unit::Seconds,
            metrics.latency.clone(),
        );
        registry.register(
            "auth_logins",
            "Login attempts, by outcome",
            metrics.logins.clone(),
        );
        registry.register(
            "auth_rate_limited",
            "Requests refused by a rate limit, by action",
            metrics.rate_limited.clone(),
        );
        metrics
    }

    /// Counts one answered request.
    pub(crate) fn answered(
        &self,
        route: &str,
        method: &Method,
        status: StatusCode,
        took: Duration,
    ) {
        let route = interned(route);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method: method_label(method),
                status: status.as_u16(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// Counts one login attempt by the status it was answered with: a
    /// success (the API) or a redirect on (the sign-in page) logged in.
    pub(crate) fn login(&self, status: StatusCode) {
        let outcome = match status {
            s if s.is_success() || s.is_redirection() => Outcome::succeeded,
            StatusCode::TOO_MANY_REQUESTS => Outcome::throttled,
            s if s.is_server_error() => Outcome::error,
            _ => Outcome::refused,
        };
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one request refused by `action`'s limit.
    pub(crate) fn rate_limited(&self, action: Action) {
        self.rate_limited
            .get_or_create(&ActionLabels {
                action: action.name(),
            })
            .inc();
    }
}
