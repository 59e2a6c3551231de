//! Authentication endpoints: the token endpoint (password, refresh_token, client_credentials,
//! authorization_code), revocation (RFC 7009), introspection (RFC 7662), sessions, API keys,
//! OAuth client registration, the authorize page, and the discovery documents.
//!
//! Like the resource routes, they are registered through utoipa-axum's [`OpenApiRouter`], so
//! each route and its `#[utoipa::path]` operation come from the same `routes!` call.

use std::collections::HashMap;

use agora_core::Actor;
use agora_core::actor::{Role, Scopes, unauthenticated};
use agora_core::auth::OAuthClient;
use agora_core::entities::User;
use agora_core::{DomainError, FieldError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration as ChronoDuration, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{CurrentActor, SESSION_COOKIE, cookie};
use crate::http::envelope::{Meta, json_bytes, json_response};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{PathId, QueryPairs, Version};
use crate::http::listing::created_response;
use crate::openapi::params::{AuthorizeQuery, IdPath, IdempotencyKey, IfNoneMatch};
use crate::openapi::responses::{
    ApiKeyNotFound, AuthorizeRedirect, AuthorizeRejected, AuthorizeSignInFailed, BodyErrors, CsrfFailed, Forbidden,
    ForbiddenApiKey, ForbiddenScope, InvalidBody, InvalidClient, InvalidForm, InvalidGrant, InvalidId, InvalidLogin,
    NoSession, NotModified, OperationalErrors, PayloadTooLarge, RequestInProgress, TokenBadRequest,
    UnsupportedMediaTypeForm, UnsupportedVersion, UserRequired, ValidationFailedOrKeyReused, VersionedErrors,
};
use crate::openapi::schemas::{
    ApiKeyCreate, ApiKeyCreatedResponse, ApiKeyListResponse, AuthorizationServerMetadata, AuthorizeForm,
    IntrospectRequest, IntrospectionResponse, Jwks, OAuthClientCreate, OAuthClientResponse, RevokeRequest,
    RevokeResponse, SessionCreate, SessionResponse, TokenRequest, TokenResponse, UserResponse,
};
use crate::rest::at;
use crate::rest::repr::UserOut;
use crate::state::AppState;

/// Versioned auth routes under `prefix` (`/v1` or `/v2`), with their OpenAPI operations.
/// [`crate::rest::api`] merges them into the versioned API.
pub fn api(prefix: &str) -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(at(prefix, routes!(token)))
        .routes(at(prefix, routes!(revoke)))
        .routes(at(prefix, routes!(introspect)))
        .routes(at(prefix, routes!(session_create, session_delete)))
        .routes(at(prefix, routes!(me)))
        .routes(at(prefix, routes!(list_keys, create_key)))
        .routes(at(prefix, routes!(delete_key)))
        .routes(at(prefix, routes!(create_client)))
}

/// Versioned auth routes under `prefix`.
pub fn versioned(prefix: &str) -> Router<AppState> {
    api(prefix).split_for_parts().0
}

/// Unversioned routes (the authorize page and discovery documents), with their OpenAPI
/// operations.
pub fn operational_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(authorize_page, authorize_submit))
        .routes(routes!(jwks))
        .routes(routes!(metadata))
}

/// Unversioned routes: the authorize page and discovery documents.
pub fn operational() -> Router<AppState> {
    operational_api().split_for_parts().0
}

/// Reads a JSON object or a form body into string parameters (OAuth clients send forms).
pub fn params(headers: &HeaderMap, body: &Bytes) -> ApiResult<HashMap<String, String>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if ct.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| ApiError::invalid_request("The form body is not valid URL encoding."))?;
        return Ok(pairs.into_iter().collect());
    }
    if ct.starts_with("application/json") || ct.contains("+json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::invalid_request("The request body is not valid JSON."))?;
        let Value::Object(m) = v else {
            return Err(ApiError::invalid_request("The request body must be a JSON object."));
        };
        return Ok(m
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s,
                    Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" "),
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        "Send application/json or application/x-www-form-urlencoded.",
    ))
}

