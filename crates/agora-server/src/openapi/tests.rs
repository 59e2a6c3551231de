//! Unit tests: the document against the code it describes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use agora_core::cursor::CursorKey;
use agora_core::list::{DefaultStyle, PageInfo, ResourceSpec, parse_list_query};
use agora_core::services::{POSTS, PRODUCTS, USERS};
use serde_json::Value;

use super::*;

const SPECS: [&ResourceSpec; 3] = [&USERS, &POSTS, &PRODUCTS];

fn doc_json() -> Value {
    serde_json::to_value(document()).unwrap()
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// The names the list parser accepts, read from its own "unknown parameter" error.
fn accepted_by_parser(spec: &ResourceSpec) -> BTreeSet<String> {
    let err = parse_list_query(
        spec,
        &[("definitely_not_a_parameter".into(), "1".into())],
        DefaultStyle::Cursor,
        vec![],
        &CursorKey::new(vec![7u8; 32]),
    )
    .expect_err("an unknown parameter is refused");
    let message = &err.details.first().expect("details name the parameter").message;
    let allowed = message.split("allowed: ").nth(1).expect("the message lists the allowed parameters");
    allowed.split(',').map(|s| s.trim().to_string()).collect()
}

#[test]
fn list_parameters_are_exactly_what_the_parser_accepts() {
    for spec in SPECS {
        let documented: BTreeSet<String> = params::list_params(spec).into_iter().map(|p| p.name).collect();
        assert_eq!(documented, accepted_by_parser(spec), "collection {}", spec.name);
    }
}

#[test]
fn every_filter_is_documented_and_every_filter_doc_is_a_filter() {
    for spec in SPECS {
        for f in spec.filters {
            assert!(
                params::FILTER_DOCS.iter().any(|d| d.resource == spec.name && d.param == f.param),
                "filter `{}` of `{}` has no FilterDoc",
                f.param,
                spec.name
            );
        }
    }
    for d in params::FILTER_DOCS {
        let spec = SPECS.iter().find(|s| s.name == d.resource).expect("FilterDoc names a collection");
        assert!(spec.filters.iter().any(|f| f.param == d.param), "FilterDoc `{}` is not a filter", d.param);
    }
}

#[test]
fn sort_and_fields_list_the_allowed_names() {
    for spec in SPECS {
        let params = params::list_params(spec);
        let sort = params.iter().find(|p| p.name == "sort").unwrap();
        let fields = params.iter().find(|p| p.name == "fields").unwrap();
        for (name, _) in spec.sortable {
            assert!(sort.description.as_deref().unwrap().contains(&format!("`{name}`")), "sort {name}");
        }
        for name in spec.fields {
            assert!(fields.description.as_deref().unwrap().contains(&format!("`{name}`")), "field {name}");
        }
    }
}

/// `pagination` as rendered at run time must fit the schema of its style.
#[test]
fn pagination_schemas_match_the_renderer() {
    let doc = doc_json();
    let cases = [
        (
            "PagePagination",
            PageInfo::Page {
                page: 2,
                per_page: 20,
                total: 45,
                total_pages: 3,
                next_cursor: Some("c".into()),
                prev_cursor: None,
            },
        ),
        ("OffsetPagination", PageInfo::Offset { offset: 40, limit: 20, total: 45 }),
        (
            "CursorPagination",
            PageInfo::Cursor { limit: 20, next_cursor: None, prev_cursor: None, has_more: false, total: None },
        ),
        (
            "CursorPagination",
            PageInfo::Cursor { limit: 20, next_cursor: None, prev_cursor: None, has_more: false, total: Some(3) },
        ),
    ];
    for (name, info) in cases {
        let rendered = keys(&crate::http::listing::pagination_json(&info));
        let s = schema(&doc, name);
        let properties = keys(&s["properties"]);
        let required = strings(&s["required"]);
        assert!(rendered.is_subset(&properties), "{name}: rendered {rendered:?} vs documented {properties:?}");
        assert!(required.is_subset(&rendered), "{name}: required {required:?} vs rendered {rendered:?}");
    }
    let one_of: BTreeSet<String> = doc["components"]["schemas"]["Pagination"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["$ref"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(one_of.len(), 3);
}

#[test]
fn field_error_schema_matches_the_domain_type() {
    let doc = doc_json();
    let rendered = keys(&serde_json::to_value(agora_core::FieldError::new("f", "c", "m")).unwrap());
    assert_eq!(rendered, keys(&schema(&doc, "FieldError")["properties"]));
    assert_eq!(
        doc["components"]["schemas"]["ErrorBody"]["properties"]["details"]["items"]["$ref"],
        "#/components/schemas/FieldError"
    );
}

fn all_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| all_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| all_refs(x, out)),
        _ => {}
    }
}

