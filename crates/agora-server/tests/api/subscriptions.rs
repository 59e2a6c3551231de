//! GraphQL subscriptions over a real socket (`graphql-transport-ws`): delivery of posts and
//! comments created over REST and GraphQL, filtering by argument, and the protocol's close
//! codes — on both engines.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::*;

/// Guards against hangs only.
const HANG: Duration = Duration::from_secs(30);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Serves `app` on a real socket; returns its address, the app's state for setup, and what
/// keeps it alive.
async fn serve(app: TestApp) -> (SocketAddr, agora_server::state::AppState, Cleanup) {
    let state = app.state.clone();
    let (app, cleanup) = app.into_parts();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(app.serve(listener, std::future::pending::<()>()));
    (addr, state, cleanup)
}

async fn open(addr: SocketAddr) -> Socket {
    let mut req = format!("ws://{addr}/graphql").into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (socket, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(res.headers().get("sec-websocket-protocol").unwrap(), "graphql-transport-ws");
    socket
}

async fn send(s: &mut Socket, v: Value) {
    s.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next text message, or the close code.
async fn next(s: &mut Socket) -> Result<Value, u16> {
    loop {
        match tokio::time::timeout(HANG, s.next()).await.expect("no hang") {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code)).unwrap_or(1005)),
            Some(Ok(_)) => continue,
            other => panic!("unexpected: {other:?}"),
        }
    }
}

/// Opens a connection and initialises it with `payload`.
async fn connect(addr: SocketAddr, payload: Value) -> Socket {
    let mut s = open(addr).await;
    send(&mut s, json!({"type": "connection_init", "payload": payload})).await;
    assert_eq!(next(&mut s).await.unwrap()["type"], "connection_ack");
    s
}