fn required<'a>(p: &'a HashMap<String, String>, name: &str) -> ApiResult<&'a str> {
    p.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::from(DomainError::validation(vec![FieldError::new(name, "required", "is required")])))
}

/// An OAuth-shaped success: the Agora envelope, with the RFC 6749/7662 fields also at the top
/// level so standard OAuth client libraries can read them.
fn oauth_json(status: StatusCode, data: Value) -> Response {
    let mut body = json!({"success": true, "data": data.clone(), "meta": Meta::now()});
    if let (Value::Object(top), Value::Object(fields)) = (&mut body, data) {
        for (k, v) in fields {
            top.entry(k).or_insert(v);
        }
    }
    let mut res = json_response(status, serde_json::to_vec(&body).unwrap_or_default());
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn requested_scopes(p: &HashMap<String, String>, allowed: Scopes) -> ApiResult<Scopes> {
    match p.get("scope").filter(|s| !s.trim().is_empty()) {
        None => Ok(allowed),
        Some(s) => {
            let asked = Scopes::parse(s).map_err(|m| {
                ApiError::from(DomainError::validation(vec![FieldError::new("scope", "invalid_scope", m)]))
            })?;
            if !allowed.contains(asked) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "FORBIDDEN",
                    "The requested scope exceeds what this grant allows.",
                ));
            }
            Ok(asked)
        }
    }
}

async fn user_tokens(s: &AppState, user: &User, scopes: Scopes, family: Option<String>) -> ApiResult<Value> {
    let (access, _) = s
        .tokens
        .issue(format!("user:{}", user.id), scopes, Some(user.role.as_str()), None)
        .map_err(|e| ApiError::from(DomainError::internal(e.to_string())))?;
    let ttl = ChronoDuration::from_std(s.config.auth.refresh_token_ttl).unwrap_or(ChronoDuration::days(30));
    let refresh = s.services.auth.issue_refresh(user.id, scopes, family, ttl).await?;
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": s.tokens.ttl().as_secs(),
        "refresh_token": refresh,
        "scope": scopes.to_scope_string(),
    }))
}

/// Client credentials from HTTP Basic or the body (`client_id` / `client_secret`).
fn client_credentials(headers: &HeaderMap, p: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
    {
        let decoded = STANDARD.decode(basic.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        let dec = |x: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={x}"))
                .ok()
                .and_then(|v| v.into_iter().next())
                .map(|(_, v)| v)
        };
        return Some((dec(id)?, dec(secret)?));
    }
    Some((p.get("client_id")?.clone(), p.get("client_secret")?.clone()))
}

fn invalid_client() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Client authentication failed.")
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"agora\""))
}

