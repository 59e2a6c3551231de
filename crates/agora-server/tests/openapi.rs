//! The OpenAPI document: a reviewed snapshot of it, and its agreement with the running server
//! (every documented operation is routed and answers a documented status; undocumented methods
//! are 405 with the documented ones in `Allow`; bodies have the documented keys; `/docs` works
//! offline).
//!
//! After an intended change to the document, `INSTA_UPDATE=always cargo test -p agora-server
//! --test openapi` rewrites `tests/snapshots/openapi__document.snap`; review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use agora_server::state::Documents;
use agora_test_support::{TestApp, create_user, unique_email};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn documents() -> Documents {
    let (_, api, table) = agora_server::rest::all().split();
    let required = agora_server::config::Config::default().idempotency.required;
    agora_server::openapi::documents(api, &agora_server::idempotency::KeyRules::new(table.into(), required))
}

fn full() -> Value {
    serde_json::from_str(&documents().all).expect("the document is JSON")
}

#[test]
fn document() {
    insta::assert_snapshot!(documents().all);
}

/// `(path, method, operation)` for every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// The keys of `value` fit schema component `name`: required ones present, none undocumented.
fn fits(doc: &Value, name: &str, value: &Value) {
    let schema = &doc["components"]["schemas"][name];
    let properties: BTreeSet<&String> =
        schema["properties"].as_object().unwrap_or_else(|| panic!("{name} has no properties")).keys().collect();
    let required: BTreeSet<&str> =
        schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let keys: BTreeSet<&String> = value.as_object().unwrap_or_else(|| panic!("{value} is no object")).keys().collect();
    assert!(keys.iter().all(|k| properties.contains(k)), "{name}: undocumented keys in {value}");
    assert!(required.iter().all(|r| value.get(*r).is_some()), "{name}: required keys missing in {value}");
}

#[tokio::test]
async fn the_server_serves_the_built_documents() {
    let app = TestApp::sqlite().await;
    let docs = documents();
    for (path, expected) in
        [("/openapi.json", &docs.all), ("/v1/openapi.json", &docs.v1), ("/v2/openapi.json", &docs.v2)]
    {
        let r = app.get(path).send().await;
        r.assert_status(200);
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{path}");
        assert_eq!(r.text(), *expected, "{path}");
    }
    let v1: Value = serde_json::from_str(&docs.v1).unwrap();
    assert!(v1["paths"].as_object().unwrap().keys().all(|p| p.starts_with("/v1/")));
}

#[tokio::test]
async fn docs_page_works_offline() {
    let app = TestApp::sqlite().await;
    let r = app.get("/docs").send().await;
    assert!(r.status.is_redirection(), "/docs answered {}", r.status);
    let page = app.get("/docs/").send().await;
    page.assert_status(200);
    let html = page.text();
    let assets: Vec<String> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1).map(|p| p.split('"').next().unwrap_or("").to_string()))
        .collect();
    assert!(assets.iter().all(|a| !a.starts_with("http") && !a.starts_with("//")), "external assets: {assets:?}");
    for asset in &assets {
        app.get(&format!("/docs/{}", asset.trim_start_matches("./"))).send().await.assert_status(200);
    }
    let init = app.get("/docs/swagger-initializer.js").send().await;
    assert!(init.text().contains("\"/openapi.json\""));
}

/// Every documented operation is routed and answers one of its documented statuses; every
/// documented path refuses undocumented methods with 405 and an `Allow` listing exactly the
/// documented ones.
#[tokio::test]
async fn documented_operations_are_routed_and_answer_documented_statuses() {
    let app = TestApp::sqlite().await;
    let doc = full();
    for (path, method, op) in operations(&doc) {
        let uri = path.replace("{id}", "1");
        let mut req = app.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &uri);
        if ["post", "put", "patch"].contains(&method.as_str()) {
            req = req.json(&json!({}));
        }
        let r = req.send().await;
        let documented: BTreeSet<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert!(
            documented.contains(&r.status.as_str().to_string()),
            "{method} {uri} (documented: {documented:?}): {}",
            r.describe()
        );
        assert_ne!(r.code(), "NOT_FOUND", "{method} {uri} is not routed");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        let documented: BTreeSet<String> =
            item.as_object().unwrap().keys().filter(|m| *m != "parameters").map(|m| m.to_uppercase()).collect();
        let Some(other) = ["GET", "PUT", "POST", "DELETE", "PATCH"].into_iter().find(|m| !documented.contains(*m))
        else {
            continue;
        };
        let r = app.request(Method::from_bytes(other.as_bytes()).unwrap(), &path.replace("{id}", "1")).send().await;
        r.assert_error(405, "METHOD_NOT_ALLOWED");
        let allowed: BTreeSet<String> = r
            .header("allow")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty() && m != "HEAD")
            .collect();
        assert_eq!(allowed, documented, "{path}: Allow differs from the documented methods");
    }
}

