//! CONTRACT §2: version prefixes, the other three ways to name a version, deprecation headers
//! on v1, `API-Version` on every response, and unknown versions.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use chrono::NaiveDateTime;
use serde_json::json;

#[track_caller]
fn assert_deprecated(res: &TestResponse, successor: &str) {
    let dep = res.header("deprecation").unwrap_or_else(|| panic!("no Deprecation: {}", res.describe()));
    let digits = dep.strip_prefix('@').unwrap_or_else(|| panic!("Deprecation {dep:?} is not @<seconds>"));
    assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()), "Deprecation {dep:?}");
    let sunset = res.header("sunset").unwrap_or_else(|| panic!("no Sunset: {}", res.describe()));
    let parsed = NaiveDateTime::parse_from_str(sunset, "%a, %d %b %Y %H:%M:%S GMT")
        .unwrap_or_else(|e| panic!("Sunset {sunset:?} is not an HTTP-date: {e}"));
    let deprecated_at: i64 = digits.parse().unwrap();
    assert!(parsed.and_utc().timestamp() > deprecated_at, "sunset before deprecation");
    let successors: Vec<String> =
        res.links().into_iter().filter(|(rel, _)| rel == "successor-version").map(|(_, t)| t).collect();
    assert_eq!(successors, [successor.to_string()], "{:?}", res.header_all("link"));
    assert_eq!(res.header("api-version"), Some("1"));
}

#[track_caller]
fn assert_current(res: &TestResponse) {
    assert!(res.header("deprecation").is_none(), "{}", res.describe());
    assert!(res.header("sunset").is_none(), "{}", res.describe());
    assert!(!res.links().iter().any(|(rel, _)| rel == "successor-version"), "{:?}", res.header_all("link"));
    assert_eq!(res.header("api-version"), Some("2"), "{}", res.describe());
}

db_test!(v1_is_deprecated_with_successor_links, |app| async move {
    let uid = id(&create_user(&app, "Ada", "ada@example.com").await);
    let res = app.get("/v1/users").send().await;
    res.assert_status(200);
    assert_deprecated(&res, "/v2/users");
    let res = app.get(&format!("/v1/users/{uid}")).send().await;
    res.assert_status(200);
    assert_deprecated(&res, &format!("/v2/users/{uid}"));
    let res = app.get(&format!("/v1/users/{uid}/posts")).send().await;
    assert_deprecated(&res, &format!("/v2/users/{uid}/posts"));
    // On errors and writes too: every v1 response.
    let res = app.get("/v1/users/987654").send().await;
    res.assert_error(404, "USER_NOT_FOUND");
    assert_deprecated(&res, "/v2/users/987654");
    let res = app.delete("/v1/users").send().await;
    res.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_deprecated(&res, "/v2/users");
    let res = app
        .post("/v1/products")
        .bearer(&app.admin_token().await)
        .json(&json!({"name": "x", "category": "y", "price": 1}))
        .send()
        .await;
    res.assert_status(201);
    assert_deprecated(&res, "/v2/products");
    let res = app.get("/v1/products?price_min=abc").send().await;
    res.assert_invalid_query("price_min");
    assert_deprecated(&res, "/v2/products");
});

db_test!(v2_carries_no_deprecation, |app| async move {
    let uid = id(&create_user(&app, "Ada", "ada@example.com").await);
    for path in ["/v2/users".to_string(), format!("/v2/users/{uid}"), "/v2/users/987654".into(), "/v2/nowhere".into()] {
        let res = app.get(&path).send().await;
        assert_current(&res);
    }
    let res = app
        .post("/v2/products")
        .bearer(&app.admin_token().await)
        .json(&json!({"name": "x", "category": "y", "price": 1}))
        .send()
        .await;
    res.assert_status(201);
    assert_current(&res);
    // Unversioned requests get v2.
    let res = app.get("/users").send().await;
    res.assert_status(200);
    assert_current(&res);
});