async fn authenticated_client(
    s: &AppState,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> ApiResult<OAuthClient> {
    let (id, secret) = client_credentials(headers, p).ok_or_else(invalid_client)?;
    s.services.auth.authenticate_client(&id, &secret).await.map_err(|_| invalid_client())
}

/// Get an access token
///
/// The OAuth 2.0 token endpoint (RFC 6749), for four grants chosen by `grant_type`:
/// `password` (email and password), `refresh_token` (rotation: each refresh token works once;
/// reusing one revokes its family), `client_credentials` (a client acting for itself, with
/// HTTP Basic or `client_id`/`client_secret`) and `authorization_code` (with PKCE S256, after
/// `/oauth/authorize`). Parameters come as a JSON object or a form. The answer is the
/// envelope with the RFC 6749 fields repeated at the top level, sent with
/// `Cache-Control: no-store`. No credential is needed; a client may authenticate.
#[utoipa::path(
    post,
    path = "/auth/token",
    operation_id = "create_token",
    tag = "auth",
    params(IdempotencyKey),
    request_body(
        description = "The grant and its parameters.",
        content((TokenRequest = "application/json"), (TokenRequest = "application/x-www-form-urlencoded"))
    ),
    security((), ("clientBasic" = [])),
    responses(
        (status = 200, description = "Issued.", body = TokenResponse, headers(("Cache-Control" = String))),
        (status = 400, response = TokenBadRequest),
        (status = 403, response = ForbiddenScope),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = RequestInProgress),
        (status = 422, response = ValidationFailedOrKeyReused),
        BodyErrors,
        VersionedErrors,
        (status = 401, response = InvalidGrant),
        (status = 415, response = UnsupportedMediaTypeForm),
    )
)]
pub async fn token(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let p = params(&headers, &body)?;
    let grant = required(&p, "grant_type")?;
    let data = match grant {
        "password" => {
            let user = s
                .services
                .auth
                .verify_password(
                    required(&p, "email").or_else(|_| required(&p, "username"))?,
                    required(&p, "password")?,
                )
                .await?;
            let scopes = requested_scopes(&p, user.role.default_scopes())?;
            user_tokens(&s, &user, scopes, None).await?
        }
        "refresh_token" => {
            let (user, scopes, family) = s.services.auth.rotate_refresh(required(&p, "refresh_token")?).await?;
            let scopes = requested_scopes(&p, scopes)?;
            user_tokens(&s, &user, scopes, Some(family)).await?
        }
        "client_credentials" => {
            let client = authenticated_client(&s, &headers, &p).await?;
            if !client.grant_types.iter().any(|g| g == "client_credentials") {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "UNAUTHORIZED_CLIENT",
                    "This client may not use client_credentials.",
                ));
            }
            let scopes = requested_scopes(&p, client.scopes)?;
            let (access, _) = s
                .tokens
                .issue(format!("client:{}", client.client_id), scopes, None, Some(&client.client_id))
                .map_err(|e| ApiError::from(DomainError::internal(e.to_string())))?;
            json!({"access_token": access, "token_type": "Bearer", "expires_in": s.tokens.ttl().as_secs(), "scope": scopes.to_scope_string()})
        }
        "authorization_code" => {
            let client_id = match client_credentials(&headers, &p) {
                Some(_) => authenticated_client(&s, &headers, &p).await?.client_id,
                None => required(&p, "client_id")?.to_string(),
            };
            let (user, scopes) = s
                .services
                .auth
                .exchange_code(
                    &client_id,
                    required(&p, "code")?,
                    required(&p, "redirect_uri")?,
                    required(&p, "code_verifier")?,
                )
                .await?;
            user_tokens(&s, &user, scopes, None).await?
        }
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED_GRANT_TYPE",
                format!(
                    "grant_type `{other}` is not supported; use password, refresh_token, client_credentials or authorization_code."
                ),
            ));
        }
    };
    Ok(oauth_json(StatusCode::OK, data))
}

/// Revoke a token
///
/// RFC 7009: revokes an access token (refused from the next request on, before it expires) or a
/// refresh token (with its whole family). Always 200, whether or not the token was known. No
/// client authentication; parameters come as a JSON object or a form.
#[utoipa::path(
    post,
    path = "/auth/revoke",
    operation_id = "revoke_token",
    tag = "auth",
    params(IdempotencyKey),
    request_body(
        description = "The token to revoke.",
        content((RevokeRequest = "application/json"), (RevokeRequest = "application/x-www-form-urlencoded"))
    ),
    security(()),
    responses(
        (status = 200, description = "Revoked (or unknown).", body = RevokeResponse, headers(("Cache-Control" = String))),
        (status = 400, response = InvalidForm),
        (status = 403, response = CsrfFailed),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = RequestInProgress),
        (status = 422, response = ValidationFailedOrKeyReused),
        BodyErrors,
        VersionedErrors,
        (status = 415, response = UnsupportedMediaTypeForm),
    )
)]
pub async fn revoke(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let p = params(&headers, &body)?;
    let token = required(&p, "token")?;
    if let Ok(claims) = s.tokens.verify_ignoring_expiry(token) {
        let exp = Utc.timestamp_opt(claims.exp, 0).single().unwrap_or_else(Utc::now);
        s.services.auth.repo().revoke_jti(&claims.jti, exp).await?;
    } else {
        s.services.auth.revoke_refresh(token).await?;
    }
    Ok(oauth_json(StatusCode::OK, json!({"revoked": true})))
}

