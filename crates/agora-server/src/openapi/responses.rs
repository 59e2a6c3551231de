//! Reusable responses and response headers.
//!
//! Error responses are components (`#/components/responses/...`) named in the handlers'
//! `#[utoipa::path(responses(...))]`, each with the envelope and the RFC 9457 form. Response
//! headers are components too; [`super`] attaches the ones every response carries and swaps
//! headers that handlers declare by name for references to these.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, ToResponse};

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
    /// `Idempotency-Replay`.
    pub const IDEMPOTENCY_REPLAY: &str = "Idempotency-Replay";
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
}

/// Which component a header that a handler declares by name (`headers(("ETag" = String))`)
/// stands for. Declared headers not listed here are a test failure.
pub const DECLARED_HEADERS: &[(&str, &str)] = &[
    ("ETag", names::ETAG),
    ("Location", names::LOCATION),
    ("Link", names::LINK_PAGINATION),
    ("Idempotency-Replay", names::IDEMPOTENCY_REPLAY),
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
        (
            names::IDEMPOTENCY_REPLAY,
            header(
                "`true` when this response is a replay stored under the request's `Idempotency-Key`.",
                string().enum_values(Some(["true"])),
            ),
        ),
        (names::ALLOW, header("The methods this path supports.", string().examples([json!("GET, POST")]))),
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

fn envelope_example(code: &str, message: &str) -> Value {
    json!({
        "success": false,
        "error": {"code": code, "message": message},
        "meta": {"request_id": "req_01J8Z3V9K2Q4M5N6P7R8S9T0UV", "timestamp": "2026-01-15T10:30:00Z"}
    })
}

/// An error response: the envelope (`application/json`) or problem details
/// (`application/problem+json`), plus `extra` header components.
pub fn error_response(description: &str, code: &str, message: &str, extra: &[&str]) -> Response {
    let mut b = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .example(Some(envelope_example(code, message)))
                .build(),
        )
        .content(
            "application/problem+json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDetails"))).build(),
        );
    for name in extra {
        b = b.header_ref(*name, header_ref(name));
    }
    b.build()
}

macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident => ($description:expr, $code:literal, $message:literal $(, $extra:expr)*);)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), RefOr::T(error_response($description, $code, $message, &[$($extra),*])))
                }
            }
        )*

        /// Every error response component, for the document's `components.responses`.
        pub fn error_components() -> BTreeMap<String, RefOr<Response>> {
            [$(<$name as ToResponse>::response()),*].into_iter().map(|(k, v)| (k.to_string(), v)).collect()
        }
    };
}

const CSRF: &str = " `CSRF_FAILED`: the request carries the `agora_session` cookie but not the session's \
     CSRF token in `X-CSRF-Token`.";

const UNSUPPORTED: &str = " When the request has no version prefix and names an unsupported version (`API-Version`, \
     `?version=` or the media type), the answer is `UNSUPPORTED_API_VERSION`.";

