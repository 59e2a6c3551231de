//! `/auth/*`: the OAuth 2.0 token endpoint, revocation (RFC 7009), introspection (RFC 7662)
//! and browser sessions. Handlers parse, call `AuthService`, and render; the rules are there.
//!
//! The OAuth answers are the Agora envelope with the RFC 6749 / 7009 / 7662 fields repeated at
//! the top level ([`OAuthEnvelope`]), so standard OAuth client libraries can read them.

use agora_core::ErrorCode;
use agora_core::auth::{
    ClientSecret, IntrospectRequest, Introspection, IssuedTokens, RevokeRequest, SignIn, TokenRequest,
};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::SecondsFormat;
use serde::Serialize;
use utoipa::ToSchema;

use super::users::UserOut;
use crate::auth::{SESSION_COOKIE, challenge, cookie};
use crate::errors;
use crate::http::envelope::{Envelope, Meta, json_response, to_bytes};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Params;
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::state::AppState;

/// The authentication routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned)
        .credentials_in_body(utoipa_axum::routes!(token))
        .credentials_in_body(utoipa_axum::routes!(revoke))
        .credentials_in_body(utoipa_axum::routes!(introspect))
        .credentials_in_body(utoipa_axum::routes!(session_create))
        .route(utoipa_axum::routes!(session_delete))
}

/// The envelope with the OAuth fields also at the top level, sent with
/// `Cache-Control: no-store`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthEnvelope<T> {
    /// Always `true`.
    pub success: bool,
    /// The result.
    pub data: T,
    /// Request metadata.
    pub meta: Meta,
    /// The same fields as `data`, for OAuth client libraries.
    #[serde(flatten)]
    pub top: T,
}

/// An OAuth answer: `data` twice, no caching.
pub fn oauth_response<T: Serialize + Clone>(status: StatusCode, data: T) -> Response {
    let body = OAuthEnvelope { success: true, data: data.clone(), meta: Meta::now(), top: data };
    let mut res = json_response(status, to_bytes(&body));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// The token type: always `Bearer`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum TokenType {
    /// RFC 6750 bearer token.
    Bearer,
}

/// An issued access token (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenData {
    /// The access token: a JWT to send as `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    #[schema(minimum = 1, example = 900)]
    pub expires_in: u64,
    /// A refresh token (`rt_…`; single use, rotated). Not issued for `client_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// The granted scopes, space-separated.
    #[schema(example = "read write")]
    pub scope: String,
}

impl From<IssuedTokens> for TokenData {
    fn from(t: IssuedTokens) -> Self {
        TokenData {
            access_token: t.access_token,
            token_type: TokenType::Bearer,
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
            scope: t.scopes.to_scope_string(),
        }
    }
}

/// A failed client authentication: 401 with the Basic challenge.
fn client_failed(e: agora_core::DomainError) -> ApiError {
    if e.code == ErrorCode::Unauthenticated {
        challenge("Client authentication failed.", HeaderValue::from_static("Basic realm=\"agora\""))
    } else {
        e.into()
    }
}

/// Client credentials from HTTP Basic (`client_secret_basic`), if sent.
fn basic_credentials(headers: &HeaderMap) -> Option<ClientSecret> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))?;
    let text = String::from_utf8(STANDARD.decode(basic.trim()).ok()?).ok()?;
    let (id, secret) = text.split_once(':')?;
    // RFC 6749 §2.3.1: both parts are form-encoded before being joined.
    let dec = |x: &str| serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={x}")).ok()?.pop().map(|p| p.1);
    Some(ClientSecret { client_id: dec(id)?, client_secret: dec(secret)? })
}

/// Get an access token
///
/// The OAuth 2.0 token endpoint (RFC 6749), for four grants chosen by `grant_type`:
/// `password` (email and password), `refresh_token` (rotation: each refresh token works once;
/// reusing one revokes its family), `client_credentials` (a client acting for itself, with
/// HTTP Basic or `client_id`/`client_secret`) and `authorization_code` (with PKCE S256, after
/// `/oauth/authorize`). Parameters come as a JSON object or a form. No credential is needed; a
/// client may authenticate.
#[utoipa::path(
    post,
    path = "/auth/token",
    operation_id = "create_token",
    tag = "auth",
    request_body(
        description = "The grant and its parameters.",
        content((TokenRequest = "application/json"), (TokenRequest = "application/x-www-form-urlencoded"))
    ),
    security((), ("clientBasic" = [])),
    responses(
        (status = 200, description = "Issued.", body = OAuthEnvelope<TokenData>, headers(("Cache-Control" = String))),
        Errors<{ errors![UnsupportedGrantType, UnauthorizedClient, Unauthenticated, Forbidden, ValidationError, ServerBusy] }>,
    )
)]
pub async fn token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Params(request): Params<TokenRequest>,
) -> ApiResult<Response> {
    let creds = basic_credentials(&headers).or_else(|| request.client_secret());
    let grant = request.grant(creds.is_some())?;
    let client = s.services.auth.client_for(grant.grant_type(), creds.as_ref()).await.map_err(client_failed)?;
    let issued = s.services.auth.token(grant, client).await?;
    Ok(oauth_response(StatusCode::OK, TokenData::from(issued)))
}