/// Introspect a token
///
/// RFC 7662, for resource servers: whether an access token is active, with its claims. The
/// client authenticates with HTTP Basic (`clientBasic`) or `client_id`/`client_secret` in the
/// body. An invalid, expired or revoked token, or one of a deleted user, is `{"active": false}`.
#[utoipa::path(
    post,
    path = "/auth/introspect",
    operation_id = "introspect_token",
    tag = "auth",
    params(IdempotencyKey),
    request_body(
        description = "The token to inspect (and, without HTTP Basic, the client's credentials).",
        content((IntrospectRequest = "application/json"), (IntrospectRequest = "application/x-www-form-urlencoded"))
    ),
    security(("clientBasic" = [])),
    responses(
        (status = 200, description = "The token's state.", body = IntrospectionResponse, headers(("Cache-Control" = String))),
        (status = 400, response = InvalidForm),
        (status = 403, response = CsrfFailed),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = RequestInProgress),
        (status = 422, response = ValidationFailedOrKeyReused),
        BodyErrors,
        VersionedErrors,
        (status = 401, response = InvalidClient),
        (status = 415, response = UnsupportedMediaTypeForm),
    )
)]
pub async fn introspect(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let p = params(&headers, &body)?;
    authenticated_client(&s, &headers, &p).await?;
    let token = required(&p, "token")?;
    let inactive = || oauth_json(StatusCode::OK, json!({"active": false}));
    let Ok(claims) = s.tokens.verify(token) else { return Ok(inactive()) };
    if s.services.auth.repo().is_jti_revoked(&claims.jti).await? {
        return Ok(inactive());
    }
    if let Some(id) = claims.sub.strip_prefix("user:").and_then(|v| v.parse::<i64>().ok())
        && s.services.auth.current_user(id).await?.is_none()
    {
        return Ok(inactive());
    }
    Ok(oauth_json(
        StatusCode::OK,
        json!({
            "active": true, "scope": claims.scope, "client_id": claims.client_id, "sub": claims.sub,
            "exp": claims.exp, "iat": claims.iat, "nbf": claims.nbf, "iss": claims.iss, "aud": claims.aud,
            "jti": claims.jti, "token_type": "Bearer",
        }),
    ))
}

fn session_cookie(value: &str, max_age: i64) -> HeaderValue {
    let c = format!("{SESSION_COOKIE}={value}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={max_age}");
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static("agora_session=; Max-Age=0; Path=/"))
}

/// Sign in (session cookie)
///
/// Password sign-in for browser apps: sets the `agora_session` cookie (`HttpOnly; Secure;
/// SameSite=Lax; Path=/`) and returns the session's `csrf_token`, which every unsafe request
/// authenticated by the cookie must send in `X-CSRF-Token`. Parameters come as a JSON object
/// or a form. Sessions expire after the refresh-token lifetime.
#[utoipa::path(
    post,
    path = "/auth/session",
    operation_id = "create_session",
    tag = "auth",
    params(IdempotencyKey),
    request_body(
        description = "The user's email and password.",
        content((SessionCreate = "application/json"), (SessionCreate = "application/x-www-form-urlencoded"))
    ),
    security(()),
    responses(
        (
            status = 201, description = "Signed in. `Set-Cookie` carries the session.", body = SessionResponse,
            headers(("Set-Cookie" = String), ("Cache-Control" = String))
        ),
        (status = 400, response = InvalidForm),
        (status = 403, response = CsrfFailed),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = RequestInProgress),
        (status = 422, response = ValidationFailedOrKeyReused),
        BodyErrors,
        VersionedErrors,
        (status = 401, response = InvalidLogin),
        (status = 415, response = UnsupportedMediaTypeForm),
    )
)]
pub async fn session_create(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let p = params(&headers, &body)?;
    let user = s.services.auth.verify_password(required(&p, "email")?, required(&p, "password")?).await?;
    let ttl = ChronoDuration::from_std(s.config.auth.refresh_token_ttl).unwrap_or(ChronoDuration::days(30));
    let (cookie_value, csrf) = s.services.auth.create_session(&user, ttl).await?;
    let data = json!({
        "csrf_token": csrf,
        "expires_at": (Utc::now() + ttl).to_rfc3339_opts(SecondsFormat::Secs, true),
        "user": UserOut::new(&user, true),
    });
    let mut res = json_response(StatusCode::CREATED, json_bytes::<Value, ()>(&data, None));
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(&cookie_value, ttl.num_seconds()));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Sign out (session cookie)
///
/// Ends the cookie's session and clears the cookie. Being unsafe, it needs `X-CSRF-Token`.
#[utoipa::path(
    delete,
    path = "/auth/session",
    operation_id = "delete_session",
    tag = "auth",
    security(("sessionCookie" = [])),
    responses(
        (status = 204, description = "Signed out; `Set-Cookie` clears the cookie. No body.", headers(("Set-Cookie" = String))),
        (status = 403, response = CsrfFailed),
        (status = 404, response = UnsupportedVersion),
        VersionedErrors,
        (status = 401, response = NoSession),
    )
)]
pub async fn session_delete(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let Some(c) = cookie(&headers, SESSION_COOKIE) else { return Err(unauthenticated().into()) };
    s.services.auth.end_session(&c).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(res)
}

