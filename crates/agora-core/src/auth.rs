//! Authentication rules: which credentials are valid and what they grant.
//!
//! Token *formats* (JWT claims, signatures) belong to the transport; the rules — password
//! checks that do not reveal which emails exist, single-use refresh tokens with family-wide
//! revocation on reuse, hashed API keys, PKCE-bound authorization codes, CSRF-bound sessions —
//! live here once.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::actor::{Actor, Scopes, unauthenticated};
use crate::entities::User;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::repo::{PasswordHasher, UserRepo};
use crate::services::now;
use crate::types::Email;

/// A fresh random secret: 32 bytes, base64url.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 hex of a high-entropy secret. Such secrets cannot be guessed, so a fast hash is
/// enough to make a stolen table useless (passwords, which are guessable, use Argon2id).
pub fn hash_secret(secret: &str) -> String {
    hex_encode(&Sha256::digest(secret.as_bytes()))
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Constant-time string equality, for comparing secrets and their hashes.
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// Storage for credentials.
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
    /// Adds an access token id to the denylist until it would have expired anyway.
    async fn revoke_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> DomainResult<()>;
    /// Whether an access token id is denylisted.
    async fn is_jti_revoked(&self, jti: &str) -> DomainResult<bool>;
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
    /// Stores a session.
    async fn create_session(&self, s: &Session) -> DomainResult<()>;
    /// An unexpired session.
    async fn get_session(&self, id_hash: &str, now: DateTime<Utc>) -> DomainResult<Option<Session>>;
    /// Ends a session.
    async fn delete_session(&self, id_hash: &str) -> DomainResult<()>;
}

/// A freshly minted secret shown to the client once.
#[derive(Debug, Clone)]
pub struct Minted<T> {
    /// What was stored.
    pub record: T,
    /// The secret itself (never stored in clear).
    pub secret: String,
}

/// The authentication service.
#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserRepo>,
    repo: Arc<dyn AuthRepo>,
    hasher: Arc<dyn PasswordHasher>,
    /// Hash verified against when the email is unknown, so both failures cost the same.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
}

fn invalid_grant() -> DomainError {
    DomainError::new(crate::error::ErrorKind::Unauthenticated, "Invalid credentials.")
}

impl AuthService {
    /// Wires the service.
    pub fn new(users: Arc<dyn UserRepo>, repo: Arc<dyn AuthRepo>, hasher: Arc<dyn PasswordHasher>) -> Self {
        Self { users, repo, hasher, dummy_hash: Arc::new(tokio::sync::OnceCell::new()) }
    }

    /// The repository (for transports needing plain lookups).
    pub fn repo(&self) -> &Arc<dyn AuthRepo> {
        &self.repo
    }

    /// Checks an email and password. Unknown email and wrong password fail identically and
    /// take the same time (a real Argon2 verification runs either way).
    pub async fn verify_password(&self, email: &str, password: &str) -> DomainResult<User> {
        let found = match Email::parse(email) {
            Ok(e) => self.users.get_by_email(e.as_str()).await?,
            Err(_) => None,
        };
        let hash = match &found {
            Some((_, h)) => h.clone(),
            None => {
                let hasher = self.hasher.clone();
                self.dummy_hash
                    .get_or_try_init(|| async move { hasher.hash("agora-dummy-password".into()).await })
                    .await?
                    .clone()
            }
        };
        let ok = self.hasher.verify(password.to_string(), hash).await?;
        match (found, ok) {
            (Some((user, _)), true) => Ok(user),
            _ => Err(invalid_grant()),
        }
    }

    /// Issues a refresh token in `family` (a new family when `None`).
    pub async fn issue_refresh(
        &self,
        user_id: i64,
        scopes: Scopes,
        family: Option<String>,
        ttl: Duration,
    ) -> DomainResult<String> {
        let token = format!("rt_{}", random_token());
        let family = family.unwrap_or_else(random_token);
        let n = now();
        self.repo.insert_refresh(&hash_secret(&token), &family, user_id, scopes, n + ttl, n).await?;
        Ok(token)
    }

