//! Response headers: components (`#/components/headers/...`) described once, referenced by
//! the operations that send them. [`super`] attaches the ones every response carries and
//! swaps headers that handlers declare by name for references to these.

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr};

use crate::http::versioning::{V1_DEPRECATION, V1_SUNSET};

/// Where a header component lives.
pub fn header_ref(name: &str) -> Ref {
    Ref::new(format!("#/components/headers/{name}"))
}

fn header(description: &str, schema: ObjectBuilder) -> Header {
    HeaderBuilder::new().description(Some(description)).schema(Some(Schema::Object(schema.build()))).build()
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

/// Header component names.
pub mod names {
    /// `X-Request-ID`.
    pub const REQUEST_ID: &str = "X-Request-ID";
    /// `API-Version`.
    pub const API_VERSION: &str = "API-Version";
    /// `Deprecation` (v1).
    pub const DEPRECATION: &str = "Deprecation";
    /// `Sunset` (v1).
    pub const SUNSET: &str = "Sunset";
    /// `Link` with pagination relations.
    pub const LINK_PAGINATION: &str = "Link.pagination";
    /// `Link` with the successor version (v1).
    pub const LINK_SUCCESSOR: &str = "Link.successor-version";
    /// `Link` with both (v1 lists).
    pub const LINK_PAGINATION_V1: &str = "Link.pagination-v1";
    /// `ETag`.
    pub const ETAG: &str = "ETag";
    /// `Location`.
    pub const LOCATION: &str = "Location";
    /// `Allow`.
    pub const ALLOW: &str = "Allow";
    /// `Retry-After`.
    pub const RETRY_AFTER: &str = "Retry-After";
    /// `WWW-Authenticate`.
    pub const WWW_AUTHENTICATE: &str = "WWW-Authenticate";
    /// `X-RateLimit-Limit`.
    pub const RATELIMIT_LIMIT: &str = "X-RateLimit-Limit";
    /// `X-RateLimit-Remaining`.
    pub const RATELIMIT_REMAINING: &str = "X-RateLimit-Remaining";
    /// `X-RateLimit-Reset`.
    pub const RATELIMIT_RESET: &str = "X-RateLimit-Reset";
    /// `X-RateLimit-Reset-After`.
    pub const RATELIMIT_RESET_AFTER: &str = "X-RateLimit-Reset-After";
    /// `RateLimit-Policy` (IETF).
    pub const RATELIMIT_POLICY: &str = "RateLimit-Policy";
    /// `RateLimit` (IETF).
    pub const RATELIMIT: &str = "RateLimit";
    /// `Set-Cookie` with the session cookie.
    pub const SET_COOKIE: &str = "Set-Cookie";
    /// `Cache-Control: no-store` on responses carrying secrets.
    pub const CACHE_CONTROL_NO_STORE: &str = "Cache-Control.no-store";
    /// `Location` of an OAuth redirect back to the client.
    pub const LOCATION_REDIRECT: &str = "Location.redirect";
    /// `X-CSRF-Token` (a request parameter component).
    pub const CSRF_TOKEN: &str = "X-CSRF-Token";
    /// `Idempotency-Key` where it is optional (a request parameter component).
    pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
    /// `Idempotency-Key` where it is required (a request parameter component).
    pub const IDEMPOTENCY_KEY_REQUIRED: &str = "Idempotency-Key.required";
    /// `Idempotency-Replay` on a replayed response.
    pub const IDEMPOTENCY_REPLAY: &str = "Idempotency-Replay";
}

/// Which component a header that a handler declares by name (`headers(("ETag" = String))`)
/// stands for. Declared headers not listed here are a test failure.
pub const DECLARED_HEADERS: &[(&str, &str)] = &[
    ("ETag", names::ETAG),
    ("Location", names::LOCATION),
    ("Link", names::LINK_PAGINATION),
    ("Set-Cookie", names::SET_COOKIE),
    ("Cache-Control", names::CACHE_CONTROL_NO_STORE),
];

/// Every header component.
pub fn header_components() -> BTreeMap<String, RefOr<Header>> {
    let list = [
        (
            names::REQUEST_ID,
            header(
                "The request id: the client's `X-Request-ID` when it was valid, else a generated one. \
                 Equals `meta.request_id`.",
                string().examples([json!("req_01J8Z3V9K2Q4M5N6P7R8S9T0UV")]),
            ),
        ),
        (
            names::API_VERSION,
            header("The API version that served the request.", string().enum_values(Some(["1", "2"]))),
        ),
        (
            names::DEPRECATION,
            header(
                "v1 is deprecated (RFC 9745): `@<unix seconds>` of the deprecation date.",
                string().examples([json!(V1_DEPRECATION)]),
            ),
        ),
        (
            names::SUNSET,
            header("When v1 stops being served (RFC 8594 HTTP-date).", string().examples([json!(V1_SUNSET)])),
        ),
        (
            names::LINK_SUCCESSOR,
            header(
                "RFC 8288: the same resource in the successor version, \
                 `</v2/...>; rel=\"successor-version\"`.",
                string().examples([json!("</v2/users/1>; rel=\"successor-version\"")]),
            ),
        ),
        (
            names::LINK_PAGINATION,
            header(
                "RFC 8288 pagination links with relations `first`, `prev`, `next` and (page and offset \
                 styles) `last`, keeping the request's other parameters.",
                string().examples([json!("</v2/users?cursor=eyJ...&limit=20>; rel=\"next\"")]),
            ),
        ),
        (
            names::LINK_PAGINATION_V1,
            header(
                "RFC 8288 pagination links (`first`, `prev`, `next`, `last`) and the v2 successor \
                 (`rel=\"successor-version\"`), comma-separated.",
                string().examples([json!(
                    "</v1/users?page=2&per_page=20>; rel=\"next\", </v2/users>; rel=\"successor-version\""
                )]),
            ),
        ),
        (
            names::ETAG,
            header(
                "Strong ETag of this representation (it changes with the resource, the API version, \
                 the caller's view and `fields`). Send it back in `If-None-Match` or `If-Match`.",
                string().examples([json!("\"3f2a9c0b1d4e5f60718293a4\"")]),
            ),
        ),
        (
            names::LOCATION,
            header(
                "The new resource's URL under the same version prefix.",
                string().format(Some(SchemaFormat::Custom("uri-reference".into()))).examples([json!("/v2/users/42")]),
            ),
        ),
        (names::ALLOW, header("The methods this path supports.", string().examples([json!("GET, POST")]))),
        (
            names::IDEMPOTENCY_REPLAY,
            header(
                "`true` when this is the stored response of an earlier request with the same \
                 `Idempotency-Key` (nothing was executed again); absent otherwise.",
                string().enum_values(Some(["true"])),
            ),
        ),
        (names::RETRY_AFTER, header("Seconds to wait before retrying (at least 1).", integer().minimum(Some(1)))),
        (
            names::RATELIMIT_LIMIT,
            header("Requests allowed in the window of the policy closest to its limit.", integer().minimum(Some(0))),
        ),
        (names::RATELIMIT_REMAINING, header("Requests left in that window.", integer().minimum(Some(0)))),
        (names::RATELIMIT_RESET, header("When that window resets (unix seconds).", integer().minimum(Some(0)))),
        (names::RATELIMIT_RESET_AFTER, header("Seconds until that window resets.", integer().minimum(Some(0)))),
        (
            names::RATELIMIT_POLICY,
            header(
                "IETF `RateLimit-Policy`: every policy that applies, `name;q=<limit>;w=<window seconds>`.",
                string().examples([json!("\"anonymous\";q=100;w=60")]),
            ),
        ),
        (
            names::RATELIMIT,
            header(
                "IETF `RateLimit`: each policy's state, `name;r=<remaining>;t=<seconds to reset>`.",
                string().examples([json!("\"anonymous\";r=0;t=12")]),
            ),
        ),
        (
            names::WWW_AUTHENTICATE,
            header(
                "The challenge for the credential that failed or is missing: `Bearer realm=\"agora\"` \
                 (with `error=\"invalid_token\"` and `error_description` for a bad access token), \
                 `ApiKey realm=\"agora\"` (a bad API key), `Cookie realm=\"agora\"` (an expired or ended \
                 session) or `Basic realm=\"agora\"` (failed OAuth client authentication).",
                string().examples([json!(
                    "Bearer realm=\"agora\", error=\"invalid_token\", error_description=\"token revoked\""
                )]),
            ),
        ),
        (
            names::SET_COOKIE,
            header(
                "The session cookie: `agora_session=<session id>; HttpOnly; Secure; SameSite=Lax; Path=/; \
                 Max-Age=<seconds>` on sign-in; an emptied cookie with `Max-Age=0` on sign-out.",
                string().examples([json!(
                    "agora_session=s_Qm9yZWFsIHNlc3Npb24; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=2592000"
                )]),
            ),
        ),
        (
            names::CACHE_CONTROL_NO_STORE,
            header(
                "`no-store`: the response carries credentials and must not be cached (RFC 6749 §5.1; token \
                 responses also send `Pragma: no-cache`).",
                string().enum_values(Some(["no-store"])),
            ),
        ),
        (
            names::LOCATION_REDIRECT,
            header(
                "The client's `redirect_uri` with `code` and `state` added on success, or `error`, \
                 `error_description` and `state` (RFC 6749 §4.1.2).",
                string()
                    .format(Some(SchemaFormat::Custom("uri".into())))
                    .examples([json!("https://app.example/cb?code=ac_7Jk2Lm9Qx&state=xyz")]),
            ),
        ),
    ];
    list.into_iter().map(|(name, h)| (name.to_string(), RefOr::T(h))).collect()
}