/// Bodies carry the documented keys: the envelope, a resource, each pagination style, errors
/// in both forms.
#[tokio::test]
async fn bodies_fit_the_document() {
    let app = TestApp::sqlite().await;
    let doc = full();
    let user = create_user(&app, "Ada", &unique_email("ada")).await;
    let id = user["id"].as_i64().unwrap();
    let one = app.get(&format!("/v1/users/{id}")).send().await;
    fits(&doc, "Envelope_UserOut", &one.body);
    fits(&doc, "UserOut", one.data());
    fits(&doc, "Meta", &one.body["meta"]);
    for (uri, style) in [
        ("/v1/users", "PagePagination"),
        ("/v2/users", "CursorPagination"),
        ("/v2/users?offset=0&limit=5", "OffsetPagination"),
        ("/v2/users?limit=5&include_total=true", "CursorPagination"),
    ] {
        let r = app.get(uri).send().await;
        fits(&doc, "ListEnvelope_UserOut", &r.body);
        fits(&doc, style, r.pagination());
    }
    let missing = app.get("/v2/users/999999").send().await;
    missing.assert_status(404);
    fits(&doc, "ErrorEnvelope", &missing.body);
    fits(&doc, "ErrorBody", &missing.body["error"]);
    let problem = app.post("/v2/users").header("accept", "application/problem+json").json(&json!({})).send().await;
    problem.assert_status(422);
    fits(&doc, "ProblemDetails", &problem.body);
    for e in problem.body["errors"].as_array().unwrap() {
        fits(&doc, "FieldError", e);
    }
    // Every code the server sends is in the vocabulary the document lists.
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    for code in [missing.code(), problem.body["code"].as_str().unwrap_or_default()] {
        assert!(codes.as_array().unwrap().contains(&json!(code)), "{code}");
    }
    assert_eq!(StatusCode::OK, app.get("/healthz").send().await.status);
}

/// The parameter objects of an operation, references resolved.
fn parameters<'a>(doc: &'a Value, op: &'a Value) -> Vec<&'a Value> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| match p["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/parameters/")) {
            Some(name) => &doc["components"]["parameters"][name],
            None => p,
        })
        .collect()
}

#[test]
fn request_built_from_the_documents_defaults_is_valid() {
    // Page, offset and cursor parameters cannot be combined, so none declares a default a
    // client (or the docs page) would send along with the others.
    let doc = full();
    for (path, method, op) in operations(&doc) {
        for p in parameters(&doc, &op) {
            let name = p["name"].as_str().unwrap_or_default();
            if ["page", "per_page", "offset", "limit", "cursor", "after_id"].contains(&name) {
                assert!(p["schema"].get("default").is_none(), "{method} {path}: `{name}` declares a default");
            }
        }
    }
}

#[test]
fn headers_the_server_never_refuses_declare_no_constraints() {
    // An invalid X-Request-ID is replaced and API-Version is ignored under a prefix: neither
    // may declare a pattern or an enum that would make a fuzzer expect a refusal.
    let doc = full();
    for name in ["X-Request-ID", "API-Version"] {
        let schema = &doc["components"]["parameters"][name]["schema"];
        assert!(schema.get("enum").is_none(), "{name}: {schema}");
        assert_eq!(schema["pattern"], json!("^[^\\u0000]*$"), "{name}: only NUL is excluded");
    }
}

#[test]
fn responses_to_field_selection_allow_partial_resources() {
    let doc = full();
    let mut seen = 0;
    for (path, method, op) in operations(&doc) {
        if !parameters(&doc, &op).iter().any(|p| p["name"] == "fields") {
            continue;
        }
        seen += 1;
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        let variants: Vec<&str> =
            schema["anyOf"].as_array().into_iter().flatten().filter_map(|v| v["$ref"].as_str()).collect();
        assert_eq!(variants.len(), 2, "{method} {path}: {schema}");
        let selected = variants[1].trim_start_matches("#/components/schemas/");
        assert!(selected.ends_with("_Selected"), "{method} {path}: {selected}");
        let data = &doc["components"]["schemas"][selected]["properties"]["data"];
        let item = data.get("items").unwrap_or(data);
        assert!(!item.to_string().contains("\"required\""), "{selected} still requires properties: {item}");
    }
    assert!(seen >= 14, "every list and single-resource GET selects fields ({seen})");
}

