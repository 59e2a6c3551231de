//! Extractors that reject in the envelope with precise codes, instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use agora_core::FieldError;
use agora_core::list::DefaultStyle;

use super::error::ApiError;
use super::versioning::ApiVersion;

/// The version the request is served by.
#[derive(Debug, Clone, Copy)]
pub struct Version(pub ApiVersion);

impl Version {
    /// Which pagination a list uses when the client names none.
    pub fn default_style(self) -> DefaultStyle {
        match self.0 {
            ApiVersion::V1 => DefaultStyle::Page,
            ApiVersion::V2 => DefaultStyle::Cursor,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Version {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Version(parts.extensions.get::<ApiVersion>().copied().unwrap_or(ApiVersion::CURRENT)))
    }
}

fn bad_id(name: &str) -> ApiError {
    ApiError::invalid_request(format!("Path parameter `{name}` must be a positive integer id."))
        .with_details(vec![FieldError::new(name, "invalid_id", "must be a positive 64-bit integer")])
}

fn parse_id(name: &str, raw: &str) -> Result<i64, ApiError> {
    match raw.parse::<i64>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(bad_id(name)),
    }
}

/// The `{id}` path parameter as a positive integer; anything else is `400 INVALID_REQUEST`.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params =
            axum::extract::RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::no_route())?;
        let (name, raw) = params.iter().next().ok_or_else(ApiError::no_route)?;
        Ok(PathId(parse_id(name, raw)?))
    }
}

/// The decoded query string as ordered pairs; undecodable input is `400 INVALID_QUERY`.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(q).map(QueryPairs).map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "INVALID_QUERY", "The query string is not valid URL encoding.")
        })
    }
}

impl QueryPairs {
    /// The value of a parameter, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A JSON object body. Wrong content type → 415, unreadable JSON or a non-object → 400,
/// too large → 413; all in the envelope.
#[derive(Debug, Clone)]
pub struct JsonObject(pub Map<String, Value>);

fn is_json(ct: &str) -> bool {
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(ct) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Send the request body as application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "The request body is too large.")
            } else {
                ApiError::invalid_request("The request body could not be read.")
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(JsonObject(m)),
            Ok(_) => Err(ApiError::invalid_request("The request body must be a JSON object.")),
            Err(e) => Err(ApiError::invalid_request(format!(
                "The request body is not valid JSON (line {}, column {}).",
                e.line(),
                e.column()
            ))),
        }
    }
}
