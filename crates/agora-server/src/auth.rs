//! Who is calling: credentials are resolved once, in a middleware, into an [`Actor`] that
//! every handler (and the rate limiter) reads from the request.
//!
//! Accepted, in order: `Authorization: Bearer <jwt>`, `X-API-Key: agora_…` or
//! `Authorization: ApiKey agora_…`, and the `agora_session` cookie. This layer only reads the
//! headers; which credentials are valid and what they grant is `AuthService::authenticate`'s
//! call. A credential that is presented but refused is answered with 401 — never downgraded
//! to anonymous — so a client with an expired token learns so instead of seeing a public view.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use agora_core::ErrorCode;
use agora_core::auth::{Presented, Refusal};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use futures::future::{BoxFuture, Either};
use tower::{Layer, Service};

use crate::http::ApiError;
use crate::http::ctx::PrincipalLabel;
use crate::http::error::Rejected;
use crate::http::routes::RouteTable;
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "agora_session";

/// Reads a cookie by name from the `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A 401 with the challenge of the scheme that failed.
pub fn challenge(message: impl Into<String>, value: HeaderValue) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message).with_header(header::WWW_AUTHENTICATE, value)
}

/// The answer owed to a refused credential.
fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::InvalidToken(description) => {
            let value = format!("Bearer realm=\"agora\", error=\"invalid_token\", error_description=\"{description}\"");
            challenge(
                format!("The access token is invalid: {description}."),
                HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer")),
            )
        }
        Refusal::InvalidApiKey => {
            challenge("The API key is invalid or revoked.", HeaderValue::from_static("ApiKey realm=\"agora\""))
        }
        Refusal::InvalidSession => challenge(
            "The session has expired or was ended; sign in again.",
            HeaderValue::from_static("Cookie realm=\"agora\""),
        ),
        Refusal::CsrfFailed => ErrorCode::CsrfFailed.into(),
    }
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// The credential a request presents, if any; an `Authorization` scheme we do not know is
/// refused rather than ignored.
fn presented<'h>(headers: &'h HeaderMap, method: &Method) -> Result<Option<Presented<'h>>, ApiError> {
    if let Some(a) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, value) = a.split_once(' ').unwrap_or((a, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Ok(Some(Presented::Bearer(value.trim())));
        }
        if scheme.eq_ignore_ascii_case("apikey") {
            return Ok(Some(Presented::ApiKey(value.trim())));
        }
        // Basic is client authentication for the OAuth endpoints, handled there.
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(challenge(
                "Unsupported authorization scheme.",
                HeaderValue::from_static("Bearer realm=\"agora\""),
            ));
        }
    }
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Ok(Some(Presented::ApiKey(key.trim())));
    }
    if let Some(c) = cookie(headers, SESSION_COOKIE) {
        let csrf_token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
        return Ok(Some(Presented::Session { cookie: c, csrf_token, unsafe_method: is_unsafe(method) }));
    }
    Ok(None)
}

/// The actor the credentials in `headers` authenticate (anonymous when there are none): for
/// transports that carry credentials outside an HTTP request's headers (a WebSocket's
/// `connection_init`).
pub async fn actor_from(state: &AppState, headers: &HeaderMap, method: &Method) -> Result<agora_core::Actor, ApiError> {
    match presented(headers, method)? {
        None => Ok(agora_core::Actor::Anonymous),
        Some(p) => match state.services.auth.authenticate(p).await {
            Ok(Ok(a)) => Ok(a.actor),
            Ok(Err(r)) => Err(refusal(r)),
            Err(e) => Err(ApiError::from(e)),
        },
    }
}

/// Middleware: resolves credentials into request extensions (the [`Actor`] and its
/// [`Principal`](agora_core::auth::Principal)).
///
/// Anonymous requests (the common case for public reads) skip all credential work, and so do
/// the endpoints that carry their credentials in the body (the route table says which): a
/// browser that already holds a session cookie must still be able to sign in again or
/// authorize an app. Only a request that presents credentials pays for an asynchronous lookup.
///
/// A refused credential is not answered here: the request goes on as anonymous through rate
/// limiting, carrying [`Rejected`], and is answered after it. Answering straight away would
/// put requests with bad credentials outside every limit — each costs a token check or a key
/// lookup, and a client could guess credentials as fast as the server answers.
#[derive(Clone)]
pub struct AuthenticateLayer(pub AppState, pub Arc<RouteTable>);

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate { inner, state: self.0.clone(), routes: self.1.clone() }
    }
}

/// The service made by [`AuthenticateLayer`].
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    state: AppState,
    routes: Arc<RouteTable>,
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
            || self.routes.credentials_in_body(req.method(), req.uri().path())
        {
            return Either::Left(self.inner.call(req));
        }
        // The instance that was polled ready goes into the future; a clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (state, routes) = (self.state.clone(), self.routes.clone());
        Either::Right(Box::pin(async move {
            let outcome = match presented(req.headers(), req.method()) {
                Ok(None) => Ok(None),
                Ok(Some(p)) => match state.services.auth.authenticate(p).await {
                    Ok(Ok(a)) => Ok(Some(a)),
                    Ok(Err(r)) => Err(refusal(r)),
                    Err(e) => Err(ApiError::from(e)),
                },
                Err(e) => Err(e),
            };
            match outcome {
                Ok(Some(a)) => {
                    let label = a.actor.label();
                    req.extensions_mut().insert(a.actor);
                    req.extensions_mut().insert(a.principal);
                    let Ok(mut res) = inner.call(req).await;
                    res.extensions_mut().insert(PrincipalLabel(label));
                    Ok(res)
                }
                Ok(None) => inner.call(req).await,
                // Answered after rate limiting (see above), and before routing: labelled with
                // the route, as the router would label it.
                Err(e) => {
                    let path = req.uri().path().to_owned();
                    req.extensions_mut().insert(Rejected(e));
                    let Ok(res) = inner.call(req).await;
                    Ok(routes.label(&path, res))
                }
            }
        }))
    }
}
