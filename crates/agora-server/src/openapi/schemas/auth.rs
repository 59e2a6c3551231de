//! Schemas of the authentication endpoints (`crate::auth::routes`): what the token,
//! revocation, introspection, session, API-key and OAuth-client endpoints read and render.
//!
//! The OAuth endpoints read their parameters from a JSON object or a form
//! (`application/x-www-form-urlencoded`) alike, so one schema serves both media types. Their
//! successful answers are the Agora envelope with the RFC 6749 / 7009 / 7662 fields repeated at
//! the top level, so standard OAuth client libraries can read them; the `*Response` schemas
//! list both.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::envelope::Meta;
use crate::rest::repr::UserOut;

use super::CursorPagination;

/// A scope: `read`, `write` or `admin`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Scope)]
pub enum ScopeName {
    /// Read resources.
    Read,
    /// Create, change and delete resources.
    Write,
    /// Administrative operations (effective only with the admin role).
    Admin,
}

/// A grant type an OAuth client may be registered for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = GrantType)]
pub enum GrantTypeName {
    /// Authorization code with PKCE (needs `redirect_uris`).
    AuthorizationCode,
    /// The client acting for itself.
    ClientCredentials,
    /// Refresh tokens for the tokens of `authorization_code`.
    RefreshToken,
}

/// `POST /auth/token`: one of four grants, chosen by `grant_type`. Sent as a JSON object or a
/// form. Unknown parameters are ignored (OAuth clients send extras).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    /// Resource owner password: an email (or `username`) and password. Wrong email and wrong
    /// password are the same 401.
    #[schema(title = "PasswordGrant")]
    Password {
        /// The account's email. Required unless `username` is sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(format = "email", nullable = false, example = "ada@example.com")]
        email: Option<String>,
        /// The OAuth name for `email`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        username: Option<String>,
        /// The password.
        #[schema(format = Password, write_only, example = "correct horse battery")]
        password: String,
        /// Space-separated scopes to narrow the token to (a JSON array is accepted too); default
        /// all the role allows (`read write` for users, `read write admin` for administrators).
        /// More than the role allows is 403 `FORBIDDEN`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(
            nullable = false,
            pattern = "^(read|write|admin)?([ ,]+(read|write|admin))*$",
            example = "read write"
        )]
        scope: Option<String>,
    },
    /// Refresh with rotation: the refresh token works once and a new pair is returned. Reusing
    /// an old one revokes its whole family (401).
    #[schema(title = "RefreshTokenGrant")]
    RefreshToken {
        /// The refresh token (`rt_…`).
        #[schema(example = "rt_3q2+7w==")]
        refresh_token: String,
        /// Scopes to narrow the new token to (at most those of the refresh token).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, example = "read")]
        scope: Option<String>,
    },
    /// Client credentials: the client acting for itself. The client authenticates with HTTP
    /// Basic (`clientBasic`) or with `client_id` and `client_secret` here, and must be
    /// registered for this grant. No refresh token is issued.
    #[schema(title = "ClientCredentialsGrant")]
    ClientCredentials {
        /// The client id, when not sent with HTTP Basic.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, example = "cl_4V7Kq9Zr2Xb8Wd3Jh6Tn")]
        client_id: Option<String>,
        /// The client secret, when not sent with HTTP Basic.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, format = Password, write_only)]
        client_secret: Option<String>,
        /// Scopes to narrow the token to (at most the client's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, example = "read")]
        scope: Option<String>,
    },
    /// Authorization code with PKCE: exchanges the single-use code (valid 60 s) from
    /// `/oauth/authorize`. Public clients send `client_id`; confidential ones should also
    /// authenticate (HTTP Basic or `client_secret`).
    #[schema(title = "AuthorizationCodeGrant")]
    AuthorizationCode {
        /// The `code` from the redirect.
        code: String,
        /// Exactly the `redirect_uri` used at `/oauth/authorize`.
        #[schema(format = "uri", example = "https://app.example/cb")]
        redirect_uri: String,
        /// The PKCE verifier whose S256 hash is the `code_challenge` (43–128 characters).
        #[schema(min_length = 43, max_length = 128)]
        code_verifier: String,
        /// The client id (required unless the client authenticates with HTTP Basic).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, example = "cl_4V7Kq9Zr2Xb8Wd3Jh6Tn")]
        client_id: Option<String>,
        /// The client secret of a confidential client (`client_secret_post`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, format = Password, write_only)]
        client_secret: Option<String>,
    },
}

