//! What operators point their tools at: `/metrics` (Prometheus text), the
//! probes `/livez` and `/healthz` (alive) and `/readyz` (dependencies answer,
//! mail is not stuck), served beside the API or on `METRICS_BIND`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::ports::{Clock, CredentialKind, Outbox, TokenManager};
use auth_http::HttpMetrics;
use auth_runtime::HashMetrics;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, http::HeaderValue};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use serde_json::json;
use tokio::sync::Mutex;

use crate::backend::Probe;

/// Samples older than this are taken again at the next scrape; a scraper
/// polling faster costs the database nothing more.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// How long a probe may take before it counts as unavailable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The mail worker's series.
#[derive(Debug, Clone, Default)]
pub(crate) struct MailMetrics {
    /// Mails handed to the mailer successfully.
    pub sent: Counter,
    /// Failed attempts that will be retried.
    pub failed: Counter,
    /// Mails given up after their last attempt.
    pub given_up: Counter,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// Figures read from the stores at scrape time, not counted per request.
#[derive(Debug, Default)]
struct Sampled {
    credentials: Family<KindLabels, Gauge>,
    mail_queued: Gauge,
    mail_oldest_age: Gauge,
}

/// Every series, and where the sampled ones come from.
pub(crate) struct Telemetry {
    registry: Registry,
    /// The HTTP layer's series, for `ApiConfig::metrics`.
    pub http: HttpMetrics,
    /// The hashing pool's series.
    pub hashing: HashMetrics,
    /// The mail worker's series.
    pub mail: MailMetrics,
    sampled: Sampled,
    last_sample: Mutex<Option<Instant>>,
}

impl Telemetry {
    /// A registry holding every series.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let http = HttpMetrics::register(&mut registry);
        let hashing = HashMetrics::register(&mut registry);
        let mail = MailMetrics::default();
        registry.register(
            "auth_mail_sent",
            "Mails handed to the mail server",
            mail.sent.clone(),
        );
        registry.register(
            "auth_mail_failed",
            "Failed mail delivery attempts that will be retried",
            mail.failed.clone(),
        );
        registry.register(
            "auth_mail_given_up",
            "Mails given up after their last attempt",
            mail.given_up.clone(),
        );
        let sampled = Sampled::default();
        registry.register(
            "auth_credentials_live",
            "Live tokens and sessions by kind (sampled)",
            sampled.credentials.clone(),
        );
        registry.register(
            "auth_mail_queued",
            "Mails neither sent nor given up (sampled)",
            sampled.mail_queued.clone(),
        );
        registry.register_with_unit(
            "auth_mail_oldest_age",
            "How long the oldest mail not yet sent has waited; 0 when none waits (sampled)",
            Unit::Seconds,
            sampled.mail_oldest_age.clone(),
        );
        Self {
            registry,
            http,
            hashing,
            mail,
            sampled,
            last_sample: Mutex::new(None),
        }
    }
}

/// What the probes and `/metrics` read.
pub(crate) struct Ops {
    pub telemetry: Telemetry,
    pub probes: Vec<Arc<dyn Probe>>,
    pub outbox: Arc<dyn Outbox>,
    pub tokens: Arc<dyn TokenManager>,
    pub clock: Arc<dyn Clock>,
    /// `/readyz` fails when the oldest unsent mail has waited longer (`None`: never).
    pub max_mail_age: Option<Duration>,
}

