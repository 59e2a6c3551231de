//! Typed inputs from client-sent JSON objects, with every field problem reported at once.
//!
//! A write's input is a plain struct of validated newtypes (`NewUser { name: UserName, … }`)
//! declared with [`input!`](crate::input!), which also derives its OpenAPI schema and a
//! `TryFrom<&JsonObject>` that reads the object field by field. Serde's derive would stop at
//! the first problem; this reader collects them all — a missing field, a wrong type, an
//! unknown or read-only field, an explicit `null` — into one `VALIDATION_ERROR` whose
//! `details` name each field. REST hands over the request body; GraphQL hands over its input
//! object the same way, so both transports get the same rules and the same errors.
//!
//! `PATCH` inputs are JSON merge patches: their fields are `Option`s, absent means unchanged,
//! and `null` is refused (no field of ours can be removed).

use serde_json::{Map, Value};

use crate::error::{DomainError, FieldError};

/// A JSON object as sent by a client.
pub type JsonObject = Map<String, Value>;

/// Fields that clients can never set, whatever the resource.
const READ_ONLY: &[&str] = &["id", "created_at", "updated_at", "version"];

/// A value one input field can hold: how it is read from JSON.
pub trait FieldValue: Sized {
    /// Reads the value of field `field`; the error names `field`.
    fn from_json(field: &str, value: &Value) -> Result<Self, FieldError>;

    /// Reads the value with every problem in it: a compound value (an array of objects)
    /// reports each bad element, named `field[i].name`. Plain values have one problem at most.
    fn from_json_all(field: &str, value: &Value) -> Result<Self, Vec<FieldError>> {
        Self::from_json(field, value).map_err(|e| vec![e])
    }
}

/// How a struct field is read: a [`FieldValue`] is required, an `Option` of one is optional.
pub trait FromField: Sized {
    /// Reads `name` from the object, recording problems in `fields`. `None` when the field
    /// could not be read (an error was recorded).
    fn read(fields: &mut Fields<'_>, name: &'static str) -> Option<Self>;
}

impl<T: FieldValue> FromField for T {
    fn read(fields: &mut Fields<'_>, name: &'static str) -> Option<Self> {
        let Some(v) = fields.obj.get(name) else {
            fields.errors.push(FieldError::new(name, "required", "is required"));
            return None;
        };
        if v.is_null() {
            fields.errors.push(FieldError::new(name, "required", "must not be null"));
            return None;
        }
        fields.check(T::from_json_all(name, v))
    }
}

impl<T: FieldValue> FromField for Option<T> {
    fn read(fields: &mut Fields<'_>, name: &'static str) -> Option<Self> {
        match fields.obj.get(name) {
            None => Some(None),
            Some(Value::Null) => {
                fields.errors.push(FieldError::new(name, "null", "must not be null"));
                None
            }
            Some(v) => fields.check(T::from_json_all(name, v)).map(Some),
        }
    }
}

/// A field error of the wrong JSON type.
pub fn invalid_type(field: &str, expected: &str) -> FieldError {
    FieldError::new(field, "invalid_type", format!("must be {expected}"))
}

/// The string in `value`, or the error naming `field`. A NUL character is refused in every
/// string a client sends: no field has a use for one, and PostgreSQL cannot store it in text.
pub fn json_str<'v>(field: &str, value: &'v Value) -> Result<&'v str, FieldError> {
    let s = value.as_str().ok_or_else(|| invalid_type(field, "a string"))?;
    if s.contains('\0') {
        return Err(nul_refused(field));
    }
    Ok(s)
}

/// The error for a NUL character in `field`.
pub fn nul_refused(field: &str) -> FieldError {
    // The name may be the offending one: it is echoed with U+FFFD in place of each NUL.
    FieldError::new(field.replace('\0', "\u{FFFD}"), "invalid_characters", "must not contain NUL characters")
}

/// The integer in `value`. As in JSON Schema, a number with no fractional part is an integer
/// (`24782563.0` too); other numbers, and integers beyond 64 bits, are refused.
pub fn json_i64(field: &str, value: &Value) -> Result<i64, FieldError> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer up to here is exact
    match (value.as_i64(), value.as_f64()) {
        (Some(i), _) => Ok(i),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() <= EXACT => Ok(f as i64),
        _ => Err(invalid_type(field, "an integer")),
    }
}

