//! Shared application state handed to every handler.

use std::sync::Arc;

use agora_core::services::Services;
use agora_db::Db;

use crate::config::Config;
use crate::metrics::Metrics;

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
    /// The rendered OpenAPI documents: (all versions, v1 only, v2 only).
    pub openapi: Arc<crate::openapi::Documents>,
    /// Access-token keys.
    pub tokens: crate::auth::tokens::TokenKeys,
    /// The Redis connection when `redis_url` is set (readiness pings it).
    pub redis: Option<crate::auth::redis_store::RedisAuthRepo>,
    /// The route templates, for layers that answer before routing.
    pub routes: Arc<crate::http::routes::RouteTemplates>,
}
