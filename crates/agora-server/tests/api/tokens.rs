//! CONTRACT §6 refresh rotation (single use, family revocation on reuse, exactly one winner
//! under concurrency) and revocation (RFC 7009) of access and refresh tokens — including
//! across two instances sharing a database and Redis.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::common::*;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_else(|| panic!("no string `{k}` in {v}")).to_string()
}

fn jti(access: &str) -> String {
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    s(&claims, "jti")
}

async fn refresh(app: &TestApp, token: &str) -> TestResponse {
    app.post("/v2/auth/token").form(&[("grant_type", "refresh_token"), ("refresh_token", token)]).send().await
}

async fn revoke(app: &TestApp, token: &str) {
    let res = app.post("/v2/auth/revoke").form(&[("token", token)]).send().await;
    res.assert_status(200);
}

db_test!(refresh_tokens_rotate_and_reuse_revokes_the_family, |app| async move {
    let email = unique_email("ada");
    let user = create_user(&app, "Ada", &email).await;
    let first = app.login(&email, PASSWORD).await;
    let r1 = s(&first, "refresh_token");

    // r1 → (a2, r2): a new pair, and a working access token.
    let res = refresh(&app, &r1).await;
    res.assert_status(200);
    let second = res.data().clone();
    let (a2, r2) = (s(&second, "access_token"), s(&second, "refresh_token"));
    assert_ne!(r2, r1);
    assert_ne!(a2, s(&first, "access_token"));
    assert_eq!(second["token_type"], json!("Bearer"));
    assert_eq!(second["scope"], json!("read write"));
    assert_eq!(res.body["refresh_token"], json!(r2), "top-level copy");
    let me = app.get("/v2/users/me").bearer(&a2).send().await;
    me.assert_status(200);
    assert_eq!(id(me.data()), id(&user));

    // r2 → (a3, r3), with a JSON body this time.
    let res =
        app.post("/v2/auth/token").json(&json!({"grant_type": "refresh_token", "refresh_token": r2})).send().await;
    res.assert_status(200);
    let r3 = s(res.data(), "refresh_token");

    // Replaying r1 (spent): refused, and the whole family dies — r3 too, although unused.
    refresh(&app, &r1).await.assert_unauthenticated();
    refresh(&app, &r3).await.assert_unauthenticated();
    refresh(&app, &r2).await.assert_unauthenticated();

    // Another login starts a new, unaffected family.
    let other = app.login(&email, PASSWORD).await;
    refresh(&app, &s(&other, "refresh_token")).await.assert_status(200);
});

db_test!(refresh_tokens_are_not_access_tokens_and_vice_versa, |app| async move {
    let email = unique_email("ada");
    create_user(&app, "Ada", &email).await;
    let t = app.login(&email, PASSWORD).await;
    // A refresh token is not a bearer credential.
    app.get("/v2/users/me").bearer(&s(&t, "refresh_token")).send().await.assert_invalid_token();
    // An access token is not a refresh token; neither is garbage.
    for bad in [s(&t, "access_token"), "rt_garbage".into(), String::new()] {
        let res = refresh(&app, &bad).await;
        assert!(res.status == 401 || res.status == 422, "{}", res.describe());
    }
    // The refresh token was not spent by those attempts.
    refresh(&app, &s(&t, "refresh_token")).await.assert_status(200);
    // A refresh cannot widen the scopes of its family.
    let t = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "password"), ("email", &email), ("password", PASSWORD), ("scope", "read")])
        .send()
        .await;
    t.assert_status(200);
    let r = s(t.data(), "refresh_token");
    let res = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &r), ("scope", "read write")])
        .send()
        .await;
    res.assert_error(403, "FORBIDDEN");
});

db_test!(concurrent_refreshes_have_exactly_one_winner, |app| async move {
    let email = unique_email("ada");
    create_user(&app, "Ada", &email).await;
    let r = s(&app.login(&email, PASSWORD).await, "refresh_token");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(10));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let req = app.post("/v2/auth/token").form(&[("grant_type", "refresh_token"), ("refresh_token", &r)]);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            req.send().await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let res = t.await.unwrap();
        match res.status.as_u16() {
            200 => ok += 1,
            401 => {
                res.assert_unauthenticated();
            }
            _ => panic!("unexpected answer to a concurrent refresh: {}", res.describe()),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent refresh may win");
    // The token is spent for good.
    refresh(&app, &r).await.assert_unauthenticated();
});

