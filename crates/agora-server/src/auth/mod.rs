//! Who is calling: credentials are resolved once, in a middleware, into an [`Actor`] that
//! every handler (and the rate limiter) reads from the request.
//!
//! Accepted, in order: `Authorization: Bearer <jwt>`, `X-API-Key: agora_…` or
//! `Authorization: ApiKey agora_…`, and the `agora_session` cookie. A credential that is
//! presented but invalid is refused with 401 — never downgraded to anonymous — so a client with
//! an expired token learns so instead of seeing a public view. Cookie-authenticated unsafe
//! requests must echo the session's CSRF token in `X-CSRF-Token`.

pub mod oauth_page;
pub mod redis_store;
pub mod routes;
pub mod tokens;

use agora_core::Actor;
use agora_core::actor::Scopes;
use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, Either};
use tower::{Layer, Service};

use crate::http::ApiError;
use crate::state::AppState;

/// The principal's label for logs (`anonymous`, `user:42`).
#[derive(Debug, Clone)]
pub struct PrincipalLabel(pub String);

/// Credentials the authentication layer turned away, with the answer it owes the client.
///
/// The answer (401, or 403 for a cookie write without its CSRF token) is not given at once:
/// the request goes on as anonymous through rate limiting, and the answer is given after it
/// (by [`answer_rejected`], at the top of the inner stack). Answering straight away would
/// put requests with bad credentials outside every limit: each costs a token check or an API
/// key lookup, and a client could send them without end, or guess credentials as fast as the
/// server answers. This way they count against the client address's anonymous quota.
#[derive(Debug, Clone)]
pub struct Rejected(pub ApiError);

/// The answer to a request whose credentials were turned away ([`Rejected`]), for the inner
/// stack to give instead of routing it; `None` for every other request.
pub fn answer_rejected(req: &mut Request) -> Option<Response> {
    req.extensions_mut().remove::<Rejected>().map(|Rejected(e)| e.into_response())
}

/// How the caller authenticated (absent = anonymous); rate limiting keys on it.
#[derive(Debug, Clone)]
pub enum Credential {
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

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "agora_session";

/// Extracts the calling [`Actor`].
#[derive(Debug, Clone)]
pub struct CurrentActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for CurrentActor {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(CurrentActor(parts.extensions.get::<Actor>().cloned().unwrap_or(Actor::Anonymous)))
    }
}

/// 401 for a bad bearer token, with the RFC 6750 challenge.
pub fn invalid_token(description: &str) -> ApiError {
    let challenge = format!("Bearer realm=\"agora\", error=\"invalid_token\", error_description=\"{description}\"");
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", format!("The access token is invalid: {description}."))
        .with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("Bearer")),
        )
}

fn invalid_key() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "The API key is invalid or revoked.")
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("ApiKey realm=\"agora\""))
}

fn invalid_session() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "The session has expired or was ended; sign in again.")
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Cookie realm=\"agora\""))
}

/// Reads a cookie by name from the `Cookie` headers.
pub fn cookie(parts: &axum::http::HeaderMap, name: &str) -> Option<String> {
    parts.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Resolves a bearer token to an actor: signature and claims, then the denylist, then the
/// user's current state (a deleted user's token stops working; a demoted admin loses admin).
pub async fn actor_from_bearer(s: &AppState, token: &str) -> Result<(Actor, Credential), ApiError> {
    let claims = s.tokens.verify(token).map_err(|e| {
        tracing::debug!(error = %e, "bearer token refused");
        invalid_token("signature, algorithm or claims rejected")
    })?;
    if s.services.auth.repo().is_jti_revoked(&claims.jti).await? {
        return Err(invalid_token("token revoked"));
    }
    let scopes = Scopes::parse(&claims.scope).map_err(|_| invalid_token("bad scope"))?;
    if let Some(client_id) = claims.sub.strip_prefix("client:") {
        if s.services.auth.client(client_id).await?.is_none() {
            return Err(invalid_token("client no longer exists"));
        }
        return Ok((
            Actor::Client { client_id: client_id.to_string(), scopes },
            Credential::Client(client_id.to_string()),
        ));
    }
    let id: i64 =
        claims.sub.strip_prefix("user:").and_then(|v| v.parse().ok()).ok_or_else(|| invalid_token("bad subject"))?;
    let user = s.services.auth.current_user(id).await?.ok_or_else(|| invalid_token("user no longer exists"))?;
    Ok((
        Actor::User { id, role: user.role, scopes: scopes.intersect(user.role.default_scopes()) },
        Credential::User(id),
    ))
}

/// Endpoints whose body carries the credentials (password, refresh token, code, client
/// secret): a cookie or bearer header on them is not the credential being presented.
fn authenticates_itself(m: &Method, path: &str) -> bool {
    if path == "/oauth/authorize" {
        return true;
    }
    let Some(rest) = path.strip_prefix("/v1").or_else(|| path.strip_prefix("/v2")) else { return false };
    matches!(rest, "/auth/token" | "/auth/revoke" | "/auth/introspect")
        || (rest == "/auth/session" && *m == Method::POST)
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Middleware: resolves credentials into request extensions.
///
/// Anonymous requests (the common case for public reads) skip all credential work, and so do
/// the endpoints that authenticate with credentials in their own body (a browser that already
/// holds a session cookie must still be able to sign in again or authorize an app). Those go
/// straight to the inner service; only a request that presents credentials pays for an
/// asynchronous lookup.
#[derive(Clone)]
pub struct AuthenticateLayer(pub AppState);

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate { inner, state: self.0.clone() }
    }
}