/// Revocation result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revoked {
    /// Always `true`, whether or not the token was known (RFC 7009 §2.2).
    pub revoked: bool,
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
    request_body(
        description = "The token to revoke.",
        content((RevokeRequest = "application/json"), (RevokeRequest = "application/x-www-form-urlencoded"))
    ),
    security(()),
    responses(
        (status = 200, description = "Revoked (or unknown).", body = OAuthEnvelope<Revoked>, headers(("Cache-Control" = String))),
        Errors<{ errors![ValidationError] }>,
    )
)]
pub async fn revoke(State(s): State<AppState>, Params(request): Params<RevokeRequest>) -> ApiResult<Response> {
    s.services.auth.revoke(request.token()?).await?;
    Ok(oauth_response(StatusCode::OK, Revoked { revoked: true }))
}

/// Token state (RFC 7662 §2.2). An invalid, expired or revoked token, or one of a deleted user,
/// is just `{"active": false}`; the other fields appear only for active tokens.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TokenState {
    /// Whether the token is currently usable.
    pub active: bool,
    /// Granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "read write")]
    pub scope: Option<String>,
    /// The OAuth client the token was issued to; `null` for password logins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Option<String>>,
    /// `user:<id>` or `client:<client_id>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "user:1")]
    pub sub: Option<String>,
    /// Expiry (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub exp: Option<i64>,
    /// Issued at (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iat: Option<i64>,
    /// Not before (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub nbf: Option<i64>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iss: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub aud: Option<String>,
    /// Token id (the revocation handle).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub jti: Option<String>,
    /// Always `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type: Option<TokenType>,
}

impl From<Introspection> for TokenState {
    fn from(i: Introspection) -> Self {
        match i {
            Introspection::Inactive => TokenState::default(),
            Introspection::Active(c) => TokenState {
                active: true,
                scope: Some(c.scope),
                client_id: Some(c.client_id),
                sub: Some(c.sub),
                exp: Some(c.exp),
                iat: Some(c.iat),
                nbf: Some(c.nbf),
                iss: Some(c.iss),
                aud: Some(c.aud),
                jti: Some(c.jti),
                token_type: Some(TokenType::Bearer),
            },
        }
    }
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
    request_body(
        description = "The token to inspect (and, without HTTP Basic, the client's credentials).",
        content((IntrospectRequest = "application/json"), (IntrospectRequest = "application/x-www-form-urlencoded"))
    ),
    security(("clientBasic" = [])),
    responses(
        (status = 200, description = "The token's state.", body = OAuthEnvelope<TokenState>, headers(("Cache-Control" = String))),
        Errors<{ errors![Unauthenticated, ValidationError] }>,
    )
)]
pub async fn introspect(
    State(s): State<AppState>,
    headers: HeaderMap,
    Params(request): Params<IntrospectRequest>,
) -> ApiResult<Response> {
    let creds = basic_credentials(&headers).or_else(|| request.client_secret());
    let creds = creds.ok_or_else(|| client_failed(agora_core::actor::unauthenticated()))?;
    s.services.auth.authenticate_client(&creds).await.map_err(client_failed)?;
    let state = s.services.auth.introspect(request.token()?).await?;
    Ok(oauth_response(StatusCode::OK, TokenState::from(state)))
}

/// A new session. The session id itself is only in the `agora_session` cookie (`HttpOnly`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// Send it in `X-CSRF-Token` on every unsafe request authenticated by the cookie.
    pub csrf_token: String,
    /// When the session expires (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The signed-in user (with `email`).
    pub user: UserOut,
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
    request_body(
        description = "The user's email and password.",
        content((SignIn = "application/json"), (SignIn = "application/x-www-form-urlencoded"))
    ),
    security(()),
    responses(
        (
            status = 201, description = "Signed in. `Set-Cookie` carries the session.", body = Envelope<SessionOut>,
            headers(("Set-Cookie" = String), ("Cache-Control" = String))
        ),
        Errors<{ errors![Unauthenticated, ValidationError, ServerBusy] }>,
    )
)]
pub async fn session_create(State(s): State<AppState>, Params(input): Params<SignIn>) -> ApiResult<Response> {
    let session = s.services.auth.sign_in(&input).await?;
    let data = SessionOut {
        csrf_token: session.csrf_token,
        expires_at: session.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        user: UserOut::with_email(&session.user, true),
    };
    let mut res = json_response(StatusCode::CREATED, to_bytes(&Envelope::new(data)));
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(&session.cookie, session.ttl.num_seconds()));
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
        Errors<{ errors![Unauthenticated] }>,
    )
)]
pub async fn session_delete(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let Some(c) = cookie(&headers, SESSION_COOKIE) else { return Err(agora_core::actor::unauthenticated().into()) };
    s.services.auth.sign_out(c).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(res)
}