/// The token type: always `Bearer`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum TokenType {
    /// RFC 6750 bearer token.
    Bearer,
}

/// An issued access token (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenData {
    /// The access token: a JWT to send as `Authorization: Bearer`.
    #[schema(example = "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ1c2VyOjEifQ.c2ln")]
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    #[schema(minimum = 1, example = 900)]
    pub expires_in: u64,
    /// A refresh token (`rt_…`; single use, rotated). Not issued for `client_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "rt_3q2+7w==")]
    pub refresh_token: Option<String>,
    /// The granted scopes, space-separated.
    #[schema(example = "read write")]
    pub scope: String,
}

/// `POST /auth/token` answer: the envelope, with the token fields also at the top level
/// (sent with `Cache-Control: no-store`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Always `true`.
    pub success: bool,
    /// The token.
    pub data: TokenData,
    /// Request metadata.
    pub meta: Meta,
    /// Same as `data.access_token`.
    pub access_token: String,
    /// Same as `data.token_type`.
    pub token_type: TokenType,
    /// Same as `data.expires_in`.
    pub expires_in: u64,
    /// Same as `data.refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// Same as `data.scope`.
    pub scope: String,
}

/// What kind of token `token` is, as a hint (RFC 7009 / 7662). Accepted and not needed: the
/// server recognises both kinds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeHint {
    /// An access token (JWT).
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

/// `POST /auth/revoke` (RFC 7009): a JSON object or a form.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// An access token (denylisted by `jti` until it expires) or a refresh token (its whole
    /// family is revoked).
    pub token: String,
    /// Optional hint; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type_hint: Option<TokenTypeHint>,
}

/// Revocation result.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokeData {
    /// Always `true`, whether or not the token was known (RFC 7009 §2.2).
    pub revoked: bool,
}

/// `POST /auth/revoke` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokeResponse {
    /// Always `true`.
    pub success: bool,
    /// The result.
    pub data: RevokeData,
    /// Request metadata.
    pub meta: Meta,
    /// Same as `data.revoked`.
    pub revoked: bool,
}

/// `POST /auth/introspect` (RFC 7662): a JSON object or a form. The client authenticates with
/// HTTP Basic or with `client_id` and `client_secret` here.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntrospectRequest {
    /// The access token to inspect.
    pub token: String,
    /// Optional hint; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type_hint: Option<TokenTypeHint>,
    /// The client id, when not sent with HTTP Basic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// The client secret, when not sent with HTTP Basic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = Password, write_only)]
    pub client_secret: Option<String>,
}

/// Token state (RFC 7662 §2.2). An invalid, expired or revoked token, or one of a deleted user,
/// is just `{"active": false}`; the other fields appear only for active tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct Introspection {
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

/// `POST /auth/introspect` answer: the envelope, with the RFC 7662 fields also at the top level.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntrospectionResponse {
    /// Always `true`.
    pub success: bool,
    /// The token state.
    pub data: Introspection,
    /// Request metadata.
    pub meta: Meta,
    /// Same as `data.active`.
    pub active: bool,
    /// Same as `data.scope`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// Same as `data.client_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Option<String>>,
    /// Same as `data.sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sub: Option<String>,
    /// Same as `data.exp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub exp: Option<i64>,
    /// Same as `data.iat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iat: Option<i64>,
    /// Same as `data.nbf`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub nbf: Option<i64>,
    /// Same as `data.iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iss: Option<String>,
    /// Same as `data.aud`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub aud: Option<String>,
    /// Same as `data.jti`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub jti: Option<String>,
    /// Same as `data.token_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type: Option<TokenType>,
}

