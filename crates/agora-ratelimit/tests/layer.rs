//! The tower layer, driven with `ServiceExt::oneshot` over a dummy service.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use agora_ratelimit::smallvec::smallvec;
use agora_ratelimit::{
    Algorithm, Check, Checks, LimitError, Limiter, ManualClock, MemoryStore, Outcome, Policy, RateLimitLayer,
    RateLimiter,
};
use futures::future::BoxFuture;
use http::{Request, Response, StatusCode};
use tower::{Layer, Service, ServiceExt, service_fn};

fn policies() -> (Policy, Policy) {
    (
        Policy::new("sustained", Algorithm::SlidingWindowLog, 5, Duration::from_secs(60)).unwrap(),
        Policy::new("burst", Algorithm::TokenBucket, 2, Duration::from_secs(10)).unwrap(),
    )
}

async fn ok_service(req: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(format!("hello {}", req.uri().path())))
}

fn header<'a>(res: &'a Response<String>, name: &str) -> &'a str {
    res.headers().get(name).unwrap_or_else(|| panic!("missing {name}")).to_str().unwrap()
}

type Svc = Box<dyn FnMut(Request<String>) -> BoxFuture<'static, Result<Response<String>, Infallible>> + Send>;

fn make(limiter: RateLimiter) -> Svc {
    let (sustained, burst) = policies();
    let layer = RateLimitLayer::new(
        limiter,
        move |req: &Request<String>| {
            if req.uri().path() == "/health" {
                return Checks::new();
            }
            let client = req.headers().get("x-client").and_then(|v| v.to_str().ok()).unwrap_or("anonymous").to_owned();
            smallvec![Check::new(sustained.clone(), client.clone()), Check::new(burst.clone(), client)]
        },
        |req: &Request<String>, policy: &str, retry_after: Duration| {
            Response::builder()
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"error":"rate_limited","path":"{}","policy":"{policy}","retry_after_ms":{}}}"#,
                    req.uri().path(),
                    retry_after.as_millis()
                ))
                .unwrap()
        },
        |req: &Request<String>, e: &LimitError| {
            Response::new(format!(r#"{{"error":"unavailable","path":"{}","detail":"{e}"}}"#, req.uri().path()))
        },
    );
    let svc = layer.layer(service_fn(ok_service));
    Box::new(move |req| Box::pin(svc.clone().oneshot(req)))
}

fn get(path: &str, client: &str) -> Request<String> {
    Request::builder().uri(path).header("x-client", client).body(String::new()).unwrap()
}

#[tokio::test]
async fn headers_429_shape_and_no_consumption_on_rejection() {
    let clock = ManualClock::new(Duration::from_secs(1_000));
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let mut call = make(RateLimiter::from_arc(store.clone()));
    let (sustained, burst) = policies();

    // 1st request: admitted, headers describe the policy closest to its limit (burst: 1/2).
    let res = call(get("/v1/things", "alice")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "hello /v1/things");
    assert_eq!(header(&res, "x-ratelimit-limit"), "2");
    assert_eq!(header(&res, "x-ratelimit-remaining"), "1");
    assert_eq!(header(&res, "x-ratelimit-reset-after"), "5");
    let reset: u64 = header(&res, "x-ratelimit-reset").parse().unwrap();
    assert!(reset > 1_600_000_000, "unix seconds, got {reset}");
    assert_eq!(header(&res, "ratelimit-policy"), r#""sustained";q=5;w=60, "burst";q=2;w=10"#);
    assert_eq!(header(&res, "ratelimit"), r#""sustained";r=4;t=60, "burst";r=1;t=5"#);
    assert!(res.headers().get("retry-after").is_none());

    // 2nd admitted; 3rd and 4th rejected by "burst".
    assert_eq!(call(get("/", "alice")).await.unwrap().status(), StatusCode::OK);
    for _ in 0..2 {
        let res = call(get("/things/7", "alice")).await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&res, "content-type"), "application/json");
        // The closure sees the refused request.
        assert_eq!(res.body(), r#"{"error":"rate_limited","path":"/things/7","policy":"burst","retry_after_ms":5000}"#);
        assert_eq!(header(&res, "retry-after"), "5");
        assert_eq!(header(&res, "x-ratelimit-limit"), "2");
        assert_eq!(header(&res, "x-ratelimit-remaining"), "0");
        assert_eq!(header(&res, "ratelimit"), r#""sustained";r=3;t=60, "burst";r=0;t=10"#);
    }
    // The rejected requests consumed nothing from "sustained": 2 used, 3 left.
    let o = store.peek(&[Check::new(sustained.clone(), "alice")]);
    assert_eq!(o.decisions[0].remaining, 3);
    let o = store.peek(&[Check::new(burst.clone(), "alice")]);
    assert_eq!(o.decisions[0].remaining, 0);

    // Another client is independent.
    assert_eq!(call(get("/", "bob")).await.unwrap().status(), StatusCode::OK);

    // Refill: after 5 s one burst token is back.
    clock.advance(Duration::from_secs(5));
    assert_eq!(call(get("/", "alice")).await.unwrap().status(), StatusCode::OK);

    // Routes with no checks pass untouched, without headers.
    for _ in 0..10 {
        let res = call(get("/health", "alice")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get("ratelimit").is_none());
    }
}

struct Broken;

impl Limiter for Broken {
    fn check<'a>(&'a self, _: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>> {
        Box::pin(async { Err(LimitError::Unavailable("redis down".into())) })
    }
}

#[tokio::test]
async fn backend_failure_renders_503_via_closure() {
    let mut call = make(RateLimiter::new(Broken));
    let res = call(get("/x", "alice")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.body(), r#"{"error":"unavailable","path":"/x","detail":"rate limiting unavailable: redis down"}"#);
}

#[tokio::test]
async fn service_is_clone_and_ready_like_a_tower_service() {
    let clock = ManualClock::new(Duration::from_secs(1_000));
    let (sustained, _) = policies();
    let layer = RateLimitLayer::new(
        RateLimiter::new(MemoryStore::new(clock)),
        move |_: &Request<String>| smallvec![Check::new(sustained.clone(), "k")],
        |_: &Request<String>, _: &str, _: Duration| Response::new(String::new()),
        |_: &Request<String>, _: &LimitError| Response::new(String::new()),
    );
    let mut svc = layer.layer(service_fn(ok_service));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let ready = svc.ready().await.unwrap();
        statuses.push(ready.call(get("/", "x")).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
}

#[test]
fn service_fits_axum_router_layer_bounds() {
    // axum's `Router::layer` needs a Clone + Send + Sync service with a Send future over a
    // Clone + Send + Sync inner service (axum's `Route`); check with tower's equivalent.
    fn assert_bounds<T: Clone + Send + Sync + 'static>(_: &T) {}
    type Inner = tower::util::BoxCloneSyncService<Request<String>, Response<String>, Infallible>;
    let (sustained, _) = policies();
    let layer = RateLimitLayer::new(
        RateLimiter::new(MemoryStore::default()),
        move |_: &Request<String>| smallvec![Check::new(sustained.clone(), "k")],
        |_: &Request<String>, _: &str, _: Duration| Response::new(String::new()),
        |_: &Request<String>, _: &LimitError| Response::new(String::new()),
    );
    assert_bounds(&layer);
    let svc = layer.layer(Inner::new(service_fn(ok_service)));
    assert_bounds(&svc);
    let fut = svc.clone().oneshot(get("/", "x"));
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&fut);
}
