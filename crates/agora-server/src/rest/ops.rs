//! Operational endpoints: health, readiness, metrics, OpenAPI and the docs page.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::envelope::ok;
use crate::http::error::ApiError;
use crate::http::extract::Version;
use crate::http::versioning::ApiVersion;
use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    ok(&json!({"status": "ok"}))
}

/// `GET /readyz`: dependencies reachable (503 otherwise).
pub async fn readyz(State(s): State<AppState>) -> Response {
    let db = tokio::time::timeout(std::time::Duration::from_secs(2), s.db.ping()).await;
    match db {
        Ok(Ok(())) => ok(&json!({"status": "ready", "checks": {"database": "ok"}})),
        _ => {
            tracing::warn!("readiness check failed: database unreachable");
            let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "NOT_READY", "The database is unreachable.");
            e.details = vec![agora_core::FieldError::new("database", "unreachable", "the database did not answer")];
            e.into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(s): State<AppState>) -> Response {
    let (size, idle) = s.db.pool_stats();
    metrics::gauge!("agora_db_pool_connections", "engine" => s.db.engine()).set(size as f64);
    metrics::gauge!("agora_db_pool_idle_connections", "engine" => s.db.engine()).set(idle as f64);
    let mut res = s.metrics.render().into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
}

fn raw_json(body: &str) -> Response {
    let mut res = body.to_string().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// `GET /openapi.json`: the document for both versions.
pub async fn openapi(State(s): State<AppState>) -> Response {
    raw_json(&s.openapi.all)
}

/// `GET /v1/openapi.json`, `GET /v2/openapi.json`.
pub async fn openapi_for_version(State(s): State<AppState>, v: Version) -> Response {
    raw_json(match v.0 {
        ApiVersion::V1 => &s.openapi.v1,
        ApiVersion::V2 => &s.openapi.v2,
    })
}
