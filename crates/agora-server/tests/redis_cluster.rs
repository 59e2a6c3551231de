//! The server against a 3-master Redis Cluster started by the test (`redis_url` listing the
//! nodes): rate limits hold, and the Redis-backed session store works across slots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agora_server::config::{PolicyConfig, RateLimitConfig};
use agora_server::{App, Config};
use axum::body::Body;
use axum::http::{Request, Response, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn send(app: &axum::Router, req: Request<Body>) -> (Response<Body>, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (Response::from_parts(parts, Body::empty()), json)
}

fn post(path: &str, body: Value) -> Request<Body> {
    Request::post(path).header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_on_a_redis_cluster() {
    if !agora_test_support::redis::can_spawn_redis() {
        return;
    }
    let cluster = tokio::task::spawn_blocking(agora_test_support::redis::RedisCluster::start).await.unwrap();
    let dir = std::env::temp_dir().join(agora_test_support::unique("agora-cluster"));
    std::fs::create_dir_all(&dir).unwrap();
    let name = agora_test_support::unique("cl").replace('-', "_");
    let mut cfg = Config {
        database_url: format!("sqlite://{}", dir.join("agora.db").display()),
        redis_url: cluster.url(),
        rate_limit: RateLimitConfig {
            backend: "redis".into(),
            // A failure would show as 503 instead of a silent in-process fallback.
            on_backend_error: "deny".into(),
            redis_timeout: Duration::from_secs(5),
            policy: vec![PolicyConfig {
                name: name.clone(),
                algorithm: "sliding_window_log".into(),
                limit: 3,
                window: Duration::from_secs(3600),
                key: "ip".into(),
                principals: "any".into(),
                routes: vec!["GET /v*/products*".into()],
                per_route: false,
            }],
            ..RateLimitConfig::default()
        },
        ..Config::default()
    };
    cfg.auth.jwt_secret = "test".into();
    cfg.auth.argon2_memory_kib = 64;
    cfg.auth.argon2_iterations = 1;
    assert!(cfg.redis_url.contains(','), "a cluster URL lists several nodes");
    let app = App::build(cfg).await.unwrap().router();

    // Rate limit through the cluster: exactly 3 admitted.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (res, _) = send(&app, Request::get("/v2/products").body(Body::empty()).unwrap()).await;
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);

    // Sessions live only in Redis: sign in, then use the cookie.
    let (res, _) =
        send(&app, post("/v2/users", json!({"name": "C", "email": "c@example.com", "password": "password123"}))).await;
    assert_eq!(res.status(), 201);
    let (res, body) =
        send(&app, post("/v2/auth/session", json!({"email": "c@example.com", "password": "password123"}))).await;
    assert_eq!(res.status(), 201, "{body}");
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let (res, body) =
        send(&app, Request::get("/v2/users/me").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), 200, "{body}");
    assert_eq!(body["data"]["email"], "c@example.com");
    drop(cluster);
    let _ = std::fs::remove_dir_all(dir);
}
