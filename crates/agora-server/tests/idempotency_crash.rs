//! Crash safety of idempotency keys with the database store: a server process is aborted at
//! each step boundary of a keyed `POST` (a test build's fault point, `AGORA_FAULT`), a fresh
//! process on the same database is sent the same request with the same key, and the database
//! must hold exactly one effect, with one resource id for every retry — for a post, for an
//! order (and the stock it takes) and for a charge that pays an order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agora_idempotency::fault;
use agora_test_support::raw_http::Conn;
use agora_test_support::{Engine, TEST_JWT_SECRET, TestApp, unique_email};
use serde_json::{Value, json};

/// A server process on `database_url`, aborting at `fault` if given.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    async fn start(database_url: &str, fault: Option<&str>, dir: &std::path::Path) -> Server {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let config = dir.join(format!("agora-{port}.toml"));
        // A short request timeout makes the lease (and so the wait for a crashed holder) short.
        std::fs::write(&config, "request_timeout = \"1s\"\n").unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_agora"));
        cmd.arg("--config")
            .arg(&config)
            .arg("serve")
            .env_remove("AGORA_CONFIG")
            .env("AGORA_LISTEN", addr.to_string())
            .env("AGORA_DATABASE_URL", database_url)
            .env("AGORA_JWT_SECRET", TEST_JWT_SECRET)
            .env("AGORA_RATE_LIMIT_ENABLED", "false")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match fault {
            Some(f) => cmd.env("AGORA_FAULT", f),
            None => cmd.env_remove("AGORA_FAULT"),
        };
        let child = cmd.spawn().expect("spawn agora");
        let server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut c) = Conn::connect(addr).await
                && c.roundtrip("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.is_ok_and(|r| r.status == 200)
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not start");
    }

    /// `POST path` with the key; `None` when the connection died (the process aborted).
    async fn post(&self, path: &str, token: &str, key: &str, body: &Value) -> Option<(u16, Option<String>, Value)> {
        let body = body.to_string();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut c = Conn::connect(self.addr).await.ok()?;
        let r = tokio::time::timeout(Duration::from_secs(30), c.roundtrip(&req)).await.ok()?.ok()?;
        Some((r.status, r.header("idempotency-replay").map(str::to_string), r.json()))
    }

    /// Waits for the process to end; whether it aborted (killed by a signal).
    fn wait_aborted(mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return !status.success() && status.code().is_none();
            }
            assert!(Instant::now() < deadline, "the process did not end");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a crashed request was doing.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    /// Writing a post.
    Post,
    /// Placing an order for 2 of a product with 5 in stock.
    Order,
    /// Paying a pending order with `tok_visa`.
    Charge,
}

/// The request of a scenario, set up on `app` for user `uid`, and what to probe its effects by.
struct Case {
    path: String,
    body: Value,
    probe: Probe,
}

/// Where a scenario's effects show.
enum Probe {
    /// Posts with this title.
    Post { marker: String },
    /// The user's orders, and the product's stock.
    Order { uid: i64, token: String, product: i64 },
    /// The user's succeeded charges, and the order's status.
    Charge { token: String, order: i64 },
}

impl Probe {
    /// `(effects, consistent)`: how many times the request took effect, and whether
    /// everything around it agrees (the stock, the order's status).
    async fn run(&self, app: &TestApp) -> (usize, bool) {
        match self {
            Probe::Post { marker } => {
                let res = app.get(&format!("/v1/posts?per_page=100&q={marker}")).send().await;
                res.assert_status(200);
                (res.items().iter().filter(|p| p["title"] == marker.as_str()).count(), true)
            }
            Probe::Order { uid, token, product } => {
                let orders = app.get(&format!("/v1/users/{uid}/orders?per_page=100")).bearer(token).send().await;
                let n = orders.items().len();
                let stock = app.get(&format!("/v2/products/{product}")).send().await.data()["stock"].as_i64();
                (n, stock == Some(5 - 2 * n as i64))
            }
            Probe::Charge { token, order } => {
                let charges = app.get("/v1/charges?per_page=100&status=succeeded").bearer(token).send().await;
                let n = charges.items().len();
                let status =
                    app.get(&format!("/v2/orders/{order}")).bearer(token).send().await.data()["status"].clone();
                (n, status == if n == 1 { "paid" } else { "pending" })
            }
        }
    }
}

