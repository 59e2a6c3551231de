//! Shared application state handed to every handler.

use std::sync::Arc;

use agora_core::services::Services;
use agora_db::Db;

use crate::config::Config;
use crate::metrics::Metrics;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
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
}