/// Renames the field of an error to `field` (validators name a default field).
pub fn named(field: &str, mut e: FieldError) -> FieldError {
    if e.field != field {
        e.field = field.to_string();
    }
    e
}

/// Reads one JSON object into a typed input, accumulating field errors.
pub struct Fields<'a> {
    obj: &'a JsonObject,
    allowed: &'static [&'static str],
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// Starts reading `obj`; `allowed` lists every field the input has.
    pub fn new(obj: &'a JsonObject, allowed: &'static [&'static str]) -> Self {
        Self { obj, allowed, errors: Vec::new() }
    }

    /// Reads one field.
    pub fn read<T: FromField>(&mut self, name: &'static str) -> Option<T> {
        T::read(self, name)
    }

    fn check<T>(&mut self, r: Result<T, Vec<FieldError>>) -> Option<T> {
        r.map_err(|e| self.errors.extend(e)).ok()
    }

    /// Ends reading: unknown and read-only fields become errors, and any error fails the whole
    /// input with one `VALIDATION_ERROR` listing all of them (fields in declaration order,
    /// then the unexpected ones alphabetically).
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

/// Declares an input struct: the struct itself (deriving its OpenAPI schema) and the
/// `TryFrom<&JsonObject>` that reads it with [`Fields`]. Every field's type must implement
/// [`FromField`] (a [`FieldValue`], or an `Option` of one for an optional field).
///
/// ```ignore
/// agora_core::input! {
///     /// A new post.
///     #[derive(Debug, Clone)]
///     pub struct NewPost {
///         /// Title.
///         pub title: PostTitle,
///         /// Body.
///         pub content: PostContent,
///     }
/// }
/// ```
#[macro_export]
macro_rules! input {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $fty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(utoipa::ToSchema)]
        // The schema says what `Fields::finish` enforces: no other properties.
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $fty, )*
        }

        impl TryFrom<&$crate::input::JsonObject> for $name {
            type Error = $crate::DomainError;

            fn try_from(obj: &$crate::input::JsonObject) -> Result<Self, $crate::DomainError> {
                let mut fields = $crate::input::Fields::new(obj, &[$(stringify!($field)),*]);
                $( let $field = fields.read::<$fty>(stringify!($field)); )*
                fields.finish()?;
                // Every field was read (finish would have failed otherwise).
                Ok(Self { $( $field: $field.ok_or_else(|| $crate::DomainError::internal("validated field missing"))?, )* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A test value: any integer.
    #[derive(Debug, PartialEq)]
    struct Num(i64);

    impl FieldValue for Num {
        fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
            json_i64(field, value).map(Num)
        }
    }

    impl utoipa::PartialSchema for Num {
        fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::Integer).into()
        }
    }

    impl utoipa::ToSchema for Num {}

    crate::input! {
        /// Test input.
        #[derive(Debug, PartialEq)]
        struct Sample {
            a: Num,
            b: Num,
            c: Option<Num>,
        }
    }

    fn obj(v: Value) -> JsonObject {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn reads_every_field() {
        let s = Sample::try_from(&obj(json!({"a": 1, "b": 2})));
        assert_eq!(s, Ok(Sample { a: Num(1), b: Num(2), c: None }));
        let s = Sample::try_from(&obj(json!({"a": 1, "b": 2, "c": 3})));
        assert_eq!(s.map(|s| s.c), Ok(Some(Num(3))));
    }

    #[test]
    fn collects_every_problem() {
        let e = Sample::try_from(&obj(json!({"a": 1.5, "c": null, "id": 3, "zzz": true}))).expect_err("must fail");
        let got: Vec<_> = e.details.iter().map(|d| (d.field.as_str(), d.code.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("a", "invalid_type"),
                ("b", "required"),
                ("c", "null"),
                ("id", "read_only"),
                ("zzz", "unknown_field")
            ]
        );
        let e = Sample::try_from(&obj(json!({"a": null, "b": 1e30}))).expect_err("must fail");
        let got: Vec<_> = e.details.iter().map(|d| (d.field.as_str(), d.code.as_str())).collect();
        assert_eq!(got, vec![("a", "required"), ("b", "invalid_type")]);
        // An integral number is an integer, as in JSON Schema.
        let s = Sample::try_from(&obj(json!({"a": 24782563.0, "b": -2.0})));
        assert_eq!(s.map(|s| (s.a, s.b)), Ok((Num(24782563), Num(-2))));
    }
}
