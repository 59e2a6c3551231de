//! `Idempotency-Key` (CONTRACT §7) over the real router, on SQLite and PostgreSQL, with the
//! database store (the default) unless a test names another.

use std::sync::Arc;

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::*;

const KEY: &str = "Idempotency-Key";

async fn post_count(app: &TestApp) -> usize {
    let res = app.get("/v1/posts?per_page=100").send().await;
    res.assert_status(200);
    res.items().len()
}

fn post_body(title: &str) -> Value {
    json!({"title": title, "content": "body"})
}

async fn create_post(app: &TestApp, token: &str, key: &str, body: &Value) -> TestResponse {
    app.post("/v2/posts").bearer(token).header(KEY, key).json(body).send().await
}

db_test!(a_retry_replays_the_first_response_byte_for_byte, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    let first = create_post(&app, &token, "k-1", &post_body("Once")).await;
    first.assert_status(201);
    assert_eq!(first.header("idempotency-replay"), None);
    let again = create_post(&app, &token, "k-1", &post_body("Once")).await;
    again.assert_status(201);
    assert_eq!(again.header("idempotency-replay"), Some("true"));
    assert_eq!(again.bytes, first.bytes, "the body is replayed byte for byte");
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("content-type"), first.header("content-type"));
    // The body keeps the first request's id (its own X-Request-ID); the header is the replay's.
    assert_eq!(first.body["meta"]["request_id"], json!(first.header("x-request-id").unwrap()));
    assert_eq!(again.body["meta"]["request_id"], first.body["meta"]["request_id"]);
    assert_ne!(again.header("x-request-id"), first.header("x-request-id"));
    assert_eq!(post_count(&app).await, 1, "nothing ran twice");
    // The quoted form of the draft is the same key.
    let quoted = create_post(&app, &token, "\"k-1\"", &post_body("Once")).await;
    assert_eq!(quoted.header("idempotency-replay"), Some("true"));
    // Without a key, every request runs.
    app.post("/v2/posts").bearer(&token).json(&post_body("Once")).send().await.assert_status(201);
    assert_eq!(post_count(&app).await, 2);
});

db_test!(a_key_reused_for_another_request_is_refused, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    create_post(&app, &token, "k-2", &post_body("A")).await.assert_status(201);
    let other_body = create_post(&app, &token, "k-2", &post_body("B")).await;
    other_body.assert_status(422);
    assert_eq!(other_body.code(), "IDEMPOTENCY_KEY_REUSED");
    let other_path = app.post("/v1/posts").bearer(&token).header(KEY, "k-2").json(&post_body("A")).send().await;
    other_path.assert_status(422);
    assert_eq!(post_count(&app).await, 1);
});

db_test!(keys_are_scoped_to_the_principal, |app| async move {
    let (_, alice) = app.signup_and_login(&unique_email("alice")).await;
    let (_, bob) = app.signup_and_login(&unique_email("bob")).await;
    let a = create_post(&app, &alice, "shared-key", &post_body("Same")).await;
    let b = create_post(&app, &bob, "shared-key", &post_body("Same")).await;
    a.assert_status(201);
    b.assert_status(201);
    assert_eq!(b.header("idempotency-replay"), None, "Bob never sees Alice's response");
    assert_ne!(a.data()["id"], b.data()["id"]);
    assert_eq!(post_count(&app).await, 2);
});

db_test!(what_is_stored_and_what_is_not, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    // A 4xx is a final answer: stored and replayed.
    let bad = json!({"title": ""});
    let first = create_post(&app, &token, "k-4xx", &bad).await;
    first.assert_status(422);
    let again = create_post(&app, &token, "k-4xx", &bad).await;
    again.assert_status(422);
    assert_eq!(again.header("idempotency-replay"), Some("true"), "{}", again.describe());
    assert_eq!(again.bytes, first.bytes);
    // A 409 is not: the key stays free, and the retry runs (and conflicts again).
    let email = unique_email("dup");
    let body = json!({"name": "Dup", "email": email, "password": PASSWORD});
    app.post("/v2/users").json(&body).send().await.assert_status(201);
    for _ in 0..2 {
        let res = app.post("/v2/users").header(KEY, "k-409").json(&body).send().await;
        res.assert_status(409);
        assert_eq!(res.code(), "CONFLICT");
        assert_eq!(res.header("idempotency-replay"), None);
    }
});