#[test]
fn cross_property_rules_are_in_the_schemas() {
    let doc = full();
    let schemas = &doc["components"]["schemas"];
    let grants = schemas["TokenRequest"]["anyOf"].as_array().expect("one branch per grant");
    let consts: Vec<&str> = grants.iter().filter_map(|g| g["properties"]["grant_type"]["const"].as_str()).collect();
    assert_eq!(consts, ["password", "refresh_token", "client_credentials", "authorization_code"]);
    assert!(schemas["NewOAuthClient"]["anyOf"].is_array(), "redirect URIs are conditionally required");
    assert_eq!(schemas["NewOAuthClient"]["additionalProperties"], json!(false));
    assert_eq!(schemas["SignIn"]["properties"]["password"]["minLength"], json!(1));
    assert!(schemas["SignIn"]["properties"]["password"].get("default").is_none());
    let name_pattern = schemas["UserName"]["pattern"].as_str().expect("names refuse control characters");
    assert!(name_pattern.contains("\\u0000-\\u0008"), "{name_pattern}");
    assert_eq!(schemas["Scopes"]["anyOf"][0]["minItems"], json!(1));
}

#[test]
fn idempotency_key_is_documented_exactly_where_it_is_honoured() {
    let doc = full();
    let mut keyed = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let params = parameters(&doc, &op);
        let key = params.iter().find(|p| p["name"] == "Idempotency-Key");
        let codes: Vec<&str> = op["responses"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|r| r["x-error-codes"].as_array().into_iter().flatten().filter_map(Value::as_str))
            .collect();
        let replay_header = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .any(|(s, r)| s.starts_with('2') && r["headers"].get("Idempotency-Replay").is_some());
        match key {
            Some(k) => {
                keyed.insert(format!("{} {path}", method.to_uppercase()));
                // By default (the contract) keys are required to place orders and to charge.
                let required = method == "post" && (path.ends_with("/charges") || path.ends_with("/orders"));
                assert_eq!(k["required"], json!(required), "{method} {path}: required by default or not");
                if required {
                    assert!(codes.contains(&"MISSING_IDEMPOTENCY_KEY"), "{method} {path}");
                }
                assert!(codes.contains(&"REQUEST_IN_PROGRESS") && codes.contains(&"IDEMPOTENCY_KEY_REUSED"));
                assert!(replay_header, "{method} {path}: Idempotency-Replay on its success");
            }
            None => {
                assert!(!codes.contains(&"REQUEST_IN_PROGRESS"), "{method} {path}");
                assert!(!replay_header, "{method} {path}");
            }
        }
    }
    let mut expected = BTreeSet::new();
    for v in ["/v1", "/v2"] {
        for (m, p) in [
            ("POST", "/users"),
            ("PATCH", "/users/{id}"),
            ("POST", "/posts"),
            ("PATCH", "/posts/{id}"),
            ("POST", "/posts/{id}/comments"),
            ("POST", "/products"),
            ("PATCH", "/products/{id}"),
            ("POST", "/users/{id}/orders"),
            ("POST", "/orders/{id}/cancel"),
            ("POST", "/orders/{id}/fulfill"),
            ("POST", "/charges"),
            ("POST", "/charges/{id}/refund"),
        ] {
            expected.insert(format!("{m} {v}{p}"));
        }
    }
    assert_eq!(keyed, expected, "secrets (API keys, client secrets, tokens, sessions) are never stored");
}

#[test]
fn a_required_key_is_documented_as_required() {
    let (_, api, table) = agora_server::rest::all().split();
    let keys = agora_server::idempotency::KeyRules::new(table.into(), vec!["POST /v*/posts".into()]);
    let doc: Value = serde_json::from_str(&agora_server::openapi::documents(api, &keys).v2).unwrap();
    let op = &doc["paths"]["/v2/posts"]["post"];
    let key = parameters(&doc, op).into_iter().find(|p| p["name"] == "Idempotency-Key").expect("the header").clone();
    assert_eq!(key["required"], json!(true));
    assert!(op["responses"]["400"]["x-error-codes"].as_array().unwrap().contains(&json!("MISSING_IDEMPOTENCY_KEY")));
}