error_responses! {
    /// 400 on collections.
    InvalidQuery => (
        "`INVALID_QUERY`: a bad query parameter — an unknown parameter, sort or field name, a bad \
         filter value, a modified or mismatched cursor, `per_page`/`limit` above 100, or mixed \
         pagination styles. `details` name the parameter.",
        "INVALID_QUERY", "The query parameter `sort` is invalid."
    );
    /// 400 on single-resource GETs and nested collections.
    InvalidIdOrQuery => (
        "`INVALID_REQUEST`: the path id is not a positive integer. `INVALID_QUERY`: a bad query \
         parameter (e.g. an unknown name in `fields`); `details` name it.",
        "INVALID_QUERY", "The query parameter `fields` is invalid."
    );
    /// 400 on DELETE.
    InvalidId => (
        "`INVALID_REQUEST`: the path id is not a positive integer.",
        "INVALID_REQUEST", "Path parameter `id` must be a positive integer id."
    );
    /// 400 on POST.
    InvalidBody => (
        "`INVALID_REQUEST`: the body is not valid JSON or not a JSON object.",
        "INVALID_REQUEST", "The request body is not valid JSON (line 1, column 2)."
    );
    /// 400 on PUT and PATCH.
    InvalidIdOrBody => (
        "`INVALID_REQUEST`: the path id is not a positive integer, or the body is not valid JSON or \
         not a JSON object.",
        "INVALID_REQUEST", "The request body must be a JSON object."
    );
    /// 401.
    Unauthenticated => (
        "`UNAUTHENTICATED`: credentials are missing where required, or invalid, expired or revoked.",
        "UNAUTHENTICATED", "Authentication is required.", names::WWW_AUTHENTICATE
    );
    /// 403.
    Forbidden => (
        &format!("`FORBIDDEN`: authenticated, but not allowed to do this (not the owner, not an \
         administrator, or a credential without the needed scope).{CSRF}"),
        "FORBIDDEN", "You may only change your own resources."
    );
    /// 403 on user writes (also `role`).
    ForbiddenUserWrite => (
        &format!("`FORBIDDEN`: not this user and not an administrator, a credential without the \
         `write` scope, or a non-administrator sent `role` (`details` name it).{CSRF}"),
        "FORBIDDEN", "Only administrators may set `role`."
    );
    /// 403 on sign-up (only `role`).
    ForbiddenRole => (
        &format!("`FORBIDDEN`: a non-administrator sent `role` (`details` name it).{CSRF}"),
        "FORBIDDEN", "Only administrators may set `role`."
    );
    /// 403 on unsafe operations that need no credential.
    CsrfFailed => (
        "`CSRF_FAILED`: the request carries the `agora_session` cookie but not the session's CSRF \
         token in `X-CSRF-Token` (every unsafe method is checked, whatever the endpoint).",
        "CSRF_FAILED", "Cookie-authenticated writes must send the session's CSRF token in X-CSRF-Token."
    );
    /// 403 on the token endpoint.
    ForbiddenScope => (
        &format!("`FORBIDDEN`: the requested `scope` exceeds what the grant allows (the user's role, \
         the refresh token's or the client's scopes).{CSRF}"),
        "FORBIDDEN", "The requested scope exceeds what this grant allows."
    );
    /// 403 on API key creation.
    ForbiddenApiKey => (
        &format!("`FORBIDDEN`: the credential lacks the `write` scope, the caller is an OAuth client \
         (only users own keys), or the key would carry scopes the caller's credential lacks.{CSRF}"),
        "FORBIDDEN", "A key cannot have scopes its creator lacks."
    );
    /// 401 on the token endpoint.
    InvalidGrant => (
        "`UNAUTHENTICATED`: wrong email or password (the same answer for an unknown email); an \
         unknown, expired, used or revoked refresh token (reusing a rotated one also revokes its \
         family); an invalid, expired or used code, or a `redirect_uri`/`code_verifier` that does \
         not match; failed client authentication (`WWW-Authenticate: Basic`); or an invalid \
         credential in the request's `Authorization`/`X-API-Key`/cookie.",
        "UNAUTHENTICATED", "Invalid credentials.", names::WWW_AUTHENTICATE
    );
    /// 401 on introspection.
    InvalidClient => (
        "`UNAUTHENTICATED`: client authentication is missing or failed (`WWW-Authenticate: Basic \
         realm=\"agora\"`).",
        "UNAUTHENTICATED", "Client authentication failed.", names::WWW_AUTHENTICATE
    );
    /// 401 on sign-out.
    NoSession => (
        "`UNAUTHENTICATED`: the request carries no `agora_session` cookie, the session expired or \
         was already ended (`WWW-Authenticate: Cookie realm=\"agora\"`), or another credential sent \
         with the request is invalid.",
        "UNAUTHENTICATED", "Authentication is required.", names::WWW_AUTHENTICATE
    );
    /// 401 on password sign-in.
    InvalidLogin => (
        "`UNAUTHENTICATED`: wrong email or password (the same answer, in the same time, for an \
         unknown email), or an invalid credential sent with the request.",
        "UNAUTHENTICATED", "Invalid credentials.", names::WWW_AUTHENTICATE
    );
    /// 401 where only a user will do.
    UserRequired => (
        "`UNAUTHENTICATED`: no credential; an invalid, expired or revoked one; or an OAuth client's \
         own token (`client_credentials`), which acts for no user.",
        "UNAUTHENTICATED", "Authentication is required.", names::WWW_AUTHENTICATE
    );
    /// 400 on the token endpoint.
    TokenBadRequest => (
        "`INVALID_REQUEST`: the body is not valid JSON, not a JSON object or not valid URL encoding. \
         `UNSUPPORTED_GRANT_TYPE`: `grant_type` is not `password`, `refresh_token`, \
         `client_credentials` or `authorization_code`. `UNAUTHORIZED_CLIENT`: the client is not \
         registered for `client_credentials`.",
        "UNSUPPORTED_GRANT_TYPE", "grant_type `implicit` is not supported; use password, refresh_token, client_credentials or authorization_code."
    );
    /// 400 on the other form-or-JSON endpoints.
    InvalidForm => (
        "`INVALID_REQUEST`: the body is not valid JSON, not a JSON object or not valid URL encoding.",
        "INVALID_REQUEST", "The form body is not valid URL encoding."
    );
    /// 415 on the form-or-JSON endpoints.
    UnsupportedMediaTypeForm => (
        "`UNSUPPORTED_MEDIA_TYPE`: the body is neither `application/json` (or `application/*+json`) \
         nor `application/x-www-form-urlencoded`.",
        "UNSUPPORTED_MEDIA_TYPE", "Send application/json or application/x-www-form-urlencoded."
    );
    /// 404 on API keys.
    ApiKeyNotFound => (
        &format!("`API_KEY_NOT_FOUND`: the caller has no key with this id (other users' keys are not \
         found either).{UNSUPPORTED}"),
        "API_KEY_NOT_FOUND", "The API key does not exist."
    );
    /// 404 on users.
    UserNotFound => (
        &format!("`USER_NOT_FOUND`: no user has this id.{UNSUPPORTED}"),
        "USER_NOT_FOUND", "The user does not exist."
    );
    /// 404 on posts.
    PostNotFound => (
        &format!("`POST_NOT_FOUND`: no post has this id.{UNSUPPORTED}"),
        "POST_NOT_FOUND", "The post does not exist."
    );
    /// 404 on products.
    ProductNotFound => (
        &format!("`PRODUCT_NOT_FOUND`: no product has this id.{UNSUPPORTED}"),
        "PRODUCT_NOT_FOUND", "The product does not exist."
    );
    /// 404 on operations without an id.
    UnsupportedVersion => (
        "`UNSUPPORTED_API_VERSION`: the request has no version prefix and names an unsupported \
         version (`API-Version`, `?version=` or the media type).",
        "UNSUPPORTED_API_VERSION", "API version `3` is not supported; supported versions are 1 and 2."
    );
    /// 405.
    MethodNotAllowed => (
        "`METHOD_NOT_ALLOWED`: the path exists but not with this method; `Allow` lists the methods.",
        "METHOD_NOT_ALLOWED", "This method is not allowed on this resource.", names::ALLOW
    );
    /// 409 on user sign-up and PATCH.
    EmailConflictOrInProgress => (
        "`CONFLICT`: the email is already taken (`details` name `email`). `REQUEST_IN_PROGRESS`: a \
         request with the same `Idempotency-Key` is still running (see `Retry-After`).",
        "CONFLICT", "The email is already taken.", names::RETRY_AFTER
    );
    /// 409 on user PUT.
    EmailConflict => (
        "`CONFLICT`: the email is already taken (`details` name `email`).",
        "CONFLICT", "The email is already taken."
    );
    /// 409 on other POST and PATCH.
    RequestInProgress => (
        "`REQUEST_IN_PROGRESS`: a request with the same `Idempotency-Key` is still running (see \
         `Retry-After`).",
        "REQUEST_IN_PROGRESS", "A request with this Idempotency-Key is still in progress.", names::RETRY_AFTER
    );
    /// 412.
    PreconditionFailed => (
        "`PRECONDITION_FAILED`: `If-Match` does not match the current ETag; the resource changed \
         since the caller fetched it. Nothing was written.",
        "PRECONDITION_FAILED", "The resource has changed since you fetched it (If-Match does not match its ETag)."
    );
    /// 413.
    PayloadTooLarge => (
        "`PAYLOAD_TOO_LARGE`: the body exceeds the configured limit (default 1 MiB).",
        "PAYLOAD_TOO_LARGE", "The request body is too large."
    );
    /// 415.
    UnsupportedMediaType => (
        "`UNSUPPORTED_MEDIA_TYPE`: the body is not sent as `application/json` (or another \
         `application/*+json` type).",
        "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json."
    );
    /// 422 on PUT.
    ValidationFailed => (
        "`VALIDATION_ERROR`: one `details` entry per bad field — missing, `null`, wrong type, out of \
         range, unknown or read-only.",
        "VALIDATION_ERROR", "The request has invalid fields."
    );
    /// 422 on POST and PATCH.
    ValidationFailedOrKeyReused => (
        "`VALIDATION_ERROR`: one `details` entry per bad field — missing, `null`, wrong type, out of \
         range, unknown or read-only. `IDEMPOTENCY_KEY_REUSED`: the `Idempotency-Key` was used for \
         a different request.",
        "VALIDATION_ERROR", "The request has invalid fields."
    );
    /// 429.
    RateLimited => (
        "`RATE_LIMIT_EXCEEDED`: too many requests; retry after `Retry-After` seconds (also \
         `error.retry_after`). Rate-limited requests carry the `X-RateLimit-*`, `RateLimit-Policy` \
         and `RateLimit` headers on every response, not only on 429.",
        "RATE_LIMIT_EXCEEDED", "Too many requests.", names::RETRY_AFTER, names::RATELIMIT_LIMIT,
        names::RATELIMIT_REMAINING, names::RATELIMIT_RESET, names::RATELIMIT_RESET_AFTER, names::RATELIMIT_POLICY,
        names::RATELIMIT
    );
    /// 500.
    InternalError => (
        "`INTERNAL_ERROR`: an unexpected failure. The message carries only the request id to quote.",
        "INTERNAL_ERROR", "An internal error occurred. Quote request id req_01J8Z3V9K2Q4M5N6P7R8S9T0UV when reporting it."
    );
    /// 503 on `/readyz`.
    NotReady => (
        "`NOT_READY`: a dependency (the database) did not answer; `details` name it. \
         `RATE_LIMITER_UNAVAILABLE`: the rate limiter's store is unreachable and configured to deny.",
        "NOT_READY", "The database is unreachable."
    );
    /// 503 when the rate limiter cannot decide.
    RateLimiterUnavailable => (
        "`RATE_LIMITER_UNAVAILABLE`: the rate limiter's store (Redis) is unreachable and the server \
         is configured to deny rather than allow (`on_backend_error = \"deny\"`).",
        "RATE_LIMITER_UNAVAILABLE", "Rate limiting is temporarily unavailable."
    );
}

