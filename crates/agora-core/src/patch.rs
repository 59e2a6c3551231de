//! Reading client-sent JSON objects into domain inputs with field-level errors.
//!
//! Bodies arrive as JSON objects rather than typed structs so that every problem — a missing
//! field, a wrong type, an unknown or read-only field, an explicit `null` — becomes one
//! `details` entry naming the field, instead of serde's first-error-wins message. REST and
//! GraphQL both hand their input over as a JSON object, so this is shared by both transports.

use serde_json::{Map, Value};

use crate::error::{DomainError, FieldError};

/// Fields that clients can never set, whatever the resource.
const READ_ONLY: &[&str] = &["id", "created_at", "updated_at", "version"];

/// A cursor over one JSON object that accumulates field errors.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    allowed: &'static [&'static str],
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// Starts reading `obj`; `allowed` lists every field this operation accepts.
    pub fn new(obj: &'a Map<String, Value>, allowed: &'static [&'static str]) -> Self {
        Self { obj, allowed, errors: Vec::new() }
    }

    /// Whether the client sent the field at all (merge-patch: absent means unchanged).
    pub fn present(&self, name: &str) -> bool {
        self.obj.contains_key(name)
    }

    /// Records an error found by a caller-side validator.
    pub fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    /// Records the result of a validator, keeping the value when valid.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    fn get(&mut self, name: &str, required: bool) -> Option<&'a Value> {
        match self.obj.get(name) {
            None if required => {
                self.errors.push(FieldError::new(name, "required", "is required"));
                None
            }
            None => None,
            Some(Value::Null) => {
                self.errors.push(FieldError::new(name, if required { "required" } else { "null" }, "must not be null"));
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A string field; `required` reports absence as an error.
    pub fn string(&mut self, name: &str, required: bool) -> Option<&'a str> {
        match self.get(name, required)? {
            Value::String(s) => Some(s.as_str()),
            _ => {
                self.errors.push(FieldError::new(name, "invalid_type", "must be a string"));
                None
            }
        }
    }

    /// An integer field.
    pub fn int(&mut self, name: &str, required: bool) -> Option<i64> {
        match self.get(name, required)? {
            Value::Number(n) => match n.as_i64() {
                Some(v) => Some(v),
                None => {
                    self.errors.push(FieldError::new(name, "invalid_type", "must be an integer"));
                    None
                }
            },
            _ => {
                self.errors.push(FieldError::new(name, "invalid_type", "must be an integer"));
                None
            }
        }
    }

    /// Ends reading: unknown and read-only fields become errors, and any error fails the whole
    /// input with one `VALIDATION_ERROR` listing all of them.
    pub fn finish(mut self) -> Result<(), DomainError> {
        let mut extra: Vec<FieldError> = self
            .obj
            .keys()
            .filter(|k| !self.allowed.contains(&k.as_str()))
            .map(|k| {
                if READ_ONLY.contains(&k.as_str()) {
                    FieldError::new(k.as_str(), "read_only", "is set by the server and cannot be written")
                } else {
                    FieldError::new(k.as_str(), "unknown_field", "is not a field of this resource")
                }
            })
            .collect();
        extra.sort_by(|a, b| a.field.cmp(&b.field));
        self.errors.extend(extra);
        if self.errors.is_empty() { Ok(()) } else { Err(DomainError::validation(self.errors)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn collects_every_problem() {
        let o = obj(json!({"name": 5, "id": 3, "zzz": true, "email": null}));
        let mut f = Fields::new(&o, &["name", "email", "password"]);
        assert_eq!(f.string("name", true), None);
        assert_eq!(f.string("email", true), None);
        assert_eq!(f.string("password", true), None);
        let err = f.finish().expect_err("must fail");
        let fields: Vec<_> = err.details.iter().map(|d| (d.field.as_str(), d.code.as_str())).collect();
        assert_eq!(
            fields,
            vec![
                ("name", "invalid_type"),
                ("email", "required"),
                ("password", "required"),
                ("id", "read_only"),
                ("zzz", "unknown_field")
            ]
        );
    }

    #[test]
    fn integers_reject_floats_and_huge() {
        let o = obj(json!({"a": 1.5, "b": 1e30, "c": 7}));
        let mut f = Fields::new(&o, &["a", "b", "c"]);
        assert_eq!(f.int("a", true), None);
        assert_eq!(f.int("b", true), None);
        assert_eq!(f.int("c", true), Some(7));
        assert_eq!(f.finish().map_err(|e| e.details.len()), Err(2));
    }
}
