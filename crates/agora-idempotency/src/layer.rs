//! The tower layer: for each request, replay, refuse or run.
//!
//! A request that carries `Idempotency-Key` on an operation that honours keys is buffered
//! (bounded), fingerprinted, and its key reserved in the store. Then:
//!
//! - the store has the same request finished → its response is replayed, with
//!   `Idempotency-Replay: true`, and nothing runs;
//! - it is still running → refused ([`Refusal::InProgress`]); another request used the key →
//!   refused ([`Refusal::KeyReused`]);
//! - the key is free → the request runs, **in its own task**, so that a client that hangs up
//!   or a timeout that fires cannot stop it between its write and its record. A storable
//!   response completes the record; any other (5xx, 409, 429), an error or a panic releases the
//!   key.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use tower::{Layer, Service, ServiceExt};

use crate::metrics_names::REQUESTS_TOTAL;
use crate::{
    Fingerprint, IDEMPOTENCY_KEY, IDEMPOTENCY_REPLAY, IdempotencyKey, KeyError, RecordKey, Reservation, Reserve, Store,
    StoreError, StoredResponse, Terms, fault,
};

/// Whether an operation honours keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Keys are ignored (safe methods, and operations whose responses must never be stored,
    /// such as those that return secrets).
    Ignore,
    /// A key is used when sent.
    Honour,
    /// A key must be sent.
    Require,
}

/// Why a request is refused before it runs; the application renders each as it renders its
/// other errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The operation requires a key and none was sent (400).
    MissingKey,
    /// The header is not a key, or was sent twice (400).
    InvalidKey(Option<KeyError>),
    /// The same request is running (409, with `Retry-After`).
    InProgress(Duration),
    /// The key was used for a different request (422).
    KeyReused,
    /// The body is larger than [`Settings::max_body`] (413).
    BodyTooLarge,
    /// The body could not be read (the client went away or was too slow).
    BodyUnreadable,
    /// The store failed or is full (503); nothing ran.
    Unavailable,
}

/// Timing and bounds.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a reservation holds its key. A holder that dies is taken over after it, so it
    /// must outlast the longest request (the server's request timeout).
    pub lease: Duration,
    /// How long a completed response is kept.
    pub ttl: Duration,
    /// Largest body buffered for the fingerprint.
    pub max_body: usize,
    /// The response headers stored and replayed with the body.
    pub stored_headers: Vec<HeaderName>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            ttl: Duration::from_secs(24 * 3600),
            max_body: 1 << 20,
            stored_headers: ["content-type", "location", "etag", "link", "cache-control"]
                .into_iter()
                .map(HeaderName::from_static)
                .collect(),
        }
    }
}

type RuleFn = dyn Fn(&http::request::Parts) -> Rule + Send + Sync;
type ScopeFn = dyn Fn(&http::request::Parts) -> String + Send + Sync;
type RefuseFn<RB> = dyn Fn(Refusal) -> Response<RB> + Send + Sync;

/// A request's run, as handed to [`IdempotencyLayer::with_task_context`].
pub type RunFuture<RB> = Pin<Box<dyn Future<Output = Response<RB>> + Send>>;
type ContextFn<RB> = dyn Fn(RunFuture<RB>) -> RunFuture<RB> + Send + Sync;

struct Shared<RB> {
    store: Arc<dyn Store>,
    rule: Arc<RuleFn>,
    scope: Arc<ScopeFn>,
    refuse: Arc<RefuseFn<RB>>,
    context: Option<Arc<ContextFn<RB>>>,
    settings: Settings,
}

/// The layer. `RB` is the response body type (built from bytes for replays).
pub struct IdempotencyLayer<RB> {
    shared: Arc<Shared<RB>>,
}