/// 304 on single-resource GETs.
#[derive(Debug, Clone, Copy)]
pub struct NotModified;

impl<'r> ToResponse<'r> for NotModified {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "NotModified",
            RefOr::T(
                ResponseBuilder::new()
                    .description("Not Modified: `If-None-Match` matched the current ETag. No body.")
                    .header_ref(names::ETAG, header_ref(names::ETAG))
                    .build(),
            ),
        )
    }
}

fn refs(list: &[(u16, &str)]) -> BTreeMap<String, RefOr<Response>> {
    list.iter().map(|(status, name)| (status.to_string(), RefOr::Ref(Ref::from_response_name(*name)))).collect()
}

/// Errors every versioned operation can answer: 401, 405, 429, 500 and 503.
#[derive(Debug, Clone, Copy)]
pub struct VersionedErrors;

impl IntoResponses for VersionedErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            (401, "Unauthenticated"),
            (405, "MethodNotAllowed"),
            (429, "RateLimited"),
            (500, "InternalError"),
            (503, "RateLimiterUnavailable"),
        ])
    }
}

/// Errors every operational endpoint can answer: 401 (a credential sent but invalid is never
/// ignored), 405, 429, 500 and 503.
#[derive(Debug, Clone, Copy)]
pub struct OperationalErrors;

