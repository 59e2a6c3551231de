//! Rules that span several properties of a request body — which parameters each OAuth grant
//! needs, when a client registration needs a redirect URI — added to the schemas the inputs
//! derive. Each rule is declared in JSON Schema by the input type itself, next to the parser
//! that enforces it, so the document and the server read the same declaration.

use agora_core::auth::{NewOAuthClient, TokenRequest};
use serde_json::Value;
use utoipa::ToSchema;

/// Each input type with cross-property rules, by its schema name.
fn declared() -> [(String, Value); 2] {
    [
        (TokenRequest::name().into_owned(), TokenRequest::schema_conditions()),
        (NewOAuthClient::name().into_owned(), NewOAuthClient::schema_conditions()),
    ]
}

/// Merges `conditions` into `schema`: keywords of its `properties` entries are added to the
/// schema's own properties, and any other keyword is added (an existing `anyOf` is kept by
/// moving both under `allOf`).
fn merge(schema: &mut Value, conditions: Value) {
    let (Some(target), Value::Object(conditions)) = (schema.as_object_mut(), conditions) else { return };
    for (key, value) in conditions {
        match (key.as_str(), value) {
            ("properties", Value::Object(props)) => {
                for (name, extra) in props {
                    let Value::Object(extra) = extra else { continue };
                    if let Some(Value::Object(prop)) =
                        target.get_mut("properties").and_then(|p| p.as_object_mut()).and_then(|p| p.get_mut(&name))
                    {
                        prop.extend(extra);
                    }
                }
            }
            (_, value) => match target.remove(&key) {
                Some(existing) => {
                    let all = target.entry("allOf").or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(all) = all {
                        all.push(serde_json::json!({ key.clone(): existing }));
                        all.push(serde_json::json!({ key: value }));
                    }
                }
                None => {
                    target.insert(key, value);
                }
            },
        }
    }
}

/// Adds every declared rule to its schema in a rendered document (JSON, because utoipa's
/// schema types have no room for `anyOf` or `not` beside an object's properties), and drops
/// the empty-string defaults that `#[serde(default)]` documents on a property that must not
/// be empty; then says of every string that it holds no NUL ([`refuse_nul`]).
pub fn add_conditions(doc: &mut Value) {
    refuse_nul(doc);
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    for (name, conditions) in declared() {
        if let Some(schema) = schemas.get_mut(&name) {
            merge(schema, conditions);
        }
    }
    for schema in schemas.values_mut() {
        let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else { continue };
        for prop in props.values_mut().filter_map(Value::as_object_mut) {
            let non_empty = prop.get("minLength").and_then(Value::as_u64).is_some_and(|n| n > 0);
            if non_empty && prop.get("default") == Some(&Value::String(String::new())) {
                prop.remove("default");
            }
        }
    }
}

/// No client string may hold NUL (U+0000): the server refuses it in every body, form and query
/// parameter (PostgreSQL cannot store or compare it). Said once here for every string schema
/// that does not already constrain its characters.
const NO_NUL: &str = "^[^\\u0000]*$";

/// Adds [`NO_NUL`] to every string schema in `value` without a `pattern`, `enum` or `const`.
pub fn refuse_nul(value: &mut Value) {
    match value {
        Value::Object(obj) => {
            let is_string = obj
                .get("type")
                .is_some_and(|t| t == "string" || t.as_array().is_some_and(|a| a.iter().any(|t| t == "string")));
            let constrained = ["pattern", "enum", "const"].iter().any(|k| obj.contains_key(*k));
            if is_string && !constrained {
                obj.insert("pattern".to_string(), Value::String(NO_NUL.to_string()));
            }
            for (key, child) in obj.iter_mut() {
                // Examples are values, not schemas.
                if key != "example" && key != "examples" && key != "default" {
                    refuse_nul(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(refuse_nul),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merges_properties_and_keeps_both_any_ofs() {
        let mut schema =
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"required": ["a"]}]});
        merge(
            &mut schema,
            json!({"properties": {"a": {"minLength": 1}, "b": {"x": 1}}, "anyOf": [{"required": ["b"]}]}),
        );
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {"a": {"type": "string", "minLength": 1}},
                "allOf": [{"anyOf": [{"required": ["a"]}]}, {"anyOf": [{"required": ["b"]}]}],
            })
        );
    }
}
