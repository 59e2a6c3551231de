//! The authentication service: every rule of credentials, once.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};

use super::{
    ApiKey, AuthCode, AuthRepo, Authenticated, AuthorizeParams, ClientSecret, Denylist, Grant, GrantType,
    Introspection, IssuedTokens, Minted, NewApiKey, NewOAuthClient, NewSession, OAuthClient, PasswordHasher, Presented,
    Principal, RefreshUse, Refusal, Session, SessionStore, SignIn, TokenSigner, ct_eq, hash_secret, pkce_matches,
    random_token,
};
use crate::actor::{Actor, Scopes};
use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::types::Email;
use crate::users::{User, UserRepo};

/// Lifetimes the service needs from configuration.
#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    /// How long a refresh token (and a browser session) lives.
    pub refresh_token_ttl: Duration,
}

/// The most API keys one user may hold.
pub const MAX_API_KEYS: usize = 100;

/// How long an authorization code may wait for its exchange.
const CODE_TTL: Duration = Duration::seconds(60);

fn invalid_grant() -> DomainError {
    DomainError::unauthenticated("Invalid credentials.")
}

fn invalid_client() -> DomainError {
    DomainError::unauthenticated("Client authentication failed.")
}

/// An authorization request that may be shown to the user.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client asking.
    pub client: OAuthClient,
    /// Where the code goes.
    pub redirect_uri: String,
    /// The PKCE challenge the code is bound to.
    pub challenge: String,
    /// What is asked for.
    pub scopes: Scopes,
    /// The client's state, returned unchanged.
    pub state: String,
}

/// Why an authorization request cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeRefusal {
    /// Not even the client or its redirect URI can be trusted: show an error, never redirect
    /// (an open redirector is how authorization codes get stolen).
    Page(&'static str),
    /// The client should hear of it: redirect back with `error` (RFC 6749 §4.1.2.1).
    Redirect {
        /// The client's registered redirect URI.
        redirect_uri: String,
        /// The OAuth error code.
        error: &'static str,
        /// Its description.
        description: &'static str,
        /// The client's state.
        state: String,
    },
}

/// The authentication service.
#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserRepo>,
    repo: Arc<dyn AuthRepo>,
    denylist: Arc<dyn Denylist>,
    sessions: Arc<dyn SessionStore>,
    hasher: Arc<dyn PasswordHasher>,
    signer: Arc<dyn TokenSigner>,
    settings: AuthSettings,
    /// Hash verified against when the email is unknown, so both failures cost the same.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
}

