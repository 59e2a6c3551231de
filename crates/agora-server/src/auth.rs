//! Who is calling: the one extraction point every handler uses.
//!
//! Credentials are not verified yet, so every request is served as [`Actor::Anonymous`]; the
//! authentication layer will fill this in (bearer tokens, API keys, session cookies) without
//! changing any handler.

use agora_core::Actor;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::http::ApiError;

/// The principal's label for logs (`anonymous`, `user:42`).
#[derive(Debug, Clone)]
pub struct PrincipalLabel(pub String);

/// Extracts the calling [`Actor`].
#[derive(Debug, Clone)]
pub struct CurrentActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for CurrentActor {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(CurrentActor(parts.extensions.get::<Actor>().cloned().unwrap_or(Actor::Anonymous)))
    }
}
