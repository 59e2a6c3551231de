//! The OpenAPI document: a committed snapshot, its structure, and its agreement with the
//! running server (every documented operation is routed and answers a documented status; the
//! bodies and headers it sends are the documented ones; `/docs` works offline).
//!
//! `UPDATE_SNAPSHOTS=1 cargo test -p agora-server --test openapi` rewrites
//! `tests/snapshots/openapi.json` after an intended change to the document.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use agora_server::openapi::{self, Scope};
use agora_server::{App, Config};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];
const OPERATIONAL: [&str; 4] = ["/healthz", "/metrics", "/openapi.json", "/readyz"];

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("snapshots").join("openapi.json")
}

fn full() -> Value {
    serde_json::from_str(&openapi::build().all).expect("the document is JSON")
}

/// `(path, method, operation)` for every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((path.clone(), m.to_string(), op.clone()));
            }
        }
    }
    out
}

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling {r}")),
        None => v,
    }
}

fn parameter_names(doc: &Value, op: &Value) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p)["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn snapshot_matches() {
    let actual = format!("{}\n", openapi::build().all);
    let path = snapshot_path();
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run with UPDATE_SNAPSHOTS=1 to create it", path.display()));
    if expected != actual {
        let (line, (want, got)) = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, pair)| (i + 1, pair))
            .unwrap_or((expected.lines().count().min(actual.lines().count()) + 1, ("<end>", "<end>")));
        panic!(
            "the OpenAPI document differs from {} at line {line}:\n  snapshot: {want}\n  current:  {got}\n\
             If the change is intended, run `UPDATE_SNAPSHOTS=1 cargo test -p agora-server --test openapi` \
             and commit the new snapshot.",
            path.display()
        );
    }
}

#[test]
fn is_openapi_3_1_with_info_and_servers() {
    let doc = full();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Agora API");
    assert!(doc["info"]["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert!(doc["info"]["description"].as_str().is_some_and(|v| v.len() > 100));
    assert!(doc["info"]["license"]["name"].is_string());
    assert_eq!(doc["servers"], json!([{"url": "/", "description": "This server"}]));
}

#[test]
fn every_path_has_a_v1_and_a_v2_variant() {
    let doc = full();
    let paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let tail = |prefix: &str| -> BTreeSet<String> {
        paths.iter().filter_map(|p| p.strip_prefix(prefix)).map(String::from).collect()
    };
    let (v1, v2) = (tail("/v1/"), tail("/v2/"));
    assert!(!v1.is_empty());
    assert_eq!(v1, v2, "v1 and v2 paths differ");
    let unversioned: BTreeSet<&str> =
        paths.iter().filter(|p| !p.starts_with("/v1/") && !p.starts_with("/v2/")).map(String::as_str).collect();
    assert_eq!(unversioned, OPERATIONAL.into_iter().collect());
    for resource in ["users", "users/{id}", "users/{id}/posts", "posts", "posts/{id}", "products", "products/{id}"] {
        assert!(v2.contains(resource), "{resource} missing");
    }
    // The same methods under both prefixes.
    for p in &v1 {
        let methods = |prefix: &str| -> BTreeSet<&str> {
            let item = &doc["paths"][format!("{prefix}{p}")];
            METHODS.into_iter().filter(|m| item.get(*m).is_some()).collect()
        };
        assert_eq!(methods("/v1/"), methods("/v2/"), "{p}");
    }
}

#[test]
fn operation_ids_are_present_and_unique() {
    let doc = full();
    let mut seen = BTreeMap::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        if let Some(prev) = seen.insert(id.to_string(), format!("{method} {path}")) {
            panic!("operationId {id} is used by {prev} and {method} {path}");
        }
        if let Some(rest) = path.strip_prefix("/v1/") {
            assert!(id.starts_with("v1_"), "{id}");
            let twin = &doc["paths"][format!("/v2/{rest}")][&method]["operationId"];
            assert_eq!(twin.as_str().unwrap(), id.replacen("v1_", "v2_", 1));
        }
    }
    assert!(seen.contains_key("v1_list_users") && seen.contains_key("v2_list_users"));
}

#[test]
fn v1_operations_are_deprecated_and_v2_ones_are_not() {
    let doc = full();
    for (path, method, op) in operations(&doc) {
        let deprecated = op["deprecated"].as_bool().unwrap_or(false);
        assert_eq!(deprecated, path.starts_with("/v1/"), "{method} {path}");
    }
}

#[test]
fn every_response_has_a_description() {
    for scope in [Scope::All, Scope::Version(agora_server::http::versioning::ApiVersion::V1)] {
        let doc = serde_json::to_value(openapi::document_for(scope)).unwrap();
        for (path, method, op) in operations(&doc) {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}");
            for (status, r) in responses {
                let r = resolve(&doc, r);
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.trim().is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
        }
        for (name, r) in doc["components"]["responses"].as_object().unwrap() {
            assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "component {name}");
        }
    }
}

