//! The layer over a plain tower service and the stores, without any web framework: what runs,
//! what is replayed, what frees a key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agora_idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyLayer, MemoryStore, RecordKey, Refusal, Reserve, Rule, Settings, Store,
    StoredResponse, Terms,
};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt, service_fn};

type Body = Full<Bytes>;

fn refusal(r: Refusal) -> Response<Body> {
    let status = match r {
        Refusal::MissingKey | Refusal::InvalidKey(_) | Refusal::BodyUnreadable => 400,
        Refusal::InProgress(_) => 409,
        Refusal::KeyReused => 422,
        Refusal::BodyTooLarge => 413,
        Refusal::Unavailable => 503,
    };
    Response::builder().status(status).body(Full::new(Bytes::from(format!("{r:?}")))).unwrap()
}

/// A handler that counts its runs and answers `status` with the run number in the body.
fn counting(
    runs: Arc<AtomicUsize>,
    status: u16,
    delay: Duration,
) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send> + Clone + Send + 'static {
    service_fn(move |_req: Request<Body>| {
        let runs = runs.clone();
        async move {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(delay).await;
            Ok::<_, Infallible>(
                Response::builder()
                    .status(status)
                    .header("location", format!("/things/{n}"))
                    .header("x-not-stored", "1")
                    .body(Full::new(Bytes::from(format!("run {n}"))))
                    .unwrap(),
            )
        }
    })
}

fn layer(store: Arc<dyn Store>, rule: Rule) -> IdempotencyLayer<Body> {
    IdempotencyLayer::new(
        store,
        Settings::default(),
        move |_| rule,
        |p| p.headers.get("x-user").map_or("anon".into(), |v| v.to_str().unwrap().into()),
        refusal,
    )
}

fn req(key: Option<&str>, user: &str, body: &str) -> Request<Body> {
    let mut b = Request::post("/things").header("x-user", user);
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

async fn send<S>(svc: &S, r: Request<Body>) -> (u16, Option<String>, String, Option<String>)
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let res = svc.clone().oneshot(r).await.unwrap();
    let status = res.status().as_u16();
    let replay = res.headers().get("idempotency-replay").map(|v| v.to_str().unwrap().to_string());
    let loc = res.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    let body = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, replay, body, loc)
}

