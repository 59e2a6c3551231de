//! The connection layer under abuse, over real sockets: half-sent requests and idle keep-alive
//! connections are closed after `header_read_timeout`, a trickled body is cut off by
//! `request_timeout`, at most `max_connections` are served at once, and a response to a body
//! that was never read says `Connection: close`.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::common::raw_http::Conn;
use crate::common::*;

/// Guards against hangs only.
const HANG: Duration = Duration::from_secs(30);

async fn limited(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| {
        c.header_read_timeout = Duration::from_millis(800);
        c.request_timeout = Duration::from_secs(2);
        c.max_connections = 3;
        c.body_limit_bytes = 1024;
    })
    .await
}

struct Served {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
    _cleanup: Cleanup,
}

async fn serve(app: TestApp) -> Served {
    let (app, cleanup) = app.into_parts();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async move {
        let _ = rx.await;
    }));
    Served { addr, _stop: tx, _cleanup: cleanup }
}

/// Reads until the peer closes; returns what arrived.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(HANG, stream.read_to_end(&mut out)).await.expect("the server closes the connection").ok();
    out
}

db_test!(half_sent_requests_and_idle_connections_are_closed, with = limited, |app| async move {
    let s = serve(app).await;
    // Slowloris: a request head that never ends.
    let mut half = TcpStream::connect(s.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ").await.unwrap();
    let got = read_to_close(&mut half).await;
    assert!(got.is_empty() || got.starts_with(b"HTTP/1.1 408"), "{}", String::from_utf8_lossy(&got));
    // An idle keep-alive connection, after a complete request.
    let mut conn = Conn::connect(s.addr).await.unwrap();
    conn.roundtrip("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap().status.eq(&200).then_some(()).unwrap();
    let err = tokio::time::timeout(HANG, conn.read_head()).await.expect("closed, not hung");
    assert!(err.is_err(), "an idle connection must be closed");
});

db_test!(a_trickled_body_is_cut_off, with = limited, |app| async move {
    let s = serve(app).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"POST /v2/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na")
        .await
        .unwrap();
    let got = String::from_utf8_lossy(&read_to_close(&mut stream).await).into_owned();
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("REQUEST_TIMEOUT") && got.to_ascii_lowercase().contains("x-request-id"), "{got}");
});

db_test!(connections_beyond_the_limit_wait_their_turn, with = limited, |app| async move {
    let s = serve(app).await;
    // Three connections take every slot (each served once, then held open).
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = Conn::connect(s.addr).await.unwrap();
        assert_eq!(c.roundtrip("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap().status, 200);
        held.push(c);
    }
    // A fourth is accepted by the kernel but not served while they are open...
    let mut fourth = Conn::connect(s.addr).await.unwrap();
    fourth.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), fourth.read_head()).await.is_err(),
        "served beyond the limit"
    );
    // ...and is once one of them closes (here: by the idle timeout).
    let res = tokio::time::timeout(HANG, fourth.read_response()).await.expect("served after a slot frees").unwrap();
    assert_eq!(res.status, 200);
});

db_test!(an_unread_body_closes_the_connection_and_says_so, with = limited, |app| async move {
    let s = serve(app).await;
    let body = "x".repeat(2048);
    for req in [
        // 415: refused before the body is read.
        format!(
            "POST /v2/users HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        // 413: over the (here 1 KiB) limit.
        format!(
            "POST /v2/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    ] {
        let mut conn = Conn::connect(s.addr).await.unwrap();
        let res = conn.roundtrip(&req).await.unwrap();
        assert!(res.status == 413 || res.status == 415, "{}", res.status);
        assert_eq!(res.header("connection"), Some("close"), "{}", res.status);
        assert!(res.json()["error"]["code"].is_string());
    }
    // A body that was read keeps the connection alive for the next request.
    let mut conn = Conn::connect(s.addr).await.unwrap();
    let bad = "{\"name\": 5}";
    let req = format!(
        "POST /v2/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{bad}",
        bad.len()
    );
    let res = conn.roundtrip(&req).await.unwrap();
    assert_eq!(res.status, 422);
    assert_eq!(res.header("connection"), None);
    assert_eq!(conn.roundtrip("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap().status, 200);
});

db_test!(oversized_request_heads_are_refused_by_the_protocol_layer, with = limited, |app| async move {
    // hyper answers these before a request exists, so they carry no envelope (OPERATIONS.md
    // says so); what matters is a prompt refusal and a closed connection, not a buffered head.
    let s = serve(app).await;
    let big_header = format!("GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: {}\r\n\r\n", "a".repeat(200 * 1024));
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: test\r\n{}\r\n",
        (0..120).map(|i| format!("X-H{i}: 1\r\n")).collect::<String>()
    );
    let long_uri = format!("GET /healthz?{} HTTP/1.1\r\nHost: test\r\n\r\n", "a".repeat(70 * 1024));
    for (req, status) in [(big_header, "431"), (many_headers, "431"), (long_uri, "414")] {
        let mut stream = TcpStream::connect(s.addr).await.unwrap();
        // The server may answer and close before it has read everything we send.
        let _ = stream.write_all(req.as_bytes()).await;
        let got = String::from_utf8_lossy(&read_to_close(&mut stream).await).to_string();
        assert!(got.starts_with(&format!("HTTP/1.1 {status}")), "want {status}: {got}");
        assert!(got.to_ascii_lowercase().contains("connection: close"), "{got}");
    }
    // A head within the limits is served.
    let mut conn = Conn::connect(s.addr).await.unwrap();
    let ok = format!("GET /healthz HTTP/1.1\r\nHost: test\r\nX-Fine: {}\r\n\r\n", "a".repeat(8 * 1024));
    assert_eq!(conn.roundtrip(&ok).await.unwrap().status, 200);
});