/// Get the current user
///
/// The user the credential belongs to, with `email`, a strong `ETag` and `If-None-Match`
/// support, like `GET /users/{id}`. OAuth client tokens (`client_credentials`) act for no user
/// and get 401.
#[utoipa::path(
    get,
    path = "/users/me",
    operation_id = "get_current_user",
    tag = "users",
    params(IfNoneMatch),
    security(("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The current user.", body = UserResponse, headers(("ETag" = String))),
        (status = 304, response = NotModified),
        (status = 404, response = UnsupportedVersion),
        VersionedErrors,
        (status = 401, response = UserRequired),
    )
)]
pub async fn me(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = actor.user_id().ok_or_else(unauthenticated)?;
    let u = s.services.users.get(&actor, id).await?;
    let tag = UserOut::etag(&u, true, v, None);
    Ok(crate::http::listing::single_response(&headers, &UserOut::new(&u, true), None, tag))
}

fn key_json(k: &agora_core::auth::ApiKey) -> Value {
    json!({
        "id": k.id, "name": k.name, "prefix": k.prefix, "scopes": k.scopes.to_scope_string().split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "created_at": k.created_at, "last_used_at": k.last_used_at,
    })
}

/// List my API keys
///
/// The caller's keys, all in one page, without their secrets (those are shown only at creation).
#[utoipa::path(
    get,
    path = "/api-keys",
    operation_id = "list_api_keys",
    tag = "api-keys",
    security(("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The caller's keys.", body = ApiKeyListResponse),
        (status = 404, response = UnsupportedVersion),
        VersionedErrors,
        (status = 401, response = UserRequired),
    )
)]
pub async fn list_keys(State(s): State<AppState>, CurrentActor(actor): CurrentActor) -> ApiResult<Response> {
    let id = actor.user_id().ok_or_else(unauthenticated)?;
    let keys = s.services.auth.repo().list_api_keys(id).await?;
    let items: Vec<Value> = keys.iter().map(key_json).collect();
    let pagination = json!({"limit": items.len(), "next_cursor": null, "prev_cursor": null, "has_more": false});
    Ok(json_response(StatusCode::OK, json_bytes(&items, Some(&pagination))))
}

fn scopes_param(body: &Map<String, Value>) -> ApiResult<Scopes> {
    let raw = match body.get("scopes") {
        None => return Ok(Scopes::READ),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" "),
        Some(_) => String::from("?"),
    };
    Scopes::parse(&raw)
        .map_err(|m| ApiError::from(DomainError::validation(vec![FieldError::new("scopes", "invalid_scope", m)])))
}

