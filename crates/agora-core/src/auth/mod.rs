//! Authentication: which credentials are valid and what they grant.
//!
//! The rules live here once — password checks that do not reveal which emails exist, grant
//! dispatch and scope narrowing, single-use refresh tokens with family-wide revocation on
//! reuse, hashed API keys, PKCE-bound authorization codes, CSRF-bound sessions. Token *formats*
//! (how claims are signed) are behind the [`TokenSigner`] port, persistence behind
//! [`AuthRepo`], password hashing behind [`PasswordHasher`]; transports parse requests into
//! the inputs below, call [`AuthService`] and render what it returns.

mod inputs;
mod repo;
mod service;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use inputs::{
    ApiKeyName, AuthorizeForm, AuthorizeParams, ClientName, ClientSecret, Grant, GrantType, IntrospectRequest,
    NewApiKey, NewOAuthClient, RedirectUri, RevokeRequest, SignIn, TokenRequest,
};
pub use repo::{AuthRepo, Denylist, PasswordHasher, SessionStore, TokenSigner};
pub use service::{AuthService, AuthSettings, AuthorizationRequest, AuthorizeRefusal, MAX_API_KEYS};

use crate::actor::{Actor, Scopes};

/// A fresh random secret: 32 bytes, base64url.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 hex of a high-entropy secret. Such secrets cannot be guessed, so a fast hash is
/// enough to make a stolen table useless (passwords, which are guessable, use Argon2id).
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|x| format!("{x:02x}")).collect()
}

/// Constant-time string equality, for comparing secrets and their hashes.
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier)) == challenge`, verifier 43–128 unreserved chars.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    valid && ct_eq(&URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())), challenge)
}

/// The claims of an access token. The [`TokenSigner`] decides how they are signed; what they
/// mean is decided here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// `user:<id>` for users, `client:<client_id>` for clients acting for themselves.
    pub sub: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Unique id, the handle for revocation.
    pub jti: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The user's role at issue time (informational; the current role is re-read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The OAuth client the token was issued to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshUse {
    /// Valid and now spent; issue a successor in the same family.
    Rotated {
        /// Owner.
        user_id: i64,
        /// Family id.
        family: String,
        /// Granted scopes.
        scopes: Scopes,
    },
    /// Already spent (or revoked): a replay. The family must be revoked.
    Reused {
        /// Family id.
        family: String,
    },
    /// Unknown or expired.
    Invalid,
}

/// An API key's public part.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Label.
    pub name: String,
    /// Lookup prefix (shown in lists so users can tell keys apart).
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Scopes,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A registered OAuth client.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthClient {
    /// Public id.
    pub client_id: String,
    /// Display name (shown on the consent page).
    pub name: String,
    /// Exact redirect URIs allowed.
    pub redirect_uris: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Scopes the client may receive.
    pub scopes: Scopes,
}

impl OAuthClient {
    /// Whether the client is registered for `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.iter().any(|g| g == grant.as_str())
    }
}

/// An authorization code awaiting exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub code_hash: String,
    /// Client it was issued to.
    pub client_id: String,
    /// User who consented.
    pub user_id: i64,
    /// Redirect URI used (must match at exchange).
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Granted scopes.
    pub scopes: Scopes,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// A browser session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub id_hash: String,
    /// Owner.
    pub user_id: i64,
    /// Token the client must echo in `X-CSRF-Token` on unsafe methods.
    pub csrf_token: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// A freshly minted secret shown to the client once.
#[derive(Debug, Clone)]
pub struct Minted<T> {
    /// What was stored.
    pub record: T,
    /// The secret itself (never stored in clear).
    pub secret: String,
}

/// What a successful grant issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// A refresh token, for grants that act for a user.
    pub refresh_token: Option<String>,
    /// The granted scopes.
    pub scopes: Scopes,
}

/// A new browser session: the cookie's value and the CSRF token that goes with it.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The signed-in user.
    pub user: crate::users::User,
    /// The cookie value (only its hash is stored).
    pub cookie: String,
    /// The token to send in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// How long it lasts.
    pub ttl: chrono::Duration,
}

/// The state of a token, as introspection (RFC 7662) reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Introspection {
    /// Invalid, expired, revoked, or its user is gone.
    Inactive,
    /// Usable; its claims.
    Active(Claims),
}

/// How the caller authenticated: what rate limits and logs key on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A bearer token or session of this user.
    User(i64),
    /// An API key (by its public prefix) of this user.
    ApiKey {
        /// Owner.
        user_id: i64,
        /// Key prefix.
        prefix: String,
    },
    /// An OAuth client acting for itself.
    Client(String),
}

/// A credential as presented with a request.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// An access token (`Authorization: Bearer`).
    Bearer(&'a str),
    /// An API key (`X-API-Key` or `Authorization: ApiKey`).
    ApiKey(&'a str),
    /// The session cookie, with the request's CSRF token and whether the method is unsafe.
    Session {
        /// The cookie value.
        cookie: &'a str,
        /// `X-CSRF-Token`, if sent.
        csrf_token: Option<&'a str>,
        /// The method changes state (CSRF applies).
        unsafe_method: bool,
    },
}

/// A credential that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// Who is calling, with what rights.
    pub actor: Actor,
    /// What identifies the caller for rate limiting.
    pub principal: Principal,
}

/// Why a presented credential was refused. Each is a 401 with its own challenge, except a
/// missing CSRF token (403): the session is fine, the request is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A bad access token, with the RFC 6750 `error_description`.
    InvalidToken(&'static str),
    /// An unknown or revoked API key.
    InvalidApiKey,
    /// An expired or ended session.
    InvalidSession,
    /// A cookie-authenticated unsafe request without the session's CSRF token.
    CsrfFailed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        assert!(!pkce_matches("short", "x"));
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
    }
}
