//! Rate limiting through the real server: `App::build` + `App::serve` on loopback sockets (so
//! per-IP keys come from `ConnectInfo`), driven by a minimal HTTP/1.1 client.
//!
//! * headers and the 429 envelope; uncovered routes carry no headers; rejected requests
//!   consume no quota (memory backend)
//! * the built-in defaults (anonymous 100 / 60 s per IP)
//! * each of the five algorithms admits exactly `limit` of a burst (memory backend)
//! * three instances sharing one Redis admit exactly 100 of 500 concurrent requests, for each
//!   algorithm (needs `AGORA_TEST_REDIS_URL`; see `IN_FLIGHT` for loaded machines)
//! * Redis stopped mid-run: `allow` falls back, `deny` answers 503, limiting through Redis
//!   resumes after a restart (starts its own `redis-server`; same gate)
//! * the server starts while Redis is down (not ready, sessions unavailable) and uses Redis
//!   once it is up
//! * `X-Forwarded-For` is believed only from `trusted_proxies`
//!
//! Without `AGORA_TEST_REDIS_URL` the Redis tests print `skipped: AGORA_TEST_REDIS_URL not set`
//! and pass, unless `CI=true`, where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agora_server::config::{PolicyConfig, RateLimitConfig};
use agora_server::{App, Config};
use agora_test_support::redis::{RedisServer, can_spawn_redis, free_port};
use agora_test_support::{redis_url, unique};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;

const ALGORITHMS: [&str; 5] =
    ["fixed_window", "sliding_window_log", "sliding_window_counter", "token_bucket", "leaky_bucket"];
const RATE_LIMIT_HEADERS: [&str; 7] = [
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-reset-after",
    "ratelimit-policy",
    "ratelimit",
    "retry-after",
];
const REDIS_CLI: &str = "/usr/bin/redis-cli";
/// Requests in flight at once in successive attempts of the shared-Redis burst. An attempt in
/// which a Redis call exceeded the store's 250 ms command timeout (a debug build on a loaded
/// machine can take longer than that to serve 500 simultaneous requests) is repeated, with
/// less concurrency after the first two.
const IN_FLIGHT: [usize; 5] = [500, 500, 250, 100, 50];
/// Serializes the Redis tests, whose instances must answer Redis within the store's 250 ms
/// command timeout: they should not compete for the CPU with each other.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// Long enough that no window rolls over and no bucket refills during a test (aligned
/// windows end every ~11.6 days).
const LONG: Duration = Duration::from_secs(1_000_000);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn policy(name: &str, algorithm: &str, limit: u64, window: Duration, routes: &[&str]) -> PolicyConfig {
    PolicyConfig {
        name: name.to_string(),
        algorithm: algorithm.to_string(),
        limit,
        window,
        key: "ip".into(),
        principals: "any".into(),
        routes: routes.iter().map(|r| r.to_string()).collect(),
        per_route: false,
    }
}

fn memory(policies: Vec<PolicyConfig>) -> RateLimitConfig {
    RateLimitConfig { policy: policies, ..RateLimitConfig::default() }
}

fn redis(on_backend_error: &str, policies: Vec<PolicyConfig>) -> RateLimitConfig {
    RateLimitConfig {
        backend: "redis".into(),
        on_backend_error: on_backend_error.into(),
        policy: policies,
        ..RateLimitConfig::default()
    }
}

/// A running server on a loopback port with its own SQLite file; stopped and removed on drop.
struct Server {
    addr: SocketAddr,
    dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    async fn start(rate_limit: RateLimitConfig) -> Server {
        Self::start_with(rate_limit, |_| {}).await
    }

    async fn start_with(rate_limit: RateLimitConfig, tweak: impl FnOnce(&mut Config)) -> Server {
        Self::start_on("127.0.0.1:0", rate_limit, tweak).await
    }

