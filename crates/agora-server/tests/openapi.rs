//! The OpenAPI document: a committed snapshot, its structure (including each operation's
//! `security` against the authorization rules), and its agreement with the running server
//! (every documented operation is routed and answers a documented status; the bodies and
//! headers it sends are the documented ones, for the resources and the auth endpoints;
//! `/docs` works offline).
//!
//! `UPDATE_SNAPSHOTS=1 cargo test -p agora-server --test openapi` rewrites
//! `tests/snapshots/openapi.json` after an intended change to the document.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use agora_server::openapi::security::Policy;
use agora_server::openapi::{self, Scope};
use agora_server::{App, Config};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];
const OPERATIONAL: [&str; 7] = [
    "/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server",
    "/healthz",
    "/metrics",
    "/oauth/authorize",
    "/openapi.json",
    "/readyz",
];
/// Collections whose `GET` is a list with the shared list parameters.
const LISTS: [&str; 4] = ["users", "posts", "products", "users/{id}/posts"];
/// Collections whose `POST` creates an addressable resource (201 with `Location`).
const CREATES: [&str; 4] = ["users", "posts", "products", "api-keys"];

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
    for resource in [
        "users",
        "users/{id}",
        "users/{id}/posts",
        "users/me",
        "posts",
        "posts/{id}",
        "products",
        "products/{id}",
        "auth/token",
        "auth/revoke",
        "auth/introspect",
        "auth/session",
        "api-keys",
        "api-keys/{id}",
        "oauth/clients",
    ] {
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
        let tail = path.get(4..).filter(|_| versioned).unwrap_or_default();
        let list = method == "get" && LISTS.contains(&tail);
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
        if versioned && (method == "post" || method == "patch") {
            assert!(params.contains("Idempotency-Key"), "{what}");
            assert!(statuses.contains("409"), "{what} lacks 409 REQUEST_IN_PROGRESS");
        }
        if ["post", "put", "patch"].contains(&method.as_str()) {
            let body = &op["requestBody"];
            assert_eq!(body["required"], true, "{what}");
            for s in ["400", "413"] {
                assert!(statuses.contains(s), "{what} lacks {s}");
            }
            if versioned {
                assert!(body["content"]["application/json"]["schema"]["$ref"].is_string(), "{what}");
                for s in ["415", "422"] {
                    assert!(statuses.contains(s), "{what} lacks {s}");
                }
            }
        }
        if method == "post" && CREATES.contains(&tail) {
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
            if status.starts_with('3') && status != "304" {
                assert!(headers.contains_key("Location"), "{what} {status} lacks Location");
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
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "CSRF_FAILED",
        "UNSUPPORTED_GRANT_TYPE",
        "UNAUTHORIZED_CLIENT",
        "API_KEY_NOT_FOUND",
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
    assert_eq!(props("PostCreate"), set(&["title", "content"]));
    assert_eq!(props("PostPatch"), set(&["title", "content"]));
    let product = set(&["name", "description", "category", "price", "currency", "stock"]);
    assert_eq!(props("ProductWrite"), product);
    assert_eq!(props("ProductPatch"), product);
    for name in ["UserCreate", "UserReplace", "UserPatch", "PostCreate", "PostPatch", "ProductWrite", "ProductPatch"] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
    assert_eq!(props("SessionCreate"), set(&["email", "password"]));
    assert_eq!(props("ApiKeyCreate"), set(&["name", "scopes"]));
    assert_eq!(props("OAuthClientCreate"), set(&["name", "redirect_uris", "grant_types", "scopes"]));
    assert_eq!(props("RevokeRequest"), set(&["token", "token_type_hint"]));
    assert_eq!(props("IntrospectRequest"), set(&["token", "token_type_hint", "client_id", "client_secret"]));
    // One token request schema per grant, told apart by `grant_type`.
    let grants: BTreeSet<String> = schemas["TokenRequest"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["properties"]["grant_type"]["enum"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(grants, set(&["password", "refresh_token", "client_credentials", "authorization_code"]));
    // The OAuth endpoints read JSON and forms alike.
    let doc_paths = &doc["paths"];
    for path in ["/v2/auth/token", "/v2/auth/revoke", "/v2/auth/introspect", "/v2/auth/session"] {
        let content = &doc_paths[path]["post"]["requestBody"]["content"];
        let form = &content["application/x-www-form-urlencoded"]["schema"];
        assert!(form["$ref"].is_string(), "{path}");
        assert_eq!(content["application/json"]["schema"], *form, "{path}");
    }
    // Secrets shown once are documented in the creation responses only.
    assert!(props("ApiKeyCreated").contains("key") && !props("ApiKey").contains("key"));
    assert!(props("OAuthClientRegistration").contains("client_secret"));
    assert!(props("Session").contains("csrf_token"));
}

/// What each operation must declare, from the authorization rules (docs/AUTH.md): sign-up and
/// reads are public; writes need `write`; products and OAuth clients need `admin` too; the
/// caller's own views need any user credential; the OAuth endpoints authenticate clients.
fn expected_policy(method: &str, path: &str) -> Policy {
    const WRITE: &[&str] = &["write"];
    const ADMIN: &[&str] = &["write", "admin"];
    let Some(tail) = path.strip_prefix("/v1").or_else(|| path.strip_prefix("/v2")) else {
        return Policy::None;
    };
    match (method, tail) {
        ("get", "/openapi.json") => Policy::None,
        ("get", "/users/me" | "/api-keys") => Policy::Authenticated,
        ("get", _) => Policy::Optional,
        ("post", "/users") => Policy::Optional,
        ("post", "/auth/token") => Policy::OptionalClient,
        ("post", "/auth/revoke" | "/auth/session") => Policy::None,
        ("post", "/auth/introspect") => Policy::Client,
        ("delete", "/auth/session") => Policy::Session,
        ("post", "/oauth/clients") => Policy::Scoped(ADMIN),
        (_, t) if t.starts_with("/products") => Policy::Scoped(ADMIN),
        _ => Policy::Scoped(WRITE),
    }
}

#[test]
fn security_follows_the_authorization_rules() {
    for scope in [Scope::All, Scope::Version(agora_server::http::versioning::ApiVersion::V1)] {
        let doc = serde_json::to_value(openapi::document_for(scope)).unwrap();
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        let oauth_scopes: BTreeSet<&String> =
            doc["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]["scopes"]
                .as_object()
                .unwrap()
                .keys()
                .collect();
        for (path, method, op) in operations(&doc) {
            let what = format!("{method} {path}");
            let security = op.get("security").unwrap_or_else(|| panic!("{what} declares no security"));
            let policy = expected_policy(&method, &path);
            assert_eq!(*security, policy.requirements(), "{what}: expected {policy:?}");
            let mut optional = false;
            for requirement in security.as_array().unwrap() {
                let requirement = requirement.as_object().unwrap();
                optional |= requirement.is_empty();
                for (name, scopes) in requirement {
                    assert!(schemes.contains_key(name), "{what}: unknown scheme {name}");
                    for s in scopes.as_array().unwrap() {
                        assert!(oauth_scopes.contains(&s.as_str().unwrap().to_string()), "{what}: unknown scope {s}");
                    }
                }
            }
            let responses = &op["responses"];
            // Any credential that is sent is checked, so every operation can answer 401.
            let unauthorized = resolve(&doc, &responses["401"]);
            assert!(unauthorized.is_object(), "{what} lacks 401");
            assert!(unauthorized["headers"]["WWW-Authenticate"].is_object(), "{what}: 401 lacks WWW-Authenticate");
            if !optional {
                let text = unauthorized["description"].as_str().unwrap();
                assert!(text.contains("UNAUTHENTICATED"), "{what}: 401 {text}");
            }
            let params = parameter_names(&doc, &op);
            let unsafe_method = !["get", "head", "options", "trace"].contains(&method.as_str());
            assert_eq!(params.contains("X-CSRF-Token"), unsafe_method, "{what}: X-CSRF-Token");
            if unsafe_method {
                let forbidden = resolve(&doc, &responses["403"]);
                let text = forbidden["description"].as_str().unwrap_or_else(|| panic!("{what} lacks 403"));
                assert!(text.contains("`CSRF_FAILED`"), "{what}: 403 does not mention CSRF_FAILED");
                if matches!(policy, Policy::Scoped(_)) {
                    assert!(text.contains("`FORBIDDEN`"), "{what}: 403 does not mention FORBIDDEN");
                }
            } else if matches!(policy, Policy::Optional | Policy::None) {
                assert!(responses.get("403").is_none(), "{what}: a public read documents 403");
            }
        }
    }
}

#[test]
fn auth_endpoints_are_documented_in_full() {
    let doc = full();
    let op = |path: &str, method: &str| -> Value { doc["paths"][path][method].clone() };
    let body_ref = |op: &Value, status: &str| -> String {
        let r = resolve(&doc, &op["responses"][status]);
        r["content"]["application/json"]["schema"]["$ref"].as_str().unwrap_or_default().to_string()
    };
    for v in ["/v1", "/v2"] {
        let at = |p: &str| format!("{v}{p}");
        assert_eq!(body_ref(&op(&at("/auth/token"), "post"), "200"), "#/components/schemas/TokenResponse");
        assert_eq!(body_ref(&op(&at("/auth/revoke"), "post"), "200"), "#/components/schemas/RevokeResponse");
        assert_eq!(body_ref(&op(&at("/auth/introspect"), "post"), "200"), "#/components/schemas/IntrospectionResponse");
        let session = op(&at("/auth/session"), "post");
        assert_eq!(body_ref(&session, "201"), "#/components/schemas/SessionResponse");
        assert!(session["responses"]["201"]["headers"]["Set-Cookie"].is_object());
        assert!(op(&at("/auth/session"), "delete")["responses"]["204"]["headers"]["Set-Cookie"].is_object());
        assert_eq!(body_ref(&op(&at("/users/me"), "get"), "200"), "#/components/schemas/UserResponse");
        assert_eq!(body_ref(&op(&at("/api-keys"), "get"), "200"), "#/components/schemas/ApiKeyListResponse");
        assert_eq!(body_ref(&op(&at("/api-keys"), "post"), "201"), "#/components/schemas/ApiKeyCreatedResponse");
        assert!(op(&at("/api-keys/{id}"), "delete")["responses"]["204"].is_object());
        assert_eq!(body_ref(&op(&at("/oauth/clients"), "post"), "201"), "#/components/schemas/OAuthClientResponse");
    }
    // Specific answers win over the shared ones.
    let response_ref = |path: &str, method: &str, status: &str| -> String {
        doc["paths"][path][method]["responses"][status]["$ref"].as_str().unwrap_or_default().to_string()
    };
    for (path, method, status, name) in [
        ("/v2/auth/token", "post", "401", "InvalidGrant"),
        ("/v2/auth/token", "post", "415", "UnsupportedMediaTypeForm"),
        ("/v2/auth/revoke", "post", "415", "UnsupportedMediaTypeForm"),
        ("/v2/auth/introspect", "post", "401", "InvalidClient"),
        ("/v2/auth/introspect", "post", "415", "UnsupportedMediaTypeForm"),
        ("/v2/auth/session", "post", "401", "InvalidLogin"),
        ("/v2/auth/session", "post", "415", "UnsupportedMediaTypeForm"),
        ("/v2/auth/session", "delete", "401", "NoSession"),
        ("/v2/users/me", "get", "401", "UserRequired"),
        ("/v2/api-keys", "get", "401", "UserRequired"),
        ("/v2/api-keys/{id}", "delete", "401", "UserRequired"),
        ("/oauth/authorize", "post", "401", "AuthorizeSignInFailed"),
    ] {
        assert_eq!(
            response_ref(path, method, status),
            format!("#/components/responses/{name}"),
            "{method} {path} {status}"
        );
    }
    let page = op("/oauth/authorize", "get");
    assert!(page["responses"]["200"]["content"]["text/html; charset=utf-8"].is_object(), "{page}");
    let names = parameter_names(&doc, &page);
    for p in ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"]
    {
        assert!(names.contains(p), "GET /oauth/authorize lacks {p}");
    }
    let submit = op("/oauth/authorize", "post");
    let redirect = resolve(&doc, &submit["responses"]["302"]);
    assert!(redirect["headers"]["Location"].is_object());
    assert!(submit["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
    assert_eq!(body_ref(&op("/.well-known/jwks.json", "get"), "200"), "#/components/schemas/Jwks");
    assert_eq!(
        body_ref(&op("/.well-known/oauth-authorization-server", "get"), "200"),
        "#/components/schemas/AuthorizationServerMetadata"
    );
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

    /// Sends a form body (`application/x-www-form-urlencoded`).
    async fn form(&self, uri: &str, headers: &[(&str, &str)], fields: &[(&str, &str)]) -> Reply {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = serde_urlencoded::to_string(fields).unwrap();
        let res = self.router.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply { status, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers, bytes: bytes.to_vec() }
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

/// The documented response of `method path` for `reply`'s status; its JSON body must fit the
/// documented schema and its content type the documented media type.
fn documented<'a>(doc: &'a Value, method: &str, path: &str, reply: &Reply) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    let response = resolve(doc, &op["responses"][reply.status.as_str()]);
    assert!(response.is_object(), "{method} {path} answered undocumented {}: {}", reply.status, reply.text());
    let content = response["content"].as_object().cloned().unwrap_or_default();
    let media = reply.header("content-type").unwrap_or_default().to_string();
    if content.is_empty() {
        assert!(reply.bytes.is_empty(), "{method} {path} {}: undocumented body {}", reply.status, reply.text());
    } else {
        let base = |m: &str| m.split(';').next().unwrap_or_default().trim().to_string();
        assert!(
            content.keys().any(|m| base(m) == base(&media)),
            "{method} {path} {}: content type {media} is not among {:?}",
            reply.status,
            content.keys().collect::<Vec<_>>()
        );
        if let Some(name) = content
            .get("application/json")
            .and_then(|c| c["schema"]["$ref"].as_str())
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            && base(&media) == "application/json"
        {
            fits(doc, name, &reply.json);
        }
    }
    for name in response["headers"].as_object().into_iter().flatten().map(|(n, _)| n) {
        if ["Link", "Deprecation", "Sunset", "Location", "ETag", "Set-Cookie", "Cache-Control"].contains(&name.as_str())
        {
            assert!(reply.header(name).is_some(), "{method} {path} {}: documented {name} missing", reply.status);
        }
    }
    response
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// The auth endpoints answer what the document says: bodies fit their schemas, statuses and
/// media types are documented, and the headers (`Set-Cookie`, `Location`, `Cache-Control`,
/// `WWW-Authenticate`) are there.
#[tokio::test]
async fn auth_endpoints_match_the_document() {
    let s = Server::start().await;
    let doc = full();
    let admin = json!({"name": "Admin", "email": "admin@example.com", "password": "admin password", "role": "admin"});
    let state = &s.app.as_ref().unwrap().state;
    state.services.users.create(&agora_server::auth::routes::admin_actor(), admin.as_object().unwrap()).await.unwrap();

    let ada = json!({"name": "Ada", "email": "ada@example.com", "password": "correct horse"});
    let r = s.send(Method::POST, "/v2/users", &[], Some(ada)).await;
    documented(&doc, "post", "/v2/users", &r);

    // Password grant, as a form and as JSON.
    let r = s
        .form(
            "/v2/auth/token",
            &[],
            &[("grant_type", "password"), ("email", "ada@example.com"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    documented(&doc, "post", "/v2/auth/token", &r);
    fits(&doc, "TokenData", &r.json["data"]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let ada_token = r.json["access_token"].as_str().unwrap().to_string();
    let ada_refresh = r.json["refresh_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {ada_token}");

    let r = s
        .send(
            Method::POST,
            "/v1/auth/token",
            &[],
            Some(json!({"grant_type": "password", "email": "admin@example.com", "password": "admin password"})),
        )
        .await;
    documented(&doc, "post", "/v1/auth/token", &r);
    let admin_bearer = format!("Bearer {}", r.json["access_token"].as_str().unwrap());

    // Refresh with rotation; the old refresh token is then refused.
    let r = s.form("/v2/auth/token", &[], &[("grant_type", "refresh_token"), ("refresh_token", &ada_refresh)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    documented(&doc, "post", "/v2/auth/token", &r);
    let r = s.form("/v2/auth/token", &[], &[("grant_type", "refresh_token"), ("refresh_token", &ada_refresh)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    documented(&doc, "post", "/v2/auth/token", &r);
    let r = s.form("/v2/auth/token", &[], &[("grant_type", "implicit")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    documented(&doc, "post", "/v2/auth/token", &r);
    let r = s
        .form(
            "/v2/auth/token",
            &[],
            &[
                ("grant_type", "password"),
                ("email", "ada@example.com"),
                ("password", "correct horse"),
                ("scope", "admin"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    documented(&doc, "post", "/v2/auth/token", &r);

    // The current user, API keys.
    let r = s.send(Method::GET, "/v2/users/me", &[("authorization", &bearer)], None).await;
    assert_eq!(r.status, StatusCode::OK);
    documented(&doc, "get", "/v2/users/me", &r);
    let r = s.get("/v2/users/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    documented(&doc, "get", "/v2/users/me", &r);
    assert!(r.header("www-authenticate").is_some());

    let r = s
        .send(
            Method::POST,
            "/v2/api-keys",
            &[("authorization", &bearer)],
            Some(json!({"name": "ci", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    documented(&doc, "post", "/v2/api-keys", &r);
    fits(&doc, "ApiKeyCreated", &r.json["data"]);
    let key = r.json["data"]["key"].as_str().unwrap().to_string();
    let key_id = r.json["data"]["id"].as_i64().unwrap();
    let r = s.send(Method::GET, "/v2/api-keys", &[("x-api-key", &key)], None).await;
    assert_eq!(r.status, StatusCode::OK);
    documented(&doc, "get", "/v2/api-keys", &r);
    fits(&doc, "CursorPagination", &r.json["pagination"]);
    for item in r.json["data"].as_array().unwrap() {
        fits(&doc, "ApiKey", item);
    }
    // A read-only key cannot write.
    let r = s.send(Method::DELETE, &format!("/v2/api-keys/{key_id}"), &[("x-api-key", &key)], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    documented(&doc, "delete", "/v2/api-keys/{id}", &r);
    let r = s.send(Method::DELETE, "/v2/api-keys/999999", &[("authorization", &bearer)], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    documented(&doc, "delete", "/v2/api-keys/{id}", &r);
    let r = s.send(Method::DELETE, &format!("/v2/api-keys/{key_id}"), &[("authorization", &bearer)], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    documented(&doc, "delete", "/v2/api-keys/{id}", &r);

    // Products and OAuth clients are for administrators.
    let product = json!({"name": "Lamp", "category": "home", "price": 1999});
    let r = s.send(Method::POST, "/v2/products", &[("authorization", &bearer)], Some(product)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    documented(&doc, "post", "/v2/products", &r);
    let registration = json!({
        "name": "Example app",
        "redirect_uris": ["https://app.example/cb"],
        "grant_types": ["authorization_code", "client_credentials"],
        "scopes": ["read", "write"],
    });
    let r = s.send(Method::POST, "/v2/oauth/clients", &[("authorization", &bearer)], Some(registration.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    documented(&doc, "post", "/v2/oauth/clients", &r);
    let r = s.send(Method::POST, "/v2/oauth/clients", &[("authorization", &admin_bearer)], Some(registration)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    documented(&doc, "post", "/v2/oauth/clients", &r);
    fits(&doc, "OAuthClientRegistration", &r.json["data"]);
    let client_id = r.json["client_id"].as_str().unwrap().to_string();
    let client_secret = r.json["client_secret"].as_str().unwrap().to_string();
    let client_auth = basic(&client_id, &client_secret);

    // Client credentials, introspection, revocation.
    let r = s.form("/v2/auth/token", &[("authorization", &client_auth)], &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    documented(&doc, "post", "/v2/auth/token", &r);
    assert!(r.json.get("refresh_token").is_none());

    let r = s.form("/v2/auth/introspect", &[("authorization", &client_auth)], &[("token", &ada_token)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    documented(&doc, "post", "/v2/auth/introspect", &r);
    fits(&doc, "Introspection", &r.json["data"]);
    assert_eq!(r.json["active"], true);
    let r = s.form("/v2/auth/introspect", &[], &[("token", &ada_token)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    documented(&doc, "post", "/v2/auth/introspect", &r);
    assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Basic")));

    let r = s.form("/v2/auth/revoke", &[], &[("token", &ada_token)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    documented(&doc, "post", "/v2/auth/revoke", &r);
    let r = s.form("/v2/auth/introspect", &[("authorization", &client_auth)], &[("token", &ada_token)]).await;
    documented(&doc, "post", "/v2/auth/introspect", &r);
    assert_eq!(r.json["active"], false);
    let r = s.send(Method::GET, "/v2/users", &[("authorization", &bearer)], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a revoked token is refused even where none is needed");
    documented(&doc, "get", "/v2/users", &r);
    assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));

    // Sessions and the CSRF rule.
    let r = s
        .send(
            Method::POST,
            "/v2/auth/session",
            &[],
            Some(json!({"email": "ada@example.com", "password": "correct horse"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    documented(&doc, "post", "/v2/auth/session", &r);
    fits(&doc, "Session", &r.json["data"]);
    let set_cookie = r.header("set-cookie").unwrap().to_string();
    assert!(set_cookie.starts_with("agora_session=") && set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = r.json["data"]["csrf_token"].as_str().unwrap().to_string();
    let post = json!({"title": "Hi", "content": "From a browser"});
    let r = s.send(Method::POST, "/v2/posts", &[("cookie", &cookie)], Some(post.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json["error"]["code"], "CSRF_FAILED");
    documented(&doc, "post", "/v2/posts", &r);
    let r = s.send(Method::POST, "/v2/posts", &[("cookie", &cookie), ("x-csrf-token", &csrf)], Some(post)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    documented(&doc, "post", "/v2/posts", &r);
    let r = s.send(Method::DELETE, "/v2/auth/session", &[("cookie", &cookie), ("x-csrf-token", &csrf)], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    documented(&doc, "delete", "/v2/auth/session", &r);
    let r = s.send(Method::DELETE, "/v2/auth/session", &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    documented(&doc, "delete", "/v2/auth/session", &r);

    // Discovery documents.
    let r = s.get("/.well-known/jwks.json").await;
    documented(&doc, "get", "/.well-known/jwks.json", &r);
    let r = s.get("/.well-known/oauth-authorization-server").await;
    documented(&doc, "get", "/.well-known/oauth-authorization-server", &r);

    // The authorize page and its form.
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", "https://app.example/cb"),
        ("state", "xyz"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let r = s.get(&format!("/oauth/authorize?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    documented(&doc, "get", "/oauth/authorize", &r);
    assert!(r.text().contains("<form method=\"post\""));
    let r = s.get("/oauth/authorize?client_id=nope&redirect_uri=https://evil.example/").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    documented(&doc, "get", "/oauth/authorize", &r);
    let r = s.get(&format!("/oauth/authorize?{}", query.replace("S256", "plain"))).await;
    assert_eq!(r.status, StatusCode::FOUND);
    documented(&doc, "get", "/oauth/authorize", &r);

    let mut fields: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", "https://app.example/cb"),
        ("state", "xyz"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("email", "ada@example.com"),
    ];
    let r = s.form("/oauth/authorize", &[], &[fields.clone(), vec![("password", "wrong password")]].concat()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    documented(&doc, "post", "/oauth/authorize", &r);
    fields.push(("password", "correct horse"));
    let r = s.form("/oauth/authorize", &[], &fields).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    documented(&doc, "post", "/oauth/authorize", &r);
    let location = r.header("location").unwrap();
    assert!(location.starts_with("https://app.example/cb?code=") && location.contains("state=xyz"), "{location}");
}