impl AuthService {
    pub(crate) fn new(p: &crate::services::Ports) -> Self {
        Self {
            users: p.repos.users.clone(),
            repo: p.repos.auth.clone(),
            denylist: p.denylist.clone(),
            sessions: p.sessions.clone(),
            hasher: p.hasher.clone(),
            signer: p.signer.clone(),
            settings: p.auth_settings,
            dummy_hash: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    // ---- who is calling ----

    /// Resolves a presented credential. `Ok(Err(_))` is a refusal the client must hear about
    /// (a presented credential is never downgraded to anonymous); `Err(_)` a failure of ours.
    pub async fn authenticate(&self, presented: Presented<'_>) -> DomainResult<Result<Authenticated, Refusal>> {
        match presented {
            Presented::Bearer(token) => self.authenticate_bearer(token).await,
            Presented::ApiKey(key) => self.authenticate_api_key(key).await,
            Presented::Session { cookie, csrf_token, unsafe_method } => {
                let Some(session) = self.sessions.get_session(&hash_secret(cookie), crate::now()).await? else {
                    return Ok(Err(Refusal::InvalidSession));
                };
                if unsafe_method && !ct_eq(csrf_token.unwrap_or(""), &session.csrf_token) {
                    return Ok(Err(Refusal::CsrfFailed));
                }
                let Some(user) = self.users.get(session.user_id).await? else {
                    return Ok(Err(Refusal::InvalidSession));
                };
                let actor = Actor::User { id: user.id, role: user.role, scopes: user.role.default_scopes() };
                Ok(Ok(Authenticated { actor, principal: Principal::User(user.id) }))
            }
        }
    }

    /// A bearer token: signature and claims, then the denylist, then the subject's current
    /// state (a deleted user's token stops working; a demoted admin loses admin at once).
    async fn authenticate_bearer(&self, token: &str) -> DomainResult<Result<Authenticated, Refusal>> {
        let Ok(claims) = self.signer.verify(token, true) else {
            // Said apart, so that a client knows to refresh rather than to sign in again.
            if self.signer.verify(token, false).is_ok() {
                return Ok(Err(Refusal::InvalidToken("the access token expired; refresh it")));
            }
            return Ok(Err(Refusal::InvalidToken("signature, algorithm or claims rejected")));
        };
        if self.denylist.is_jti_revoked(&claims.jti).await? {
            return Ok(Err(Refusal::InvalidToken("token revoked")));
        }
        let Ok(scopes) = Scopes::parse(&claims.scope) else { return Ok(Err(Refusal::InvalidToken("bad scope"))) };
        if let Some(client_id) = claims.sub.strip_prefix("client:") {
            if self.repo.get_client(client_id).await?.is_none() {
                return Ok(Err(Refusal::InvalidToken("client no longer exists")));
            }
            let actor = Actor::Client { client_id: client_id.to_string(), scopes };
            return Ok(Ok(Authenticated { actor, principal: Principal::Client(client_id.to_string()) }));
        }
        let Some(id) = claims.sub.strip_prefix("user:").and_then(|v| v.parse::<i64>().ok()) else {
            return Ok(Err(Refusal::InvalidToken("bad subject")));
        };
        let Some(user) = self.users.get(id).await? else {
            return Ok(Err(Refusal::InvalidToken("user no longer exists")));
        };
        let actor = Actor::User { id, role: user.role, scopes: scopes.intersect(user.role.default_scopes()) };
        Ok(Ok(Authenticated { actor, principal: Principal::User(id) }))
    }

    /// An API key: its scopes, limited by the owner's current role.
    async fn authenticate_api_key(&self, key: &str) -> DomainResult<Result<Authenticated, Refusal>> {
        let mut parts = key.splitn(3, '_');
        let (Some("agora"), Some(prefix), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(Err(Refusal::InvalidApiKey));
        };
        let Some((rec, hash)) = self.repo.find_api_key(prefix).await? else { return Ok(Err(Refusal::InvalidApiKey)) };
        if !ct_eq(&hash, &hash_secret(key)) {
            return Ok(Err(Refusal::InvalidApiKey));
        }
        let Some(user) = self.users.get(rec.user_id).await? else { return Ok(Err(Refusal::InvalidApiKey)) };
        self.repo.touch_api_key(rec.id, crate::now()).await?;
        let actor =
            Actor::User { id: user.id, role: user.role, scopes: rec.scopes.intersect(user.role.default_scopes()) };
        Ok(Ok(Authenticated { actor, principal: Principal::ApiKey { user_id: user.id, prefix: prefix.to_string() } }))
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

    // ---- the token endpoint ----

    /// Authenticates an OAuth client by id and secret.
    pub async fn authenticate_client(&self, creds: &ClientSecret) -> DomainResult<OAuthClient> {
        let Some((client, hash)) = self.repo.get_client(&creds.client_id).await? else { return Err(invalid_client()) };
        if !ct_eq(&hash, &hash_secret(&creds.client_secret)) {
            return Err(invalid_client());
        }
        Ok(client)
    }

    /// The client a grant is made to: `client_credentials` requires one that authenticates,
    /// `authorization_code` authenticates one when credentials are sent (public clients send
    /// none), the user grants ignore clients. A failure is `UNAUTHENTICATED` (client
    /// authentication, answered with a Basic challenge).
    pub async fn client_for(
        &self,
        grant: GrantType,
        creds: Option<&ClientSecret>,
    ) -> DomainResult<Option<OAuthClient>> {
        match (grant, creds) {
            (GrantType::ClientCredentials, None) => Err(invalid_client()),
            (GrantType::ClientCredentials | GrantType::AuthorizationCode, Some(c)) => {
                self.authenticate_client(c).await.map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Issues tokens for a grant. `client` is what [`AuthService::client_for`] returned.
    pub async fn token(&self, grant: Grant, client: Option<OAuthClient>) -> DomainResult<IssuedTokens> {
        match grant {
            Grant::Password { email, password, scope } => {
                let user = self.verify_password(&email, &password).await?;
                let scopes = narrow(scope, user.role.default_scopes())?;
                self.user_tokens(&user, scopes, None).await
            }
            Grant::RefreshToken { refresh_token, scope } => {
                let (user, scopes, family) = self.rotate_refresh(&refresh_token).await?;
                let scopes = narrow(scope, scopes)?;
                self.user_tokens(&user, scopes, Some(family)).await
            }
            Grant::ClientCredentials { scope } => {
                let client = client.ok_or_else(invalid_client)?;
                if !client.allows(GrantType::ClientCredentials) {
                    return Err(DomainError::new(
                        ErrorCode::UnauthorizedClient,
                        "This client may not use client_credentials.",
                    ));
                }
                let scopes = narrow(scope, client.scopes)?;
                let (access_token, _) =
                    self.signer.issue(format!("client:{}", client.client_id), scopes, None, Some(&client.client_id))?;
                Ok(IssuedTokens { access_token, expires_in: self.signer.ttl().as_secs(), refresh_token: None, scopes })
            }
            Grant::AuthorizationCode { code, redirect_uri, code_verifier, client_id } => {
                let client_id = client.map_or(client_id, |c| c.client_id);
                let (user, scopes) = self.exchange_code(&client_id, &code, &redirect_uri, &code_verifier).await?;
                self.user_tokens(&user, scopes, None).await
            }
        }
    }

    async fn user_tokens(&self, user: &User, scopes: Scopes, family: Option<String>) -> DomainResult<IssuedTokens> {
        let (access_token, _) =
            self.signer.issue(format!("user:{}", user.id), scopes, Some(user.role.as_str()), None)?;
        let refresh_token = self.issue_refresh(user.id, scopes, family).await?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.signer.ttl().as_secs(),
            refresh_token: Some(refresh_token),
            scopes,
        })
    }

    /// Issues a refresh token in `family` (a new family when `None`).
    async fn issue_refresh(&self, user_id: i64, scopes: Scopes, family: Option<String>) -> DomainResult<String> {
        let token = format!("rt_{}", random_token());
        let family = family.unwrap_or_else(random_token);
        let n = crate::now();
        self.repo
            .insert_refresh(&hash_secret(&token), &family, user_id, scopes, n + self.settings.refresh_token_ttl, n)
            .await?;
        Ok(token)
    }

    /// Rotates a refresh token: the user, scopes and family for the successor. A replay of a
    /// spent token revokes its whole family and fails.
    async fn rotate_refresh(&self, token: &str) -> DomainResult<(User, Scopes, String)> {
        match self.repo.use_refresh(&hash_secret(token), crate::now()).await? {
            RefreshUse::Rotated { user_id, family, scopes } => {
                let user = self.users.get(user_id).await?.ok_or_else(invalid_grant)?;
                let scopes = scopes.intersect(user.role.default_scopes());
                Ok((user, scopes, family))
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

    /// Exchanges a code: single use, same client, exact redirect URI, and a verifier whose
    /// S256 hash is the challenge.
    async fn exchange_code(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> DomainResult<(User, Scopes)> {
        let Some(rec) = self.repo.take_code(&hash_secret(code), crate::now()).await? else {
            return Err(invalid_grant());
        };
        if rec.client_id != client_id
            || rec.redirect_uri != redirect_uri
            || !pkce_matches(verifier, &rec.code_challenge)
        {
            return Err(invalid_grant());
        }
        let user = self.users.get(rec.user_id).await?.ok_or_else(invalid_grant)?;
        let scopes = rec.scopes.intersect(user.role.default_scopes());
        Ok((user, scopes))
    }

    /// RFC 7009: an access token is denylisted until it would have expired; a refresh token's
    /// family is revoked. Unknown tokens are not an error.
    pub async fn revoke(&self, token: &str) -> DomainResult<()> {
        if let Ok(claims) = self.signer.verify(token, false) {
            let exp = Utc.timestamp_opt(claims.exp, 0).single().unwrap_or_else(Utc::now);
            self.denylist.revoke_jti(&claims.jti, exp).await
        } else {
            self.repo.revoke_refresh(&hash_secret(token)).await.map(|_| ())
        }
    }

    /// RFC 7662: whether an access token is usable now, with its claims when it is.
    pub async fn introspect(&self, token: &str) -> DomainResult<Introspection> {
        let Ok(claims) = self.signer.verify(token, true) else { return Ok(Introspection::Inactive) };
        if self.denylist.is_jti_revoked(&claims.jti).await? {
            return Ok(Introspection::Inactive);
        }
        if let Some(id) = claims.sub.strip_prefix("user:").and_then(|v| v.parse::<i64>().ok())
            && self.users.get(id).await?.is_none()
        {
            return Ok(Introspection::Inactive);
        }
        Ok(Introspection::Active(claims))
    }

    // ---- browser sessions ----

    /// Password sign-in: a session whose cookie is shown once, with its CSRF token.
    pub async fn sign_in(&self, input: &SignIn) -> DomainResult<NewSession> {
        let (email, password) = input.checked()?;
        let user = self.verify_password(email, password).await?;
        let (cookie, csrf_token) = (random_token(), random_token());
        let ttl = self.settings.refresh_token_ttl;
        let expires_at = crate::now() + ttl;
        self.sessions
            .create_session(&Session {
                id_hash: hash_secret(&cookie),
                user_id: user.id,
                csrf_token: csrf_token.clone(),
                expires_at,
            })
            .await?;
        Ok(NewSession { user, cookie, csrf_token, expires_at, ttl })
    }

    /// Ends the session of a cookie (whether or not it still exists).
    pub async fn sign_out(&self, cookie: &str) -> DomainResult<()> {
        self.sessions.delete_session(&hash_secret(cookie)).await
    }

    // ---- API keys ----

    /// The caller's keys (users only).
    pub async fn list_api_keys(&self, actor: &Actor) -> DomainResult<Vec<ApiKey>> {
        let user_id = actor.user_id().ok_or_else(crate::actor::unauthenticated)?;
        self.repo.list_api_keys(user_id).await
    }

    /// Creates a key for the caller; its scopes cannot exceed the caller's credential's.
    pub async fn create_api_key(&self, actor: &Actor, input: NewApiKey) -> DomainResult<Minted<ApiKey>> {
        actor.require_write()?;
        let user_id = actor.user_id().ok_or_else(|| DomainError::forbidden("Only users can own API keys."))?;
        // A bound on what one user can make the server store (and list in one page). Checked,
        // not locked: parallel creations may pass it by a few, which is harmless.
        if self.repo.list_api_keys(user_id).await?.len() >= MAX_API_KEYS {
            return Err(DomainError::new(
                ErrorCode::LimitReached,
                format!("You already have {MAX_API_KEYS} API keys; delete one before creating another."),
            ));
        }
        let scopes = input.scopes.unwrap_or(Scopes::READ);
        if scopes == Scopes::NONE {
            return Err(DomainError::invalid_field("scopes", "required", "name at least one scope"));
        }
        if !actor.scopes().contains(scopes) || (scopes.contains(Scopes::ADMIN) && !actor.is_admin()) {
            return Err(DomainError::forbidden("A key cannot have scopes its creator lacks."));
        }
        self.mint_api_key(user_id, input.name.as_str(), scopes).await
    }

    /// Mints a key without actor checks (the command line, run by an operator).
    pub async fn mint_api_key(&self, user_id: i64, name: &str, scopes: Scopes) -> DomainResult<Minted<ApiKey>> {
        let prefix: String = random_token().chars().filter(|c| c.is_ascii_alphanumeric()).take(8).collect();
        let secret = random_token();
        let full = format!("agora_{prefix}_{secret}");
        let record =
            self.repo.create_api_key(user_id, name, &prefix, &hash_secret(&full), scopes, crate::now()).await?;
        Ok(Minted { record, secret: full })
    }

    /// Revokes one of the caller's keys; others' keys are not found.
    pub async fn delete_api_key(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        actor.require_write()?;
        let user_id = actor.user_id().ok_or_else(crate::actor::unauthenticated)?;
        if self.repo.delete_api_key(id, user_id).await? { Ok(()) } else { Err(ErrorCode::ApiKeyNotFound.into()) }
    }

    // ---- OAuth clients and the authorization page ----

    /// Registers an OAuth client: administrators, or the operator (`actor: None`, the command
    /// line). The secret is returned once.
    pub async fn register_client(
        &self,
        actor: Option<&Actor>,
        input: NewOAuthClient,
    ) -> DomainResult<Minted<OAuthClient>> {
        if let Some(a) = actor {
            a.require_write()?;
            if !a.is_admin() {
                return Err(DomainError::forbidden("Only administrators may register OAuth clients."));
            }
        }
        let (grant_types, redirect_uris) = input.grants_and_redirects()?;
        let client = OAuthClient {
            client_id: format!(
                "cl_{}",
                random_token().chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect::<String>()
            ),
            name: input.name.into_inner(),
            redirect_uris,
            grant_types: grant_types.iter().map(|g| g.as_str().to_string()).collect(),
            scopes: input.scopes.unwrap_or(Scopes::READ),
        };
        let secret = format!("cs_{}", random_token());
        self.repo.create_client(&client, &hash_secret(&secret), crate::now()).await?;
        Ok(Minted { record: client, secret })
    }

    /// Checks an authorization request before anything is shown: the client and redirect URI
    /// first (an error page, never a redirect, when they do not match a registration
    /// exactly), then the response type, PKCE and scope (redirected back with `error`).
    pub async fn authorization_request(
        &self,
        q: &AuthorizeParams,
    ) -> DomainResult<Result<AuthorizationRequest, AuthorizeRefusal>> {
        let Some((client, _)) = self.repo.get_client(&q.client_id).await? else {
            return Ok(Err(AuthorizeRefusal::Page("Unknown client.")));
        };
        let redirect_uri = q.redirect_uri.clone();
        if !client.redirect_uris.contains(&redirect_uri) {
            return Ok(Err(AuthorizeRefusal::Page("The redirect URI is not registered for this client.")));
        }
        let state = q.state.clone();
        let refuse = |error, description| {
            Ok(Err(AuthorizeRefusal::Redirect {
                redirect_uri: redirect_uri.clone(),
                error,
                description,
                state: state.clone(),
            }))
        };
        if q.response_type != "code" || !client.allows(GrantType::AuthorizationCode) {
            return refuse("unsupported_response_type", "only response_type=code is supported for this client");
        }
        if q.code_challenge_method != "S256" || q.code_challenge.len() < 43 {
            return refuse("invalid_request", "PKCE with code_challenge_method=S256 is required");
        }
        let scopes = match Some(q.scope.as_str()).filter(|v| !v.trim().is_empty()) {
            None => client.scopes,
            Some(raw) => match Scopes::parse(raw) {
                Ok(sc) if client.scopes.contains(sc) => sc,
                _ => return refuse("invalid_scope", "the requested scope is not allowed for this client"),
            },
        };
        let challenge = q.code_challenge.clone();
        Ok(Ok(AuthorizationRequest { client, redirect_uri, challenge, scopes, state }))
    }

    /// The user approved a checked request with their password: a single-use code bound to
    /// the PKCE challenge and the redirect URI, for the scopes asked narrowed to the role's.
    pub async fn approve(&self, request: &AuthorizationRequest, email: &str, password: &str) -> DomainResult<String> {
        let user = self.verify_password(email, password).await?;
        let code = random_token();
        let rec = AuthCode {
            code_hash: hash_secret(&code),
            client_id: request.client.client_id.clone(),
            user_id: user.id,
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.challenge.clone(),
            scopes: request.scopes.intersect(user.role.default_scopes()),
            expires_at: crate::now() + CODE_TTL,
        };
        self.repo.insert_code(&rec).await?;
        Ok(code)
    }

    // ---- lookups ----

    /// Finds a user by email (the command line).
    pub async fn user_by_email(&self, email: &str) -> DomainResult<Option<User>> {
        let e = Email::parse(email).map_err(|f| DomainError::validation(vec![f]))?;
        Ok(self.users.get_by_email(e.as_str()).await?.map(|(u, _)| u))
    }
}

/// Narrows a grant's scopes to those asked for; asking for more is 403.
fn narrow(asked: Option<Scopes>, allowed: Scopes) -> DomainResult<Scopes> {
    match asked {
        None => Ok(allowed),
        Some(asked) if allowed.contains(asked) => Ok(asked),
        Some(_) => Err(DomainError::forbidden("The requested scope exceeds what this grant allows.")),
    }
}