fn resolves(doc: &Value, reference: &str) -> bool {
    let Some(pointer) = reference.strip_prefix('#') else { return false };
    doc.pointer(pointer).is_some()
}

#[test]
fn every_reference_resolves_in_every_document() {
    for scope in [Scope::All, Scope::Version(ApiVersion::V1), Scope::Version(ApiVersion::V2)] {
        let doc = serde_json::to_value(document_for(scope)).unwrap();
        let mut refs = Vec::new();
        all_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            assert!(resolves(&doc, &r), "{scope:?}: dangling {r}");
        }
    }
}

/// Headers that handlers declare by name must all be swapped for components.
#[test]
fn response_headers_are_all_components() {
    let doc = doc_json();
    let mut count = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for (status, response) in op["responses"].as_object().unwrap() {
                for (name, header) in response["headers"].as_object().into_iter().flatten() {
                    count += 1;
                    assert!(header.get("$ref").is_some(), "{status} header {name} is inline: {header}");
                }
            }
        }
    }
    assert!(count > 0);
}

#[test]
fn the_same_operations_are_served_under_both_prefixes() {
    let v1 = crate::rest::api("/v1").into_openapi();
    let v2 = crate::rest::api("/v2").into_openapi();
    let strip = |api: &utoipa::openapi::OpenApi, prefix: &str| -> BTreeSet<(String, String, String)> {
        api.paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                let path = path.strip_prefix(prefix).expect("every path carries the prefix").to_string();
                operations(item)
                    .map(move |(m, op)| (path.clone(), m.to_string(), op.operation_id.clone().unwrap_or_default()))
            })
            .collect()
    };
    let (a, b) = (strip(&v1, "/v1"), strip(&v2, "/v2"));
    assert_eq!(a, b);
    assert!(a.len() >= 28, "{a:?}");
    for (path, method) in [
        ("/auth/token", "post"),
        ("/auth/revoke", "post"),
        ("/auth/introspect", "post"),
        ("/auth/session", "post"),
        ("/auth/session", "delete"),
        ("/users/me", "get"),
        ("/api-keys", "get"),
        ("/api-keys", "post"),
        ("/api-keys/{id}", "delete"),
        ("/oauth/clients", "post"),
    ] {
        assert!(a.iter().any(|(p, m, _)| p == path && m == method), "{method} {path} is not in the versioned API");
    }
}