/// Create an API key
///
/// Mints a key for the caller, with at most the scopes of the caller's credential. The secret
/// (`key`) is in this response only; the server keeps a hash.
#[utoipa::path(
    post,
    path = "/api-keys",
    operation_id = "create_api_key",
    tag = "api-keys",
    params(IdempotencyKey),
    request_body(content = ApiKeyCreate, description = "The key's label and scopes."),
    security(
        ("bearerAuth" = ["write"]), ("apiKeyHeader" = ["write"]), ("sessionCookie" = ["write"]), ("oauth2" = ["write"])
    ),
    responses(
        (
            status = 201, description = "Created. `data.key` is the secret, shown this once.",
            body = ApiKeyCreatedResponse, headers(("Location" = String))
        ),
        (status = 400, response = InvalidBody),
        (status = 403, response = ForbiddenApiKey),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = RequestInProgress),
        (status = 422, response = ValidationFailedOrKeyReused),
        BodyErrors,
        VersionedErrors,
    )
)]
pub async fn create_key(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    crate::http::extract::JsonObject(body): crate::http::extract::JsonObject,
) -> ApiResult<Response> {
    let name = body.get("name").and_then(|v| v.as_str()).unwrap_or("");
    let scopes = scopes_param(&body)?;
    let minted = s.services.auth.create_api_key(&actor, name, scopes).await?;
    let mut data = key_json(&minted.record);
    if let Value::Object(m) = &mut data {
        m.insert("key".into(), Value::String(minted.secret));
    }
    Ok(created_response(&data, format!("{}/api-keys/{}", v.0.prefix(), minted.record.id), String::new()))
}

/// Revoke an API key
///
/// Deletes one of the caller's keys; it stops working at once.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    operation_id = "delete_api_key",
    tag = "api-keys",
    params(IdPath),
    security(
        ("bearerAuth" = ["write"]), ("apiKeyHeader" = ["write"]), ("sessionCookie" = ["write"]), ("oauth2" = ["write"])
    ),
    responses(
        (status = 204, description = "Revoked. No body."),
        (status = 400, response = InvalidId),
        (status = 403, response = Forbidden),
        (status = 404, response = ApiKeyNotFound),
        VersionedErrors,
        (status = 401, response = UserRequired),
    )
)]
pub async fn delete_key(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
) -> ApiResult<Response> {
    actor.require_write()?;
    let uid = actor.user_id().ok_or_else(unauthenticated)?;
    if s.services.auth.repo().delete_api_key(id, uid).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(DomainError::not_found("API_KEY").into())
    }
}

fn string_list(body: &Map<String, Value>, name: &str) -> Vec<String> {
    match body.get(name) {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        Some(Value::String(s)) => s.split([' ', ',']).filter(|x| !x.is_empty()).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Register an OAuth client
///
/// Administrators only (role `admin` and the `admin` scope). The `client_secret` is in this
/// response only; the server keeps a hash. Clients can also be registered on the CLI
/// (`agora oauth create-client`).
#[utoipa::path(
    post,
    path = "/oauth/clients",
    operation_id = "create_oauth_client",
    tag = "oauth",
    params(IdempotencyKey),
    request_body(content = OAuthClientCreate, description = "The client's name, redirect URIs, grants and scopes."),
    security(
        ("bearerAuth" = ["write", "admin"]),
        ("apiKeyHeader" = ["write", "admin"]),
        ("sessionCookie" = ["write", "admin"]),
        ("oauth2" = ["write", "admin"])
    ),
    responses(
        (
            status = 201, description = "Registered. `client_secret` is shown this once.", body = OAuthClientResponse,
            headers(("Cache-Control" = String))
        ),
        (status = 400, response = InvalidBody),
        (status = 403, response = Forbidden),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = RequestInProgress),
        (status = 422, response = ValidationFailedOrKeyReused),
        BodyErrors,
        VersionedErrors,
    )
)]
pub async fn create_client(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    crate::http::extract::JsonObject(body): crate::http::extract::JsonObject,
) -> ApiResult<Response> {
    let name = body.get("name").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let scopes = match body.get("scopes") {
        None => Scopes::READ,
        Some(_) => scopes_param(&body)?,
    };
    let grants = string_list(&body, "grant_types");
    let grants =
        if grants.is_empty() { vec!["authorization_code".to_string(), "refresh_token".to_string()] } else { grants };
    let minted = s
        .services
        .auth
        .register_client(Some(&actor), &name, string_list(&body, "redirect_uris"), grants, scopes)
        .await?;
    Ok(client_response(&minted.record, &minted.secret))
}

