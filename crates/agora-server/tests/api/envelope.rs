//! CONTRACT §3: the envelope, request ids, problem+json, and framework rejections rendered in
//! the envelope with the right status and code.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use chrono::DateTime;
use serde_json::{Value, json};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    k.sort();
    k
}

#[track_caller]
fn assert_meta(res: &TestResponse) {
    let header = res.header("x-request-id").unwrap_or_else(|| panic!("no X-Request-ID: {}", res.describe()));
    assert_eq!(res.body["meta"]["request_id"], json!(header), "{}", res.describe());
    let ts = res.body["meta"]["timestamp"].as_str().unwrap_or_else(|| panic!("no timestamp: {}", res.describe()));
    let parsed = DateTime::parse_from_rfc3339(ts).unwrap_or_else(|e| panic!("timestamp {ts:?} is not RFC 3339: {e}"));
    assert_eq!(parsed.offset().local_minus_utc(), 0, "timestamp {ts} is not UTC");
    assert!(ts.ends_with('Z'), "timestamp {ts} should be in Z form");
}

db_test!(success_envelope_shape, |app| async move {
    let user = create_user(&app, "Ada", &unique_email("ada")).await;
    let res = app.get(&format!("/v2/users/{}", id(&user))).send().await;
    res.assert_status(200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(keys(&res.body), ["data", "meta", "success"]);
    assert_eq!(res.body["success"], json!(true));
    assert_eq!(res.data()["id"], user["id"]);
    assert_eq!(keys(&res.body["meta"]), ["request_id", "timestamp"]);
    assert_meta(&res);
    assert!(res.header("x-request-id").unwrap().starts_with("req_"));
});

db_test!(list_envelope_shape, |app| async move {
    create_user(&app, "Ada", &unique_email("ada")).await;
    let res = app.get("/v2/users").send().await;
    res.assert_status(200);
    assert_eq!(keys(&res.body), ["data", "meta", "pagination", "success"]);
    assert_eq!(res.body["success"], json!(true));
    assert_eq!(res.items().len(), 1);
    assert_meta(&res);
});

db_test!(error_envelope_shape, |app| async move {
    let res = app.get("/v2/users/424242").send().await;
    res.assert_error(404, "USER_NOT_FOUND");
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(keys(&res.body), ["error", "meta", "success"]);
    assert!(res.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_meta(&res);
});

db_test!(request_id_is_echoed_when_valid, |app| async move {
    let long = "a".repeat(128);
    for sent in ["abc", "req.ID_with-all.7", "Z", long.as_str()] {
        let res = app.get("/v2/users").header("x-request-id", sent).send().await;
        res.assert_status(200);
        assert_eq!(res.header("x-request-id"), Some(sent));
        assert_eq!(res.body["meta"]["request_id"], json!(sent));
    }
    // Also on errors and on framework rejections.
    let res = app.get("/v2/nowhere").header("x-request-id", "trace-1").send().await;
    res.assert_error(404, "NOT_FOUND");
    assert_eq!(res.header("x-request-id"), Some("trace-1"));
    assert_eq!(res.body["meta"]["request_id"], json!("trace-1"));
});

db_test!(request_id_is_regenerated_when_invalid, |app| async move {
    let too_long = "a".repeat(129);
    let mut seen = std::collections::HashSet::new();
    for sent in [too_long.as_str(), "has space", "semi;colon", "slash/y", "ümlaut", "", "quote\"d"] {
        let req = app.get("/v2/users");
        let req = if sent.is_ascii() {
            req.header("x-request-id", sent)
        } else {
            req.header_bytes("x-request-id", sent.as_bytes())
        };
        let res = req.send().await;
        res.assert_status(200);
        let got = res.header("x-request-id").unwrap().to_string();
        assert_ne!(got, sent);
        assert!(got.starts_with("req_"), "generated id {got:?}");
        assert!((1..=128).contains(&got.len()));
        assert!(got.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)), "{got}");
        assert_eq!(res.body["meta"]["request_id"], json!(got));
        assert!(seen.insert(got), "generated ids must be unique");
    }
});