    /// Like [`Server::start_with`], listening on `bind` (e.g. `"[::]:0"` for dual stack).
    async fn start_on(bind: &'static str, rate_limit: RateLimitConfig, tweak: impl FnOnce(&mut Config)) -> Server {
        let dir = std::env::temp_dir().join(unique("agora-rl-srv"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cfg = Config {
            database_url: format!("sqlite://{}", dir.join("agora.db").display()),
            shutdown_grace: Duration::from_millis(100),
            rate_limit,
            ..Config::default()
        };
        cfg.auth.jwt_secret = "test".into();
        cfg.auth.argon2_memory_kib = 64;
        cfg.auth.argon2_iterations = 1;
        tweak(&mut cfg);
        cfg.validate().unwrap();
        // Warnings (e.g. Redis timeouts) are shown with a failing test's output.
        let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
        // Each instance runs on its own runtime (its own threads), like a separate process:
        // its Redis connection task is not queued behind the test client's hundreds of tasks.
        let (ready_tx, ready_rx) = oneshot::channel::<SocketAddr>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let app = App::build(cfg).await.unwrap();
                let listener = TcpListener::bind(bind).await.unwrap();
                let _ = ready_tx.send(listener.local_addr().unwrap());
                let _ = app
                    .serve(listener, async move {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addr = ready_rx.await.expect("the server failed to start (see the panic above)");
        Server { addr, dir, stop: Some(stop_tx) }
    }

    async fn get(&self, path: &str) -> Resp {
        get(self.addr, path, &[]).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A parsed HTTP response.
struct Resp {
    status: u16,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resp")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn num(&self, name: &str) -> u64 {
        let v = self.header(name).unwrap_or_else(|| panic!("missing header {name}: {self:?}"));
        v.parse().unwrap_or_else(|_| panic!("header {name} is not a number: {v:?}"))
    }

    fn remaining(&self) -> u64 {
        self.num("x-ratelimit-remaining")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// `(r, t)` of `policy` in the `RateLimit` header (`"name";r=4;t=60, ...`).
    fn ratelimit_of(&self, policy: &str) -> (u64, u64) {
        let h = self.header("ratelimit").unwrap_or_else(|| panic!("no RateLimit header: {self:?}"));
        let quoted = format!("\"{policy}\"");
        let item = h
            .split(", ")
            .find(|item| item.split(';').next() == Some(quoted.as_str()))
            .unwrap_or_else(|| panic!("policy {policy} not in RateLimit: {h}"));
        let param = |k: &str| -> u64 {
            item.split(';')
                .find_map(|p| p.strip_prefix(k))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {k} in {item}"))
        };
        (param("r="), param("t="))
    }

    fn assert_no_rate_limit_headers(&self) {
        for h in RATE_LIMIT_HEADERS {
            assert!(self.header(h).is_none(), "unexpected {h} on an uncovered route: {self:?}");
        }
    }
}

/// One `GET` on a fresh connection (`Connection: close`), with optional extra headers.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Resp {
    get_from([127, 0, 0, 1], addr, path, headers).await
}

/// Like [`get`], from another loopback source address (another client IP for the server).
async fn get_from(source: [u8; 4], addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Resp {
    let stream = connect_from(source, addr).await;
    send_get(stream, addr, path, headers).await
}

async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Sends one `GET` on `stream` and reads the response until the server closes.
async fn send_get(stream: TcpStream, addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Resp {
    send(stream, addr, "GET", path, headers).await
}

/// One `HEAD` on a fresh connection.
async fn head(addr: SocketAddr, path: &str) -> Resp {
    send(connect_from([127, 0, 0, 1], addr).await, addr, "HEAD", path, &[]).await
}

/// Sends one bodiless request on `stream` and reads the response until the server closes.
async fn send(mut stream: TcpStream, addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    // A guard against a hung server, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut buf))
        .await
        .expect("no response within 60 s")
        .unwrap();
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Resp {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("complete response head");
    let head = std::str::from_utf8(&buf[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let raw = &buf[end + 4..];
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Resp { status, headers, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size_line = std::str::from_utf8(&raw[..eol]).unwrap();
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16).expect("chunk size");
        raw = &raw[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Checks the 429 envelope; returns its `retry_after`.
fn assert_rate_limited(r: &Resp, policy: &str) -> u64 {
    assert_eq!(r.status, 429, "{r:?}");
    let retry_after = r.num("retry-after");
    assert!(retry_after >= 1, "Retry-After must be at least 1: {r:?}");
    let body = r.json();
    assert_eq!(body["success"], Value::Bool(false), "{body}");
    assert_eq!(body["error"]["code"], "RATE_LIMIT_EXCEEDED", "{body}");
    assert_eq!(body["error"]["policy"], policy, "{body}");
    assert_eq!(body["error"]["retry_after"].as_u64(), Some(retry_after), "body and Retry-After agree: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    let request_id = r.header("x-request-id").expect("X-Request-ID");
    assert_eq!(body["meta"]["request_id"], request_id, "{body}");
    retry_after
}

// ---------------------------------------------------------------------------------------------
// 1. Headers and the 429 envelope (memory backend)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_count_down_and_the_sixth_request_gets_the_429_envelope() {
    let name = "users-5-per-minute";
    let s = Server::start(memory(vec![policy(
        name,
        "sliding_window_log",
        5,
        Duration::from_secs(60),
        &["GET /v*/users*"],
    )]))
    .await;

    for expected in (0..5u64).rev() {
        let before = now_unix();
        let r = s.get("/v2/users").await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.num("x-ratelimit-limit"), 5);
        assert_eq!(r.remaining(), expected, "{r:?}");
        let reset_after = r.num("x-ratelimit-reset-after");
        assert!((1..=60).contains(&reset_after), "{r:?}");
        let reset = r.num("x-ratelimit-reset");
        assert!(reset > before, "X-RateLimit-Reset must be in the future: {reset} vs now {before}");
        assert!(reset <= now_unix() + 60, "X-RateLimit-Reset at most one window away: {r:?}");
        assert_eq!(r.header("ratelimit-policy"), Some(format!("\"{name}\";q=5;w=60").as_str()));
        let (rem, t) = r.ratelimit_of(name);
        assert_eq!(rem, expected);
        assert!((1..=60).contains(&t), "{r:?}");
        assert!(r.header("retry-after").is_none(), "no Retry-After on an admitted request: {r:?}");
    }

    // The sixth: 429 in the envelope, with the headers; the client's request id is echoed.
    let r = get(s.addr, "/v2/users", &[("X-Request-ID", "rl-test-6th")]).await;
    let retry_after = assert_rate_limited(&r, name);
    assert!(retry_after <= 60, "{r:?}");
    assert_eq!(r.header("x-request-id"), Some("rl-test-6th"));
    assert_eq!(r.num("x-ratelimit-limit"), 5);
    assert_eq!(r.remaining(), 0);
    assert_eq!(r.ratelimit_of(name).0, 0);
    assert!(r.header("ratelimit-policy").is_some());
    // The v1 spelling of the route is covered too (same counter).
    assert_rate_limited(&s.get("/v1/users").await, name);

    // Routes the policy does not cover carry no rate-limit headers and are not limited.
    for path in ["/healthz", "/v2/products", "/v1/products"] {
        let r = s.get(path).await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
        r.assert_no_rate_limit_headers();
    }
}

/// The value of `agora_http_requests_total` for one method, route and status (0 if absent).
async fn requests_total(s: &Server, method: &str, route: &str, status: u16) -> u64 {
    let text = String::from_utf8(s.get("/metrics").await.body).unwrap();
    let labels = format!(r#"method="{method}",route="{route}",status="{status}""#);
    text.lines()
        .filter(|l| l.starts_with("agora_http_requests_total{"))
        .find(|l| {
            // The exporter may order labels differently: compare them as a set.
            // (The route itself holds braces: the label list ends at the last one.)
            let inner = l.split_once('{').and_then(|(_, r)| r.rsplit_once('}')).map_or("", |(i, _)| i);
            let mut got: Vec<&str> = inner.split(',').collect();
            let mut want: Vec<&str> = labels.split(',').collect();
            got.sort_unstable();
            want.sort_unstable();
            got == want
        })
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0, |v| v.parse::<f64>().unwrap() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_given_before_routing_are_counted_under_their_route() {
    // A request refused by the rate limiter, or turned away for its credentials, never reaches
    // the router, which labels every other response with its route.
    let s = Server::start(memory(vec![policy("one-post", "fixed_window", 1, LONG, &["GET /v*/posts/*"])])).await;
    let route = "/v2/posts/{id}";
    let before_429 = requests_total(&s, "GET", route, 429).await;
    let before_401 = requests_total(&s, "GET", "/v2/users/{id}", 401).await;
    let first = s.get("/v2/posts/1").await;
    assert_eq!(first.status, 404, "admitted, and no such post: {first:?}");
    for id in [1, 2, 3] {
        assert_rate_limited(&s.get(&format!("/v2/posts/{id}")).await, "one-post");
    }
    // (A route the policy does not cover: a request with bad credentials is counted too.)
    let r = get(s.addr, "/v2/users/4", &[("Authorization", "Bearer not-a-token")]).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(requests_total(&s, "GET", route, 429).await, before_429 + 3);
    assert_eq!(requests_total(&s, "GET", "/v2/users/{id}", 401).await, before_401 + 1);
    assert!(requests_total(&s, "GET", route, 404).await >= 1);
    // A path no route serves stays `unmatched`. (Other tests may add to that series
    // meanwhile.)
    let before = requests_total(&s, "GET", "unmatched", 404).await;
    assert_eq!(s.get("/v2/nothing-here").await.status, 404);
    assert!(requests_total(&s, "GET", "unmatched", 404).await > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_bad_credentials_count_against_the_anonymous_quota() {
    let anonymous = PolicyConfig {
        principals: "anonymous".into(),
        ..policy("anon", "sliding_window_log", 3, LONG, &["GET /v*/users*"])
    };
    let s = Server::start(memory(vec![anonymous])).await;
    let token = token_for(s.addr, "rl-bad-credentials@example.com").await;
    // Turned away for their credentials, and counted as the anonymous client they are.
    for (expected, credential) in [
        (2, ("Authorization", "Bearer not-a-token")),
        (1, ("X-API-Key", "agora_nope")),
        (0, ("Authorization", "Nope x")),
    ] {
        let r = get(s.addr, "/v2/users", &[credential]).await;
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(r.json()["error"]["code"], "UNAUTHENTICATED", "{r:?}");
        assert!(r.header("www-authenticate").is_some(), "{r:?}");
        assert_eq!(r.remaining(), expected, "{r:?}");
    }
    // The quota is spent: more bad credentials, and plain anonymous requests, get 429.
    assert_rate_limited(&get(s.addr, "/v2/users", &[("Authorization", "Bearer still-not-a-token")]).await, "anon");
    assert_rate_limited(&s.get("/v2/users").await, "anon");
    // A caller with good credentials is not anonymous: this policy does not cover it.
    let r = get(s.addr, "/v2/users", &[("Authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.assert_no_rate_limit_headers();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_request_consumes_no_quota_from_the_other_policies() {
    let s = Server::start(memory(vec![
        policy("tight", "sliding_window_log", 3, Duration::from_secs(60), &["GET /v*/users*"]),
        policy("loose", "sliding_window_log", 10, Duration::from_secs(60), &["GET /v*/users*"]),
    ]))
    .await;
    for i in 1..=3u64 {
        let r = s.get("/v2/users").await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.ratelimit_of("tight").0, 3 - i);
        assert_eq!(r.ratelimit_of("loose").0, 10 - i);
        assert_eq!(
            r.header("ratelimit-policy"),
            Some("\"tight\";q=3;w=60, \"loose\";q=10;w=60"),
            "every applicable policy is listed"
        );
        // "tight" is closest to its limit: it is the one in the X-RateLimit-* headers.
        assert_eq!(r.num("x-ratelimit-limit"), 3);
    }
    for _ in 0..5 {
        let r = s.get("/v2/users").await;
        assert_rate_limited(&r, "tight");
        assert_eq!(r.ratelimit_of("tight").0, 0);
        assert_eq!(r.ratelimit_of("loose").0, 7, "a request that `tight` denied must not be charged to `loose`");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Defaults with no policy configured
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_admit_100_anonymous_requests_per_minute_per_ip() {
    let s = Server::start(RateLimitConfig::default()).await;
    for i in 1..=100u64 {
        let r = s.get("/v2/users").await;
        assert_eq!(r.status, 200, "request {i}: {r:?}");
        assert_eq!(r.num("x-ratelimit-limit"), 100);
        assert_eq!(r.remaining(), 100 - i);
    }
    let r = s.get("/v2/users").await;
    assert_rate_limited(&r, "anonymous");
    assert_eq!(r.header("ratelimit-policy"), Some("\"anonymous\";q=100;w=60"));
    // Keyed by IP for every route: another anonymous route is limited too.
    assert_rate_limited(&s.get("/v2/products").await, "anonymous");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dual_stack_listener_sees_ipv4_clients_as_ipv4() {
    let policies = vec![policy("per-ip", "fixed_window", 2, LONG, &["GET /v*/users*"])];
    // Trusted as an IPv4 address; over the dual-stack listener it arrives as ::ffff:127.0.0.1.
    let s = Server::start_on("[::]:0", memory(policies), |c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let port = s.addr.port();
    let v4 = SocketAddr::from(([127, 0, 0, 1], port));
    let relayed = [("X-Forwarded-For", "203.0.113.7")];
    assert_eq!(get(v4, "/v2/users", &relayed).await.remaining(), 1, "the proxy is trusted");
    assert_eq!(get(v4, "/v2/users", &[("X-Forwarded-For", "203.0.113.8")]).await.remaining(), 1);
    assert_eq!(get(v4, "/v2/users", &relayed).await.remaining(), 0);
    // An IPv6 client (::1, not trusted) has a counter of its own and cannot forward.
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    let stream = TcpStream::connect(v6).await.unwrap();
    let r = send_get(stream, v6, "/v2/users", &relayed).await;
    assert_eq!((r.status, r.remaining()), (200, 1), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_route_counters_count_by_route_template() {
    let per_route = PolicyConfig { per_route: true, ..policy("route", "fixed_window", 2, LONG, &["GET /v2/*"]) };
    let s = Server::start(memory(vec![per_route])).await;
    let status = |r: &Resp| r.status;
    // Two ids, one route: one counter.
    assert_eq!(s.get("/v2/users/1").await.remaining(), 1);
    assert_eq!(s.get("/v2/users/2").await.remaining(), 0);
    assert_rate_limited(&s.get("/v2/users/3").await, "route");
    // Another route has its own.
    let r = s.get("/v2/users").await;
    assert_eq!((status(&r), r.remaining()), (200, 1), "{r:?}");
    let r = s.get("/v2/products").await;
    assert_eq!((status(&r), r.remaining()), (200, 1), "{r:?}");
    // Paths the server does not serve cannot mint counters: they share one.
    assert_eq!(s.get("/v2/nothing-1").await.remaining(), 1);
    assert_eq!(s.get("/v2/nothing-2").await.remaining(), 0);
    assert_rate_limited(&s.get("/v2/nothing-3").await, "route");
    // HEAD shares GET's counter: it is GET without the body, served by the same handler.
    let r = head(s.addr, "/v2/products/1").await;
    assert_eq!(r.remaining(), 1, "{r:?}");
    assert_eq!(s.get("/v2/products/2").await.remaining(), 0);
    let r = head(s.addr, "/v2/products/3").await;
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.body.is_empty(), "no body on HEAD: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_policy_covers_head_requests() {
    let s = Server::start(memory(vec![policy("reads", "sliding_window_log", 2, LONG, &["GET /v*/users*"])])).await;
    let r = head(s.addr, "/v2/users").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.num("x-ratelimit-limit"), 2);
    assert_eq!(r.remaining(), 1, "{r:?}");
    assert_eq!(s.get("/v2/users").await.remaining(), 0);
    // Over the limit, HEAD is refused like GET: otherwise it would go on costing the server a
    // query per request, and telling the client each resource's status and ETag.
    let r = head(s.addr, "/v2/users/1").await;
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some(), "{r:?}");
    assert_rate_limited(&s.get("/v2/users").await, "reads");
    // Other methods do not borrow GET's patterns.
    let r = send(connect_from([127, 0, 0, 1], s.addr).await, s.addr, "OPTIONS", "/v2/users", &[]).await;
    r.assert_no_rate_limit_headers();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_metrics_and_docs_are_never_limited_by_wildcards() {
    let s = Server::start(RateLimitConfig::default()).await;
    // Probes take no quota...
    for _ in 0..120 {
        for path in ["/healthz", "/metrics"] {
            let r = s.get(path).await;
            assert_eq!(r.status, 200, "{path}: {r:?}");
            r.assert_no_rate_limit_headers();
        }
    }
    let r = s.get("/v2/users").await;
    assert_eq!(r.remaining(), 99, "{r:?}");
    // ...and are answered when the caller's quota is gone.
    for _ in 0..99 {
        assert_eq!(s.get("/v2/users").await.status, 200);
    }
    assert_rate_limited(&s.get("/v2/users").await, "anonymous");
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = s.get(path).await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
        r.assert_no_rate_limit_headers();
    }
    // So is the documentation: a reader who spent the quota can still read how to use it.
    for path in ["/docs/", "/docs/swagger-ui.css", "/openapi.json", "/v2/openapi.json"] {
        let r = s.get(path).await;
        assert_eq!(r.status, 200, "{path}: status {}", r.status);
        r.assert_no_rate_limit_headers();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_names_an_operational_path_limits_it() {
    let s =
        Server::start(memory(vec![policy("scrape", "fixed_window", 2, Duration::from_secs(60), &["GET /metrics"])]))
            .await;
    for i in 1..=2u64 {
        let r = s.get("/metrics").await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.remaining(), 2 - i);
    }
    assert_rate_limited(&s.get("/metrics").await, "scrape");
    s.get("/healthz").await.assert_no_rate_limit_headers();
}

/// Sends one JSON `POST` and reads the response until the server closes.
async fn post_json(addr: SocketAddr, path: &str, body: &str) -> Resp {
    let mut stream = connect_from([127, 0, 0, 1], addr).await;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut buf)).await.expect("no response").unwrap();
    parse_response(&buf)
}

/// Signs up and logs in; returns a bearer token.
async fn token_for(addr: SocketAddr, email: &str) -> String {
    let signup = format!(r#"{{"name":"Rate","email":"{email}","password":"password123"}}"#);
    assert_eq!(post_json(addr, "/v2/users", &signup).await.status, 201);
    let login = format!(r#"{{"grant_type":"password","email":"{email}","password":"password123"}}"#);
    let r = post_json(addr, "/v2/auth/token", &login).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.json()["data"]["access_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_give_authenticated_callers_1000_per_minute_each() {
    let s = Server::start(RateLimitConfig::default()).await;
    let (a, b) = (token_for(s.addr, "rl-a@example.com").await, token_for(s.addr, "rl-b@example.com").await);
    let (auth_a, auth_b) = (format!("Bearer {a}"), format!("Bearer {b}"));
    // Same IP, two principals: each has its own counter under the `authenticated` policy, and
    // the anonymous per-IP policy does not apply to them.
    for i in 1..=3u64 {
        let r = get(s.addr, "/v2/users", &[("Authorization", auth_a.as_str())]).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.num("x-ratelimit-limit"), 1000);
        assert_eq!(r.remaining(), 1000 - i);
        assert_eq!(r.header("ratelimit-policy"), Some("\"authenticated\";q=1000;w=60"));
    }
    let r = get(s.addr, "/v2/users", &[("Authorization", auth_b.as_str())]).await;
    assert_eq!(r.remaining(), 999, "user B has a counter of its own");
    // Anonymous requests from the same IP are counted separately under `anonymous`.
    let r = s.get("/v2/users").await;
    assert_eq!(r.num("x-ratelimit-limit"), 100);
    assert_eq!(r.header("ratelimit-policy"), Some("\"anonymous\";q=100;w=60"));
}

// ---------------------------------------------------------------------------------------------
// 3. Each algorithm through HTTP (memory backend)
// ---------------------------------------------------------------------------------------------

/// `(admitted, rejected, other statuses)` of `n` requests spread round-robin over `servers`,
/// at most `in_flight` at a time. The `n` connections are opened first, then the requests are
/// released together (all of them at once when `in_flight >= n`).
async fn burst(servers: &[&Server], path: &str, n: usize, in_flight: usize, policy: &str) -> (usize, usize, Vec<u16>) {
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let addr = addrs[i % addrs.len()];
        let path = path.to_string();
        let (barrier, gate) = (barrier.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let stream = connect_from([127, 0, 0, 1], addr).await;
            barrier.wait().await;
            let _permit = gate.acquire().await.unwrap();
            send_get(stream, addr, &path, &[]).await
        }));
    }
    let (mut admitted, mut rejected, mut other) = (0, 0, Vec::new());
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => admitted += 1,
            429 => {
                assert_rate_limited(&r, policy);
                rejected += 1;
            }
            s => other.push(s),
        }
    }
    (admitted, rejected, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_algorithm_admits_exactly_the_limit_of_a_burst() {
    const LIMIT: u64 = 5;
    for algorithm in ALGORITHMS {
        let name = format!("burst-{algorithm}");
        let s = Server::start(memory(vec![policy(&name, algorithm, LIMIT, LONG, &["GET /v*/users*"])])).await;
        let n = LIMIT as usize + 5;
        let counts = burst(&[&s], "/v2/users", n, n, &name).await;
        assert_eq!(counts, (LIMIT as usize, 5, vec![]), "{algorithm}: (admitted, rejected, other statuses)");
        // Still exhausted afterwards, and the headers say so.
        let r = s.get("/v2/users").await;
        assert_rate_limited(&r, &name);
        assert_eq!(r.remaining(), 0, "{algorithm}");
        assert_eq!(r.num("x-ratelimit-limit"), LIMIT, "{algorithm}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Three instances sharing one Redis
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_sharing_redis_admit_exactly_100_of_500() {
    let Some(url) = redis_url() else { return };
    let _exclusive = HEAVY.lock().await;
    for algorithm in ALGORITHMS {
        let mut exact = false;
        for (attempt, in_flight) in IN_FLIGHT.into_iter().enumerate() {
            let name = unique(&format!("shared-{algorithm}"));
            let _cleanup = DeleteOnDrop { url: url.clone(), pattern: format!("rl:*:{name}:*") };
            // `deny`: a Redis call that fails or times out shows up as a 503 here, instead of
            // as silent over-admission by the per-process fallback (tested separately).
            let mut rl = redis("deny", vec![policy(&name, algorithm, 100, LONG, &["GET /v*/users*"])]);
            // A debug build answering 500 requests at once on a small machine can take longer
            // than the production default of 250 ms per decision; that is not what this test is
            // about, so give Redis calls room.
            rl.redis_timeout = std::time::Duration::from_secs(5);
            let mut servers = Vec::new();
            for _ in 0..3 {
                let url = url.clone();
                servers.push(Server::start_with(rl.clone(), move |c| c.redis_url = url).await);
            }
            // Warm up each instance's lazy Redis connection (and the script cache) from another
            // client address, so that the burst does not start with 500 requests racing to
            // connect, and 127.0.0.1's quota stays untouched.
            let mut warm = Vec::new();
            for s in &servers {
                warm.push(get_from([127, 0, 0, 2], s.addr, "/v2/users", &[]).await);
            }
            let refs: Vec<&Server> = servers.iter().collect();
            let (admitted, rejected, other) = burst(&refs, "/v2/users", 500, in_flight, &name).await;
            // Whatever the machine's load: never more than the limit, and every answer is
            // 200, 429 (checked in `burst`) or 503 (Redis unavailable).
            assert!(admitted <= 100, "{algorithm}: {admitted} admitted over a shared limit of 100");
            assert!(other.iter().all(|&s| s == 503), "{algorithm}: unexpected statuses {other:?}");
            assert_eq!(admitted + rejected + other.len(), 500);
            let unavailable = other.len() + warm.iter().filter(|r| r.status == 503).count();
            if unavailable > 0 {
                // A Redis call exceeded the store's 250 ms command timeout (the instance then
                // skips Redis for 1 s, so one slow call answers 503 to many requests). That is
                // the machine's load, not the limiter; try again with a fresh policy.
                println!(
                    "{algorithm}, attempt {} ({in_flight} in flight): {unavailable} answers were 503 \
                     (a Redis call timed out); retrying",
                    attempt + 1
                );
                continue;
            }
            if in_flight < 500 {
                println!("{algorithm}: exact with {in_flight} requests in flight (Redis timed out with more)");
            }
            for (i, r) in warm.iter().enumerate() {
                assert_eq!(r.remaining(), 99 - i as u64, "warm-up: another client key, shared: {r:?}");
            }
            assert_eq!(
                (admitted, rejected),
                (100, 400),
                "{algorithm}: 500 requests ({in_flight} in flight) over 3 instances sharing Redis, limit 100"
            );
            // All three see the shared, exhausted quota.
            for s in &servers {
                let r = s.get("/v2/users").await;
                assert_rate_limited(&r, &name);
                assert_eq!(r.remaining(), 0);
            }
            exact = true;
            break;
        }
        assert!(exact, "{algorithm}: Redis calls timed out in every attempt (is the machine overloaded?)");
    }
}

/// Deletes this test's keys from the shared Redis (their TTL is as long as the policy window).
struct DeleteOnDrop {
    url: String,
    pattern: String,
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let run = |args: &[&str]| {
            Command::new(REDIS_CLI).args(["-u", &self.url]).args(args).stdin(Stdio::null()).output().ok()
        };
        let Some(out) = run(&["--scan", "--pattern", &self.pattern]) else { return };
        let keys = String::from_utf8_lossy(&out.stdout).into_owned();
        let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
        if !keys.is_empty() {
            let mut args = vec!["del"];
            args.extend(keys);
            let _ = run(&args);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Redis stopped mid-run
// ---------------------------------------------------------------------------------------------

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(REDIS_CLI)
        .args(["-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn zcard(port: u16, key: &str) -> u64 {
    let out = cli(port, &["zcard", key]);
    out.parse().unwrap_or_else(|_| panic!("zcard {key}: {out:?}"))
}

/// Polls `s` until one of its requests is decided by Redis again (the request's unit shows up
/// in the sorted set); returns that response.
/// Polls `s` until one of its requests is decided by Redis (the request's unit shows up in
/// the sorted set); returns that response and how many requests its in-process fallback
/// admitted meanwhile.
async fn until_served_by_redis(s: &Server, port: u16, key: &str) -> (Resp, u64) {
    let mut fallback_admitted = 0;
    for _ in 0..120 {
        let before = zcard(port, key);
        let r = s.get("/v2/users").await;
        if zcard(port, key) == before + 1 {
            return (r, fallback_admitted);
        }
        if r.status == 200 {
            fallback_admitted += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the instance is not served by Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_falls_back_or_denies_and_limiting_resumes_after_restart() {
    if !can_spawn_redis() {
        return;
    }
    let _exclusive = HEAVY.lock().await;
    const LIMIT: u64 = 20;
    let port = free_port();
    let mut redis_server = RedisServer::start(port);
    let url = format!("redis://127.0.0.1:{port}");
    let name = unique("failover");
    let key = format!("rl:{{ip:127.0.0.1}}:{name}:swl");
    let policies = vec![policy(&name, "sliding_window_log", LIMIT, LONG, &["GET /v*/users*"])];
    let start = |mode: &str| {
        let url = url.clone();
        Server::start_with(redis(mode, policies.clone()), move |c| c.redis_url = url)
    };
    let allow_a = start("allow").await;
    let allow_b = start("allow").await;
    let deny = start("deny").await;
    let all = [&allow_a, &allow_b, &deny];

    // Redis up: one shared counter. (Polled: the first call also connects, within the store's
    // 250 ms timeout; on a loaded machine that may fail once and be decided in process.)
    let mut fallback_used = [0u64; 3];
    for (i, s) in all.iter().enumerate() {
        let (r, fallback) = until_served_by_redis(s, port, &key).await;
        fallback_used[i] = fallback;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.remaining(), LIMIT - 1 - i as u64, "shared through Redis: {r:?}");
        assert_eq!(zcard(port, &key), i as u64 + 1);
    }

    // Redis down.
    redis_server.kill();
    // allow: served, with headers from the in-process fallback, which has its own counter
    // (Redis would have said 16, 15, 14).
    let a = LIMIT - fallback_used[0];
    for expected in [a - 1, a - 2, a - 3] {
        let r = allow_a.get("/v2/users").await;
        assert_eq!(r.status, 200, "allow mode serves while Redis is down: {r:?}");
        assert_eq!(r.num("x-ratelimit-limit"), LIMIT);
        assert_eq!(r.remaining(), expected, "decided in process: {r:?}");
        assert!(r.header("ratelimit").is_some() && r.header("ratelimit-policy").is_some(), "{r:?}");
    }
    // Per process: the other allow-mode instance has its own fallback counter.
    let r = allow_b.get("/v2/users").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.remaining(), LIMIT - fallback_used[1] - 1, "{r:?}");
    // deny: 503 in the envelope.
    for _ in 0..2 {
        let r = deny.get("/v2/users").await;
        assert_eq!(r.status, 503, "deny mode refuses while Redis is down: {r:?}");
        let body = r.json();
        assert_eq!(body["success"], Value::Bool(false), "{body}");
        assert_eq!(body["error"]["code"], "RATE_LIMITER_UNAVAILABLE", "{body}");
        assert_eq!(body["error"]["retry_after"], 1, "{body}");
        assert_eq!(r.header("retry-after"), Some("1"), "{r:?}");
        assert_eq!(body["meta"]["request_id"], r.header("x-request-id").unwrap(), "{body}");
    }
    // Routes no policy covers do not depend on Redis at all.
    let r = deny.get("/healthz").await;
    assert_eq!(r.status, 200);
    r.assert_no_rate_limit_headers();
    // Readiness names Redis as the missing dependency.
    for s in all {
        let r = s.get("/readyz").await;
        assert_eq!(r.status, 503, "{r:?}");
        let body = r.json();
        assert_eq!(body["error"]["code"], "NOT_READY", "{body}");
        assert_eq!(body["error"]["details"][0]["field"], "redis", "{body}");
        assert_eq!(body["error"]["details"].as_array().map(Vec::len), Some(1), "the database is fine: {body}");
    }

    // Redis back on the same port (empty: no persistence). Each instance returns to it.
    let _redis_server = RedisServer::start(port);
    for s in all {
        let (r, _) = until_served_by_redis(s, port, &key).await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    let used = zcard(port, &key);
    assert_eq!(used, 3, "exactly one Redis-decided request per instance so far");
    // Ready again once the connection is back (it reconnects on the next command).
    for s in all {
        let mut tries = 0;
        let r = loop {
            let r = s.get("/readyz").await;
            tries += 1;
            if r.status == 200 || tries == 50 {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["data"]["checks"], json!({"database": "ok", "redis": "ok"}), "{r:?}");
    }
    assert!(cli(port, &["--scan", "--pattern", &format!("rl:*{name}*")]).lines().any(|k| k == key));

    // The limit is shared again: alternating over the three instances, the remaining count
    // goes down by one per request, and exactly LIMIT - used more are admitted in total.
    let mut admitted = 0u64;
    for i in 0.. {
        let s = all[i % 3];
        let r = s.get("/v2/users").await;
        if r.status == 429 {
            assert_rate_limited(&r, &name);
            break;
        }
        assert_eq!(r.status, 200, "{r:?}");
        admitted += 1;
        assert_eq!(r.remaining(), LIMIT - used - admitted, "one counter across instances: {r:?}");
        assert!(admitted <= LIMIT, "the shared limit does not hold");
    }
    assert_eq!(admitted, LIMIT - used);
    assert_eq!(zcard(port, &key), LIMIT);
    for s in all {
        assert_rate_limited(&s.get("/v2/users").await, &name);
    }
}

/// The status of `/readyz`, polled until it is `want` (at most ~10 s).
async fn ready_status(s: &Server, want: u16) -> Resp {
    let mut last = s.get("/readyz").await;
    for _ in 0..100 {
        if last.status == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = s.get("/readyz").await;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_starts_while_redis_is_down_and_uses_it_once_it_is_up() {
    if !can_spawn_redis() {
        return;
    }
    let _exclusive = HEAVY.lock().await;
    // Nothing listens on this port yet.
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let name = unique("late");
    let key = format!("rl:{{ip:127.0.0.1}}:{name}:swl");
    let policies = vec![policy(&name, "sliding_window_log", 50, LONG, &["GET /v*/users*"])];
    // `start_with` unwraps `App::build`: before the session store connected lazily, this
    // failed after a five-second connection timeout.
    let s = Server::start_with(redis("allow", policies), move |c| c.redis_url = url).await;

    // Up, not ready: the probe names Redis.
    assert_eq!(s.get("/healthz").await.status, 200);
    let r = s.get("/readyz").await;
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.json()["error"]["details"][0]["field"], "redis", "{r:?}");
    // Requests are served, limited in process.
    let r = s.get("/v2/users").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.remaining(), 49, "{r:?}");
    // Sign-up needs only the database; a session needs Redis, and fails cleanly without it.
    let signup = r#"{"name":"Late","email":"late@example.com","password":"password123"}"#;
    assert_eq!(post_json(s.addr, "/v2/users", signup).await.status, 201);
    let login = r#"{"email":"late@example.com","password":"password123"}"#;
    let r = post_json(s.addr, "/v2/auth/session", login).await;
    assert_eq!(r.status, 500, "{r:?}");
    assert_eq!(r.json()["error"]["code"], "INTERNAL_ERROR", "{r:?}");
    assert!(!String::from_utf8_lossy(&r.body).to_ascii_lowercase().contains("redis"), "leaks internals: {r:?}");
    let r = get(s.addr, "/v2/users/me", &[("Cookie", "agora_session=0123456789abcdef0123456789abcdef")]).await;
    assert_eq!(r.status, 500, "a cookie cannot be checked: {r:?}");

    // Redis comes up: ready, the limiter decides through it, and sessions work.
    let _redis_server = RedisServer::start(port);
    let r = ready_status(&s, 200).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["data"]["checks"], json!({"database": "ok", "redis": "ok"}), "{r:?}");
    let (r, _) = until_served_by_redis(&s, port, &key).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = post_json(s.addr, "/v2/auth/session", login).await;
    assert_eq!(r.status, 201, "{r:?}");
    let cookie = r.header("set-cookie").and_then(|c| c.split(';').next()).unwrap().to_string();
    assert!(cookie.starts_with("agora_session="), "{cookie}");
    let me = get(s.addr, "/v2/users/me", &[("Cookie", cookie.as_str())]).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json()["data"]["email"], "late@example.com", "{me:?}");
}

// ---------------------------------------------------------------------------------------------
// 6. X-Forwarded-For and trusted proxies
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let policies = || vec![policy("per-ip", "sliding_window_log", 2, LONG, &["GET /v*/users*"])];
    let xff = |s: &Server, v: &'static str| {
        let addr = s.addr;
        async move { get(addr, "/v2/users", &[("X-Forwarded-For", v)]).await }
    };

    // The peer (127.0.0.1) is a trusted proxy: the client is the right-most untrusted hop.
    let trusted = Server::start_with(memory(policies()), |c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    assert_eq!(xff(&trusted, "203.0.113.7").await.remaining(), 1);
    assert_eq!(xff(&trusted, "203.0.113.8").await.remaining(), 1, "another client: another counter");
    assert_eq!(xff(&trusted, "203.0.113.7").await.remaining(), 0);
    assert_rate_limited(&xff(&trusted, "203.0.113.7").await, "per-ip");
    let r = xff(&trusted, "203.0.113.8").await;
    assert_eq!((r.status, r.remaining()), (200, 0));
    // A spoofed left-most hop does not help: the proxy appended the real client.
    assert_rate_limited(&xff(&trusted, "198.51.100.1, 203.0.113.7").await, "per-ip");
    // Nor does a forged line before the one the proxy added.
    let two_lines = [("X-Forwarded-For", "198.51.100.2"), ("X-Forwarded-For", "203.0.113.7")];
    assert_rate_limited(&get(trusted.addr, "/v2/users", &two_lines).await, "per-ip");
    // Without the header (or naming only trusted hops) the client is the peer itself.
    let r = trusted.get("/v2/users").await;
    assert_eq!((r.status, r.remaining()), (200, 1), "{r:?}");
    let r = xff(&trusted, "127.0.0.1").await;
    assert_eq!((r.status, r.remaining()), (200, 0), "the same client as a request without the header: {r:?}");

    // No trusted proxies: the header is ignored and every request counts against the peer.
    let untrusted = Server::start(memory(policies())).await;
    assert_eq!(xff(&untrusted, "203.0.113.7").await.remaining(), 1);
    assert_eq!(xff(&untrusted, "203.0.113.8").await.remaining(), 0, "same peer: same counter");
    assert_rate_limited(&xff(&untrusted, "203.0.113.9").await, "per-ip");
    assert_rate_limited(&untrusted.get("/v2/users").await, "per-ip");

    // A CIDR block trusts every proxy in it: two proxies of the block relay one client.
    let block = Server::start_with(memory(policies()), |c| c.trusted_proxies = vec!["127.0.0.0/8".into()]).await;
    assert_eq!(xff(&block, "203.0.113.7").await.remaining(), 1);
    let via_other_proxy =
        get_from([127, 0, 0, 2], block.addr, "/v2/users", &[("X-Forwarded-For", "203.0.113.7")]).await;
    assert_eq!((via_other_proxy.status, via_other_proxy.remaining()), (200, 0), "{via_other_proxy:?}");
    assert_eq!(xff(&block, "203.0.113.8").await.remaining(), 1, "another client: another counter");
}
