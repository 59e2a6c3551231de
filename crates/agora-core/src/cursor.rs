//! Opaque, tamper-evident pagination cursors.
//!
//! A cursor records the sort it was taken under, a digest of the filters it was taken with, the
//! sort-key values of the row it points at, and the walk direction. It is JSON, base64url
//! encoded, followed by a truncated HMAC-SHA256 tag: clients cannot forge or edit one, and a
//! cursor taken under one sort or filter set is refused under another rather than silently
//! returning the wrong rows. Because it stores values (not a row id to look up), it keeps
//! working after the row it was taken from is deleted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::list::Value;

type HmacSha256 = Hmac<Sha256>;

/// Length of the truncated MAC tag in bytes (128 bits is ample against forgery).
const TAG_LEN: usize = 16;
/// Refuse absurdly long cursors before doing any work.
const MAX_CURSOR_LEN: usize = 2048;

/// The secret used to sign cursors. Kept separate from other secrets by derivation at start-up.
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(***)")
    }
}

impl CursorKey {
    /// Wraps raw key bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    fn mac(&self, data: &[u8]) -> [u8; TAG_LEN] {
        // HMAC accepts keys of any length, so construction cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any size"),
        };
        mac.update(data);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&full[..TAG_LEN]);
        out
    }
}

/// The decoded content of a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorPayload {
    /// The sort signature, e.g. `-price,id`.
    #[serde(rename = "s")]
    pub sort: String,
    /// Digest of resource, scope, filters and search.
    #[serde(rename = "f")]
    pub scope: String,
    /// Sort-key values of the boundary row, one per sort key (the id last).
    #[serde(rename = "k")]
    pub values: Vec<Value>,
    /// True when walking backwards (a `prev_cursor`).
    #[serde(rename = "b", default, skip_serializing_if = "std::ops::Not::not")]
    pub backward: bool,
}

/// Why a cursor was refused; callers turn every variant into `400 INVALID_QUERY`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not base64, not our format, or too long.
    #[error("the cursor is malformed")]
    Malformed,
    /// The signature does not match: it was edited or forged.
    #[error("the cursor has been modified or was not issued by this server")]
    BadSignature,
}

impl CursorPayload {
    /// Serialises and signs the payload into the opaque token clients see.
    pub fn encode(&self, key: &CursorKey) -> String {
        // Serialising plain data into JSON cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        let tag = key.mac(&json);
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&json), URL_SAFE_NO_PAD.encode(tag))
    }

    /// Verifies and decodes a token; the MAC is checked before the JSON is parsed.
    pub fn decode(token: &str, key: &CursorKey) -> Result<Self, CursorError> {
        if token.is_empty() || token.len() > MAX_CURSOR_LEN {
            return Err(CursorError::Malformed);
        }
        let (body, tag) = token.split_once('.').ok_or(CursorError::Malformed)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| CursorError::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CursorError::Malformed)?;
        if tag.len() != TAG_LEN {
            return Err(CursorError::Malformed);
        }
        let mut mac = match HmacSha256::new_from_slice(&key.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any size"),
        };
        mac.update(&json);
        // verify_truncated_left compares in constant time.
        mac.verify_truncated_left(&tag).map_err(|_| CursorError::BadSignature)?;
        serde_json::from_slice(&json).map_err(|_| CursorError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    fn key() -> CursorKey {
        CursorKey::new(b"test-key".to_vec())
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::Int),
            ".{0,40}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            (0i64..4_000_000_000_000_000)
                .prop_map(|us| Value::Time(Utc.timestamp_micros(us).single().unwrap_or_default())),
        ]
    }

    proptest! {
        #[test]
        fn roundtrip(sort in "[a-z_,-]{0,30}", scope in "[0-9a-f]{0,16}", values in proptest::collection::vec(arb_value(), 0..5), backward in any::<bool>()) {
            let p = CursorPayload { sort, scope, values, backward };
            let token = p.encode(&key());
            prop_assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'));
            prop_assert_eq!(CursorPayload::decode(&token, &key()), Ok(p));
        }

        #[test]
        fn any_single_edit_is_refused(values in proptest::collection::vec(arb_value(), 1..4), pos in any::<prop::sample::Index>(), ch in "[A-Za-z0-9_.-]") {
            let p = CursorPayload { sort: "-price,id".into(), scope: "ab".into(), values, backward: false };
            let token = p.encode(&key());
            let i = pos.index(token.len());
            let mut edited = token.clone();
            edited.replace_range(i..i + 1, &ch);
            prop_assume!(edited != token);
            prop_assert!(CursorPayload::decode(&edited, &key()).is_err());
        }

        #[test]
        fn garbage_never_panics(s in ".{0,300}") {
            let _ = CursorPayload::decode(&s, &key());
        }
    }

    #[test]
    fn other_key_refused() {
        let p = CursorPayload { sort: "id".into(), scope: String::new(), values: vec![Value::Int(5)], backward: false };
        let token = p.encode(&key());
        assert_eq!(CursorPayload::decode(&token, &CursorKey::new(b"other".to_vec())), Err(CursorError::BadSignature));
    }
}