db_test!(a_patch_is_replayed_not_reapplied, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    let created = app.post("/v2/posts").bearer(&token).json(&post_body("v1")).send().await;
    let id = created.data()["id"].as_i64().unwrap();
    let patch = |title: &str| {
        app.patch(&format!("/v2/posts/{id}")).bearer(&token).header(KEY, "k-patch").json(&json!({"title": title}))
    };
    let first = patch("v2").send().await;
    first.assert_status(200);
    // Someone else changes the post; the retry must not overwrite that.
    app.patch(&format!("/v2/posts/{id}")).bearer(&token).json(&json!({"title": "v3"})).send().await.assert_status(200);
    let again = patch("v2").send().await;
    assert_eq!(again.header("idempotency-replay"), Some("true"));
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(app.get(&format!("/v2/posts/{id}")).send().await.data()["title"], "v3");
});

db_test!(malformed_keys_are_refused, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    for bad in ["", "\"unterminated", &"k".repeat(256)] {
        let res = create_post(&app, &token, bad, &post_body("x")).await;
        res.assert_status(400);
        assert_eq!(res.code(), "INVALID_REQUEST");
        assert_eq!(res.detail_fields(), vec!["Idempotency-Key"]);
    }
    let twice =
        app.post("/v2/posts").bearer(&token).header(KEY, "a").header(KEY, "b").json(&post_body("x")).send().await;
    twice.assert_status(400);
    assert_eq!(post_count(&app).await, 0);
    // A key of exactly 255 characters is fine.
    create_post(&app, &token, &"k".repeat(255), &post_body("x")).await.assert_status(201);
});

async fn requiring(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| c.idempotency.required = vec!["POST /v*/posts".into()]).await
}

db_test!(a_required_key_must_be_sent, with = requiring, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    let res = app.post("/v2/posts").bearer(&token).json(&post_body("x")).send().await;
    res.assert_status(400);
    assert_eq!(res.code(), "MISSING_IDEMPOTENCY_KEY");
    assert_eq!(post_count(&app).await, 0);
    create_post(&app, &token, "k-req", &post_body("x")).await.assert_status(201);
    // Other operations still take a key or not, as they like.
    app.post("/v2/users")
        .json(&json!({"name": "N", "email": unique_email("n"), "password": PASSWORD}))
        .send()
        .await
        .assert_status(201);
});

db_test!(secret_bearing_and_safe_operations_ignore_keys, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    // An API key is shown once and stored only as a hash: its response is never kept.
    for _ in 0..2 {
        let res = app
            .post("/v2/api-keys")
            .bearer(&token)
            .header(KEY, "k-secret")
            .json(&json!({"name": "ci", "scopes": ["read"]}))
            .send()
            .await;
        res.assert_status(201);
        assert_eq!(res.header("idempotency-replay"), None);
    }
    let res = app.get("/v2/posts").header(KEY, "\"bad").send().await;
    res.assert_status(200);
});