/// The string literal that starts `text` (after optional whitespace), if any.
fn leading_literal(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('"')?;
    rest.split('"').next()
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Routes registered outside utoipa-axum's `routes!` (plain `Router::route`) have no operation
/// of their own, so each must be one the document lists by hand (the operational endpoints);
/// `nest`/`route_service` would hide paths altogether. The versioned routes and the
/// unversioned auth routes go through `routes!`, which documents them by construction.
#[test]
fn every_registered_route_is_documented() {
    let doc = document();
    let documented: BTreeSet<&str> = doc.paths.paths.keys().map(String::as_str).collect();
    let mut files = Vec::new();
    rust_files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 10);
    let mut plain = 0;
    for file in files.into_iter().filter(|f| !f.ends_with("openapi/tests.rs")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for forbidden in [".nest(", ".nest_service(", ".route_service("] {
            assert!(!text.contains(forbidden), "{}: {forbidden} hides routes from the document", file.display());
        }
        for (at, _) in text.match_indices(".route(") {
            let path = leading_literal(&text[at + ".route(".len()..])
                .unwrap_or_else(|| panic!("{}: `.route(` without a literal path", file.display()));
            assert!(documented.contains(path), "{}: route {path} is not documented", file.display());
            plain += 1;
        }
    }
    assert!(plain >= 4, "the operational routes in app.rs were not found");
    // The versioned API and the unversioned auth endpoints are all `routes!` registrations.
    for (api, expected_prefixes) in [
        (crate::rest::api("/v2").into_openapi(), vec!["/v2/"]),
        (crate::auth::routes::operational_api().into_openapi(), vec!["/oauth/", "/.well-known/"]),
    ] {
        assert!(!api.paths.paths.is_empty());
        for path in api.paths.paths.keys() {
            assert!(expected_prefixes.iter().any(|p| path.starts_with(p)), "{path}");
            assert!(documented.contains(path.as_str()), "{path} is routed but not in the document");
        }
    }
}

#[test]
fn security_schemes_are_declared() {
    let doc = doc_json();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        keys(schemes),
        ["apiKeyHeader", "bearerAuth", "clientBasic", "oauth2", "sessionCookie"].map(String::from).into()
    );
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
    assert_eq!(schemes["apiKeyHeader"]["type"], "apiKey");
    assert_eq!(schemes["apiKeyHeader"]["in"], "header");
    assert_eq!(schemes["apiKeyHeader"]["name"], "X-API-Key");
    assert_eq!(schemes["sessionCookie"]["type"], "apiKey");
    assert_eq!(schemes["sessionCookie"]["in"], "cookie");
    assert_eq!(schemes["sessionCookie"]["name"], crate::auth::SESSION_COOKIE);
    assert!(schemes["sessionCookie"]["description"].as_str().unwrap().contains("X-CSRF-Token"));
    assert_eq!(schemes["clientBasic"]["type"], "http");
    assert_eq!(schemes["clientBasic"]["scheme"], "basic");
    let flows = &schemes["oauth2"]["flows"];
    assert_eq!(schemes["oauth2"]["type"], "oauth2");
    assert_eq!(keys(flows), ["authorizationCode", "clientCredentials", "password"].map(String::from).into());
    assert_eq!(flows["authorizationCode"]["authorizationUrl"], "/oauth/authorize");
    for flow in ["authorizationCode", "clientCredentials", "password"] {
        assert_eq!(flows[flow]["tokenUrl"], "/v2/auth/token", "{flow}");
        assert_eq!(keys(&flows[flow]["scopes"]), ["admin", "read", "write"].map(String::from).into(), "{flow}");
    }
    // The scopes the scheme names are the ones the server parses.
    for (name, _) in security::SCOPES {
        assert!(agora_core::actor::Scopes::parse(name).is_ok(), "{name}");
    }
    // Per-version documents keep the schemes their operations name.
    for v in [ApiVersion::V1, ApiVersion::V2] {
        let doc = serde_json::to_value(document_for(Scope::Version(v))).unwrap();
        assert_eq!(keys(&doc["components"]["securitySchemes"]).len(), 5);
    }
}

/// The schema of the registration response against the code that renders it.
#[tokio::test]
async fn oauth_client_schema_matches_the_renderer() {
    let doc = doc_json();
    let client = agora_core::auth::OAuthClient {
        client_id: "cl_x".into(),
        name: "App".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        grant_types: vec!["client_credentials".into()],
        scopes: agora_core::actor::Scopes::READ,
    };
    let res = crate::auth::routes::client_response(&client, "cs_secret");
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(keys(&body), keys(&schema(&doc, "OAuthClientResponse")["properties"]));
    assert_eq!(keys(&body["data"]), keys(&schema(&doc, "OAuthClientRegistration")["properties"]));
}
