//! Per-request context: the request id, the preferred error format and the API version.
//!
//! It lives in a task-local for the duration of the request so that any response built
//! anywhere below — a handler, an extractor rejection, the panic catcher, the 404 fallback —
//! can put the same request id in its envelope without threading it through every signature.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use super::around::{Around, Before};
use crate::metrics::Metrics;

/// What every response of one request needs to know.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// `X-Request-ID`, echoed or generated.
    pub request_id: Arc<str>,
    /// The client asked for `application/problem+json` errors.
    pub problem_json: bool,
    /// The request is for GraphQL: errors take GraphQL's shape (`errors[].extensions.code`).
    pub graphql: bool,
}

/// `X-Request-ID`, parsed once (a `&str` name is re-parsed on every use).
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CTX: RequestCtx;
}

/// The current request's context (a fresh one outside any request, e.g. in unit tests).
pub fn current() -> RequestCtx {
    CTX.try_with(|c| c.clone()).unwrap_or_else(|_| RequestCtx {
        request_id: new_request_id().into(),
        problem_json: false,
        graphql: false,
    })
}

/// Runs `f` with the current request's context, e.g. on a task spawned for the request.
pub fn carry<F: std::future::Future>(f: F) -> impl std::future::Future<Output = F::Output> {
    CTX.scope(current(), f)
}

/// A new unique request id: `req_` and a time-ordered UUID.
pub fn new_request_id() -> String {
    format!("req_{}", uuid::Uuid::now_v7().simple())
}

fn valid_client_id(v: &str) -> bool {
    (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// The principal's label for the log line (`anonymous`, `user:42`), set on the response by
/// authentication.
#[derive(Debug, Clone)]
pub struct PrincipalLabel(pub String);

/// Route template copied onto the response so the outer layer can label logs and metrics.
#[derive(Debug, Clone)]
pub enum RouteLabel {
    /// The route the router matched.
    Matched(MatchedPath),
    /// A route template found for a request the router never saw (one refused before it).
    Template(Arc<str>),
}

impl RouteLabel {
    /// The template, e.g. `/v2/users/{id}`.
    pub fn as_str(&self) -> &str {
        match self {
            RouteLabel::Matched(m) => m.as_str(),
            RouteLabel::Template(t) => t,
        }
    }
}

/// Inner middleware (runs after routing): records the matched route template.
#[derive(Debug, Clone, Copy)]
pub struct RecordRoute;

impl Around for RecordRoute {
    type Carry = Option<MatchedPath>;

    fn before(&self, req: &mut Request) -> Before<Option<MatchedPath>> {
        Before::Continue(req.extensions().get::<MatchedPath>().cloned())
    }

    fn after(&self, route: Option<MatchedPath>, res: &mut Response) {
        if let Some(r) = route {
            res.extensions_mut().insert(RouteLabel::Matched(r));
        }
    }
}

/// Outermost middleware: establishes the context, sets `X-Request-ID`, and writes the one log
/// line and the metrics for the request.
///
/// Written as a plain service rather than with `from_fn` so that a request costs no boxing:
/// the inner service is called synchronously inside the context (anything it answers on the
/// spot, such as a 429, already sees the request id) and its future is polled inside it too.
#[derive(Clone)]
pub struct RequestContextLayer(pub Metrics);

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContext<S>;

    fn layer(&self, inner: S) -> RequestContext<S> {
        RequestContext { inner, metrics: self.0.clone() }
    }
}

/// The service made by [`RequestContextLayer`].
#[derive(Clone)]
pub struct RequestContext<S> {
    inner: S,
    metrics: Metrics,
}

/// Whether a request comes with a body (a `Content-Length` above zero, or chunked).
fn has_body(req: &Request) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0")
}

pin_project_lite::pin_project! {
    /// A request body that records when it has been read to its end.
    struct Tracked {
        #[pin]
        inner: axum::body::Body,
        read: Arc<AtomicBool>,
    }
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            this.read.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<S> Service<Request> for RequestContext<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RequestContextFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = Instant::now();
        // A body the handler never reads (an early 413, 415 or 401) leaves the connection in
        // the middle of a request; such a response must say `Connection: close`.
        let (req, body_read) = if has_body(&req) {
            let read = Arc::new(AtomicBool::new(false));
            let req = req.map(|inner| axum::body::Body::new(Tracked { inner, read: read.clone() }));
            (req, Some(read))
        } else {
            (req, None)
        };
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
        let graphql = req.uri().path() == crate::graphql::PATH;
        let ctx = RequestCtx { request_id: request_id.clone(), problem_json, graphql };
        let inner = CTX.sync_scope(ctx.clone(), || self.inner.call(req));
        RequestContextFuture {
            inner: CTX.scope(ctx, inner),
            done: Some(Done { started, request_id, method, metrics: self.metrics.clone(), body_read }),
        }
    }
}

/// What the response and the log line need once the inner service has answered.
struct Done {
    started: Instant,
    request_id: Arc<str>,
    method: Method,
    metrics: Metrics,
    /// Set once the request's body has been read to its end (`None`: it had none).
    body_read: Option<Arc<AtomicBool>>,
}

pin_project_lite::pin_project! {
    /// The future of [`RequestContext`].
    pub struct RequestContextFuture<F> {
        #[pin]
        inner: TaskLocalFuture<RequestCtx, F>,
        done: Option<Done>,
    }
}

impl<F> Future for RequestContextFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut res) = std::task::ready!(this.inner.poll(cx));
        if let Some(done) = this.done.take() {
            finish(done, &mut res);
        }
        Poll::Ready(Ok(res))
    }
}

fn finish(done: Done, res: &mut Response) {
    let Done { started, request_id, method, metrics, body_read } = done;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    if body_read.is_some_and(|read| !read.load(Ordering::Relaxed)) {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let route = res.extensions().get::<RouteLabel>().map_or("unmatched", RouteLabel::as_str);
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    metrics.record_request(method.as_str(), route, status, elapsed);
    if tracing::enabled!(target: "agora::request", tracing::Level::INFO) {
        let principal = res.extensions().get::<PrincipalLabel>().map_or("anonymous", |p| p.0.as_str());
        tracing::info!(
            target: "agora::request",
            request_id = %request_id,
            method = %method,
            route = %route,
            status,
            // Microsecond precision: `28.671`, not `28.670880999999998`.
            latency_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0,
            principal = %principal,
            "request"
        );
    }
}