/// The service made by [`AuthenticateLayer`].
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Authenticate<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let h = req.headers();
        if !(h.contains_key(header::AUTHORIZATION) || h.contains_key("x-api-key") || h.contains_key(header::COOKIE))
            || authenticates_itself(req.method(), req.uri().path())
        {
            return Either::Left(self.inner.call(req));
        }
        // The instance that was polled ready goes into the future; a clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let s = self.state.clone();
        Either::Right(Box::pin(async move {
            match resolve(&s, req.headers(), req.method()).await {
                Ok(Some((actor, cred))) => {
                    let label = actor.label();
                    req.extensions_mut().insert(actor);
                    req.extensions_mut().insert(cred);
                    let Ok(mut res) = inner.call(req).await;
                    res.extensions_mut().insert(PrincipalLabel(label));
                    Ok(res)
                }
                Ok(None) => inner.call(req).await,
                // Answered after rate limiting, not here (see `Rejected`), and before routing:
                // labelled with the route, as the router would label it.
                Err(e) => {
                    let path = req.uri().path().to_owned();
                    req.extensions_mut().insert(Rejected(e));
                    let Ok(res) = inner.call(req).await;
                    Ok(s.routes.label(&path, res))
                }
            }
        }))
    }
}

async fn resolve(
    s: &AppState,
    headers: &axum::http::HeaderMap,
    method: &Method,
) -> Result<Option<(Actor, Credential)>, ApiError> {
    let authz = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(a) = authz {
        let (scheme, value) = a.split_once(' ').unwrap_or((a, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return actor_from_bearer(s, value.trim()).await.map(Some);
        }
        if scheme.eq_ignore_ascii_case("apikey") {
            return api_key(s, value.trim()).await.map(Some);
        }
        // Basic is client authentication for the OAuth endpoints, handled there.
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "Unsupported authorization scheme.",
            )
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"agora\"")));
        }
    }
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return api_key(s, key.trim()).await.map(Some);
    }
    if let Some(c) = cookie(headers, SESSION_COOKIE) {
        let session = s.services.auth.session(&c).await?.ok_or_else(invalid_session)?;
        if is_unsafe(method) {
            let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !agora_core::auth::ct_eq(sent, &session.csrf_token) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "CSRF_FAILED",
                    "Cookie-authenticated writes must send the session's CSRF token in X-CSRF-Token.",
                ));
            }
        }
        let user = s.services.auth.current_user(session.user_id).await?.ok_or_else(invalid_session)?;
        let actor = Actor::User { id: user.id, role: user.role, scopes: user.role.default_scopes() };
        return Ok(Some((actor, Credential::User(user.id))));
    }
    Ok(None)
}

async fn api_key(s: &AppState, key: &str) -> Result<(Actor, Credential), ApiError> {
    let actor = s.services.auth.authenticate_api_key(key).await.map_err(|_| invalid_key())?;
    let prefix = key.split('_').nth(1).unwrap_or_default().to_string();
    let user_id = actor.user_id().unwrap_or_default();
    Ok((actor, Credential::ApiKey { user_id, prefix }))
}
