//! Shared application state handed to every handler.

use std::sync::Arc;

use agora_core::services::Services;
use agora_db::Db;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::tokens::TokenKeys;

/// Cheap to clone: one reference count, because every middleware layer and handler on the
/// request path takes its own copy.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the parts into the shared state.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The rendered OpenAPI documents, built once at start-up from the router's declaration.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// Both versions and the unversioned endpoints (`/openapi.json`).
    pub all: String,
    /// `/v1` only.
    pub v1: String,
    /// `/v2` only.
    pub v2: String,
}

/// What the state holds; reached through `AppState`'s `Deref`.
pub struct Shared {
    /// Domain services.
    pub services: Services,
    /// The pool (readiness, pool metrics).
    pub db: Db,
    /// Metrics recorder.
    pub metrics: Metrics,
    /// Effective configuration.
    pub config: Arc<Config>,
    /// The OpenAPI documents.
    pub docs: Arc<Documents>,
    /// Access-token keys (the JWKS document).
    pub tokens: TokenKeys,
    /// The Redis connection when `redis_url` is set (readiness pings it).
    pub redis: Option<agora_redis::RedisCredentials>,
}