/// `POST /auth/session`: password sign-in for browsers (a JSON object or a form).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionCreate {
    /// The account's email.
    #[schema(format = "email", example = "ada@example.com")]
    pub email: String,
    /// The password.
    #[schema(format = Password, write_only, example = "correct horse battery")]
    pub password: String,
}

/// A new session. The session id itself is only in the `agora_session` cookie (`HttpOnly`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// Send it in `X-CSRF-Token` on every unsafe request authenticated by the cookie.
    #[schema(example = "k3J9xQ2mV8pL5nR7tY1wZ4bC6dF0gH2j")]
    pub csrf_token: String,
    /// When the session expires (RFC 3339, UTC).
    #[schema(format = DateTime, example = "2026-02-14T10:30:00Z")]
    pub expires_at: String,
    /// The signed-in user (with `email`).
    pub user: UserOut,
}

/// `POST /auth/session` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// Always `true`.
    pub success: bool,
    /// The session.
    pub data: Session,
    /// Request metadata.
    pub meta: Meta,
}

/// `POST /api-keys`: a new key for the caller.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyCreate {
    /// A label, 1–100 characters after trimming.
    #[schema(min_length = 1, max_length = 100, example = "ci")]
    pub name: String,
    /// The key's scopes (default `["read"]`); a space- or comma-separated string is accepted
    /// too. At least one, and none the caller's credential lacks (403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_items = 1, example = json!(["read"]))]
    pub scopes: Option<Vec<ScopeName>>,
}

/// An API key (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    /// Id.
    #[schema(example = 1)]
    pub id: i64,
    /// Label.
    #[schema(example = "ci")]
    pub name: String,
    /// The public prefix, also the key's second `_`-separated part; tells keys apart.
    #[schema(example = "Ab12Cd34")]
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<ScopeName>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last successful use (updated at most once a minute), or null.
    #[schema(required = true)]
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A new API key, with its secret — shown this once; only a hash is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    /// Id.
    #[schema(example = 1)]
    pub id: i64,
    /// Label.
    #[schema(example = "ci")]
    pub name: String,
    /// The public prefix.
    #[schema(example = "Ab12Cd34")]
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<ScopeName>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Always null for a new key.
    #[schema(required = true)]
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The key: send it as `X-API-Key`. **Shown only in this response.**
    #[schema(example = "agora_Ab12Cd34_9fQ2xL7mV3pK8nR1tY6wZ0bC4dF5gH")]
    pub key: String,
}

/// `POST /api-keys` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedResponse {
    /// Always `true`.
    pub success: bool,
    /// The key, with its secret.
    pub data: ApiKeyCreated,
    /// Request metadata.
    pub meta: Meta,
}

/// `GET /api-keys` answer: all of the caller's keys, in one page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyListResponse {
    /// Always `true`.
    pub success: bool,
    /// The keys.
    pub data: Vec<ApiKey>,
    /// Always a single page (`has_more: false`).
    pub pagination: CursorPagination,
    /// Request metadata.
    pub meta: Meta,
}

/// `POST /oauth/clients` (administrators): a client registration.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OAuthClientCreate {
    /// Display name on the consent page, 1–100 characters.
    #[schema(min_length = 1, max_length = 100, example = "Example app")]
    pub name: String,
    /// Absolute `http(s)` URIs without a fragment, matched exactly at `/oauth/authorize`.
    /// Required for `authorization_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(["https://app.example/cb"]))]
    pub redirect_uris: Option<Vec<String>>,
    /// Grants the client may use (an array, or a space- or comma-separated string); default
    /// `["authorization_code", "refresh_token"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_items = 1, example = json!(["authorization_code", "client_credentials"]))]
    pub grant_types: Option<Vec<GrantTypeName>>,
    /// The most the client's tokens may carry (an array or a string); default `["read"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_items = 1, example = json!(["read", "write"]))]
    pub scopes: Option<Vec<ScopeName>>,
}