/// Parameters, headers and error responses the contract asks for, operation by operation.
#[test]
fn operations_declare_their_parameters_headers_and_errors() {
    let doc = full();
    for (path, method, op) in operations(&doc) {
        let what = format!("{method} {path}");
        let params = parameter_names(&doc, &op);
        let versioned = path.starts_with("/v1/") || path.starts_with("/v2/");
        let statuses: BTreeSet<&str> = op["responses"].as_object().unwrap().keys().map(String::as_str).collect();
        assert!(params.contains("X-Request-ID"), "{what}");
        for s in ["405", "429", "500"] {
            assert!(statuses.contains(s), "{what} lacks {s}");
        }
        if versioned {
            assert!(params.contains("API-Version"), "{what}");
            for s in ["401", "404"] {
                assert!(statuses.contains(s), "{what} lacks {s}");
            }
        }
        let by_id = path.ends_with("/{id}");
        let list = method == "get" && !by_id && !path.ends_with("openapi.json") && versioned;
        if path.contains("{id}") {
            let id = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| resolve(&doc, p))
                .find(|p| p["name"] == "id")
                .unwrap_or_else(|| panic!("{what} lacks the id parameter"));
            assert_eq!(id["in"], "path");
            assert_eq!(id["required"], true);
            assert_eq!(id["schema"]["type"], "integer");
            assert_eq!(id["schema"]["format"], "int64");
            assert_eq!(id["schema"]["minimum"], 1);
        }
        if list {
            for p in [
                "page",
                "per_page",
                "offset",
                "limit",
                "cursor",
                "after_id",
                "include_total",
                "sort",
                "fields",
                "q",
                "search",
            ] {
                assert!(params.contains(p), "{what} lacks {p}");
            }
            assert!(statuses.contains("400"), "{what}");
            let header = &op["responses"]["200"]["headers"]["Link"];
            assert!(header.is_object(), "{what}: 200 lacks Link");
        }
        if method == "get" && by_id {
            assert!(params.contains("If-None-Match") && params.contains("fields"), "{what}");
            assert!(statuses.contains("304") && statuses.contains("400"), "{what}");
            assert!(op["responses"]["200"]["headers"]["ETag"].is_object(), "{what}");
        }
        if method == "put" || method == "patch" {
            assert!(params.contains("If-Match"), "{what}");
            assert!(statuses.contains("412"), "{what}");
        }
        if method == "post" || method == "patch" {
            assert!(params.contains("Idempotency-Key"), "{what}");
        }
        if ["post", "put", "patch"].contains(&method.as_str()) {
            let body = &op["requestBody"];
            assert!(body["content"]["application/json"]["schema"]["$ref"].is_string(), "{what}");
            for s in ["400", "413", "415", "422"] {
                assert!(statuses.contains(s), "{what} lacks {s}");
            }
        }
        if method == "post" {
            let created = &op["responses"]["201"];
            assert!(created["headers"]["Location"].is_object(), "{what}: 201 lacks Location");
        }
        if method == "delete" {
            assert!(statuses.contains("204"), "{what}");
        }
        if path.starts_with("/v1/users") && method != "get" && method != "delete" {
            assert!(statuses.contains("409"), "{what} lacks 409 CONFLICT");
        }
        for (status, r) in op["responses"].as_object().unwrap() {
            let r = resolve(&doc, r);
            let headers = r["headers"].as_object().cloned().unwrap_or_default();
            for h in ["X-Request-ID", "API-Version"] {
                assert!(headers.contains_key(h), "{what} {status} lacks {h}");
            }
            if path.starts_with("/v1/") {
                for h in ["Deprecation", "Sunset", "Link"] {
                    assert!(headers.contains_key(h), "{what} {status} lacks {h}");
                }
            } else {
                assert!(!headers.contains_key("Deprecation") && !headers.contains_key("Sunset"), "{what} {status}");
            }
            if status.starts_with('4') || status.starts_with('5') {
                let content = &r["content"];
                assert_eq!(content["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorEnvelope");
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/ProblemDetails",
                    "{what} {status}"
                );
            }
        }
    }
}