db_test!(subscribers_receive_posts_and_comments_as_they_happen, |app| async move {
    let (ada, ada_token) = app.signup_and_login(&unique_email("ada")).await;
    let (_, bob_token) = app.signup_and_login(&unique_email("bob")).await;
    let ada_id = id(&ada);
    let (addr, _state, _cleanup) = serve(app).await;
    let mut s = connect(addr, json!({"Authorization": format!("Bearer {ada_token}")})).await;
    send(
        &mut s,
        json!({"type": "subscribe", "id": "ada-posts", "payload": {
            "query": "subscription($u: ID) { postCreated(userId: $u) { title author { id } } }",
            "variables": {"u": ada_id.to_string()}}}),
    )
    .await;
    // Give the subscription a moment to register with the bus before publishing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = reqwest_like(addr);
    http.post_json("/v2/posts", &bob_token, json!({"title": "by bob", "content": "c"})).await;
    let post = http.post_json("/v2/posts", &ada_token, json!({"title": "by ada over REST", "content": "c"})).await;
    http.post_json(
        "/graphql",
        &ada_token,
        json!({"query": "mutation { createPost(input: {title: \"by ada over GraphQL\", content: \"c\"}) { id } }"}),
    )
    .await;
    for title in ["by ada over REST", "by ada over GraphQL"] {
        let m = next(&mut s).await.unwrap();
        assert_eq!(m["type"], "next");
        assert_eq!(m["id"], "ada-posts");
        assert_eq!(m["payload"]["data"]["postCreated"]["title"], title, "bob's post is filtered out");
        assert_eq!(m["payload"]["data"]["postCreated"]["author"]["id"], json!(ada_id.to_string()));
    }
    // Comments on one post.
    let pid = post["data"]["id"].as_i64().unwrap();
    send(
        &mut s,
        json!({"type": "subscribe", "id": "comments", "payload": {
            "query": format!("subscription {{ commentAdded(postId: \"{pid}\") {{ content post {{ id }} }} }}")}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    http.post_json(&format!("/v2/posts/{pid}/comments"), &bob_token, json!({"content": "nice"})).await;
    let m = next(&mut s).await.unwrap();
    assert_eq!(
        (m["id"].as_str(), m["payload"]["data"]["commentAdded"]["content"].as_str()),
        (Some("comments"), Some("nice"))
    );
    // Completing stops a subscription; ping is answered.
    send(&mut s, json!({"type": "complete", "id": "comments"})).await;
    send(&mut s, json!({"type": "ping"})).await;
    assert_eq!(next(&mut s).await.unwrap()["type"], "pong");
    // A document over the limits is refused with an error message for that id.
    let deep = "subscription { postCreated { author { posts { nodes { author { posts { nodes { author { posts { nodes { title } } } } } } } } } } }";
    send(&mut s, json!({"type": "subscribe", "id": "deep", "payload": {"query": deep}})).await;
    let m = next(&mut s).await.unwrap();
    assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("deep")));
    assert_eq!(m["payload"][0]["extensions"]["code"], "QUERY_TOO_DEEP");
});

db_test!(the_protocol_close_codes, |app| async move {
    let (addr, _state, _cleanup) = serve(app).await;
    // A refused credential in connection_init: 4403.
    let mut s = open(addr).await;
    send(&mut s, json!({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})).await;
    assert_eq!(next(&mut s).await, Err(4403));
    // Subscribing before initialising: 4401.
    let mut s = open(addr).await;
    send(&mut s, json!({"type": "subscribe", "id": "1", "payload": {"query": "subscription { postCreated { id } }"}}))
        .await;
    assert_eq!(next(&mut s).await, Err(4401));
    // Initialising twice: 4429.
    let mut s = connect(addr, json!({})).await;
    send(&mut s, json!({"type": "connection_init"})).await;
    assert_eq!(next(&mut s).await, Err(4429));
    // Two subscriptions with one id: 4409.
    let mut s = connect(addr, Value::Null).await;
    let sub = json!({"type": "subscribe", "id": "x", "payload": {"query": "subscription { postCreated { id } }"}});
    send(&mut s, sub.clone()).await;
    send(&mut s, sub).await;
    assert_eq!(next(&mut s).await, Err(4409));
    // Not a protocol message: 4400.
    let mut s = connect(addr, json!({})).await;
    send(&mut s, json!({"type": "hello"})).await;
    assert_eq!(next(&mut s).await, Err(4400));
    // Without the subprotocol, no upgrade.
    let req = format!("ws://{addr}/graphql").into_client_request().unwrap();
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
});

/// A tiny HTTP client over raw sockets for the setup writes.
fn reqwest_like(addr: SocketAddr) -> Http {
    Http { addr }
}

struct Http {
    addr: SocketAddr,
}

impl Http {
    async fn post_json(&self, path: &str, token: &str, body: Value) -> Value {
        let body = body.to_string();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut conn = raw_http::Conn::connect(self.addr).await.unwrap();
        let res = conn.roundtrip(&req).await.unwrap();
        assert!(res.status < 300, "{path}: {} {}", res.status, String::from_utf8_lossy(&res.body));
        res.json()
    }
}

db_test!(a_post_on_one_instance_reaches_subscribers_of_another, with = TestApp::redis, |app| async move {
    let (ada, ada_token) = app.signup_and_login(&unique_email("ada")).await;
    let other = app.another_instance().await;
    let (addr, _state, _cleanup) = serve(other).await;
    let mut s = connect(addr, json!({})).await;
    let marker = format!("cross-{}", uuid::Uuid::new_v4().simple());
    send(
        &mut s,
        json!({"type": "subscribe", "id": "1", "payload": {
            "query": "subscription($u: ID) { postCreated(userId: $u) { title } }",
            "variables": {"u": id(&ada).to_string()}}}),
    )
    .await;
    // The subscription registers, and the instance's Redis subscription is up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Written through the first instance's router: only Redis can carry it to the second.
    app.post("/v2/posts")
        .bearer(&ada_token)
        .json(&json!({"title": marker, "content": "c"}))
        .send()
        .await
        .assert_status(201);
    // Other tests share the Redis channel: skip what is not ours.
    loop {
        let m = next(&mut s).await.unwrap();
        if m["payload"]["data"]["postCreated"]["title"] == marker.as_str() {
            break;
        }
    }
});
