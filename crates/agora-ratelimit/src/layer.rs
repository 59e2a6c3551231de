//! A tower [`Layer`] that rate-limits HTTP requests (usable from axum without depending on it).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use tower::{Layer, Service};

use crate::decision::Outcome;
use crate::headers::insert_rate_limit_headers;
use crate::limiter::{LimitError, RateLimiter};
use crate::policy::Checks;

/// Rate-limits every request passing through.
///
/// * `keys: Fn(&Request<ReqBody>) -> Checks` — the (policy, client key) pairs that apply
///   to a request (the server decides principals, IPs, routes). An empty list lets the request
///   through untouched (no headers).
/// * `on_limited: Fn(&Request<ReqBody>, &str, Duration) -> Response<ResBody>` — builds the
///   response for a rejected request from the request, the denying policy's name and the
///   wait; the layer then sets the status to 429 and adds the rate-limit headers (including
///   `Retry-After`). The request is there so that the response can say which route was
///   refused (for logs and metrics), since a refused request never reaches a router.
/// * `on_unavailable: Fn(&Request<ReqBody>, &LimitError) -> Response<ResBody>` — builds the
///   response when the backend cannot decide (Redis down in `OnBackendError::Deny` mode); the
///   layer sets 503.
///   The layer logs such failures only at debug level (one per request would flood the logs
///   during an outage); wrap the backend in a [`FallbackLimiter`](crate::FallbackLimiter) to
///   have the outage itself logged.
///
/// Admitted requests go to the inner service and the rate-limit headers are added to its
/// response on the way out (`X-RateLimit-*`, `RateLimit-Policy`, `RateLimit`; see
/// [`crate::headers`]).
///
/// Everything is behind one `Arc`: tower middleware clones its inner service on every request,
/// so each extra reference count here would be another pair of atomic operations per request.
pub struct RateLimitLayer<K, D, U> {
    shared: Arc<Shared<K, D, U>>,
}

struct Shared<K, D, U> {
    limiter: RateLimiter,
    keys: K,
    on_limited: D,
    on_unavailable: U,
}

impl<K, D, U> Clone for RateLimitLayer<K, D, U> {
    fn clone(&self) -> Self {
        RateLimitLayer { shared: self.shared.clone() }
    }
}

impl<K, D, U> std::fmt::Debug for RateLimitLayer<K, D, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitLayer").finish_non_exhaustive()
    }
}

impl<K, D, U> RateLimitLayer<K, D, U> {
    /// See the type docs for the three closures.
    pub fn new(limiter: RateLimiter, keys: K, on_limited: D, on_unavailable: U) -> Self {
        RateLimitLayer { shared: Arc::new(Shared { limiter, keys, on_limited, on_unavailable }) }
    }
}

impl<S, K, D, U> Layer<S> for RateLimitLayer<K, D, U> {
    type Service = RateLimitService<S, K, D, U>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService { inner, layer: self.clone() }
    }
}

/// The service made by [`RateLimitLayer`].
pub struct RateLimitService<S, K, D, U> {
    inner: S,
    layer: RateLimitLayer<K, D, U>,
}

impl<S: Clone, K, D, U> Clone for RateLimitService<S, K, D, U> {
    fn clone(&self) -> Self {
        RateLimitService { inner: self.inner.clone(), layer: self.layer.clone() }
    }
}

impl<S, K, D, U> std::fmt::Debug for RateLimitService<S, K, D, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitService").finish_non_exhaustive()
    }
}

