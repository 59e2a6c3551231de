//! Over a real socket: `App::serve` answers HTTP/1.1, and graceful shutdown lets an in-flight
//! request finish before `serve` returns `Ok`.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::raw_http::Conn;
use crate::common::*;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Guards against hangs only; nothing asserts on elapsed time.
const HANG: Duration = Duration::from_secs(60);

struct Served {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    _cleanup: Cleanup,
}

async fn serve(app: TestApp) -> Served {
    let (app, cleanup) = app.into_parts();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.serve(listener, async move {
        let _ = rx.await;
    }));
    Served { addr, shutdown: Some(tx), task, _cleanup: cleanup }
}

db_test!(serves_requests_over_tcp, |app| async move {
    let mut s = serve(app).await;
    let mut conn = Conn::connect(s.addr).await.unwrap();
    // Keep-alive: two requests on one connection.
    let res = conn.roundtrip("GET /healthz HTTP/1.1\r\nHost: test\r\nX-Request-ID: sock-1\r\n\r\n").await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-request-id"), Some("sock-1"));
    assert_eq!(res.json()["meta"]["request_id"], json!("sock-1"));

    let body = r#"{"name":"Ada","email":"ada@example.com","password":"long enough"}"#;
    let req = format!(
        "POST /v2/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let res = conn.roundtrip(&req).await.unwrap();
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let uid = res.json()["data"]["id"].as_i64().unwrap();
    assert_eq!(res.header("location"), Some(format!("/v2/users/{uid}").as_str()));

    let res = conn
        .roundtrip(&format!("GET /users/{uid} HTTP/1.1\r\nHost: test\r\nAPI-Version: 1\r\nConnection: close\r\n\r\n"))
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("api-version"), Some("1"));
    assert!(res.header("deprecation").is_some());

    // An oversized declared body is refused before it is read.
    let mut conn = Conn::connect(s.addr).await.unwrap();
    let res = conn
        .roundtrip("POST /v2/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(res.status, 413);
    assert_eq!(res.json()["error"]["code"], json!("PAYLOAD_TOO_LARGE"));

    s.shutdown.take().unwrap().send(()).unwrap();
    tokio::time::timeout(HANG, &mut s.task).await.expect("serve returns after shutdown").unwrap().unwrap();
});

db_test!(graceful_shutdown_finishes_in_flight_requests, |app| async move {
    let mut s = serve(app).await;
    let mut conn = Conn::connect(s.addr).await.unwrap();
    // Make sure the connection is being served before anything else happens.
    let res = conn.roundtrip("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    assert_eq!(res.status, 200);

    // Start a request whose body we withhold. `Expect: 100-continue` makes the server tell us
    // when the handler starts reading the body, i.e. when the request is in flight.
    let body = r#"{"name":"Slow","email":"slow@example.com","password":"long enough"}"#;
    conn.write(
        format!(
            "POST /v2/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (interim, _) = tokio::time::timeout(HANG, conn.read_head()).await.unwrap().unwrap();
    assert_eq!(interim, 100);

    // Shut down while it is in flight.
    s.shutdown.take().unwrap().send(()).unwrap();
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(!s.task.is_finished(), "serve returned while a request was in flight");

    // The slow request still completes normally.
    let (first, rest) = body.split_at(10);
    conn.write(first.as_bytes()).await.unwrap();
    tokio::task::yield_now().await;
    conn.write(rest.as_bytes()).await.unwrap();
    let res = tokio::time::timeout(HANG, conn.read_response()).await.unwrap().unwrap();
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["data"]["name"], json!("Slow"));

    // serve() drains and returns Ok; afterwards nothing listens any more.
    let served = tokio::time::timeout(HANG, &mut s.task).await.expect("serve returns once drained");
    served.unwrap().unwrap();
    assert!(Conn::connect(s.addr).await.is_err(), "still accepting connections after shutdown");
});