#[test]
fn error_codes_named_by_the_contract_are_documented() {
    let text = openapi::build().all;
    for code in [
        "INVALID_REQUEST",
        "INVALID_QUERY",
        "USER_NOT_FOUND",
        "POST_NOT_FOUND",
        "PRODUCT_NOT_FOUND",
        "UNSUPPORTED_API_VERSION",
        "METHOD_NOT_ALLOWED",
        "CONFLICT",
        "PRECONDITION_FAILED",
        "PAYLOAD_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "VALIDATION_ERROR",
        "RATE_LIMIT_EXCEEDED",
        "INTERNAL_ERROR",
    ] {
        assert!(text.contains(&format!("`{code}`")), "{code} is not described");
    }
}

#[test]
fn request_bodies_have_schemas() {
    let doc = full();
    let schemas = &doc["components"]["schemas"];
    let props = |name: &str| -> BTreeSet<String> {
        schemas[name]["properties"].as_object().unwrap_or_else(|| panic!("{name}")).keys().cloned().collect()
    };
    let set = |names: &[&str]| -> BTreeSet<String> { names.iter().map(|s| s.to_string()).collect() };
    assert_eq!(props("UserCreate"), set(&["name", "email", "password", "role"]));
    assert_eq!(props("UserPatch"), set(&["name", "email", "password", "role"]));
    assert_eq!(props("PostCreate"), set(&["title", "content", "author_id"]));
    assert_eq!(props("PostPatch"), set(&["title", "content"]));
    let product = set(&["name", "description", "category", "price", "currency", "stock"]);
    assert_eq!(props("ProductWrite"), product);
    assert_eq!(props("ProductPatch"), product);
    for name in ["UserCreate", "UserReplace", "UserPatch", "PostCreate", "PostPatch", "ProductWrite", "ProductPatch"] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
}

#[test]
fn per_version_documents_hold_one_version_each() {
    let docs = openapi::build();
    for (text, prefix) in [(&docs.v1, "/v1/"), (&docs.v2, "/v2/")] {
        let doc: Value = serde_json::from_str(text).unwrap();
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        assert!(!paths.is_empty());
        assert!(paths.iter().all(|p| p.starts_with(prefix)), "{prefix}: {paths:?}");
        assert_eq!(doc["openapi"], "3.1.0");
    }
}

// ---- Against the running server -------------------------------------------------------------

struct Server {
    app: Option<App>,
    router: Router,
    dir: PathBuf,
}

impl Server {
    async fn start() -> Server {
        let dir = std::env::temp_dir().join(format!("agora-openapi-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config =
            Config { database_url: format!("sqlite://{}", dir.join("agora.db").display()), ..Config::default() };
        config.auth.jwt_secret = "openapi-test-secret".into();
        config.auth.argon2_memory_kib = 64;
        config.auth.argon2_iterations = 1;
        config.rate_limit.enabled = false;
        let app = App::build(config).await.expect("App::build");
        Server { router: app.router(), app: Some(app), dir }
    }

    async fn send(&self, method: Method, uri: &str, headers: &[(&str, &str)], body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&b).unwrap())
            }
            None => Body::empty(),
        };
        let res = self.router.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply { status, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers, bytes: bytes.to_vec() }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, &[], None).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.app.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
    bytes: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// The keys of `value` fit `schema` (a component): required ones present, none undocumented.
fn fits(doc: &Value, schema_name: &str, value: &Value) {
    let schema = &doc["components"]["schemas"][schema_name];
    let properties: BTreeSet<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let required: BTreeSet<&str> =
        schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let keys: BTreeSet<&String> = value.as_object().unwrap_or_else(|| panic!("{value} is no object")).keys().collect();
    assert!(keys.iter().all(|k| properties.contains(k)), "{schema_name}: undocumented keys in {value}");
    assert!(required.iter().all(|r| value.get(*r).is_some()), "{schema_name}: required keys missing in {value}");
}

#[tokio::test]
async fn the_server_serves_the_built_documents() {
    let s = Server::start().await;
    let docs = openapi::build();
    for (path, expected) in
        [("/openapi.json", &docs.all), ("/v1/openapi.json", &docs.v1), ("/v2/openapi.json", &docs.v2)]
    {
        let r = s.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{path}");
        assert_eq!(r.text(), *expected, "{path}");
    }
}