    /// Rotates a refresh token: returns the user, scopes and family for the successor. A replay
    /// of a spent token revokes its whole family and fails.
    pub async fn rotate_refresh(&self, token: &str) -> DomainResult<(User, Scopes, String)> {
        match self.repo.use_refresh(&hash_secret(token), now()).await? {
            RefreshUse::Rotated { user_id, family, scopes } => {
                let user = self.users.get(user_id).await?.ok_or_else(invalid_grant)?;
                Ok((user.clone(), scopes.intersect(user.role.default_scopes()), family))
            }
            RefreshUse::Reused { family } => {
                // A replay means the token leaked: end the whole family so neither the thief
                // nor the legitimate holder can continue without logging in again.
                self.repo.revoke_family(&family).await?;
                Err(invalid_grant())
            }
            RefreshUse::Invalid => Err(invalid_grant()),
        }
    }

    /// Revokes a refresh token's family; returns false when the token is unknown.
    pub async fn revoke_refresh(&self, token: &str) -> DomainResult<bool> {
        self.repo.revoke_refresh(&hash_secret(token)).await
    }

    /// Creates an API key for the actor (its scopes cannot exceed the actor's own).
    pub async fn create_api_key(&self, actor: &Actor, name: &str, scopes: Scopes) -> DomainResult<Minted<ApiKey>> {
        actor.require_write()?;
        let user_id = actor.user_id().ok_or_else(|| DomainError::forbidden("Only users can own API keys."))?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(DomainError::validation(vec![FieldError::new(
                "name",
                "invalid_length",
                "must be 1-100 characters",
            )]));
        }
        if scopes == Scopes::NONE {
            return Err(DomainError::validation(vec![FieldError::new(
                "scopes",
                "required",
                "name at least one scope",
            )]));
        }
        if !actor.scopes().contains(scopes) || (scopes.contains(Scopes::ADMIN) && !actor.is_admin()) {
            return Err(DomainError::forbidden("A key cannot have scopes its creator lacks."));
        }
        self.mint_api_key(user_id, name, scopes).await
    }

    /// Mints a key without actor checks (CLI).
    pub async fn mint_api_key(&self, user_id: i64, name: &str, scopes: Scopes) -> DomainResult<Minted<ApiKey>> {
        let prefix: String = random_token().chars().filter(|c| c.is_ascii_alphanumeric()).take(8).collect();
        let secret = random_token();
        let full = format!("agora_{prefix}_{secret}");
        let record = self.repo.create_api_key(user_id, name, &prefix, &hash_secret(&full), scopes, now()).await?;
        Ok(Minted { record, secret: full })
    }

    /// Authenticates an API key: returns the actor (scopes limited by the user's role).
    pub async fn authenticate_api_key(&self, key: &str) -> DomainResult<Actor> {
        let mut parts = key.splitn(3, '_');
        let (Some("agora"), Some(prefix), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(unauthenticated());
        };
        let Some((rec, hash)) = self.repo.find_api_key(prefix).await? else { return Err(unauthenticated()) };
        if !ct_eq(&hash, &hash_secret(key)) {
            return Err(unauthenticated());
        }
        let user = self.users.get(rec.user_id).await?.ok_or_else(unauthenticated)?;
        self.repo.touch_api_key(rec.id, now()).await?;
        Ok(Actor::User { id: user.id, role: user.role, scopes: rec.scopes.intersect(user.role.default_scopes()) })
    }

    /// Registers an OAuth client (admins). Returns the secret once.
    pub async fn register_client(
        &self,
        actor: Option<&Actor>,
        name: &str,
        redirect_uris: Vec<String>,
        grant_types: Vec<String>,
        scopes: Scopes,
    ) -> DomainResult<Minted<OAuthClient>> {
        if let Some(a) = actor {
            a.require_write()?;
            if !a.is_admin() {
                return Err(DomainError::forbidden("Only administrators may register OAuth clients."));
            }
        }
        let mut errors = Vec::new();
        if name.trim().is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("name", "invalid_length", "must be 1-100 characters"));
        }
        for g in &grant_types {
            if !["authorization_code", "client_credentials", "refresh_token"].contains(&g.as_str()) {
                errors.push(FieldError::new("grant_types", "invalid_value", format!("unsupported grant type `{g}`")));
            }
        }
        if grant_types.is_empty() {
            errors.push(FieldError::new("grant_types", "required", "name at least one grant type"));
        }
        if grant_types.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
            errors.push(FieldError::new("redirect_uris", "required", "authorization_code clients need a redirect URI"));
        }
        for u in &redirect_uris {
            let ok = (u.starts_with("https://") || u.starts_with("http://")) && !u.contains('#') && u.len() <= 2000;
            if !ok {
                errors.push(FieldError::new(
                    "redirect_uris",
                    "invalid_format",
                    format!("`{u}` must be an absolute http(s) URI without a fragment"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::validation(errors));
        }
        let client = OAuthClient {
            client_id: format!(
                "cl_{}",
                random_token().chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect::<String>()
            ),
            name: name.trim().to_string(),
            redirect_uris,
            grant_types,
            scopes,
        };
        let secret = format!("cs_{}", random_token());
        self.repo.create_client(&client, &hash_secret(&secret), now()).await?;
        Ok(Minted { record: client, secret })
    }

    /// Authenticates a client by id and secret.
    pub async fn authenticate_client(&self, client_id: &str, secret: &str) -> DomainResult<OAuthClient> {
        let Some((client, hash)) = self.repo.get_client(client_id).await? else { return Err(invalid_client()) };
        if !ct_eq(&hash, &hash_secret(secret)) {
            return Err(invalid_client());
        }
        Ok(client)
    }

    /// A client by id (for the authorize page).
    pub async fn client(&self, client_id: &str) -> DomainResult<Option<OAuthClient>> {
        Ok(self.repo.get_client(client_id).await?.map(|(c, _)| c))
    }

    /// Issues a single-use authorization code bound to the PKCE challenge and redirect URI.
    pub async fn issue_code(
        &self,
        client: &OAuthClient,
        user: &User,
        redirect_uri: &str,
        challenge: &str,
        scopes: Scopes,
    ) -> DomainResult<String> {
        let code = random_token();
        let rec = AuthCode {
            code_hash: hash_secret(&code),
            client_id: client.client_id.clone(),
            user_id: user.id,
            redirect_uri: redirect_uri.to_string(),
            code_challenge: challenge.to_string(),
            scopes,
            expires_at: now() + Duration::seconds(60),
        };
        self.repo.insert_code(&rec).await?;
        Ok(code)
    }

    /// Exchanges a code: single use, same client, exact redirect URI, and a verifier whose
    /// S256 hash is the challenge.
    pub async fn exchange_code(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> DomainResult<(User, Scopes)> {
        let Some(rec) = self.repo.take_code(&hash_secret(code), now()).await? else { return Err(invalid_grant()) };
        if rec.client_id != client_id
            || rec.redirect_uri != redirect_uri
            || !pkce_matches(verifier, &rec.code_challenge)
        {
            return Err(invalid_grant());
        }
        let user = self.users.get(rec.user_id).await?.ok_or_else(invalid_grant)?;
        Ok((user.clone(), rec.scopes.intersect(user.role.default_scopes())))
    }

    /// Starts a session; returns (cookie value, CSRF token).
    pub async fn create_session(&self, user: &User, ttl: Duration) -> DomainResult<(String, String)> {
        let cookie = random_token();
        let csrf = random_token();
        self.repo
            .create_session(&Session {
                id_hash: hash_secret(&cookie),
                user_id: user.id,
                csrf_token: csrf.clone(),
                expires_at: now() + ttl,
            })
            .await?;
        Ok((cookie, csrf))
    }

    /// Resolves a session cookie to its session.
    pub async fn session(&self, cookie: &str) -> DomainResult<Option<Session>> {
        self.repo.get_session(&hash_secret(cookie), now()).await
    }

    /// Ends a session.
    pub async fn end_session(&self, cookie: &str) -> DomainResult<()> {
        self.repo.delete_session(&hash_secret(cookie)).await
    }

    /// Loads the current state of a user named by a credential (role may have changed; the
    /// user may be gone).
    pub async fn current_user(&self, id: i64) -> DomainResult<Option<User>> {
        self.users.get(id).await
    }

    /// Finds a user by email (CLI).
    pub async fn user_by_email(&self, email: &str) -> DomainResult<Option<User>> {
        let e = Email::parse(email).map_err(|f| DomainError::validation(vec![f]))?;
        Ok(self.users.get_by_email(e.as_str()).await?.map(|(u, _)| u))
    }
}

fn invalid_client() -> DomainError {
    DomainError::new(crate::error::ErrorKind::Unauthenticated, "Invalid client credentials.")
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier)) == challenge`, verifier 43–128 unreserved chars.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    valid && ct_eq(&URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())), challenge)
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
