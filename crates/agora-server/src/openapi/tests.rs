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
    assert!(a.len() >= 17, "{a:?}");
}

#[test]
fn per_version_documents_hold_only_their_version() {
    for v in [ApiVersion::V1, ApiVersion::V2] {
        let doc = document_for(Scope::Version(v));
        for path in doc.paths.paths.keys() {
            assert!(path.starts_with(&format!("{}/", v.prefix())), "{path} in the {v:?} document");
        }
        for op in doc.paths.paths.values().flat_map(|item| operations(item).map(|(_, op)| op)) {
            let id = op.operation_id.as_deref().unwrap_or_default();
            assert!(id.starts_with(&format!("v{}_", v.number())), "{id} in the {v:?} document");
        }
        let json = serde_json::to_string(&doc).unwrap();
        if v == ApiVersion::V2 {
            assert!(!json.contains(".v1\""), "v2 document references v1 components");
        }
    }
}