#[tokio::test]
async fn docs_page_works_offline() {
    let s = Server::start().await;
    let r = s.get("/docs").await;
    assert!(r.status.is_redirection(), "/docs answered {}", r.status);
    assert_eq!(r.header("location"), Some("/docs/"));

    let page = s.get("/docs/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")));
    let html = page.text();
    assert!(html.contains("swagger-ui"), "{html}");
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let url = part.split('"').next().unwrap();
            assert!(
                !url.starts_with("http:") && !url.starts_with("https:") && !url.starts_with("//"),
                "external asset {url}"
            );
            assets.push(url.trim_start_matches("./").to_string());
        }
    }
    assert!(assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")), "{assets:?}");
    for asset in &assets {
        let r = s.get(&format!("/docs/{asset}")).await;
        assert_eq!(r.status, StatusCode::OK, "/docs/{asset}");
        assert!(!r.bytes.is_empty(), "/docs/{asset}");
    }
    let init = s.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status, StatusCode::OK);
    let js = init.text();
    assert!(js.contains("\"/openapi.json\""), "{js}");
    assert!(!js.contains("https://petstore"), "{js}");
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
}

/// Every documented operation is routed and answers one of its documented statuses; every
/// documented path refuses undocumented methods with 405 and an `Allow` listing exactly the
/// documented ones.
#[tokio::test]
async fn documented_operations_are_routed_and_answer_documented_statuses() {
    let s = Server::start().await;
    let doc = full();
    for (path, method, op) in operations(&doc) {
        let uri = concrete(&path);
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = ["post", "put", "patch"].contains(&method.as_str()).then(|| json!({}));
        let r = s.send(m, &uri, &[], body).await;
        let documented: BTreeSet<String> = op["responses"].as_object().unwrap().keys().cloned().collect();
        assert!(
            documented.contains(r.status.as_str()),
            "{method} {uri} answered {} (documented: {documented:?}): {}",
            r.status,
            r.text()
        );
        assert_ne!(r.json["error"]["code"], "NOT_FOUND", "{method} {uri} is not routed");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        let documented: BTreeSet<String> =
            METHODS.into_iter().filter(|m| item.get(*m).is_some()).map(|m| m.to_uppercase()).collect();
        let Some(other) = METHODS.into_iter().map(str::to_uppercase).find(|m| !documented.contains(m)) else {
            continue;
        };
        let r = s.send(Method::from_bytes(other.as_bytes()).unwrap(), &concrete(path), &[], None).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{other} {path}");
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

#[tokio::test]
async fn bodies_and_headers_match_the_document() {
    let s = Server::start().await;
    let doc = full();

    let created = s
        .send(
            Method::POST,
            "/v2/users",
            &[],
            Some(json!({"name": "Ada", "email": "ada@example.com", "password": "correct horse"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    fits(&doc, "UserResponse", &created.json);
    fits(&doc, "UserOut", &created.json["data"]);
    fits(&doc, "Meta", &created.json["meta"]);
    assert!(created.header("location").is_some() && created.header("etag").is_some());
    let id = created.json["data"]["id"].as_i64().unwrap();

    let one = s.get(&format!("/v1/users/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    fits(&doc, "UserResponse", &one.json);
    for h in ["x-request-id", "api-version", "deprecation", "sunset", "link", "etag"] {
        assert!(one.header(h).is_some(), "v1 response lacks {h}");
    }

    for (uri, style) in [
        ("/v1/users", "PagePagination"),
        ("/v2/users", "CursorPagination"),
        ("/v2/users?offset=0&limit=5", "OffsetPagination"),
        ("/v2/users?limit=5&include_total=true", "CursorPagination"),
    ] {
        let r = s.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        fits(&doc, "UserListResponse", &r.json);
        fits(&doc, style, &r.json["pagination"]);
        assert!(r.header("link").is_some(), "{uri} lacks Link");
    }

    let missing = s.get("/v2/users/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    fits(&doc, "ErrorEnvelope", &missing.json);
    fits(&doc, "ErrorBody", &missing.json["error"]);

    let invalid = s.send(Method::POST, "/v2/users", &[], Some(json!({"name": ""}))).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    for d in invalid.json["error"]["details"].as_array().unwrap() {
        fits(&doc, "FieldError", d);
    }

    let problem = s.send(Method::POST, "/v2/users", &[("accept", "application/problem+json")], Some(json!({}))).await;
    assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem.header("content-type").is_some_and(|c| c.starts_with("application/problem+json")));
    fits(&doc, "ProblemDetails", &problem.json);
    for e in problem.json["errors"].as_array().unwrap() {
        fits(&doc, "FieldError", e);
    }

    for (path, schema) in [("/healthz", "HealthResponse"), ("/readyz", "ReadyResponse")] {
        let r = s.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        fits(&doc, schema, &r.json);
    }
}