db_test!(api_version_header_on_every_response, |app| async move {
    for (path, want) in [
        ("/v1/users", "1"),
        ("/v2/users", "2"),
        ("/users", "2"),
        ("/v1/nowhere", "1"),
        ("/v2/users/abc", "2"),
        ("/healthz", "2"),
        ("/readyz", "2"),
        ("/metrics", "2"),
    ] {
        let res = app.get(path).send().await;
        assert_eq!(res.header("api-version"), Some(want), "{}", res.describe());
    }
    let res = app.post("/v2/users").body("text/plain", "x").send().await;
    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(res.header("api-version"), Some("2"));
});

db_test!(unprefixed_requests_pick_the_version_by_header_query_or_media_type, |app| async move {
    create_user(&app, "Ada", "ada@example.com").await;
    // Each way of naming v1: served by v1 (page pagination by default, deprecation headers).
    let v1_requests = vec![
        app.get("/users").header("api-version", "1"),
        app.get("/users?version=1"),
        app.get("/users").header("accept", "application/vnd.agora.v1+json"),
    ];
    for req in v1_requests {
        let res = req.send().await;
        res.assert_status(200);
        assert_eq!(res.header("api-version"), Some("1"), "{}", res.describe());
        assert_eq!(res.pagination()["page"], json!(1), "{}", res.describe());
        assert_eq!(res.pagination()["per_page"], json!(20));
        assert_eq!(res.pagination()["total"], json!(1));
        assert!(res.pagination().get("has_more").is_none());
        assert_deprecated(&res, "/v2/users");
    }
    // Each way of naming v2, and naming none: cursor pagination.
    let v2_requests = vec![
        app.get("/users"),
        app.get("/users").header("api-version", "2"),
        app.get("/users?version=2"),
        app.get("/users").header("accept", "application/vnd.agora.v2+json"),
    ];
    for req in v2_requests {
        let res = req.send().await;
        res.assert_status(200);
        assert_current(&res);
        assert_eq!(res.pagination()["has_more"], json!(false), "{}", res.describe());
        assert!(res.pagination().get("page").is_none());
        assert_eq!(res.items().len(), 1);
    }
    // The prefixed routes behave the same.
    let res = app.get("/v1/users").send().await;
    assert_eq!(res.pagination()["page"], json!(1));
    let res = app.get("/v2/users").send().await;
    assert!(res.pagination().get("next_cursor").is_some() && res.pagination().get("page").is_none());

    // Writes, too: Location names the version that served the request.
    let res = app
        .post("/users")
        .header("api-version", "1")
        .json(&json!({"name": "Bob", "email": "bob@example.com", "password": "long enough"}))
        .send()
        .await;
    res.assert_status(201);
    assert_eq!(res.header("location"), Some(format!("/v1/users/{}", id(res.data())).as_str()));
    let res = app
        .post("/users")
        .json(&json!({"name": "Cy", "email": "cy@example.com", "password": "long enough"}))
        .send()
        .await;
    res.assert_status(201);
    assert_eq!(res.header("location"), Some(format!("/v2/users/{}", id(res.data())).as_str()));
});

db_test!(unknown_versions_are_404_unsupported_api_version, |app| async move {
    let requests = vec![
        app.get("/v3/users"),
        app.get("/v0/users"),
        app.get("/v99"),
        app.get("/users").header("api-version", "9"),
        app.get("/users").header("api-version", "two"),
        app.get("/users?version=7"),
        app.get("/users").header("accept", "application/vnd.agora.v5+json"),
        app.post("/v3/users").json(&json!({})),
    ];
    for req in requests {
        let res = req.header("x-request-id", "ver-1").send().await;
        res.assert_error(404, "UNSUPPORTED_API_VERSION");
        assert_eq!(res.header("x-request-id"), Some("ver-1"));
        assert_eq!(res.body["meta"]["request_id"], json!("ver-1"));
    }
    // Problem details work here too.
    let res = app.get("/v3/users").header("accept", "application/problem+json").send().await;
    res.assert_status(404);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert_eq!(res.body["code"], json!("UNSUPPORTED_API_VERSION"));
});
