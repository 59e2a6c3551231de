//! Crash safety of idempotency keys with the database store: a server process is aborted at
//! each step boundary of a keyed `POST` (a test build's fault point, `AGORA_FAULT`), a fresh
//! process on the same database is sent the same request with the same key, and the database
//! must hold exactly one effect, with one resource id for every retry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agora_idempotency::fault;
use agora_test_support::raw_http::Conn;
use agora_test_support::{Engine, TEST_JWT_SECRET, TestApp, unique_email};
use serde_json::Value;

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

    /// `POST /v2/posts` with the key; `None` when the connection died (the process aborted).
    async fn post(&self, token: &str, key: &str, title: &str) -> Option<(u16, Option<String>, Value)> {
        let body = format!("{{\"title\":\"{title}\",\"content\":\"c\"}}");
        let req = format!(
            "POST /v2/posts HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n\
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

async fn posts_titled(app: &TestApp, title: &str) -> Vec<i64> {
    let res = app.get(&format!("/v1/posts?per_page=100&q={title}")).send().await;
    res.assert_status(200);
    res.items().iter().filter(|p| p["title"] == title).map(|p| p["id"].as_i64().unwrap()).collect()
}

async fn crash_at(engine: Engine, point: &str) {
    let Some(app) = TestApp::plain(engine).await else { return };
    let dir = std::env::temp_dir().join(format!("agora-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = app.state.config.database_url.clone();
    let (user, token) = app.signup_and_login(&unique_email("crash")).await;
    assert!(user["id"].is_i64());
    let title = format!("crash{}", uuid::Uuid::new_v4().simple());
    let key = format!("key-{title}");

    let doomed = Server::start(&url, Some(point), &dir).await;
    let answered = doomed.post(&token, &key, &title).await;
    assert!(answered.is_none(), "the process must die at {point}, not answer {answered:?}");
    assert!(doomed.wait_aborted(), "aborted at {point}");
    // What the crash left: the write only if it committed with its record.
    let left = posts_titled(&app, &title).await.len();
    let committed = point == fault::COMPLETED;
    assert_eq!(left, usize::from(committed), "after a crash at {point}, the write is there only if committed");

    let fresh = Server::start(&url, None, &dir).await;
    // A crashed holder's lease must lapse first: until then the key is in progress.
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let (status, replay, body) = fresh.post(&token, &key, &title).await.expect("the fresh server answers");
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
    let again = fresh.post(&token, &key, &title).await.expect("answers");
    assert_eq!(again.0, 201);
    assert_eq!(again.1.as_deref(), Some("true"));
    assert_eq!(again.2["data"]["id"], first.2["data"]["id"], "one resource id for every retry");
    let ids = posts_titled(&app, &title).await;
    assert_eq!(ids.len(), 1, "exactly one effect after a crash at {point}: {ids:?}");
    assert_eq!(Some(ids[0]), first.2["data"]["id"].as_i64());
    drop(fresh);
    let _ = std::fs::remove_dir_all(dir);
}

macro_rules! crash_tests {
    ($($name:ident => $point:expr),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crash_at(Engine::Sqlite, $point).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crash_at(Engine::Postgres, $point).await;
                }
            )*
        }
    };
}

crash_tests! {
    after_the_key_is_reserved => fault::RESERVED,
    after_the_write_before_the_commit => fault::EXECUTED,
    after_the_commit_before_the_response => fault::COMPLETED,
}