db_test!(problem_json_for_domain_errors, |app| async move {
    let res = app
        .get("/v2/users/424242")
        .header("accept", "application/problem+json")
        .header("x-request-id", "prob-1")
        .send()
        .await;
    res.assert_status(404);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    let b = &res.body;
    assert!(b["type"].as_str().is_some_and(|t| !t.is_empty()), "{}", res.describe());
    assert_eq!(b["title"], json!("Not Found"));
    assert_eq!(b["status"], json!(404));
    assert!(b["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(b["instance"].as_str().is_some_and(|i| !i.is_empty()));
    assert_eq!(b["code"], json!("USER_NOT_FOUND"));
    assert_eq!(b["request_id"], json!("prob-1"));
    assert_eq!(res.header("x-request-id"), Some("prob-1"));
    assert!(b.get("success").is_none(), "problem details are not the envelope");
});

db_test!(problem_json_lists_field_errors, |app| async move {
    let res = app
        .post("/v2/users")
        .header("accept", "application/problem+json")
        .json(&json!({"name": "", "email": "nope", "password": "short"}))
        .send()
        .await;
    res.assert_status(422);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert_eq!(res.body["status"], json!(422));
    assert_eq!(res.body["code"], json!("VALIDATION_ERROR"));
    let mut fields: Vec<&str> =
        res.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["email", "name", "password"]);
    for e in res.body["errors"].as_array().unwrap() {
        assert!(e["code"].as_str().is_some() && e["message"].as_str().is_some(), "{e}");
    }
    assert_eq!(res.body["request_id"], json!(res.header("x-request-id").unwrap()));
});

db_test!(problem_json_for_framework_rejections, |app| async move {
    let res = app.get("/v2/nowhere").header("accept", "application/problem+json").send().await;
    res.assert_status(404);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert_eq!(res.body["code"], json!("NOT_FOUND"));
    let res = app.delete("/v2/users").header("accept", "application/problem+json").send().await;
    res.assert_status(405);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert_eq!(res.body["code"], json!("METHOD_NOT_ALLOWED"));
    assert_eq!(res.body["status"], json!(405));
});

db_test!(unknown_routes_are_404_not_found, |app| async move {
    for path in ["/v2/nowhere", "/v1/nowhere", "/nowhere", "/v2/users/1/nowhere", "/v2", "/"] {
        let res = app.get(path).send().await;
        res.assert_error(404, "NOT_FOUND");
        assert!(res.header("x-request-id").is_some());
    }
});

db_test!(wrong_method_is_405_with_allow, |app| async move {
    let res = app.delete("/v2/users").send().await;
    res.assert_error(405, "METHOD_NOT_ALLOWED");
    let allow = res.header("allow").unwrap_or_else(|| panic!("no Allow: {}", res.describe())).to_string();
    let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    assert!(methods.contains(&"GET") && methods.contains(&"POST"), "{allow}");
    assert!(!methods.contains(&"DELETE"), "{allow}");

    // Posts have no PUT.
    let res = app.put("/v2/posts/1").json(&json!({})).send().await;
    res.assert_error(405, "METHOD_NOT_ALLOWED");
    let allow = res.header("allow").unwrap().to_string();
    for m in ["GET", "PATCH", "DELETE"] {
        assert!(allow.split(',').map(str::trim).any(|x| x == m), "{m} missing from {allow}");
    }
});

db_test!(malformed_json_is_400_invalid_request, |app| async move {
    for body in ["{", "{\"name\": }", "not json", "{\"a\":1}}"] {
        let res = app.post("/v2/users").body("application/json", body).send().await;
        res.assert_error(400, "INVALID_REQUEST");
    }
    // An empty body with a JSON content type is not a JSON object either.
    let res = app.post("/v2/users").body("application/json", "").send().await;
    res.assert_error(400, "INVALID_REQUEST");
});

db_test!(non_object_json_is_400_invalid_request, |app| async move {
    for body in ["[]", "[1,2]", "\"x\"", "42", "null", "true"] {
        let res = app.post("/v2/users").body("application/json", body).send().await;
        res.assert_error(400, "INVALID_REQUEST");
        let res = app.post("/v2/products").body("application/json", body).send().await;
        res.assert_error(400, "INVALID_REQUEST");
    }
});

db_test!(wrong_content_type_is_415, |app| async move {
    let body = r#"{"name":"Ada","email":"ada@example.com","password":"long enough"}"#;
    for ct in ["text/plain", "application/x-www-form-urlencoded", "application/xml"] {
        let res = app.post("/v2/users").body(ct, body).send().await;
        res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    let res = app.post("/v2/users").raw_body(body).send().await;
    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    // Nothing was created.
    let res = app.get("/v2/users?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(0));
    // A charset parameter is fine.
    let res = app.post("/v2/users").body("application/json; charset=utf-8", body).send().await;
    res.assert_status(201);
});

db_test!(body_over_one_mib_is_413, |app| async move {
    let big = format!(r#"{{"name":"{}","email":"a@example.com","password":"long enough"}}"#, "x".repeat(1024 * 1024));
    assert!(big.len() > 1024 * 1024);
    // Declared length over the limit.
    let res = app
        .post("/v2/users")
        .header("content-length", &big.len().to_string())
        .body("application/json", big.clone())
        .send()
        .await;
    res.assert_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(res.header("content-type"), Some("application/json"));
    // No declared length: the limit applies while reading.
    let res = app.post("/v2/users").body("application/json", big).send().await;
    res.assert_error(413, "PAYLOAD_TOO_LARGE");
    // Just under the limit is read and validated instead.
    let under = format!(r#"{{"name":"{}","email":"a@example.com","password":"long enough"}}"#, "x".repeat(1000 * 1000));
    assert!(under.len() < 1024 * 1024);
    let res = app.post("/v2/users").body("application/json", under).send().await;
    res.assert_validation(&["name"]);
});

db_test!(bad_path_ids_are_400_invalid_request, |app| async move {
    for path in [
        "/v2/users/abc",
        "/v2/users/99999999999999999999999",
        "/v2/users/0",
        "/v2/users/-1",
        "/v2/users/1.5",
        "/v2/posts/abc",
        "/v2/products/abc",
        "/v2/users/abc/posts",
        "/v1/users/abc",
    ] {
        let res = app.get(path).send().await;
        res.assert_error(400, "INVALID_REQUEST");
        assert_eq!(res.detail_fields(), ["id"], "{}", res.describe());
    }
    let res = app.patch("/v2/users/abc").json(&json!({"name": "x"})).send().await;
    res.assert_error(400, "INVALID_REQUEST");
    let res = app.put("/v2/products/99999999999999999999999").json(&json!({})).send().await;
    res.assert_error(400, "INVALID_REQUEST");
    let res = app.delete("/v2/posts/abc").send().await;
    res.assert_error(400, "INVALID_REQUEST");
});

db_test!(no_content_responses_have_no_body, |app| async move {
    let user = create_user(&app, "Ada", &unique_email("ada")).await;
    let res = app.delete(&format!("/v2/users/{}", id(&user))).bearer(&app.token_for(id(&user))).send().await;
    res.assert_status(204);
    assert!(res.bytes.is_empty(), "204 with a body: {}", res.describe());
    assert!(res.header("x-request-id").is_some());
});

db_test!(errors_do_not_leak_internals, |app| async move {
    // Every kind of rejection we can provoke anonymously: none mention SQL or source paths.
    let responses = vec![
        app.get("/v2/users/abc").send().await,
        app.get("/v2/products?sort=nope").send().await,
        app.get("/v2/products?cursor=garbage").send().await,
        app.post("/v2/users").body("application/json", "{").send().await,
        app.post("/v2/users").json(&json!({"email": "x"})).send().await,
    ];
    for res in responses {
        let text = res.text().to_ascii_lowercase();
        for needle in ["select ", "sqlx", "sqlite", "postgres", ".rs:", "panicked", "/src/"] {
            assert!(!text.contains(needle), "{needle:?} leaked: {}", res.describe());
        }
    }
});
