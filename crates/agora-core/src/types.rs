//! Parse-don't-validate newtypes: once a value has one of these types it is known to be valid,
//! so services and repositories never re-check it.

use crate::error::FieldError;

fn char_len_between(field: &str, value: &str, min: usize, max: usize) -> Result<(), FieldError> {
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

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr, trim = $trim:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps the value, naming the field in the error.
            pub fn parse(value: &str) -> Result<Self, FieldError> {
                let value = if $trim { value.trim() } else { value };
                char_len_between($field, value, $min, $max)?;
                if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
                    return Err(FieldError::new($field, "invalid_characters", "must not contain control characters"));
                }
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
    };
}

text_newtype!(
    /// A user's display name: 1–100 characters after trimming.
    UserName, "name", 1, 100, trim = true
);
text_newtype!(
    /// A post title: 1–200 characters after trimming.
    PostTitle, "title", 1, 200, trim = true
);
text_newtype!(
    /// A post body: 1–20,000 characters.
    PostContent, "content", 1, 20_000, trim = false
);
text_newtype!(
    /// A product name: 1–200 characters after trimming.
    ProductName, "name", 1, 200, trim = true
);
text_newtype!(
    /// A product description: up to 5,000 characters (may be empty).
    ProductDescription, "description", 0, 5_000, trim = false
);

/// An email address, normalised to lower case so uniqueness is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` shapes up to 254 characters; deliberately simple (the only
    /// real proof of an address is delivering to it) but rejects what is clearly not one.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let v = value.trim();
        let bad = || FieldError::new("email", "invalid_format", "must be a valid email address");
        if v.is_empty() || v.len() > 254 {
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

/// A plaintext password on its way to being hashed: 8–128 characters. Not `Debug`-printable
/// in clear so it cannot end up in a log line.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Validates length (8–128 characters; the upper bound caps hashing cost).
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let len = value.chars().count();
        if len < 8 {
            return Err(FieldError::new("password", "too_short", "must be at least 8 characters"));
        }
        if len > 128 {
            return Err(FieldError::new("password", "too_long", "must be at most 128 characters"));
        }
        Ok(Self(value.to_string()))
    }

    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A product category slug: 1–50 lowercase letters, digits or dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category(String);

impl Category {
    /// Validates the slug form.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let v = value.trim().to_ascii_lowercase();
        if v.is_empty() || v.len() > 50 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(FieldError::new(
                "category",
                "invalid_format",
                "must be 1-50 characters of letters, digits, '-' or '_'",
            ));
        }
        Ok(Self(v))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 4217 currency code in lower case (`usd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
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

/// A non-negative amount in minor units, capped so sums cannot overflow.
pub fn parse_amount(field: &str, value: i64) -> Result<i64, FieldError> {
    const MAX: i64 = 1_000_000_000_000;
    if !(0..=MAX).contains(&value) {
        return Err(FieldError::new(field, "out_of_range", format!("must be between 0 and {MAX}")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert_eq!(Email::parse(" Ada@Example.COM ").map(|e| e.0), Ok("ada@example.com".into()));
        for bad in ["", "a", "a@b", "@b.com", "a@.com", "a@b.", "a b@c.com", "a@b..com", "a@@b.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn name_bounds() {
        assert!(UserName::parse("").is_err());
        assert!(UserName::parse("   ").is_err());
        assert!(UserName::parse(&"x".repeat(100)).is_ok());
        assert!(UserName::parse(&"x".repeat(101)).is_err());
        assert!(UserName::parse("é".repeat(100).as_str()).is_ok());
    }

    #[test]
    fn password_bounds() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert_eq!(format!("{:?}", Password::parse("secret123").ok()), "Some(Password(***))");
    }
}