#[tokio::test]
async fn runs_once_then_replays() {
    let runs = Arc::new(AtomicUsize::new(0));
    let svc = layer(Arc::new(MemoryStore::default()), Rule::Honour).layer(counting(runs.clone(), 201, Duration::ZERO));
    let first = send(&svc, req(Some("k"), "u1", "a")).await;
    assert_eq!(first, (201, None, "run 1".into(), Some("/things/1".into())));
    let again = send(&svc, req(Some("k"), "u1", "a")).await;
    assert_eq!(again, (201, Some("true".into()), "run 1".into(), Some("/things/1".into())));
    assert_eq!(send(&svc, req(Some("k"), "u1", "b")).await.0, 422);
    assert_eq!(send(&svc, req(Some("k"), "u2", "a")).await.2, "run 2", "another scope runs");
    assert_eq!(send(&svc, req(None, "u1", "a")).await.2, "run 3", "no key: runs");
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn only_what_is_asked_for_is_stored() {
    let runs = Arc::new(AtomicUsize::new(0));
    let svc = layer(Arc::new(MemoryStore::default()), Rule::Honour).layer(counting(runs.clone(), 201, Duration::ZERO));
    send(&svc, req(Some("k"), "u", "a")).await;
    let res = svc.clone().oneshot(req(Some("k"), "u", "a")).await.unwrap();
    assert!(res.headers().get("x-not-stored").is_none(), "only the configured headers are replayed");
}

#[tokio::test]
async fn a_5xx_409_or_429_frees_the_key() {
    for status in [500, 503, 409, 429] {
        let runs = Arc::new(AtomicUsize::new(0));
        let svc =
            layer(Arc::new(MemoryStore::default()), Rule::Honour).layer(counting(runs.clone(), status, Duration::ZERO));
        for _ in 0..3 {
            let (s, replay, _, _) = send(&svc, req(Some("k"), "u", "a")).await;
            assert_eq!((s, replay), (status, None));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3, "{status}: every retry ran");
    }
}

#[tokio::test]
async fn a_panic_frees_the_key() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let panicking = service_fn(|_req: Request<Body>| async move {
        if true {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    let svc = layer(store.clone(), Rule::Honour).layer(panicking);
    let outcome = tokio::spawn(svc.oneshot(req(Some("k"), "u", "a"))).await;
    assert!(outcome.is_err_and(|e| e.is_panic()), "the panic carries on to whoever catches panics");
    // The key is released by a spawned task; give it a moment.
    let key = RecordKey { scope: "u".into(), key: IdempotencyKey::parse(b"k").unwrap() };
    let fp = Fingerprint::of(&http::Method::POST, "/things", b"a");
    let mut freed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if let Reserve::Proceed(r) = store
            .reserve(&key, &Terms { fingerprint: fp, lease: Duration::from_secs(5), ttl: Duration::from_secs(60) })
            .await
            .unwrap()
        {
            store.release(r).await.unwrap();
            freed = true;
            break;
        }
    }
    assert!(freed, "a panicking request must not keep its key");
}

#[tokio::test]
async fn required_and_malformed_keys() {
    let runs = Arc::new(AtomicUsize::new(0));
    let svc = layer(Arc::new(MemoryStore::default()), Rule::Require).layer(counting(runs.clone(), 201, Duration::ZERO));
    assert_eq!(send(&svc, req(None, "u", "a")).await.2, "MissingKey");
    assert_eq!(send(&svc, req(Some("\"open"), "u", "a")).await.0, 400);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let ignoring =
        layer(Arc::new(MemoryStore::default()), Rule::Ignore).layer(counting(runs.clone(), 201, Duration::ZERO));
    assert_eq!(send(&ignoring, req(Some("\"open"), "u", "a")).await.0, 201, "ignored keys are not even parsed");
}

/// 100 concurrent requests with one key against a slow handler: one runs.
async fn race(store: Arc<dyn Store>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let svc = layer(store, Rule::Honour).layer(counting(runs.clone(), 201, Duration::from_millis(200)));
    let key = format!("race-{}", uuid::Uuid::new_v4());
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let svc = svc.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move { send(&svc, req(Some(&key), "u", "a")).await }));
    }
    let mut executed = 0;
    for t in tasks {
        let (status, replay, body, _) = t.await.unwrap();
        match (status, replay) {
            (201, None) => executed += 1,
            (201, Some(_)) => assert_eq!(body, "run 1"),
            (409, None) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(executed, 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_execution_under_a_race_memory() {
    race(Arc::new(MemoryStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_execution_under_a_race_redis() {
    let Some(url) = agora_test_support::redis_url() else { return };
    let client = redis::Client::open(url).unwrap();
    let conn = redis::aio::ConnectionManager::new(client).await.unwrap();
    race(Arc::new(agora_idempotency::RedisStore::new(conn.clone(), "agora-test"))).await;

    // The Redis store's own steps: replay, mismatch, a lost reservation.
    let store = agora_idempotency::RedisStore::new(conn, "agora-test");
    let key = RecordKey {
        scope: "u".into(),
        key: IdempotencyKey::parse(uuid::Uuid::new_v4().to_string().as_bytes()).unwrap(),
    };
    let fp = Fingerprint::of(&http::Method::POST, "/x", b"1");
    let ttl = Duration::from_secs(60);
    let Reserve::Proceed(old) =
        store.reserve(&key, &Terms { fingerprint: fp, lease: Duration::ZERO, ttl }).await.unwrap()
    else {
        panic!()
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    let Reserve::Proceed(new) =
        store.reserve(&key, &Terms { fingerprint: fp, lease: Duration::from_secs(5), ttl }).await.unwrap()
    else {
        panic!("a lapsed lease is taken over")
    };
    let resp = StoredResponse {
        status: 201,
        headers: vec![("location".into(), "/x/1".into())],
        body: Bytes::from_static(b"\x00bin\xff"),
    };
    assert!(store.complete(old, &resp, ttl).await.is_err(), "the old holder lost the key");
    store.complete(new, &resp, ttl).await.unwrap();
    assert!(
        matches!(store.reserve(&key, &Terms { fingerprint: fp, lease: Duration::from_secs(5), ttl }).await.unwrap(), Reserve::Replay(r) if r == resp)
    );
    let other = Fingerprint::of(&http::Method::POST, "/x", b"2");
    assert!(matches!(
        store.reserve(&key, &Terms { fingerprint: other, lease: Duration::from_secs(5), ttl }).await.unwrap(),
        Reserve::Mismatch
    ));
}
