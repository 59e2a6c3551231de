//! The success envelope: `{"success": true, "data": …, ["pagination": …,] "meta": {…}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ctx;

/// Request metadata present in every body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    /// Equals the `X-Request-ID` header.
    pub request_id: String,
    /// When the response was produced (RFC 3339, UTC).
    pub timestamp: String,
}

impl Meta {
    /// Metadata for the current request.
    pub fn now() -> Self {
        Self {
            request_id: ctx::current().request_id.to_string(),
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

#[derive(Serialize)]
struct Body<'a, T: Serialize, P: Serialize> {
    success: bool,
    data: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<&'a P>,
    meta: Meta,
}

/// Serialises an envelope straight to bytes (no intermediate JSON tree on the hot path).
pub fn json_bytes<T: Serialize, P: Serialize>(data: &T, pagination: Option<&P>) -> Vec<u8> {
    let body = Body { success: true, data, pagination, meta: Meta::now() };
    serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"success\":false}".to_vec())
}

/// A JSON response with the given status and pre-serialised body.
///
/// The header map is sized for everything the middleware adds on the way out (request id,
/// version, rate-limit and deprecation headers): growing it later rehashes every entry.
pub fn json_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    // Starts from the rate-limit headers when the limiter prepared them for this request.
    let mut headers = agora_ratelimit::headers::response_headers(RESPONSE_HEADER_CAPACITY);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut res = Response::new(axum::body::Body::from(bytes));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

/// Headers a JSON response typically ends up with, middleware included.
const RESPONSE_HEADER_CAPACITY: usize = 16;

/// `200 OK` with `data`.
pub fn ok<T: Serialize>(data: &T) -> Response {
    json_response(StatusCode::OK, json_bytes::<T, ()>(data, None))
}