impl<S, K, D, U, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimitService<S, K, D, U>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    K: Fn(&Request<ReqBody>) -> Checks + Send + Sync + 'static,
    D: Fn(&Request<ReqBody>, &str, Duration) -> Response<ResBody> + Send + Sync + 'static,
    U: Fn(&Request<ReqBody>, &LimitError) -> Response<ResBody> + Send + Sync + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let shared = &self.layer.shared;
        let checks = (shared.keys)(&req);
        if checks.is_empty() {
            return ResponseFuture::Passthrough { inner: self.inner.call(req) };
        }
        // In-process stores decide on the spot: the inner service is called right away (it
        // was just polled ready), and its future is wrapped, not boxed.
        if let Some(result) = shared.limiter.check_sync(&checks) {
            return match result {
                Ok(outcome) if outcome.allowed() => ResponseFuture::decorated(self.inner.call(req), outcome),
                other => ResponseFuture::Ready { response: Some(refusal(shared, &req, other)) },
            };
        }
        // A backend that waits: the future owns a clone of the service (the clone is not
        // ready; the instance that was polled ready is the one taken).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = shared.clone();
        ResponseFuture::Boxed {
            future: Box::pin(async move {
                match shared.limiter.check(&checks).await {
                    Ok(outcome) if outcome.allowed() => ResponseFuture::decorated(inner.call(req), outcome).await,
                    other => Ok(refusal(&shared, &req, other)),
                }
            }),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RateLimitService`]: the inner service's future, passed through or
    /// decorated with the rate-limit headers, a refusal ready at once, or (for backends that
    /// wait, such as Redis) a boxed future that decides and then calls the service.
    #[project = ResponseFutureProj]
    pub enum ResponseFuture<F, B, E> {
        /// No policy applies.
        Passthrough { #[pin] inner: F },
        /// Admitted; the headers are added to the response.
        Decorated { #[pin] inner: F, outcome: Option<Outcome> },
        /// Refused (429 or 503).
        Ready { response: Option<Response<B>> },
        /// Decided asynchronously.
        Boxed { future: Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    /// The future of an admitted request: `inner`, whose response gets the headers of `outcome`.
    fn decorated(inner: F, outcome: Outcome) -> Self {
        ResponseFuture::Decorated { inner, outcome: Some(outcome) }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Passthrough { inner } => inner.poll(cx),
            ResponseFutureProj::Decorated { inner, outcome } => {
                let mut res = std::task::ready!(inner.poll(cx))?;
                if let Some(outcome) = outcome.take() {
                    // Inserted here, into whatever response came back: no response builder
                    // needs to know of the limiter. (Handing prepared headers to the builder
                    // saved ~1,100 instructions per request; see docs/RATE-LIMITING.md.)
                    insert_rate_limit_headers(res.headers_mut(), &outcome.decisions, unix_now());
                }
                Poll::Ready(Ok(res))
            }
            ResponseFutureProj::Ready { response } => match response.take() {
                Some(res) => Poll::Ready(Ok(res)),
                // Polled again after completion: a contract violation by the caller; answer
                // with an empty 503 rather than panic.
                None => Poll::Ready(Ok(refused_twice())),
            },
            ResponseFutureProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

fn refused_twice<B>() -> Response<B>
where
    B: Default,
{
    let mut res = Response::new(B::default());
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    res
}

/// The response for a request that is not admitted: 429 with the headers when a policy
/// refused it, 503 when the backend could not decide.
fn refusal<K, D, U, R, B>(layer: &Shared<K, D, U>, req: &Request<R>, result: Result<Outcome, LimitError>) -> Response<B>
where
    D: Fn(&Request<R>, &str, Duration) -> Response<B>,
    U: Fn(&Request<R>, &LimitError) -> Response<B>,
{
    match result {
        Ok(outcome) => {
            let (name, wait) = outcome
                .denied_by()
                .map(|d| (d.policy.name(), d.retry_after.unwrap_or_default()))
                .unwrap_or(("", Duration::ZERO));
            let mut res = (layer.on_limited)(req, name, wait);
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            insert_rate_limit_headers(res.headers_mut(), &outcome.decisions, unix_now());
            res
        }
        Err(e) => {
            // Per request, so only at debug level: during an outage this runs for every
            // request. Whoever owns the backend reports the outage itself (the
            // `FallbackLimiter` logs when one starts and when it ends).
            tracing::debug!(error = %e, "rate limit check failed; answering 503");
            let mut res = (layer.on_unavailable)(req, &e);
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            res
        }
    }
}

fn unix_now() -> Duration {
    Duration::from_secs(crate::headers::unix_seconds())
}