db_test!(revoked_access_token_is_refused_at_once, |app| async move {
    let email = unique_email("ada");
    create_user(&app, "Ada", &email).await;
    let t = app.login(&email, PASSWORD).await;
    let (access, refresh_token) = (s(&t, "access_token"), s(&t, "refresh_token"));
    let other = s(&app.login(&email, PASSWORD).await, "access_token");
    app.get("/v2/users/me").bearer(&access).send().await.assert_status(200);

    let res = app.post("/v2/auth/revoke").form(&[("token", &access)]).send().await;
    res.assert_status(200);
    // Long before its 15-minute expiry.
    app.get("/v2/users/me").bearer(&access).send().await.assert_invalid_token();
    app.get("/v2/products").bearer(&access).send().await.assert_invalid_token();
    // Only that token: the user's other tokens still work, and its refresh token too.
    app.get("/v2/users/me").bearer(&other).send().await.assert_status(200);
    refresh(&app, &refresh_token).await.assert_status(200);
    // Revoking again, or revoking garbage, is a harmless 200 (RFC 7009); JSON bodies work too.
    revoke(&app, &access).await;
    revoke(&app, "not-a-token").await;
    let res = app.post("/v2/auth/revoke").json(&json!({"token": other})).send().await;
    res.assert_status(200);
    app.get("/v2/users/me").bearer(&other).send().await.assert_invalid_token();
    // A token is required.
    app.post("/v2/auth/revoke").form(&[("token_type_hint", "access_token")]).send().await.assert_validation(&["token"]);
});

db_test!(revoked_refresh_token_no_longer_refreshes, |app| async move {
    let email = unique_email("ada");
    create_user(&app, "Ada", &email).await;
    let t = app.login(&email, PASSWORD).await;
    let r1 = s(&t, "refresh_token");
    revoke(&app, &r1).await;
    refresh(&app, &r1).await.assert_unauthenticated();

    // Revoking the newest token of a family ends the family.
    let t = app.login(&email, PASSWORD).await;
    let res = refresh(&app, &s(&t, "refresh_token")).await;
    res.assert_status(200);
    let r2 = s(res.data(), "refresh_token");
    revoke(&app, &r2).await;
    refresh(&app, &r2).await.assert_unauthenticated();
    // Access tokens already issued are separate credentials; revoke them separately.
    app.get("/v2/users/me").bearer(&s(res.data(), "access_token")).send().await.assert_status(200);
});

/// Connection to the test Redis (to observe what the app wrote there).
async fn redis_conn() -> ::redis::aio::MultiplexedConnection {
    let url = redis_url().expect("AGORA_TEST_REDIS_URL");
    ::redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

db_test!(revocation_is_shared_across_instances_through_redis, with = TestApp::redis, |a| async move {
    let b = a.another_instance().await;
    let email = unique_email("ada");
    let user = create_user(&a, "Ada", &email).await;
    let t = a.login(&email, PASSWORD).await;
    let access = s(&t, "access_token");
    // Both instances accept it (same signing secret, same database).
    for app in [&a, &b] {
        let res = app.get("/v2/users/me").bearer(&access).send().await;
        res.assert_status(200);
        assert_eq!(id(res.data()), id(&user));
    }
    // Revoked on A: B refuses it on the very next request.
    revoke(&a, &access).await;
    b.get("/v2/users/me").bearer(&access).send().await.assert_invalid_token();
    a.get("/v2/users/me").bearer(&access).send().await.assert_invalid_token();
    // The denylist entry is in Redis (with a TTL: it expires with the token).
    let mut conn = redis_conn().await;
    let key = format!("agora:revoked:{}", jti(&access));
    let exists: bool = ::redis::cmd("EXISTS").arg(&key).query_async(&mut conn).await.unwrap();
    assert!(exists, "{key} not in Redis");
    let ttl: i64 = ::redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.unwrap();
    assert!(ttl > 0, "revocation without expiry: {ttl}");

    // And the other way round, for a token issued by B.
    let t2 = b.login(&email, PASSWORD).await;
    let access2 = s(&t2, "access_token");
    a.get("/v2/users/me").bearer(&access2).send().await.assert_status(200);
    revoke(&b, &access2).await;
    a.get("/v2/users/me").bearer(&access2).send().await.assert_invalid_token();

    // Refresh tokens: revoked on A, dead on B; rotated on B, spent on A.
    let r = s(&t2, "refresh_token");
    let res = refresh(&b, &r).await;
    res.assert_status(200);
    refresh(&a, &r).await.assert_unauthenticated();
    let r_new = s(res.data(), "refresh_token");
    refresh(&b, &r_new).await.assert_unauthenticated(); // the replay on A revoked the family
    let r3 = s(&a.login(&email, PASSWORD).await, "refresh_token");
    revoke(&a, &r3).await;
    refresh(&b, &r3).await.assert_unauthenticated();
    drop(b);
});
