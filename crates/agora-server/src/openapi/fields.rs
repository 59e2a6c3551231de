//! What `fields=` does to a response, told in the schema.
//!
//! A resource schema marks every property `required`, which is true of a full response and
//! false of a response to `?fields=id,name`. JSON Schema cannot say "required unless not
//! selected", so an operation that accepts `fields` answers `anyOf` the full envelope and a
//! `<Envelope>_Selected` variant whose resource (or list item) requires nothing: clients that
//! never select fields keep the full type, and a validator accepts what the server really sends.

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::{Components, Ref, RefOr};

use serde_json::Value;

const SCHEMAS: &str = "#/components/schemas/";

/// Whether the operation documents the `fields` query parameter.
fn selects_fields(op: &Operation) -> bool {
    op.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.name == "fields"))
}

/// The name of the schema a 200 JSON response references, if it references one.
fn ok_schema_name(op: &Operation) -> Option<String> {
    let RefOr::T(response) = op.responses.responses.get("200")? else { return None };
    let RefOr::T(content) = response.content.get("application/json")? else { return None };
    let RefOr::Ref(r) = content.schema.as_ref()? else { return None };
    r.ref_location.strip_prefix(SCHEMAS).map(str::to_string)
}

/// `schema` with nothing required at its top level: `required` dropped here, in `allOf`
/// members, and in the object schemas they reference (inlined). Nested objects are left alone,
/// because a selected field is returned whole.
fn optional_properties(schema: &Value, components: &Components) -> Value {
    let mut out = schema.clone();
    if let Some(target) = out.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMAS)) {
        let resolved = components.schemas.get(target).and_then(|s| serde_json::to_value(s).ok());
        if let Some(resolved) = resolved.filter(|r| r.get("properties").is_some() || r.get("allOf").is_some()) {
            out = optional_properties(&resolved, components);
        }
        return out;
    }
    if let Some(obj) = out.as_object_mut() {
        obj.remove("required");
        if let Some(Value::Array(parts)) = obj.get_mut("allOf") {
            for part in parts.iter_mut() {
                *part = optional_properties(part, components);
            }
        }
    }
    out
}

/// The `_Selected` variant of envelope `name`, or `None` when it holds no `data`.
fn selected_variant(name: &str, components: &Components) -> Option<RefOr<Schema>> {
    let mut envelope = serde_json::to_value(components.schemas.get(name)?).ok()?;
    let data = envelope.get_mut("properties")?.get_mut("data")?;
    match data.get_mut("items") {
        Some(items) => *items = optional_properties(items, components),
        None => *data = optional_properties(data, components),
    }
    let obj = envelope.as_object_mut()?;
    obj.insert(
        "description".to_string(),
        Value::String("The envelope as `fields=` returns it: only the selected properties are present.".to_string()),
    );
    serde_json::from_value(envelope).ok()
}

/// Points every operation that accepts `fields` at `anyOf` its full envelope and the
/// `_Selected` variant, adding the variants to `components`.
pub fn document_selection<'a>(ops: impl Iterator<Item = &'a mut Operation>, components: &mut Components) {
    for op in ops.filter(|op| selects_fields(op)) {
        let Some(name) = ok_schema_name(op) else { continue };
        let variant = format!("{name}_Selected");
        if !components.schemas.contains_key(&variant) {
            let Some(schema) = selected_variant(&name, components) else { continue };
            components.schemas.insert(variant.clone(), schema);
        }
        let either = AnyOfBuilder::new()
            .item(Ref::new(format!("{SCHEMAS}{name}")))
            .item(Ref::new(format!("{SCHEMAS}{variant}")))
            .build();
        if let Some(RefOr::T(response)) = op.responses.responses.get_mut("200")
            && let Some(RefOr::T(content)) = response.content.get_mut("application/json")
        {
            content.schema = Some(RefOr::T(Schema::AnyOf(either)));
        }
    }
}
