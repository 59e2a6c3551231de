//! The ports authentication needs: credential storage, password hashing, token signing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ApiKey, AuthCode, Claims, OAuthClient, RefreshUse, Session};
use crate::actor::Scopes;
use crate::error::DomainResult;

/// Durable storage for credentials: refresh tokens, API keys, OAuth clients and codes.
#[async_trait]
pub trait AuthRepo: Send + Sync {
    /// Stores a refresh token (by hash).
    async fn insert_refresh(
        &self,
        hash: &str,
        family: &str,
        user_id: i64,
        scopes: Scopes,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Spends a refresh token atomically (exactly one concurrent caller can rotate it).
    async fn use_refresh(&self, hash: &str, now: DateTime<Utc>) -> DomainResult<RefreshUse>;
    /// Revokes every token of a family.
    async fn revoke_family(&self, family: &str) -> DomainResult<()>;
    /// Revokes the family of the refresh token with this hash; false if unknown.
    async fn revoke_refresh(&self, hash: &str) -> DomainResult<bool>;
    /// Revokes every refresh token of a user.
    async fn revoke_user_refresh(&self, user_id: i64) -> DomainResult<()>;
    /// Stores an API key.
    async fn create_api_key(
        &self,
        user_id: i64,
        name: &str,
        prefix: &str,
        hash: &str,
        scopes: Scopes,
        now: DateTime<Utc>,
    ) -> DomainResult<ApiKey>;
    /// A user's keys.
    async fn list_api_keys(&self, user_id: i64) -> DomainResult<Vec<ApiKey>>;
    /// Deletes a key of a user; false if none.
    async fn delete_api_key(&self, id: i64, user_id: i64) -> DomainResult<bool>;
    /// A key and its hash by prefix.
    async fn find_api_key(&self, prefix: &str) -> DomainResult<Option<(ApiKey, String)>>;
    /// Records a use.
    async fn touch_api_key(&self, id: i64, now: DateTime<Utc>) -> DomainResult<()>;
    /// Registers a client.
    async fn create_client(&self, client: &OAuthClient, secret_hash: &str, now: DateTime<Utc>) -> DomainResult<()>;
    /// A client and its secret hash.
    async fn get_client(&self, client_id: &str) -> DomainResult<Option<(OAuthClient, String)>>;
    /// Stores an authorization code.
    async fn insert_code(&self, code: &AuthCode) -> DomainResult<()>;
    /// Removes and returns an unexpired code (single use).
    async fn take_code(&self, code_hash: &str, now: DateTime<Utc>) -> DomainResult<Option<AuthCode>>;
}

/// Revoked access tokens, by id, until they would have expired anyway. Checked on every
/// authenticated request, so it is its own port: shared through Redis when configured (see
/// `agora-redis`), durable in the database either way.
#[async_trait]
pub trait Denylist: Send + Sync {
    /// Adds an access token id to the denylist until `expires_at`.
    async fn revoke_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> DomainResult<()>;
    /// Whether an access token id is denylisted.
    async fn is_jti_revoked(&self, jti: &str) -> DomainResult<bool>;
}

/// Browser sessions, by the hash of their cookie: in the database, or in Redis (expiring by
/// TTL) when configured.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a session.
    async fn create_session(&self, s: &Session) -> DomainResult<()>;
    /// An unexpired session.
    async fn get_session(&self, id_hash: &str, now: DateTime<Utc>) -> DomainResult<Option<Session>>;
    /// Ends a session.
    async fn delete_session(&self, id_hash: &str) -> DomainResult<()>;
}

/// Password hashing, behind a port so the domain does not pick the algorithm's parameters and
/// so the CPU-heavy work can run off the async executor.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a plaintext password into a PHC string.
    async fn hash(&self, plaintext: String) -> DomainResult<String>;
    /// Checks a plaintext against a PHC string.
    async fn verify(&self, plaintext: String, hash: String) -> DomainResult<bool>;
}

/// Access-token signing: the token format (a JWT today) is the transport's choice; which
/// claims a token carries and what they grant is the service's.
pub trait TokenSigner: Send + Sync {
    /// Issues a token for `sub` with `scopes`; returns it with its claims.
    fn issue(
        &self,
        sub: String,
        scopes: Scopes,
        role: Option<&str>,
        client_id: Option<&str>,
    ) -> DomainResult<(String, Claims)>;
    /// Verifies a token's signature, algorithm and claims; `check_expiry: false` accepts an
    /// expired token (revoking one is harmless; introspection reports it inactive itself).
    fn verify(&self, token: &str, check_expiry: bool) -> Result<Claims, String>;
    /// How long access tokens live.
    fn ttl(&self) -> std::time::Duration;
}
