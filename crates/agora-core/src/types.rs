//! Parse-don't-validate newtypes shared by several resources. Once a value has one of these
//! types it is known to be valid, so services and repositories never re-check it.
//!
//! Each type states its limits once, as constants: the parser enforces them and the OpenAPI
//! schema ([`utoipa::ToSchema`]) publishes them, so the two cannot disagree.

use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};

use crate::error::FieldError;
use crate::input::{FieldValue, json_i64};

/// Checks a length in characters against `min..=max`, naming `field`.
pub(crate) fn char_len_between(field: &str, value: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let len = value.chars().count();
    if len < min {
        let msg = if min == 1 { "must not be empty".to_string() } else { format!("must be at least {min} characters") };
        return Err(FieldError::new(field, if min == 1 { "required" } else { "too_short" }, msg));
    }
    if len > max {
        return Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")));
    }
    Ok(())
}

/// The schema of a string of `min..=max` characters.
pub(crate) fn string_schema(min: usize, max: usize, description: &str) -> ObjectBuilder {
    ObjectBuilder::new().min_length((min > 0).then_some(min)).max_length(Some(max)).description(Some(description))
}

/// Control characters other than tab, line feed and carriage return (what [`text_newtype!`]
/// refuses), as an ECMA-262 character class body.
const REFUSED_CONTROLS: &str = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F";

/// The schema of a text newtype: its length bounds, and a pattern saying what its parser
/// refuses besides — control characters, and (when it trims) a value of only whitespace.
pub(crate) fn text_schema(min: usize, max: usize, trim: bool, description: &str) -> ObjectBuilder {
    let allowed = format!("[^{REFUSED_CONTROLS}]*");
    let pattern =
        if trim && min > 0 { format!(r"^{allowed}[^\s{REFUSED_CONTROLS}]{allowed}$") } else { format!("^{allowed}$") };
    string_schema(min, max, description).pattern(Some(pattern))
}

/// Makes a type with `fn parse(&str) -> Result<Self, FieldError>` a field value read from a
/// JSON string, documented by `schema` (an `ObjectBuilder` for a string).
macro_rules! string_value {
    ($name:ty, $schema:expr) => {
        impl $crate::input::FieldValue for $name {
            fn from_json(field: &str, value: &serde_json::Value) -> Result<Self, $crate::error::FieldError> {
                <$name>::parse($crate::input::json_str(field, value)?).map_err(|e| $crate::input::named(field, e))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let builder: utoipa::openapi::schema::ObjectBuilder = $schema;
                builder.schema_type(utoipa::openapi::schema::Type::String).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use string_value;

/// Declares a validated text type: its limits, whether it is trimmed, its parser, how it is
/// read from JSON and its OpenAPI schema (all from the one declaration).
macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr, trim = $trim:expr, $description:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Fewest characters accepted.
            pub const MIN: usize = $min;
            /// Most characters accepted.
            pub const MAX: usize = $max;

            /// Validates and wraps the value, naming the field in the error.
            pub fn parse(value: &str) -> Result<Self, $crate::error::FieldError> {
                // Checked before trimming, so that the schema's pattern (on the raw value) agrees.
                if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
                    return Err($crate::error::FieldError::new(
                        $field,
                        "invalid_characters",
                        "must not contain control characters",
                    ));
                }
                let value = if $trim { value.trim() } else { value };
                $crate::types::char_len_between($field, value, Self::MIN, Self::MAX)?;
                Ok(Self(value.to_string()))
            }

            /// The validated string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the wrapper.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        $crate::types::string_value!($name, $crate::types::text_schema($name::MIN, $name::MAX, $trim, $description));
    };
}
pub(crate) use text_newtype;

/// An email address, normalised to lower case so uniqueness is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321's path limit).
    pub const MAX: usize = 254;

    /// Accepts `local@domain.tld` shapes up to 254 characters; deliberately simple (the only
    /// real proof of an address is delivering to it) but rejects what is clearly not one.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let v = value.trim();
        let bad = || FieldError::new("email", "invalid_format", "must be a valid email address");
        if v.is_empty() || v.len() > Self::MAX {
            return Err(bad());
        }
        let (local, domain) = v.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.len() > 64
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || v.chars().any(|c| c.is_whitespace() || c.is_control())
            || !domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        {
            return Err(bad());
        }
        Ok(Self(v.to_lowercase()))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value!(
    Email,
    ObjectBuilder::new()
        .format(Some(SchemaFormat::Custom("email".into())))
        .max_length(Some(Email::MAX))
        .description(Some("An email address; stored lower-cased, unique across users."))
        .examples([serde_json::json!("ada@example.com")])
);

/// A plaintext password on its way to being hashed. Not `Debug`-printable in clear so it
/// cannot end up in a log line.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Shortest password accepted.
    pub const MIN: usize = 8;
    /// Longest password accepted (caps the hashing cost a client can cause).
    pub const MAX: usize = 128;

    /// Validates the length.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let len = value.chars().count();
        if len < Self::MIN {
            return Err(FieldError::new("password", "too_short", format!("must be at least {} characters", Self::MIN)));
        }
        if len > Self::MAX {
            return Err(FieldError::new("password", "too_long", format!("must be at most {} characters", Self::MAX)));
        }
        Ok(Self(value.to_string()))
    }

    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