impl<RB> Clone for IdempotencyLayer<RB> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<RB> IdempotencyLayer<RB> {
    /// `rule` says which requests honour keys, `scope` names the caller (keys are per scope),
    /// `refuse` renders refusals.
    pub fn new(
        store: Arc<dyn Store>,
        settings: Settings,
        rule: impl Fn(&http::request::Parts) -> Rule + Send + Sync + 'static,
        scope: impl Fn(&http::request::Parts) -> String + Send + Sync + 'static,
        refuse: impl Fn(Refusal) -> Response<RB> + Send + Sync + 'static,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                rule: Arc::new(rule),
                scope: Arc::new(scope),
                refuse: Arc::new(refuse),
                context: None,
                settings,
            }),
        }
    }

    /// Wraps each request's run before it is spawned on its own task, from within the
    /// request's task: the place to carry task-local context (a request id) across, since a
    /// spawned task inherits none.
    pub fn with_task_context(self, wrap: impl Fn(RunFuture<RB>) -> RunFuture<RB> + Send + Sync + 'static) -> Self {
        let s = &self.shared;
        let shared = Shared {
            store: s.store.clone(),
            rule: s.rule.clone(),
            scope: s.scope.clone(),
            refuse: s.refuse.clone(),
            context: Some(Arc::new(wrap)),
            settings: s.settings.clone(),
        };
        Self { shared: Arc::new(shared) }
    }
}

impl<S, RB> Layer<S> for IdempotencyLayer<RB> {
    type Service = IdempotencyService<S, RB>;
    fn layer(&self, inner: S) -> Self::Service {
        IdempotencyService { inner, shared: self.shared.clone() }
    }
}

/// The service [`IdempotencyLayer`] produces.
pub struct IdempotencyService<S, RB> {
    inner: S,
    shared: Arc<Shared<RB>>,
}

impl<S: Clone, RB> Clone for IdempotencyService<S, RB> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), shared: self.shared.clone() }
    }
}

fn count(outcome: &'static str) {
    metrics::counter!(REQUESTS_TOTAL, "outcome" => outcome).increment(1);
}

impl<S, B, RB> Service<Request<B>> for IdempotencyService<S, RB>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Body + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    RB: Body + From<Bytes> + Send + 'static,
    RB::Data: Send,
    RB::Error: std::fmt::Display + Send,
{
    type Response = Response<RB>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        let (parts, body) = req.into_parts();
        let rule = (shared.rule)(&parts);
        if rule == Rule::Ignore {
            return Box::pin(inner.oneshot(Request::from_parts(parts, body)));
        }
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY).iter();
        let key = match (values.next(), values.next()) {
            (None, _) if rule == Rule::Require => {
                count("missing_key");
                return ready((shared.refuse)(Refusal::MissingKey));
            }
            (None, _) => return Box::pin(inner.oneshot(Request::from_parts(parts, body))),
            (Some(_), Some(_)) => {
                count("invalid_key");
                return ready((shared.refuse)(Refusal::InvalidKey(None)));
            }
            (Some(v), None) => match IdempotencyKey::parse(v.as_bytes()) {
                Ok(k) => k,
                Err(e) => {
                    count("invalid_key");
                    return ready((shared.refuse)(Refusal::InvalidKey(Some(e))));
                }
            },
        };
        let key = RecordKey { scope: (shared.scope)(&parts), key };
        Box::pin(async move {
            let bytes = match Limited::new(body, shared.settings.max_body).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => {
                    let too_large = e.downcast_ref::<http_body_util::LengthLimitError>().is_some()
                        || std::error::Error::source(&*e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                    return Ok((shared.refuse)(if too_large {
                        Refusal::BodyTooLarge
                    } else {
                        Refusal::BodyUnreadable
                    }));
                }
            };
            let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let fingerprint = Fingerprint::of(&parts.method, target, &bytes);
            let s = &shared.settings;
            let reserved = match shared.store.reserve(&key, &Terms { fingerprint, lease: s.lease, ttl: s.ttl }).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "idempotency store: cannot reserve a key");
                    count("unavailable");
                    return Ok((shared.refuse)(Refusal::Unavailable));
                }
            };
            match reserved {
                Reserve::Replay(stored) => {
                    count("replayed");
                    Ok(replay(&stored))
                }
                Reserve::InProgress { retry_after } => {
                    count("in_progress");
                    Ok((shared.refuse)(Refusal::InProgress(retry_after)))
                }
                Reserve::Mismatch => {
                    count("key_reused");
                    Ok((shared.refuse)(Refusal::KeyReused))
                }
                Reserve::Proceed(reservation) => {
                    fault::point(fault::RESERVED);
                    let mut req = Request::from_parts(parts, B::from(bytes));
                    if let Some(unit) = &reservation.unit {
                        req.extensions_mut().insert(unit.clone());
                    }
                    let held = Held { store: shared.store.clone(), reservation: Some(reservation) };
                    let mut work: RunFuture<RB> = Box::pin(run(inner, req, held, shared.clone()));
                    if let Some(wrap) = &shared.context {
                        work = wrap(work);
                    }
                    let task = tokio::spawn(work);
                    match task.await {
                        Ok(res) => Ok(res),
                        // The request panicked (its key was released as it unwound): let the
                        // panic carry on to whatever catches panics outside.
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Err(_) => Ok((shared.refuse)(Refusal::Unavailable)),
                    }
                }
            }
        })
    }
}

