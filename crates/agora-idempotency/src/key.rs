//! The `Idempotency-Key` header value.

use std::fmt;

/// Longest key, in characters.
pub const MAX_KEY_LEN: usize = 255;

/// A valid key: 1–255 printable ASCII characters (space to `~`).
///
/// The IETF draft defines the header as a structured-field string (`"8e03978e-…"`); most
/// clients (Stripe's among them) send the bare value. Both are accepted and mean the same key:
/// `"abc"` and `abc` are one key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a header value is not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No characters (or only whitespace, or `""`).
    #[error("the key is empty")]
    Empty,
    /// More than [`MAX_KEY_LEN`] characters.
    #[error("the key is longer than 255 characters")]
    TooLong,
    /// A character outside printable ASCII.
    #[error("the key must be printable ASCII")]
    NotPrintable,
    /// Starts with `"` but is not a valid structured-field string.
    #[error("the key starts with a quote but is not a quoted string")]
    BadQuoting,
}

impl IdempotencyKey {
    /// Parses a header value (surrounding spaces and tabs are ignored).
    pub fn parse(raw: &[u8]) -> Result<Self, KeyError> {
        let raw = trim(raw);
        let key = if raw.first() == Some(&b'"') { unquote(raw)? } else { raw.to_vec() };
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        if !key.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return Err(KeyError::NotPrintable);
        }
        if key.len() > MAX_KEY_LEN {
            return Err(KeyError::TooLong);
        }
        // Every byte is ASCII, so this cannot fail; the error arm keeps the function total.
        String::from_utf8(key).map(Self).map_err(|_| KeyError::NotPrintable)
    }

    /// The key's characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// RFC 8941 §4.2.5: `"` … `"` with `\"` and `\\` as the only escapes.
fn unquote(s: &[u8]) -> Result<Vec<u8>, KeyError> {
    let inner = match s {
        [b'"', inner @ .., b'"'] if s.len() >= 2 => inner,
        _ => return Err(KeyError::BadQuoting),
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => match bytes.next() {
                Some(&e @ (b'"' | b'\\')) => out.push(e),
                _ => return Err(KeyError::BadQuoting),
            },
            b'"' => return Err(KeyError::BadQuoting),
            _ => out.push(b),
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bare_and_quoted_forms() {
        assert_eq!(IdempotencyKey::parse(b"abc-123").unwrap().as_str(), "abc-123");
        assert_eq!(IdempotencyKey::parse(b"\"abc-123\"").unwrap().as_str(), "abc-123");
        assert_eq!(IdempotencyKey::parse(br#""a\"b\\c""#).unwrap().as_str(), r#"a"b\c"#);
        assert_eq!(IdempotencyKey::parse(b"  k 1 \t").unwrap().as_str(), "k 1");
    }

    #[test]
    fn refusals() {
        assert_eq!(IdempotencyKey::parse(b""), Err(KeyError::Empty));
        assert_eq!(IdempotencyKey::parse(b"   "), Err(KeyError::Empty));
        assert_eq!(IdempotencyKey::parse(b"\"\""), Err(KeyError::Empty));
        assert_eq!(IdempotencyKey::parse(b"\"abc"), Err(KeyError::BadQuoting));
        assert_eq!(IdempotencyKey::parse(b"\""), Err(KeyError::BadQuoting));
        assert_eq!(IdempotencyKey::parse(br#""a\x""#), Err(KeyError::BadQuoting));
        assert_eq!(IdempotencyKey::parse(br#""a"b""#), Err(KeyError::BadQuoting));
        assert_eq!(IdempotencyKey::parse(b"a\x00b"), Err(KeyError::NotPrintable));
        assert_eq!(IdempotencyKey::parse("caf\u{e9}".as_bytes()), Err(KeyError::NotPrintable));
        assert_eq!(IdempotencyKey::parse(&[b'a'; 256]), Err(KeyError::TooLong));
        assert!(IdempotencyKey::parse(&[b'a'; 255]).is_ok());
    }

    /// Quotes `s` as a structured-field string.
    fn quote(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }

    proptest! {
        /// Any printable key without surrounding spaces parses to itself, bare or quoted.
        #[test]
        fn printable_keys_round_trip(k in "[ -~]{1,255}") {
            let trimmed = k.trim_matches([' ', '\t']);
            prop_assume!(!trimmed.is_empty() && !trimmed.starts_with('"'));
            let bare = IdempotencyKey::parse(trimmed.as_bytes()).unwrap();
            let quoted = IdempotencyKey::parse(quote(trimmed).as_bytes()).unwrap();
            prop_assert_eq!(bare.as_str(), trimmed);
            prop_assert_eq!(quoted, bare);
        }

        /// Nothing panics, and whatever parses is 1–255 printable characters.
        #[test]
        fn any_bytes_are_judged(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(k) = IdempotencyKey::parse(&raw) {
                prop_assert!((1..=MAX_KEY_LEN).contains(&k.as_str().len()));
                prop_assert!(k.as_str().bytes().all(|b| (0x20..=0x7e).contains(&b)));
            }
        }
    }
}