impl IntoResponses for OperationalErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            (401, "Unauthenticated"),
            (405, "MethodNotAllowed"),
            (429, "RateLimited"),
            (500, "InternalError"),
            (503, "RateLimiterUnavailable"),
        ])
    }
}

/// Errors every request with a JSON body can answer: 413 and 415.
#[derive(Debug, Clone, Copy)]
pub struct BodyErrors;

impl IntoResponses for BodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[(413, "PayloadTooLarge"), (415, "UnsupportedMediaType")])
    }
}

/// An error of the authorize page: an HTML page (`text/html`) or, as the server answers
/// today, the error envelope (see [`AuthorizeRejected`]).
fn page_error_response(description: &str, code: &str, message: &str, extra: &[&str]) -> Response {
    let mut r = error_response(description, code, message, extra);
    let html = ContentBuilder::new()
        .schema(Some(Schema::Object(ObjectBuilder::new().schema_type(Type::String).build())))
        .build();
    r.content.insert("text/html; charset=utf-8".to_string(), RefOr::T(html));
    r
}

const PAGE_NOTE: &str = " (The page is currently re-rendered as the JSON error envelope by the server's error \
     normalisation, so both media types are listed.)";

/// 400 on the authorize page and its form.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRejected;

impl<'r> ToResponse<'r> for AuthorizeRejected {
    fn response() -> (&'r str, RefOr<Response>) {
        let description = format!(
            "The authorization request cannot be answered with a redirect — an unknown `client_id`, a \
             `redirect_uri` not registered for the client exactly (so a code never reaches an \
             unregistered URI), a form that cannot be read, or a code that could not be issued: an \
             error page, code `INVALID_REQUEST`. Nothing is redirected.{PAGE_NOTE}"
        );
        let r = page_error_response(&description, "INVALID_REQUEST", "The request could not be understood.", &[]);
        ("AuthorizeRejected", RefOr::T(r))
    }
}

