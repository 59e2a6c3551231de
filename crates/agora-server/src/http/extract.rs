//! Extractors that reject in the envelope with precise codes, instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use agora_core::list::{DefaultStyle, ListRequest};
use agora_core::{Actor, DomainError, ErrorCode, FieldError};

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
        let no_route = || ApiError::from(ErrorCode::NotFound);
        let params = axum::extract::RawPathParams::from_request_parts(parts, state).await.map_err(|_| no_route())?;
        let (name, raw) = params.iter().next().ok_or_else(no_route)?;
        Ok(PathId(parse_id(name, raw)?))
    }
}

/// The `{id}` and `{target_id}` path parameters (in that order), as positive integers.
#[derive(Debug, Clone, Copy)]
pub struct PathIds(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let no_route = || ApiError::from(ErrorCode::NotFound);
        let params = axum::extract::RawPathParams::from_request_parts(parts, state).await.map_err(|_| no_route())?;
        let mut ids = params.iter();
        let (first, raw_first) = ids.next().ok_or_else(no_route)?;
        let (second, raw_second) = ids.next().ok_or_else(no_route)?;
        Ok(PathIds(parse_id(first, raw_first)?, parse_id(second, raw_second)?))
    }
}

/// The decoded query string as ordered pairs; undecodable input is `400 INVALID_QUERY`.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map_err(|_| ApiError::new(ErrorCode::InvalidQuery, "The query string is not valid URL encoding."))?;
        // No parameter has a use for a NUL character, and PostgreSQL cannot compare text with one.
        if let Some((k, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            let name = k.replace('\0', "\u{FFFD}");
            return Err(
                DomainError::invalid_query(&name, "invalid_characters", "must not contain NUL characters").into()
            );
        }
        Ok(QueryPairs(pairs))
    }
}

impl QueryPairs {
    /// The value of a parameter, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The collection request these parameters make under version `v`.
    pub fn list(self, v: Version) -> ListRequest {
        ListRequest { params: self.0, style: v.default_style() }
    }
}

fn is_json(ct: &str) -> bool {
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

fn content_type(headers: &HeaderMap) -> &str {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::PayloadTooLarge.into()
        } else {
            ApiError::invalid_request("The request body could not be read.")
        }
    })
}

/// A JSON object body. Wrong content type → 415, unreadable JSON or a non-object → 400,
/// too large → 413; all in the envelope.
#[derive(Debug, Clone)]
pub struct JsonObject(pub agora_core::input::JsonObject);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(content_type(req.headers())) {
            return Err(ErrorCode::UnsupportedMediaType.into());
        }
        let bytes = body_bytes(req, state).await?;
        json_object(&bytes)
    }
}

/// A JSON object body that may be left out: no body at all (or JSON `null`, as the document's
/// optional body allows) reads as `{}` — for an operation whose every field is optional, such
/// as a full refund. A body that is sent is otherwise checked as for [`JsonObject`].
#[derive(Debug, Clone)]
pub struct OptionalJsonObject(pub agora_core::input::JsonObject);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonObject {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = is_json(content_type(req.headers()));
        let bytes = body_bytes(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonObject(Default::default()));
        }
        if !json {
            return Err(ErrorCode::UnsupportedMediaType.into());
        }
        if serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v.is_null()) {
            return Ok(OptionalJsonObject(Default::default()));
        }
        json_object(&bytes).map(|JsonObject(o)| OptionalJsonObject(o))
    }
}

fn json_object(bytes: &[u8]) -> Result<JsonObject, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(JsonObject(m)),
        Ok(_) => Err(ApiError::invalid_request("The request body must be a JSON object.")),
        Err(e) => Err(ApiError::invalid_request(format!(
            "The request body is not valid JSON (line {}, column {}).",
            e.line(),
            e.column()
        ))),
    }
}

/// A typed input read from a JSON object body: the body's syntax is checked as for
/// [`JsonObject`], then every field at once (422 `VALIDATION_ERROR` naming each bad one).
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: for<'a> TryFrom<&'a agora_core::input::JsonObject, Error = DomainError>,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonObject(obj) = JsonObject::from_request(req, state).await?;
        Ok(Body(T::try_from(&obj)?))
    }
}

/// The parameters of an OAuth-style endpoint, as a form or a JSON object (RFC 6749 clients
/// send forms), read into `T`. Every parameter is a string: JSON arrays become
/// space-separated lists (`["read", "write"]` is the scope `read write`), other values their
/// JSON text. Unknown parameters are ignored, as OAuth asks.
#[derive(Debug, Clone)]
pub struct Params<T>(pub T);