/// Fires `n` identical requests with one key at once, spread over `apps`; returns the
/// responses.
async fn race(apps: &[Arc<TestApp>], token: &str, key: &str, n: usize) -> Vec<TestResponse> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = apps[i % apps.len()].clone();
        let (token, key) = (token.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            app.request(Method::POST, "/v2/posts")
                .bearer(&token)
                .header(KEY, &key)
                .json(&post_body("raced"))
                .send()
                .await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Exactly one request executed; the others were replays or 409 with `Retry-After`.
fn exactly_one_executed(responses: &[TestResponse]) {
    let executed = responses.iter().filter(|r| r.status == 201 && r.header("idempotency-replay").is_none()).count();
    assert_eq!(executed, 1, "exactly one execution");
    for r in responses {
        match r.status.as_u16() {
            201 => {}
            409 => {
                assert_eq!(r.code(), "REQUEST_IN_PROGRESS");
                assert!(r.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)));
            }
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
}

async fn race_on(app: TestApp) {
    let (_, token) = app.signup_and_login(&unique_email("race")).await;
    let app = Arc::new(app);
    // Unique: Redis outlives the test's database, and user ids repeat across databases.
    let key = unique("k-race");
    let responses = race(std::slice::from_ref(&app), &token, &key, 100).await;
    exactly_one_executed(&responses);
    assert_eq!(post_count(&app).await, 1);
}

db_test!(a_hundred_concurrent_requests_execute_once_database_store, |app| async move {
    race_on(app).await;
});

async fn memory_store(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| c.idempotency.backend = "memory".into()).await
}

db_test!(a_hundred_concurrent_requests_execute_once_memory_store, with = memory_store, |app| async move {
    race_on(app).await;
});

async fn redis_store(engine: Engine) -> Option<TestApp> {
    let url = redis_url()?;
    TestApp::on(engine, |c| {
        c.redis_url = url;
        c.idempotency.backend = "redis".into();
    })
    .await
}

db_test!(a_hundred_concurrent_requests_execute_once_redis_store, with = redis_store, |app| async move {
    race_on(app).await;
});

async fn shared_redis(engine: Engine) -> Option<TestApp> {
    if engine == Engine::Sqlite {
        // Two instances on one SQLite file is not a deployment; PostgreSQL is.
        return None;
    }
    redis_store(engine).await
}

/// Two instances on one PostgreSQL and one Redis, with each store: one execution.
async fn two_instances(first: TestApp) {
    let second = first.another_instance().await;
    let (_, token) = first.signup_and_login(&unique_email("pair")).await;
    let apps = [Arc::new(first), Arc::new(second)];
    let responses = race(&apps, &token, &unique("k-pair"), 50).await;
    exactly_one_executed(&responses);
    assert_eq!(post_count(&apps[0]).await, 1);
    // The second instance must go first: the first owns the schema.
    let [first, second] = apps;
    drop(second);
    drop(first);
}

db_test!(two_instances_execute_once_redis_store, with = shared_redis, |app| async move {
    two_instances(app).await;
});

async fn shared_postgres(engine: Engine) -> Option<TestApp> {
    if engine == Engine::Sqlite {
        return None;
    }
    TestApp::plain(engine).await
}

db_test!(two_instances_execute_once_database_store, with = shared_postgres, |app| async move {
    two_instances(app).await;
});

db_test!(idempotency_metrics_count_outcomes, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    create_post(&app, &token, "k-m", &post_body("m")).await.assert_status(201);
    create_post(&app, &token, "k-m", &post_body("m")).await.assert_status(201);
    create_post(&app, &token, "k-m", &post_body("other")).await.assert_status(422);
    let text = app.get("/metrics").send().await.text();
    for outcome in ["executed", "replayed", "key_reused"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("agora_idempotency_requests_total")
                    && l.contains(&format!("outcome=\"{outcome}\""))),
            "{outcome}:\n{text}"
        );
    }
});