/// A registered client, with its secret — shown this once; only a hash is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthClientRegistration {
    /// The public client id.
    #[schema(example = "cl_4V7Kq9Zr2Xb8Wd3Jh6Tn")]
    pub client_id: String,
    /// The client secret. **Shown only in this response.**
    #[schema(example = "cs_Jm3Qx8Vt1Kp5Zr9Lw2Nb7Hd4Fg6Sy0Ca")]
    pub client_secret: String,
    /// Display name.
    pub name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed grants.
    pub grant_types: Vec<GrantTypeName>,
    /// Allowed scopes, space-separated.
    #[schema(example = "read write")]
    pub scopes: String,
}

/// `POST /oauth/clients` answer: the envelope, with the registration also at the top level
/// (RFC 7591 style).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthClientResponse {
    /// Always `true`.
    pub success: bool,
    /// The registration.
    pub data: OAuthClientRegistration,
    /// Request metadata.
    pub meta: Meta,
    /// Same as `data.client_id`.
    pub client_id: String,
    /// Same as `data.client_secret`.
    pub client_secret: String,
    /// Same as `data.name`.
    pub name: String,
    /// Same as `data.redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// Same as `data.grant_types`.
    pub grant_types: Vec<GrantTypeName>,
    /// Same as `data.scopes`.
    pub scopes: String,
}

/// A public signing key (RFC 7517), Ed25519.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    #[schema(example = "OKP")]
    pub kty: String,
    /// `Ed25519`.
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// The public key, base64url.
    #[schema(example = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")]
    pub x: String,
    /// Key id, named in tokens' `kid` header.
    pub kid: String,
    /// `EdDSA`.
    #[schema(example = "EdDSA")]
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub key_use: String,
}

/// `GET /.well-known/jwks.json` (RFC 7517): the keys that verify access tokens. Empty when
/// tokens are HS256 (a shared secret is never published).
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414). URLs are absolute, built from
/// the request's `Host`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationServerMetadata {
    /// The `iss` of issued tokens.
    pub issuer: String,
    /// `/oauth/authorize`.
    #[schema(format = "uri")]
    pub authorization_endpoint: String,
    /// `/v2/auth/token`.
    #[schema(format = "uri")]
    pub token_endpoint: String,
    /// `/v2/auth/revoke`.
    #[schema(format = "uri")]
    pub revocation_endpoint: String,
    /// `/v2/auth/introspect`.
    #[schema(format = "uri")]
    pub introspection_endpoint: String,
    /// `/v2/oauth/clients` (administrators only).
    #[schema(format = "uri")]
    pub registration_endpoint: String,
    /// `/.well-known/jwks.json`.
    #[schema(format = "uri")]
    pub jwks_uri: String,
    /// `authorization_code`, `client_credentials`, `password`, `refresh_token`.
    pub grant_types_supported: Vec<String>,
    /// `code`.
    pub response_types_supported: Vec<String>,
    /// `S256`.
    pub code_challenge_methods_supported: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `none`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `none`.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// `read`, `write`, `admin`.
    pub scopes_supported: Vec<ScopeName>,
}

/// `POST /oauth/authorize`: the sign-in form of the authorize page — the authorization
/// request's parameters (carried as hidden inputs) plus the user's email and password.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthorizeForm {
    /// `code`.
    #[schema(example = "code")]
    pub response_type: String,
    /// The client id.
    pub client_id: String,
    /// A redirect URI registered for the client, exactly.
    #[schema(format = "uri")]
    pub redirect_uri: String,
    /// Space-separated scopes (default: the client's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// Opaque client state, returned in the redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub state: Option<String>,
    /// The PKCE challenge: base64url SHA-256 of the verifier (43 characters).
    #[schema(min_length = 43)]
    pub code_challenge: String,
    /// `S256`.
    #[schema(example = "S256")]
    pub code_challenge_method: String,
    /// The user's email.
    #[schema(format = "email")]
    pub email: String,
    /// The user's password.
    #[schema(format = Password, write_only)]
    pub password: String,
}