/// 401 on the authorize form.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeSignInFailed;

impl<'r> ToResponse<'r> for AuthorizeSignInFailed {
    fn response() -> (&'r str, RefOr<Response>) {
        let description = format!(
            "Wrong email or password: the sign-in form again, with an error (code `ERROR` in the \
             envelope); nothing is issued or redirected. `UNAUTHENTICATED` (JSON, with \
             `WWW-Authenticate`): an invalid credential was sent with the request.{PAGE_NOTE}"
        );
        let r = page_error_response(&description, "ERROR", "The request failed.", &[names::WWW_AUTHENTICATE]);
        ("AuthorizeSignInFailed", RefOr::T(r))
    }
}

/// 302 from the authorize page back to the client.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRedirect;

impl<'r> ToResponse<'r> for AuthorizeRedirect {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "AuthorizeRedirect",
            RefOr::T(
                ResponseBuilder::new()
                    .description(
                        "Found: back to the client's `redirect_uri` (see `Location`). On success it carries a \
                         single-use `code` (valid 60 s) and the `state`; errors the client should see — \
                         `unsupported_response_type`, `invalid_request` (PKCE with S256 missing), \
                         `invalid_scope` — carry `error`, `error_description` and `state`. No body.",
                    )
                    .header_ref("Location", header_ref(names::LOCATION_REDIRECT))
                    .header_ref("Cache-Control", header_ref(names::CACHE_CONTROL_NO_STORE))
                    .build(),
            ),
        )
    }
}

/// All response components (errors, 304 and the authorize redirect).
pub fn response_components() -> BTreeMap<String, RefOr<Response>> {
    let mut all = error_components();
    for (name, r) in [
        NotModified::response(),
        AuthorizeRedirect::response(),
        AuthorizeRejected::response(),
        AuthorizeSignInFailed::response(),
    ] {
        all.insert(name.to_string(), r);
    }
    all
}