impl<S, T> FromRequest<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = content_type(req.headers()).to_ascii_lowercase();
        let form = ct.starts_with("application/x-www-form-urlencoded");
        if !form && !is_json(&ct) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send application/json or application/x-www-form-urlencoded.",
            ));
        }
        let bytes = body_bytes(req, state).await?;
        // Only the parameters `T` reads are looked at: others are ignored, as OAuth asks.
        let known = known_fields::<T>();
        let wanted = |k: &str| known.is_none_or(|names| names.contains(&k));
        let unreadable =
            |e: serde::de::value::Error| ApiError::invalid_request(format!("The parameters could not be read: {e}."));
        let nul = |k: &str| ApiError::from(DomainError::validation(vec![agora_core::input::nul_refused(k)]));
        if form {
            let mut pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                .map_err(|_| ApiError::invalid_request("The form body is not valid URL encoding."))?;
            pairs.retain(|(k, _)| wanted(k));
            if let Some((k, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
                return Err(nul(k));
            }
            // Later duplicates win, as in a map.
            let map: std::collections::HashMap<String, String> = pairs.into_iter().collect();
            let de = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(map.into_iter());
            return T::deserialize(de).map(Params).map_err(unreadable);
        }
        let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(ApiError::invalid_request("The request body must be a JSON object."));
        };
        m.retain(|k, _| wanted(k));
        let has_nul = |v: &Value| v.as_str().is_some_and(|s| s.contains('\0'));
        if let Some((k, _)) = m.iter().find(|(k, v)| k.contains('\0') || has_nul(v)) {
            return Err(nul(k));
        }
        // In JSON every parameter is a string, as the schema says (a number or an array is
        // refused, not coerced); parameters the type does not know are ignored.
        T::deserialize(Value::Object(m))
            .map(Params)
            .map_err(|e| ApiError::invalid_request(format!("The parameters could not be read: {e}.")))
    }
}

/// The fields a struct reads, as serde's derive hands them to `deserialize_struct`; `None`
/// for a type that reads a map (one with a flattened field), which then sees everything.
/// (serde has no other way to ask a type its field names.)
fn known_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    use serde::de::{Error, Visitor};
    struct Probe<'a>(&'a mut Option<&'static [&'static str]>);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Error::custom("probe"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = Some(fields);
            Err(Error::custom("probe"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields = None;
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// The calling [`Actor`] (anonymous when no credential was presented).
#[derive(Debug, Clone)]
pub struct CurrentActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for CurrentActor {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(CurrentActor(parts.extensions.get::<Actor>().cloned().unwrap_or(Actor::Anonymous)))
    }
}

/// The calling [`Actor`], who must be authenticated with the `write` scope (401, or 403
/// without it): for writes without a body (`DELETE`), checked before anything is looked up,
/// so that a caller who may not write learns nothing about what exists.
#[derive(Debug, Clone)]
pub struct Writer(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Writer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let actor = parts.extensions.get::<Actor>().cloned().unwrap_or(Actor::Anonymous);
        actor.require_write()?;
        Ok(Writer(actor))
    }
}

/// Like [`Write`], for an input whose body may be left out ([`OptionalJsonObject`]).
#[derive(Debug, Clone)]
pub struct WriteOptional<T>(pub Actor, pub T);

impl<S, T> FromRequest<S> for WriteOptional<T>
where
    S: Send + Sync,
    T: for<'a> TryFrom<&'a agora_core::input::JsonObject, Error = DomainError>,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let actor = req.extensions().get::<Actor>().cloned().unwrap_or(Actor::Anonymous);
        let OptionalJsonObject(obj) = OptionalJsonObject::from_request(req, state).await?;
        actor.require_write()?;
        Ok(WriteOptional(actor, T::try_from(&obj)?))
    }
}

/// A write: the calling [`Actor`], who must be authenticated with the `write` scope, and its
/// typed input. Checked in the order a client fixes things in: the body's syntax (400, 413,
/// 415), then the credential (401, or 403 without `write`), then every field (422). The
/// service checks the credential again, for every transport.
#[derive(Debug, Clone)]
pub struct Write<T>(pub Actor, pub T);

impl<S, T> FromRequest<S> for Write<T>
where
    S: Send + Sync,
    T: for<'a> TryFrom<&'a agora_core::input::JsonObject, Error = DomainError>,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let actor = req.extensions().get::<Actor>().cloned().unwrap_or(Actor::Anonymous);
        let JsonObject(obj) = JsonObject::from_request(req, state).await?;
        actor.require_write()?;
        Ok(Write(actor, T::try_from(&obj)?))
    }
}
