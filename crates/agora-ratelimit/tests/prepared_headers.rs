//! Headers prepared before the inner service runs (`headers::response_headers`): every
//! response of an admitted request carries each rate-limit header exactly once, with the
//! decision's values, whether or not its builder started from the prepared map, and nothing
//! prepared for one request is seen outside it.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use agora_ratelimit::headers::response_headers;
use agora_ratelimit::smallvec::smallvec;
use agora_ratelimit::{
    Algorithm, Check, Checks, LimitError, Limiter, ManualClock, MemoryStore, Outcome, Policy, RateLimitLayer,
    RateLimiter,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Request, Response};
use tower::util::BoxCloneService;
use tower::{Layer, Service, ServiceExt, service_fn};

/// How the inner service builds its response.
#[derive(Clone, Copy, Debug)]
enum Builder {
    /// On the map `response_headers` gives it.
    Prepared,
    /// On a map of its own.
    Own,
    /// Takes the prepared map, drops that response and answers with another.
    Replaces,
    /// Waits once (so the request is polled twice), then builds on the prepared map.
    PreparedAfterWait,
}

async fn respond(builder: Builder) -> Result<Response<String>, Infallible> {
    let build = |headers: HeaderMap| {
        let mut res = Response::new("ok".to_owned());
        *res.headers_mut() = headers;
        res.headers_mut().insert("content-type", HeaderValue::from_static("text/plain"));
        res
    };
    Ok(match builder {
        Builder::Prepared => build(response_headers(8)),
        Builder::Own => build(HeaderMap::with_capacity(8)),
        Builder::Replaces => {
            drop(build(response_headers(8)));
            build(HeaderMap::new())
        }
        Builder::PreparedAfterWait => {
            tokio::task::yield_now().await;
            build(response_headers(8))
        }
    })
}

type Svc = BoxCloneService<Request<String>, Response<String>, Infallible>;
type InnerFn = fn(Request<String>) -> BoxFuture<'static, Result<Response<String>, Infallible>>;

/// `inner` behind a rate-limit layer with one policy.
fn limited<S>(limiter: RateLimiter, policy: Policy, inner: S) -> Svc
where
    S: Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let layer = RateLimitLayer::new(
        limiter,
        move |_: &Request<String>| -> Checks { smallvec![Check::new(policy.clone(), "client")] },
        |_: &Request<String>, _: &str, _: Duration| Response::new(String::new()),
        |_: &Request<String>, _: &LimitError| Response::new(String::new()),
    );
    BoxCloneService::new(layer.layer(inner))
}

fn policy(name: &str, limit: u64) -> Policy {
    Policy::new(name, Algorithm::SlidingWindowLog, limit, Duration::from_secs(60)).unwrap()
}

fn request(builder: Builder) -> Request<String> {
    let mut req = Request::new(String::new());
    req.extensions_mut().insert(builder);
    req
}

fn inner_fn(req: Request<String>) -> BoxFuture<'static, Result<Response<String>, Infallible>> {
    let builder = *req.extensions().get::<Builder>().unwrap();
    Box::pin(respond(builder))
}

fn inner() -> tower::util::ServiceFn<InnerFn> {
    service_fn(inner_fn as InnerFn)
}

/// Each rate-limit header once, in a map that also holds the builder's own header.
fn assert_headers(res: &Response<String>, limit: &str, remaining: &str, policy: &str) {
    // The builder's header and the six, each once (the values are checked below).
    assert_eq!(res.headers().keys_len(), 7, "{:?}", res.headers());
    assert_eq!(res.headers().len(), 7, "{:?}", res.headers());
    let get = |n: &str| res.headers().get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(get("content-type"), "text/plain");
    assert_eq!(get("x-ratelimit-limit"), limit);
    assert_eq!(get("x-ratelimit-remaining"), remaining);
    assert_eq!(get("x-ratelimit-reset-after"), "60");
    let reset: u64 = get("x-ratelimit-reset").parse().unwrap();
    assert!(reset > 1_600_000_000, "unix seconds, got {reset}");
    assert_eq!(get("ratelimit-policy"), format!("\"{policy}\";q={limit};w=60"));
    assert_eq!(get("ratelimit"), format!("\"{policy}\";r={remaining};t=60"));
}

/// Outside any request, a builder gets an empty map.
fn assert_nothing_left() {
    assert!(response_headers(4).is_empty(), "a prepared map outlived its request");
}

