//! CONTRACT §8 rate limiting through the HTTP API, on both engines: the default policies, the
//! 429 envelope, and counters keyed by user and by API key (principals resolved from the
//! database). The limiter's own behaviour (algorithms, Redis, outages, proxies) is covered in
//! `tests/ratelimit.rs` and in `agora-ratelimit`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use agora_server::config::PolicyConfig;
use serde_json::json;

use crate::common::*;

/// The default policies (none configured).
async fn defaults(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| c.rate_limit.enabled = true).await
}

/// One policy: 3 requests a minute per API key, on `GET /v2/*`.
async fn per_api_key(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.policy = vec![PolicyConfig {
            name: "per-key".into(),
            algorithm: "fixed_window".into(),
            limit: 3,
            window: Duration::from_secs(60),
            key: "api_key".into(),
            principals: "authenticated".into(),
            routes: vec!["GET /v2/*".into()],
            per_route: false,
        }];
    })
    .await
}

fn num(res: &TestResponse, name: &str) -> u64 {
    res.header(name).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no {name}: {}", res.describe()))
}

db_test!(defaults_limit_anonymous_callers_and_count_users_apart, with = defaults, |app| async move {
    // Signing up and logging in are anonymous requests too: they come first.
    let (ada, ada_token) = app.signup_and_login(&unique_email("ada")).await;
    let (_, bob_token) = app.signup_and_login(&unique_email("bob")).await;

    let res = app.get("/v2/products").send().await;
    res.assert_status(200);
    assert_eq!(num(&res, "x-ratelimit-limit"), 100);
    assert_eq!(res.header("ratelimit-policy"), Some("\"anonymous\";q=100;w=60"));
    let mut left = num(&res, "x-ratelimit-remaining");
    assert!((90..100).contains(&left), "the sign-ups used a few: {}", res.describe());
    while left > 0 {
        let res = app.get("/v2/products").send().await;
        res.assert_status(200);
        assert_eq!(num(&res, "x-ratelimit-remaining"), left - 1);
        left -= 1;
    }
    let res = app.get("/v2/products").send().await;
    res.assert_error(429, "RATE_LIMIT_EXCEEDED");
    let wait = num(&res, "retry-after");
    assert!((1..=60).contains(&wait), "{}", res.describe());
    assert_eq!(res.body["error"]["retry_after"], json!(wait));
    assert_eq!(res.body["error"]["policy"], json!("anonymous"));
    assert_eq!(num(&res, "x-ratelimit-remaining"), 0);

    // Signed-in users are not anonymous: 1000 a minute each, each with a counter of its own.
    let path = format!("/v2/users/{}", id(&ada));
    let res = app.get(&path).bearer(&ada_token).send().await;
    res.assert_status(200);
    assert_eq!(num(&res, "x-ratelimit-limit"), 1000);
    assert_eq!(res.header("ratelimit-policy"), Some("\"authenticated\";q=1000;w=60"));
    let used = 1000 - num(&res, "x-ratelimit-remaining");
    let res = app.get(&path).bearer(&ada_token).send().await;
    assert_eq!(num(&res, "x-ratelimit-remaining"), 1000 - used - 1);
    let res = app.get(&path).bearer(&bob_token).send().await;
    res.assert_status(200);
    assert_eq!(num(&res, "x-ratelimit-remaining"), 1000 - used, "another user, another counter");
});

db_test!(api_key_policies_count_each_key, with = per_api_key, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("keys")).await;
    let mut keys = Vec::new();
    for name in ["one", "two"] {
        let res = app.post("/v2/api-keys").bearer(&token).json(&json!({"name": name, "scopes": ["read"]})).send().await;
        res.assert_status(201);
        keys.push(res.data()["key"].as_str().unwrap().to_string());
    }
    for expected in [2, 1, 0] {
        let res = app.get("/v2/users/me").header("x-api-key", &keys[0]).send().await;
        res.assert_status(200);
        assert_eq!(num(&res, "x-ratelimit-remaining"), expected);
    }
    let res = app.get("/v2/users/me").header("x-api-key", &keys[0]).send().await;
    res.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(res.body["error"]["policy"], json!("per-key"));
    // The user's other key has its own quota.
    let res = app.get("/v2/users/me").header("x-api-key", &keys[1]).send().await;
    res.assert_status(200);
    assert_eq!(num(&res, "x-ratelimit-remaining"), 2);
    // A request without an API key is not covered by the policy: no quota, no headers.
    let res = app.get("/v2/users/me").bearer(&token).send().await;
    res.assert_status(200);
    assert!(res.header("x-ratelimit-limit").is_none(), "{}", res.describe());
});
