//! CONTRACT §10 operational endpoints: health, readiness, metrics.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::json;

db_test!(healthz_and_readyz, |app| async move {
    let res = app.get("/healthz").send().await;
    res.assert_status(200);
    assert_eq!(res.body["success"], json!(true));
    assert_eq!(res.data()["status"], json!("ok"));
    assert!(res.header("x-request-id").is_some());
    assert!(res.header("deprecation").is_none());

    let res = app.get("/readyz").send().await;
    res.assert_status(200);
    assert_eq!(res.body["success"], json!(true));
    // No `redis_url`: Redis is not a dependency, and not listed.
    assert_eq!(res.data()["checks"], json!({"database": "ok"}));
    // Operational endpoints are unversioned: a version prefix does not reach them.
    app.get("/v2/healthz").send().await.assert_error(404, "NOT_FOUND");
});

db_test!(readyz_is_503_when_the_database_is_gone, |app| async move {
    app.get("/readyz").send().await.assert_status(200);
    app.state.db.close().await;
    let res = app.get("/readyz").send().await;
    res.assert_error(503, "NOT_READY");
    assert!(res.header("x-request-id").is_some());
    assert!(!res.text().to_ascii_lowercase().contains("pool"), "internals leaked: {}", res.describe());
    // The process itself is still alive.
    app.get("/healthz").send().await.assert_status(200);
    // And requests that need the database say it is unavailable (retryable), never with
    // internals.
    let res = app.get("/v2/users").send().await;
    res.assert_error(503, "NOT_READY");
    assert!(!res.text().to_ascii_lowercase().contains("pool"), "internals leaked: {}", res.describe());
});

db_test!(metrics_count_requests, |app| async move {
    app.get("/v2/users").send().await.assert_status(200);
    app.get("/v2/nowhere").send().await.assert_status(404);
    let res = app.get("/metrics").send().await;
    res.assert_status(200);
    assert!(res.header("content-type").unwrap().starts_with("text/plain"), "{}", res.describe());
    let text = res.text();
    assert!(text.contains("agora_http_requests_total"), "{text}");
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("agora_http_requests_total")
                && l.contains("route=\"/v2/users\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no counter for GET /v2/users 200 in:\n{text}"));
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{line}");
    assert!(text.contains("agora_http_request_duration_seconds"), "{text}");
    // Every metric family says what it counts.
    for family in ["agora_http_requests_total", "agora_http_request_duration_seconds", "agora_db_pool_connections"] {
        assert!(text.contains(&format!("# HELP {family} ")), "no HELP for {family}:\n{text}");
    }
});

db_test!(metrics_bound_the_method_label, |app| async move {
    // Methods a client invents share one `OTHER` series instead of creating new ones.
    let brew = axum::http::Method::from_bytes(b"BREW").unwrap();
    for _ in 0..3 {
        let res = app.request(brew.clone(), "/v2/users").send().await;
        assert!(res.status.as_u16() >= 400, "{}", res.describe());
    }
    let text = app.get("/metrics").send().await.text();
    assert!(!text.contains("method=\"BREW\""), "{text}");
    let total: f64 = text
        .lines()
        .filter(|l| l.starts_with("agora_http_requests_total") && l.contains("method=\"OTHER\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(total >= 3.0, "{text}");
});

db_test!(openapi_document_is_served, |app| async move {
    for path in ["/openapi.json", "/v1/openapi.json", "/v2/openapi.json"] {
        let res = app.get(path).send().await;
        res.assert_status(200);
        assert!(res.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", res.describe());
    }
});

/// The PostgreSQL test apps really are isolated in their own schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_apps_use_their_own_schema() {
    use sqlx::Connection;
    let Some(a) = TestApp::postgres().await else { return };
    let Some(b) = TestApp::postgres().await else { return };
    create_user(&a, "Ada", "ada@example.com").await;
    // Same email in the other app: no conflict, it is another database as far as it knows.
    create_user(&b, "Ada", "ada@example.com").await;
    assert_eq!(a.get("/v2/users").send().await.ids().len(), 1);

    let schema = a.pg_schema().unwrap().to_string();
    let base = a.pg_base_url().unwrap().to_string();
    let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('users', 'posts', 'products')",
    )
    .bind(&schema)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 3);
    let users: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM \"{schema}\".users")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(users, 1);

    // Dropping the app drops its schema.
    drop(a);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1")
        .bind(&schema)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
    conn.close().await.unwrap();
}