#[tokio::test]
async fn every_builder_gets_the_headers_once() {
    let store = MemoryStore::new(ManualClock::new(Duration::from_secs(1_000)));
    let svc = limited(RateLimiter::new(store), policy("p", 10), inner());
    let builders = [Builder::Prepared, Builder::Own, Builder::Replaces, Builder::PreparedAfterWait];
    for (i, builder) in builders.into_iter().cycle().take(8).enumerate() {
        let res = svc.clone().oneshot(request(builder)).await.unwrap();
        assert_headers(&res, "10", &(9 - i).to_string(), "p");
        assert_nothing_left();
    }
}

/// A backend that only decides asynchronously, as Redis does: the layer's other path.
struct AsyncOnly(MemoryStore);

impl Limiter for AsyncOnly {
    fn check<'a>(&'a self, checks: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            Ok(self.0.check_now(checks))
        })
    }
}

#[tokio::test]
async fn a_backend_that_waits_prepares_them_too() {
    let store = AsyncOnly(MemoryStore::new(ManualClock::new(Duration::from_secs(1_000))));
    let svc = limited(RateLimiter::new(store), policy("p", 10), inner());
    for (i, builder) in
        [Builder::Prepared, Builder::Own, Builder::Replaces, Builder::PreparedAfterWait].into_iter().enumerate()
    {
        let res = svc.clone().oneshot(request(builder)).await.unwrap();
        assert_headers(&res, "10", &(9 - i).to_string(), "p");
        assert_nothing_left();
    }
}

#[tokio::test]
async fn with_two_layers_the_outer_one_answers_as_before() {
    let store = Arc::new(MemoryStore::new(ManualClock::new(Duration::from_secs(1_000))));
    let limiter = RateLimiter::from_arc(store);
    let svc = limited(limiter.clone(), policy("outer", 20), limited(limiter, policy("inner", 10), inner()));
    for builder in [Builder::Prepared, Builder::Own, Builder::PreparedAfterWait] {
        let res = svc.clone().oneshot(request(builder)).await.unwrap();
        // The outer layer's headers replace the inner one's, whichever map the response used.
        let remaining = res.headers().get("x-ratelimit-remaining").unwrap().to_str().unwrap().to_owned();
        assert_headers(&res, "20", &remaining, "outer");
        assert_nothing_left();
    }
}

/// A layer that, once the service inside it has answered, takes the prepared map lent to
/// it (by a limiter outside) for a response it then drops.
#[derive(Clone)]
struct TakesAndDrops(Svc);

impl Service<Request<String>> for TakesAndDrops {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<String>) -> Self::Future {
        let answer = self.0.call(req);
        Box::pin(async move {
            let res = answer.await;
            drop(response_headers(4));
            res
        })
    }
}

#[tokio::test]
async fn a_response_built_for_another_policy_is_not_taken_for_this_ones() {
    let store = Arc::new(MemoryStore::new(ManualClock::new(Duration::from_secs(1_000))));
    let limiter = RateLimiter::from_arc(store);
    let inner_limited = limited(limiter.clone(), policy("inner", 10), inner());
    let svc = limited(limiter, policy("outer", 20), TakesAndDrops(inner_limited));
    for (i, builder) in [Builder::Prepared, Builder::PreparedAfterWait].into_iter().enumerate() {
        let res = svc.clone().oneshot(request(builder)).await.unwrap();
        // The response was built on the inner limiter's map; the outer one's map was taken and
        // dropped. The outer layer must still put its own headers on.
        assert_headers(&res, "20", &(19 - i).to_string(), "outer");
        assert_nothing_left();
    }
}

#[tokio::test]
async fn a_panic_in_the_inner_service_leaves_nothing_behind() {
    fn panics(_: Request<String>) -> BoxFuture<'static, Result<Response<String>, Infallible>> {
        Box::pin(async { panic!("handler bug") })
    }
    let store = MemoryStore::new(ManualClock::new(Duration::from_secs(1_000)));
    let mut svc = limited(RateLimiter::new(store), policy("p", 10), service_fn(panics as InnerFn));
    let fut = svc.ready().await.unwrap().call(Request::new(String::new()));
    assert!(std::panic::AssertUnwindSafe(fut).catch_unwind().await.is_err());
    assert_nothing_left();
}