string_value!(
    Password,
    ObjectBuilder::new()
        .format(Some(SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Password)))
        .min_length(Some(Password::MIN))
        .max_length(Some(Password::MAX))
        .write_only(true)
        .description(Some("A password; stored as an Argon2id hash and never returned."))
);

/// An ISO 4217 currency code in lower case (`usd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    /// The currency used when a client names none.
    pub fn default_currency() -> Currency {
        Currency("usd".into())
    }

    /// Accepts three ASCII letters, any case.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let v = value.trim().to_ascii_lowercase();
        if v.len() != 3 || !v.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(FieldError::new("currency", "invalid_format", "must be a three-letter ISO 4217 code"));
        }
        Ok(Self(v))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value!(
    Currency,
    ObjectBuilder::new()
        .pattern(Some("^[A-Za-z]{3}$"))
        .description(Some("An ISO 4217 currency code, any case (stored lower-cased)."))
        .examples([serde_json::json!("usd")])
);

/// A non-negative quantity — an amount in minor units, or a count of items — capped so sums
/// cannot overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    /// The largest amount accepted.
    pub const MAX: i64 = 1_000_000_000_000;
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// Validates the range, naming `field`.
    pub fn parse(field: &str, value: i64) -> Result<Self, FieldError> {
        if !(0..=Self::MAX).contains(&value) {
            return Err(FieldError::new(field, "out_of_range", format!("must be between 0 and {}", Self::MAX)));
        }
        Ok(Self(value))
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl FieldValue for Amount {
    fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        Amount::parse(field, json_i64(field, value)?)
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
            .minimum(Some(0))
            .maximum(Some(Self::MAX))
            .description(Some("A non-negative integer: an amount in minor units (`1999` = 19.99) or a count."))
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

#[cfg(test)]
mod tests {
    use super::*;

    text_newtype!(
        /// A test name.
        Name, "name", 1, 5, trim = true, "A name."
    );

    text_newtype!(
        /// A test body.
        Body, "body", 1, 5, trim = false, "A body."
    );

    /// Whether `value` is valid by `T`'s documented schema (length in characters and pattern).
    fn schema_accepts<T: utoipa::PartialSchema>(value: &str) -> bool {
        let schema = serde_json::to_value(T::schema()).unwrap_or_default();
        let len = value.chars().count() as u64;
        let min = schema["minLength"].as_u64().unwrap_or(0);
        let max = schema["maxLength"].as_u64().unwrap_or(u64::MAX);
        let pattern = regex::Regex::new(schema["pattern"].as_str().unwrap_or("")).expect("a valid pattern");
        (min..=max).contains(&len) && pattern.is_match(value)
    }

    proptest::proptest! {
        /// The schema of a text type says exactly what its parser accepts (within its length
        /// bounds): control characters and, when it trims, only whitespace are refused by both.
        #[test]
        fn text_schema_matches_parser(value in "[a \t\n\r\u{0}-\u{1f}\u{7f}-\u{a0}\u{2003}é]{1,5}") {
            proptest::prop_assert_eq!(schema_accepts::<Name>(&value), Name::parse(&value).is_ok(), "{:?}", value);
            let body = Body::parse(&value).map(|b| (b.as_str().len(), b.into_inner()));
            proptest::prop_assert_eq!(schema_accepts::<Body>(&value), body.is_ok(), "{:?}", value);
            if let Ok(name) = Name::parse(&value) {
                proptest::prop_assert_eq!(name.as_str(), value.trim());
            }
        }
    }

    #[test]
    fn email_rules() {
        assert_eq!(Email::parse(" Ada@Example.COM ").map(|e| e.0), Ok("ada@example.com".into()));
        for bad in ["", "a", "a@b", "@b.com", "a@.com", "a@b.", "a b@c.com", "a@b..com", "a@@b.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_bounds() {
        assert!(Name::parse("").is_err());
        assert!(Name::parse("   ").is_err());
        assert_eq!(Name::parse(" abc ").map(|n| n.as_str().to_string()), Ok("abc".into()));
        assert_eq!(Name::parse("x").map(Name::into_inner), Ok("x".into()));
        assert!(Name::parse(&"é".repeat(5)).is_ok());
        assert!(Name::parse(&"x".repeat(6)).is_err());
        assert!(Name::parse("a\u{0}b").is_err());
    }

    #[test]
    fn password_bounds() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert_eq!(format!("{:?}", Password::parse("secret123").ok()), "Some(Password(***))");
    }

    #[test]
    fn json_values_name_their_field() {
        let e = Email::from_json("contact", &serde_json::json!("nope")).expect_err("bad");
        assert_eq!((e.field.as_str(), e.code.as_str()), ("contact", "invalid_format"));
        let e = Amount::from_json("price", &serde_json::json!(-1)).expect_err("bad");
        assert_eq!((e.field.as_str(), e.code.as_str()), ("price", "out_of_range"));
        let e = Name::from_json("title", &serde_json::json!(3)).expect_err("bad");
        assert_eq!((e.field.as_str(), e.code.as_str()), ("title", "invalid_type"));
    }
}