db_test!(the_sql_store_purges_expired_records_and_refuses_a_lost_holder, |app| async move {
    use agora_idempotency::{Fingerprint, IdempotencyKey, RecordKey, Reserve, Store, StoredResponse, Terms};
    use std::time::Duration;
    let store = agora_db::SqlIdempotencyStore::new(app.state.db.clone());
    let key = |k: &str| RecordKey { scope: "user:1".into(), key: IdempotencyKey::parse(k.as_bytes()).unwrap() };
    let fp = Fingerprint::of(&Method::POST, "/x", b"1");
    let resp = StoredResponse { status: 201, headers: vec![], body: axum::body::Bytes::from_static(b"{}") };
    // Expired at once: purged, and the key is free again.
    for k in ["a", "b", "c"] {
        let Reserve::Proceed(r) = store
            .reserve(&key(k), &Terms { fingerprint: fp, lease: Duration::from_secs(5), ttl: Duration::ZERO })
            .await
            .unwrap()
        else {
            panic!("free key")
        };
        store.complete(r, &resp, Duration::ZERO).await.unwrap();
    }
    let Reserve::Proceed(live) = store
        .reserve(&key("d"), &Terms { fingerprint: fp, lease: Duration::from_secs(5), ttl: Duration::from_secs(60) })
        .await
        .unwrap()
    else {
        panic!("free key")
    };
    store.complete(live, &resp, Duration::from_secs(60)).await.unwrap();
    assert_eq!(store.purge_expired().await.unwrap(), 3);
    assert!(matches!(
        store
            .reserve(&key("d"), &Terms { fingerprint: fp, lease: Duration::from_secs(5), ttl: Duration::from_secs(60) })
            .await
            .unwrap(),
        Reserve::Replay(_)
    ));
    // A holder whose lease lapsed and whose key was taken over cannot complete it.
    let Reserve::Proceed(old) = store
        .reserve(&key("e"), &Terms { fingerprint: fp, lease: Duration::ZERO, ttl: Duration::from_secs(60) })
        .await
        .unwrap()
    else {
        panic!("free key")
    };
    let Reserve::Proceed(new) = store
        .reserve(&key("e"), &Terms { fingerprint: fp, lease: Duration::from_secs(5), ttl: Duration::from_secs(60) })
        .await
        .unwrap()
    else {
        panic!("a lapsed lease is taken over")
    };
    assert!(store.complete(old, &resp, Duration::from_secs(60)).await.is_err());
    store.complete(new, &resp, Duration::from_secs(60)).await.unwrap();
});

db_test!(a_refusal_after_a_failed_statement_is_stored_and_replayed, |app| async move {
    // The comment's insert fails on the foreign key inside the request's transaction (which
    // PostgreSQL then aborts); the 404 is still the final answer, stored and replayed.
    let (_, token) = app.signup_and_login(&unique_email("idem")).await;
    let send = || {
        app.post("/v2/posts/999999/comments").bearer(&token).header(KEY, "k-fk").json(&json!({"content": "hi"})).send()
    };
    let first = send().await;
    first.assert_error(404, "POST_NOT_FOUND");
    let again = send().await;
    again.assert_error(404, "POST_NOT_FOUND");
    assert_eq!(again.header("idempotency-replay"), Some("true"));
});

db_test!(a_unit_runs_its_after_commit_hooks_only_when_it_commits, |app| async move {
    use agora_idempotency::{Fingerprint, IdempotencyKey, RecordKey, Reserve, Store, StoredResponse, Terms};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    let store = agora_db::SqlIdempotencyStore::new(app.state.db.clone());
    let terms = Terms {
        fingerprint: Fingerprint::of(&Method::POST, "/x", b"1"),
        lease: Duration::from_secs(5),
        ttl: Duration::from_secs(60),
    };
    let ok = StoredResponse { status: 201, headers: vec![], body: axum::body::Bytes::from_static(b"{}") };
    for commit in [false, true] {
        let key = RecordKey { scope: "user:1".into(), key: IdempotencyKey::parse(unique("hook").as_bytes()).unwrap() };
        let Reserve::Proceed(r) = store.reserve(&key, &terms).await.unwrap() else { panic!("free key") };
        let unit = r.unit.as_ref().and_then(|u| u.0.downcast_ref::<agora_db::Unit>()).unwrap().clone();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        unit.after_commit(Box::new(move || flag.store(true, Ordering::SeqCst)));
        if commit {
            store.complete(r, &ok, terms.ttl).await.unwrap();
        } else {
            store.release(r).await.unwrap();
        }
        assert_eq!(ran.load(Ordering::SeqCst), commit, "hooks run on commit only (commit = {commit})");
    }
});
