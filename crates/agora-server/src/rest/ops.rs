//! Operational endpoints: health, readiness, metrics, OpenAPI and the docs page.

use agora_core::{ErrorCode, FieldError};
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::errors;
use crate::http::envelope::{Envelope, ok};
use crate::http::error::ApiError;
use crate::http::routes::{Kind, Routes};
use crate::http::versioning::ApiVersion;
use crate::openapi::errors::Errors;
use crate::state::AppState;

/// The probes and the documents, outside the versions.
pub fn unversioned_routes() -> Routes<AppState> {
    Routes::new(Kind::Unversioned)
        .operational(utoipa_axum::routes!(healthz))
        .operational(utoipa_axum::routes!(readyz))
        .operational(utoipa_axum::routes!(metrics))
        .operational(utoipa_axum::routes!(openapi))
}

/// Each version's own document.
pub fn versioned_routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned).operational(utoipa_axum::routes!(openapi))
}

/// `GET /healthz` data.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Per-dependency readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyChecks {
    /// `ok` when the database answered.
    #[schema(example = "ok")]
    pub database: &'static str,
    /// `ok` when Redis answered; absent when `redis_url` is empty (Redis is not used).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "ok")]
    pub redis: Option<&'static str>,
}

/// `GET /readyz` data.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Each dependency's state.
    pub checks: ReadyChecks,
}

/// Liveness
///
/// `GET /healthz`: the process is up. Checks nothing else.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The process is up.", body = Envelope<Health>))
)]
pub async fn healthz() -> Response {
    ok(Health { status: "ok" })
}

/// Readiness
///
/// `GET /readyz`: the dependencies answer (the database, and Redis when `redis_url` is set),
/// each within 2 s; 503 otherwise, naming the ones that did not.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready to serve.", body = Envelope<Ready>),
        Errors<{ errors![NotReady] }>,
    )
)]
pub async fn readyz(State(s): State<AppState>) -> Response {
    const WAIT: std::time::Duration = std::time::Duration::from_secs(2);
    let db = async { matches!(tokio::time::timeout(WAIT, s.db.ping()).await, Ok(Ok(()))) };
    let redis = async {
        match &s.redis {
            Some(r) => Some(tokio::time::timeout(WAIT, r.ping()).await.unwrap_or(false)),
            None => None,
        }
    };
    let (db_ok, redis_ok) = tokio::join!(db, redis);
    let redis_down = redis_ok == Some(false);
    if db_ok && !redis_down {
        return ok(Ready { status: "ready", checks: ReadyChecks { database: "ok", redis: redis_ok.map(|_| "ok") } });
    }
    let message = match (db_ok, redis_down) {
        (false, true) => "The database and Redis are unreachable.",
        (false, false) => "The database is unreachable.",
        (true, _) => "Redis is unreachable.",
    };
    let down: Vec<&str> = [("database", !db_ok), ("redis", redis_down)]
        .into_iter()
        .filter_map(|(name, down)| down.then_some(name))
        .collect();
    tracing::warn!(unreachable = ?down, "readiness check failed");
    let details = down
        .iter()
        .map(|name| FieldError::new(*name, "unreachable", format!("{name} did not answer within 2 s")))
        .collect();
    ApiError::new(ErrorCode::NotReady, message).with_details(details).into_response()
}

/// Metrics
///
/// `GET /metrics`: Prometheus text exposition — requests by route and status, latency
/// histograms, rate-limit decisions, idempotency replays, pool statistics, orders and charges
/// by status.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    security(()),
    responses(
        (
            status = 200, description = "Prometheus text format 0.0.4.", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"
        ),
    )
)]
pub async fn metrics(State(s): State<AppState>) -> Response {
    let (size, idle) = s.db.pool_stats();
    metrics::gauge!("agora_db_pool_connections", "engine" => s.db.engine()).set(size as f64);
    metrics::gauge!("agora_db_pool_idle_connections", "engine" => s.db.engine()).set(idle as f64);
    let mut text = s.metrics.render();
    text.push_str(&commerce_gauges(&s).await);
    let mut res = text.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
}

/// Orders and charges by status, counted in the database at scrape time (one grouped count
/// per table, over its status index): the figures are the same whichever instance is
/// scraped. Rendered here rather than kept in the process-wide recorder, since they belong to
/// this app's database.
async fn commerce_gauges(s: &AppState) -> String {
    use agora_core::charges::ChargeStatus;
    use agora_core::orders::OrderStatus;
    use std::fmt::Write;
    let mut out = String::new();
    let mut family = |name: &str, help: &str, counts: Vec<(&'static str, i64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (status, n) in counts {
            let _ = writeln!(out, "{name}{{status=\"{status}\"}} {n}");
        }
    };
    match s.services.orders.count_by_status().await {
        Ok(counts) => {
            let all = [OrderStatus::Pending, OrderStatus::Paid, OrderStatus::Fulfilled, OrderStatus::Cancelled];
            let counts =
                all.map(|st| (st.as_str(), counts.iter().find(|(s, _)| *s == st).map_or(0, |(_, n)| *n))).to_vec();
            family(crate::metrics::ORDERS, "Orders by status (counted in the database at each scrape).", counts);
        }
        Err(e) => tracing::warn!(error = %e.message, "metrics: cannot count orders"),
    }
    match s.services.charges.count_by_status().await {
        Ok(counts) => {
            let all = [ChargeStatus::Succeeded, ChargeStatus::Failed, ChargeStatus::Refunded];
            let counts =
                all.map(|st| (st.as_str(), counts.iter().find(|(s, _)| *s == st).map_or(0, |(_, n)| *n))).to_vec();
            family(crate::metrics::CHARGES, "Charges by status (counted in the database at each scrape).", counts);
        }
        Err(e) => tracing::warn!(error = %e.message, "metrics: cannot count charges"),
    }
    out
}

/// OpenAPI document
///
/// The OpenAPI 3.1 document: at `/openapi.json` both versions and the unversioned endpoints
/// (`/docs` renders it), at `/v1/openapi.json` and `/v2/openapi.json` that version's paths.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object, content_type = "application/json"))
)]
pub async fn openapi(State(s): State<AppState>, uri: Uri) -> Response {
    let prefix = |v: ApiVersion| uri.path().starts_with(&format!("{}/", v.prefix()));
    let doc = if prefix(ApiVersion::V1) {
        &s.docs.v1
    } else if prefix(ApiVersion::V2) {
        &s.docs.v2
    } else {
        &s.docs.all
    };
    let mut res = doc.clone().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}
