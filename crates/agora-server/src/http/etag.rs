//! Strong ETags and conditional requests.
//!
//! An ETag is derived from the resource's row version plus everything that changes its
//! representation (API version, who may see private fields, selected fields), so it is strong:
//! equal tags mean byte-identical bodies. `If-Match` is checked against the representation the
//! caller would GET, and the write itself is conditional on the row version, so a concurrent
//! change between the check and the write still answers 412 instead of being overwritten.

use agora_core::ErrorCode;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// Computes the strong ETag (quoted) for one representation of one row version.
pub fn etag(resource: &str, id: i64, version: i64, variant: &str) -> String {
    let mut h = Sha256::new();
    h.update(resource.as_bytes());
    h.update(id.to_be_bytes());
    h.update(version.to_be_bytes());
    h.update(variant.as_bytes());
    let digest = h.finalize();
    format!("\"{}\"", hex::encode(&digest[..12]))
}

fn tags(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `If-None-Match` uses weak comparison: `W/"x"` matches `"x"`.
pub fn not_modified(headers: &HeaderMap, current: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(tags)
        .any(|t| t == "*" || t.trim_start_matches("W/") == current)
}

/// `If-Match` uses strong comparison; a mismatch is `412 PRECONDITION_FAILED`.
pub fn check_if_match(headers: &HeaderMap, current: &str) -> Result<bool, ApiError> {
    let values: Vec<&str> =
        headers.get_all(header::IF_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(tags).collect();
    if values.is_empty() {
        return Ok(false);
    }
    if values.iter().any(|t| *t == "*" || *t == current) {
        return Ok(true);
    }
    Err(ApiError::new(
        ErrorCode::PreconditionFailed,
        "The resource has changed since you fetched it (If-Match does not match its ETag).",
    ))
}

/// `304 Not Modified` with the tag and no body.
pub fn not_modified_response(tag: &str) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}