/// The registration response.
pub fn client_response(c: &OAuthClient, secret: &str) -> Response {
    let data = json!({
        "client_id": c.client_id, "client_secret": secret, "name": c.name,
        "redirect_uris": c.redirect_uris, "grant_types": c.grant_types, "scopes": c.scopes.to_scope_string(),
    });
    oauth_json(StatusCode::CREATED, data)
}

/// Authorize (sign-in and consent page)
///
/// The OAuth 2.0 authorization endpoint (authorization code with PKCE S256): an HTML page
/// naming the client and scopes, with a `<form method="post">` whose inputs `email` and
/// `password` sign the user in. An unknown client or a redirect URI not registered exactly is
/// an error, never a redirect; other problems redirect to the client with `error`.
#[utoipa::path(
    get,
    path = "/oauth/authorize",
    operation_id = "authorize_page",
    tag = "oauth",
    params(AuthorizeQuery),
    security(()),
    responses(
        (
            status = 200, description = "The sign-in and consent page (not to be framed or cached).", body = String,
            content_type = "text/html; charset=utf-8", headers(("Cache-Control" = String))
        ),
        (status = 302, response = AuthorizeRedirect),
        (status = 400, response = AuthorizeRejected),
        OperationalErrors,
    )
)]
pub async fn authorize_page(state: State<AppState>, q: QueryPairs) -> Response {
    super::oauth_page::show(state, q).await
}

/// Authorize (sign-in form submission)
///
/// The authorize page's form: checks the authorization request again and the user's password,
/// then redirects to the client's `redirect_uri` with a single-use `code` (valid 60 s) and the
/// `state`. The granted scopes are those asked for, narrowed to what the user's role allows.
#[utoipa::path(
    post,
    path = "/oauth/authorize",
    operation_id = "authorize_submit",
    tag = "oauth",
    request_body(
        description = "The authorization request (hidden inputs) and the user's email and password.",
        content((AuthorizeForm = "application/x-www-form-urlencoded"), (AuthorizeForm = "application/json"))
    ),
    security(()),
    responses(
        (status = 302, response = AuthorizeRedirect),
        (status = 400, response = AuthorizeRejected),
        (status = 403, response = CsrfFailed),
        (status = 413, response = PayloadTooLarge),
        OperationalErrors,
        (status = 401, response = AuthorizeSignInFailed),
    )
)]
pub async fn authorize_submit(state: State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    super::oauth_page::submit(state, headers, body).await
}

/// JSON Web Key Set
///
/// RFC 7517: the public keys that verify access tokens (with `kid`), for resource servers.
/// Empty with HS256 signing (the shared secret is never published). Cacheable for 5 minutes.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "oauth",
    security(()),
    responses(
        (status = 200, description = "The key set.", body = Jwks),
        OperationalErrors,
    )
)]
pub async fn jwks(State(s): State<AppState>) -> Response {
    let mut res = axum::Json(s.tokens.jwks()).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

/// Authorization server metadata
///
/// RFC 8414: the OAuth endpoints, grants, PKCE methods, client authentication methods and
/// scopes. URLs are absolute, built from the request's `Host`.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    operation_id = "oauth_authorization_server_metadata",
    tag = "oauth",
    security(()),
    responses(
        (status = 200, description = "The metadata.", body = AuthorizationServerMetadata),
        OperationalErrors,
    )
)]
pub async fn metadata(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1:8080");
    let base = format!("http://{host}");
    axum::Json(json!({
        "issuer": s.config.auth.issuer,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/v2/auth/token"),
        "revocation_endpoint": format!("{base}/v2/auth/revoke"),
        "introspection_endpoint": format!("{base}/v2/auth/introspect"),
        "registration_endpoint": format!("{base}/v2/oauth/clients"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["authorization_code", "client_credentials", "password", "refresh_token"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["read", "write", "admin"],
    }))
    .into_response()
}

/// Used by the CLI and the bootstrap: the role an admin-created user gets.
pub fn admin_actor() -> Actor {
    Actor::user(0, Role::Admin)
}