async fn setup(app: &TestApp, scenario: Scenario, uid: i64, token: &str) -> Case {
    let marker = format!("crash{}", uuid::Uuid::new_v4().simple());
    let token = token.to_string();
    match scenario {
        Scenario::Post => {
            let body = json!({"title": marker, "content": "c"});
            Case { path: "/v2/posts".into(), body, probe: Probe::Post { marker } }
        }
        Scenario::Order => {
            let product =
                agora_test_support::create_product(app, &marker, "misc", 700, 5).await["id"].as_i64().unwrap();
            let body = json!({"items": [{"product_id": product, "quantity": 2}]});
            Case { path: format!("/v2/users/{uid}/orders"), body, probe: Probe::Order { uid, token, product } }
        }
        Scenario::Charge => {
            let product =
                agora_test_support::create_product(app, &marker, "misc", 700, 5).await["id"].as_i64().unwrap();
            let placed = app
                .post(&format!("/v2/users/{uid}/orders"))
                .bearer(&token)
                .header("Idempotency-Key", &marker)
                .json(&json!({"items": [{"product_id": product, "quantity": 2}]}))
                .send()
                .await;
            placed.assert_status(201);
            let order = placed.data()["id"].as_i64().unwrap();
            let body = json!({"amount": 1400, "currency": "usd", "source": "tok_visa", "order_id": order});
            Case { path: "/v2/charges".into(), body, probe: Probe::Charge { token, order } }
        }
    }
}

async fn crash_at(engine: Engine, scenario: Scenario, point: &str) {
    let Some(app) = TestApp::plain(engine).await else { return };
    let dir = std::env::temp_dir().join(format!("agora-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = app.state.config.database_url.clone();
    let (user, token) = app.signup_and_login(&unique_email("crash")).await;
    let case = setup(&app, scenario, user["id"].as_i64().unwrap(), &token).await;
    let key = format!("key-{}", uuid::Uuid::new_v4().simple());

    let doomed = Server::start(&url, Some(point), &dir).await;
    let answered = doomed.post(&case.path, &token, &key, &case.body).await;
    assert!(answered.is_none(), "the process must die at {point}, not answer {answered:?}");
    assert!(doomed.wait_aborted(), "aborted at {point}");
    // What the crash left: the write only if it committed with its record.
    let (left, consistent) = case.probe.run(&app).await;
    let committed = point == fault::COMPLETED;
    assert_eq!(
        left,
        usize::from(committed),
        "{scenario:?}: after a crash at {point}, the write is there only if committed"
    );
    assert!(consistent, "{scenario:?}: after a crash at {point}, stock and status agree with what was written");

    let fresh = Server::start(&url, None, &dir).await;
    // A crashed holder's lease must lapse first: until then the key is in progress.
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let (status, replay, body) =
            fresh.post(&case.path, &token, &key, &case.body).await.expect("the fresh server answers");
        if status != 409 {
            break (status, replay, body);
        }
        assert_eq!(body["error"]["code"], "REQUEST_IN_PROGRESS");
        assert!(Instant::now() < deadline, "the key stayed in progress");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(first.0, 201, "{first:?}");
    if point == fault::COMPLETED {
        assert_eq!(first.1.as_deref(), Some("true"), "committed before the crash: replayed");
    }
    let again = fresh.post(&case.path, &token, &key, &case.body).await.expect("answers");
    assert_eq!(again.0, 201);
    assert_eq!(again.1.as_deref(), Some("true"));
    assert_eq!(again.2["data"]["id"], first.2["data"]["id"], "one resource id for every retry");
    let (effects, consistent) = case.probe.run(&app).await;
    assert_eq!(effects, 1, "{scenario:?}: exactly one effect after a crash at {point}");
    assert!(consistent, "{scenario:?}: stock and status agree after the retry");
    drop(fresh);
    let _ = std::fs::remove_dir_all(dir);
}

macro_rules! crash_tests {
    ($($name:ident => $scenario:expr, $point:expr);* $(;)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crash_at(Engine::Sqlite, $scenario, $point).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crash_at(Engine::Postgres, $scenario, $point).await;
                }
            )*
        }
    };
}

crash_tests! {
    post_after_the_key_is_reserved => Scenario::Post, fault::RESERVED;
    post_after_the_write_before_the_commit => Scenario::Post, fault::EXECUTED;
    post_after_the_commit_before_the_response => Scenario::Post, fault::COMPLETED;
    order_after_the_key_is_reserved => Scenario::Order, fault::RESERVED;
    order_after_the_stock_is_taken_before_the_commit => Scenario::Order, fault::EXECUTED;
    order_after_the_commit_before_the_response => Scenario::Order, fault::COMPLETED;
    charge_after_the_key_is_reserved => Scenario::Charge, fault::RESERVED;
    charge_after_the_payment_before_the_commit => Scenario::Charge, fault::EXECUTED;
    charge_after_the_commit_before_the_response => Scenario::Charge, fault::COMPLETED;
}
