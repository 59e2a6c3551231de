//! Per-request context: the request id, the preferred error format and the API version.
//!
//! It lives in a task-local for the duration of the request so that any response built
//! anywhere below — a handler, an extractor rejection, the panic catcher, the 404 fallback —
//! can put the same request id in its envelope without threading it through every signature.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// What every response of one request needs to know.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// `X-Request-ID`, echoed or generated.
    pub request_id: Arc<str>,
    /// The client asked for `application/problem+json` errors.
    pub problem_json: bool,
}

/// `X-Request-ID`, parsed once (a `&str` name is re-parsed on every use).
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CTX: RequestCtx;
}

/// The current request's context (a fresh one outside any request, e.g. in unit tests).
pub fn current() -> RequestCtx {
    CTX.try_with(|c| c.clone())
        .unwrap_or_else(|_| RequestCtx { request_id: new_request_id().into(), problem_json: false })
}

/// A new unique request id: `req_` and a time-ordered UUID.
pub fn new_request_id() -> String {
    format!("req_{}", uuid::Uuid::now_v7().simple())
}

fn valid_client_id(v: &str) -> bool {
    (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Route template copied onto the response so the outer layer can label logs and metrics.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

/// Inner middleware (runs after routing): records the matched route template.
pub async fn record_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let mut res = next.run(req).await;
    if let Some(r) = route {
        res.extensions_mut().insert(RouteLabel(r));
    }
    res
}

/// Outermost middleware: establishes the context, sets `X-Request-ID`, and writes the one log
/// line and the metrics for the request.
pub async fn request_context(state: axum::extract::State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id: Arc<str> = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_client_id(v))
        .map(Arc::from)
        .unwrap_or_else(|| new_request_id().into());
    let problem_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/problem+json"));
    let method = req.method().clone();
    let ctx = RequestCtx { request_id: request_id.clone(), problem_json };
    let mut res = CTX.scope(ctx, next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    let route = res.extensions().get::<RouteLabel>().map(|r| r.0.clone()).unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    let principal = res
        .extensions()
        .get::<crate::auth::PrincipalLabel>()
        .map(|p| p.0.clone())
        .unwrap_or_else(|| "anonymous".into());
    state.metrics.record_request(method.as_str(), &route, status, elapsed);
    tracing::info!(
        target: "agora::request",
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        principal = %principal,
        "request"
    );
    res
}
