//! A tower [`Layer`] that rate-limits HTTP requests (usable from axum without depending on it).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, Request, Response, StatusCode};
use tower::{Layer, Service};

use crate::headers::rate_limit_headers;
use crate::limiter::{LimitError, RateLimiter};
use crate::policy::Check;

/// Rate-limits every request passing through.
///
/// * `keys: Fn(&Request<ReqBody>) -> Vec<Check>` — the (policy, client key) pairs that apply
///   to a request (the server decides principals, IPs, routes). An empty list lets the request
///   through untouched (no headers).
/// * `on_limited: Fn(&str, Duration) -> Response<ResBody>` — builds the response for a rejected
///   request from the denying policy's name and the wait; the layer then sets the status to
///   429 and adds the rate-limit headers (including `Retry-After`).
/// * `on_unavailable: Fn(&LimitError) -> Response<ResBody>` — builds the response when the
///   backend cannot decide (Redis down in `OnBackendError::Deny` mode); the layer sets 503.
///
/// Admitted requests go to the inner service and the rate-limit headers are added to its
/// response (`X-RateLimit-*`, `RateLimit-Policy`, `RateLimit`; see [`crate::headers`]).
pub struct RateLimitLayer<K, D, U> {
    limiter: RateLimiter,
    keys: Arc<K>,
    on_limited: Arc<D>,
    on_unavailable: Arc<U>,
}

impl<K, D, U> Clone for RateLimitLayer<K, D, U> {
    fn clone(&self) -> Self {
        RateLimitLayer {
            limiter: self.limiter.clone(),
            keys: self.keys.clone(),
            on_limited: self.on_limited.clone(),
            on_unavailable: self.on_unavailable.clone(),
        }
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
        RateLimitLayer {
            limiter,
            keys: Arc::new(keys),
            on_limited: Arc::new(on_limited),
            on_unavailable: Arc::new(on_unavailable),
        }
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
    K: Fn(&Request<ReqBody>) -> Vec<Check> + Send + Sync + 'static,
    D: Fn(&str, Duration) -> Response<ResBody> + Send + Sync + 'static,
    U: Fn(&LimitError) -> Response<ResBody> + Send + Sync + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The clone is not ready; call the instance that was polled ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        let checks = (layer.keys)(&req);
        Box::pin(async move {
            if checks.is_empty() {
                return inner.call(req).await;
            }
            match layer.limiter.check(&checks).await {
                Ok(outcome) => {
                    let headers = rate_limit_headers(&outcome.decisions);
                    if outcome.allowed() {
                        let mut res = inner.call(req).await?;
                        merge(res.headers_mut(), headers);
                        Ok(res)
                    } else {
                        let (name, wait) = outcome
                            .denied_by()
                            .map(|d| (d.policy.name(), d.retry_after.unwrap_or_default()))
                            .unwrap_or(("", Duration::ZERO));
                        let mut res = (layer.on_limited)(name, wait);
                        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                        merge(res.headers_mut(), headers);
                        Ok(res)
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rate limit check failed; answering 503");
                    let mut res = (layer.on_unavailable)(&e);
                    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                    Ok(res)
                }
            }
        })
    }
}

fn merge(into: &mut HeaderMap, from: HeaderMap) {
    for (name, value) in from {
        if let Some(name) = name {
            into.insert(name, value);
        }
    }
}