impl Ops {
    /// Refreshes the sampled series unless they are fresh; a store that
    /// cannot answer leaves its series as they were (and says so in the log).
    async fn sample(&self) {
        let mut last = self.telemetry.last_sample.lock().await;
        if last.is_some_and(|at| at.elapsed() < SAMPLE_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let sampled = &self.telemetry.sampled;
        match self.tokens.count_live().await {
            Ok(count) => {
                for kind in [CredentialKind::Token, CredentialKind::Session] {
                    let name = auth_core::credentials::kind_name(kind);
                    let value = i64::try_from(count.of(kind)).unwrap_or(i64::MAX);
                    sampled
                        .credentials
                        .get_or_create(&KindLabels { kind: name })
                        .set(value);
                }
            }
            Err(error) => {
                tracing::debug!(error = %auth_core::ports::report(&error), "live credentials not sampled");
            }
        }
        match self.mail_age().await {
            Ok((queued, age)) => {
                sampled
                    .mail_queued
                    .set(i64::try_from(queued).unwrap_or(i64::MAX));
                sampled
                    .mail_oldest_age
                    .set(i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
            }
            Err(error) => tracing::warn!(%error, "mail outbox not sampled"),
        }
    }

    /// Waiting mail, and how long the oldest of it has waited.
    async fn mail_age(&self) -> Result<(u64, Duration), String> {
        let now = self.clock.now();
        let backlog = self
            .outbox
            .backlog()
            .await
            .map_err(|e| auth_core::ports::report(&e))?;
        let age = backlog
            .oldest_queued
            .map(|queued| (now - queued).try_into().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::ZERO);
        Ok((backlog.waiting, age))
    }

    /// Each dependency's state, and whether all are fine.
    async fn readiness(&self) -> (bool, serde_json::Map<String, serde_json::Value>) {
        let mut checks = serde_json::Map::new();
        let mut ready = true;
        for probe in &self.probes {
            let outcome = match tokio::time::timeout(PROBE_TIMEOUT, probe.check()).await {
                Ok(Ok(())) => "ok".to_owned(),
                Ok(Err(error)) => format!("unavailable: {error}"),
                Err(_) => format!("unavailable: no answer within {PROBE_TIMEOUT:?}"),
            };
            ready &= outcome == "ok";
            checks.insert(probe.name().into(), json!(outcome));
        }
        if let Some(max) = self.max_mail_age {
            let outcome = match self.mail_age().await {
                Ok((_, age)) if age <= max => "ok".to_owned(),
                Ok((_, age)) => format!(
                    "stuck: the oldest mail not yet sent has waited {} s (limit {} s)",
                    age.as_secs(),
                    max.as_secs()
                ),
                Err(error) => format!("unavailable: {error}"),
            };
            ready &= outcome == "ok";
            checks.insert("mail".into(), json!(outcome));
        }
        (ready, checks)
    }
}

/// `GET /livez` and `GET /healthz`: 200 while the process serves.
/// `GET /readyz`: 200 when every dependency answers and mail is not stuck,
/// else 503 naming what is wrong. `GET /metrics`: every series.
pub(crate) fn routes(ops: Arc<Ops>) -> Router {
    let alive = || async { Json(json!({"status": "ok"})) };
    Router::new()
        .route("/livez", get(alive))
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

/// The probes' and `/metrics`' part of the OpenAPI document.
pub(crate) fn document() -> utoipa::openapi::Paths {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, PathsBuilder, ResponseBuilder};
    let status = || {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["ok", "unavailable"])),
            )
            .required("status")
    };
    let json = |description: &str| {
        ResponseBuilder::new().description(description).content(
            "application/json",
            ContentBuilder::new().schema(Some(status())).build(),
        )
    };
    let get = |summary: &str, id: &str, responses: Vec<(&str, ResponseBuilder)>| {
        let mut op = OperationBuilder::new()
            .summary(Some(summary))
            .operation_id(Some(id))
            .tag("operations");
        for (code, response) in responses {
            op = op.response(code, response);
        }
        PathItem::new(HttpMethod::Get, op.build())
    };
    let alive = || vec![("200", json("The process serves"))];
    PathsBuilder::new()
        .path("/livez", get("Alive", "get_livez", alive()))
        .path(
            "/healthz",
            get("Alive (the same as /livez)", "get_healthz", alive()),
        )
        .path(
            "/readyz",
            get(
                "Ready: every dependency answers and mail is not stuck",
                "get_readyz",
                vec![
                    ("200", json("Ready")),
                    ("503", json("Not ready; `checks` names what is wrong")),
                ],
            ),
        )
        .path(
            "/metrics",
            get(
                "Every series, in Prometheus' text format",
                "get_metrics",
                vec![(
                    "200",
                    ResponseBuilder::new()
                        .description("Prometheus text format 0.0.4")
                        .content(
                            "text/plain",
                            ContentBuilder::new()
                                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                                .build(),
                        ),
                )],
            ),
        )
        .build()
}

async fn ready(State(ops): State<Arc<Ops>>) -> Response {
    let (ready, checks) = ops.readiness().await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"status": if ready { "ok" } else { "unavailable" }, "checks": checks});
    (status, Json(body)).into_response()
}

async fn metrics(State(ops): State<Arc<Ops>>) -> Response {
    ops.sample().await;
    let mut text = String::new();
    if let Err(error) =
        prometheus_client::encoding::prometheus_text::encode(&mut text, &ops.telemetry.registry)
    {
        tracing::error!(%error, "metrics could not be encoded");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}