fn ready<RB: Send + 'static>(
    res: Response<RB>,
) -> Pin<Box<dyn Future<Output = Result<Response<RB>, Infallible>> + Send>> {
    Box::pin(std::future::ready(Ok(res)))
}

/// The stored response, with `Idempotency-Replay: true`.
fn replay<RB: From<Bytes>>(stored: &StoredResponse) -> Response<RB> {
    let mut res = Response::new(RB::from(stored.body.clone()));
    *res.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let headers = res.headers_mut();
    for (name, value) in &stored.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            headers.append(n, v);
        }
    }
    headers.insert(HeaderName::from_static(IDEMPOTENCY_REPLAY), HeaderValue::from_static("true"));
    res
}

/// A reservation that is released if it is dropped unfinished (an error, a panic, a lost
/// task), so a key is never left held by a request that is gone.
struct Held {
    store: Arc<dyn Store>,
    reservation: Option<Reservation>,
}

impl Held {
    async fn release(mut self) {
        if let Some(r) = self.reservation.take()
            && let Err(e) = self.store.release(r).await
        {
            tracing::warn!(error = %e, "idempotency store: cannot release a key; its lease will free it");
        }
    }

    async fn complete(mut self, stored: &StoredResponse, ttl: Duration) -> Result<(), StoreError> {
        match self.reservation.take() {
            Some(r) => self.store.complete(r, stored, ttl).await,
            None => Err(StoreError::Lost),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(r) = self.reservation.take() {
            let store = self.store.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = store.release(r).await;
                });
            }
        }
    }
}

async fn run<S, B, RB>(inner: S, req: Request<B>, held: Held, shared: Arc<Shared<RB>>) -> Response<RB>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Infallible>,
    RB: Body + From<Bytes>,
    RB::Error: std::fmt::Display,
{
    let Ok(res) = inner.oneshot(req).await;
    fault::point(fault::EXECUTED);
    let status = res.status().as_u16();
    if !StoredResponse::is_storable(status) {
        held.release().await;
        count("not_stored");
        return res;
    }
    let (parts, body) = res.into_parts();
    let body = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            tracing::error!(error = %e, "idempotency: cannot read the response to store it");
            held.release().await;
            return (shared.refuse)(Refusal::Unavailable);
        }
    };
    let headers = shared
        .settings
        .stored_headers
        .iter()
        .flat_map(|name| parts.headers.get_all(name).iter().map(move |v| (name, v)))
        .filter_map(|(name, v)| Some((name.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let stored = StoredResponse { status, headers, body: body.clone() };
    match held.complete(&stored, shared.settings.ttl).await {
        Ok(()) => {
            fault::point(fault::COMPLETED);
            count("executed");
            Response::from_parts(parts, RB::from(body))
        }
        Err(StoreError::Lost) => {
            count("in_progress");
            (shared.refuse)(Refusal::InProgress(crate::record::RETRY_AFTER))
        }
        Err(e) => {
            tracing::error!(error = %e, "idempotency store: cannot complete a record");
            count("unavailable");
            (shared.refuse)(Refusal::Unavailable)
        }
    }
}
