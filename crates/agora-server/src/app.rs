//! Start-up: `App::build` turns a configuration into a ready router. `main` and every test call
//! the same function, so tests exercise the real middleware stack.

use std::net::SocketAddr;
use std::sync::Arc;

use agora_core::cursor::CursorKey;
use agora_core::services::Services;
use agora_db::{Db, PoolSettings, SqlStore};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::get;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::config::Config;
use crate::http::around::AroundLayer;
use crate::http::ctx::{RecordRoute, RequestContextLayer};
use crate::http::error::ApiError;
use crate::http::normalize::{NormalizeErrors, fallback};
use crate::http::versioning::SelectVersion;
use crate::metrics::Metrics;
use crate::password::Argon2Hasher;
use crate::rest;
use crate::state::AppState;

/// Start-up failures, each naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration problem.
    #[error("{0}")]
    Config(String),
    /// Database problem.
    #[error(transparent)]
    Db(#[from] agora_db::DbError),
    /// Socket problem.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A built application: state plus the router that serves it.
pub struct App {
    /// Shared state.
    pub state: AppState,
    router: Router,
}

fn derive_key(secret: &[u8], purpose: &str) -> Vec<u8> {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any size"),
    };
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Connects and migrates the database named by the configuration.
pub async fn open_database(config: &Config) -> Result<Db, StartError> {
    let settings = PoolSettings { max_connections: config.db_max_connections, ..PoolSettings::default() };
    let db = Db::connect(&config.database_url, &settings).await?;
    db.migrate().await?;
    Ok(db)
}

/// The server secret: configured, or generated once and stored in the database so every
/// instance sharing it agrees.
async fn server_secret(config: &Config, db: &Db) -> Result<Vec<u8>, StartError> {
    if !config.auth.jwt_secret.is_empty() {
        return Ok(config.auth.jwt_secret.as_bytes().to_vec());
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let stored = db.secret_or_insert("server_secret", &hex::encode(bytes)).await?;
    hex::decode(stored).map_err(|_| StartError::Config("stored server secret is corrupt".into()))
}

/// Access-token keys: EdDSA from the configured PEM file, else HS256 with the server secret.
fn token_keys(config: &Config, secret: &[u8]) -> Result<crate::auth::tokens::TokenKeys, StartError> {
    let a = &config.auth;
    if a.jwt_private_key_file.is_empty() {
        let key = derive_key(secret, "agora jwt hs256 v1");
        return Ok(crate::auth::tokens::TokenKeys::hs256(&key, &a.issuer, &a.audience, a.access_token_ttl));
    }
    let pem = std::fs::read_to_string(&a.jwt_private_key_file).map_err(|e| {
        StartError::Config(format!("`auth.jwt_private_key_file`: cannot read {}: {e}", a.jwt_private_key_file))
    })?;
    crate::auth::tokens::TokenKeys::eddsa_pem(&pem, &a.issuer, &a.audience, a.access_token_ttl)
        .map_err(|e| StartError::Config(format!("`auth.jwt_private_key_file`: {e}")))
}

/// Creates the first administrator from `auth.bootstrap_admin_email` / `_password` (the
/// `AGORA_BOOTSTRAP_ADMIN_EMAIL` / `AGORA_BOOTSTRAP_ADMIN_PASSWORD` variables) when no user has
/// that email yet. An existing account is left as it is.
async fn bootstrap_admin(state: &AppState) -> Result<(), StartError> {
    let a = &state.config.auth;
    if a.bootstrap_admin_email.is_empty() || a.bootstrap_admin_password.is_empty() {
        return Ok(());
    }
    let (email, password) = (a.bootstrap_admin_email.clone(), a.bootstrap_admin_password.clone());
    let body = serde_json::json!({"email": email, "name": "Administrator", "password": password, "role": "admin"});
    let body = body.as_object().cloned().unwrap_or_default();
    match state.services.users.create(&crate::auth::routes::admin_actor(), &body).await {
        Ok(u) => {
            tracing::info!(user_id = u.id, "bootstrap administrator created");
            Ok(())
        }
        Err(e) if e.code() == "CONFLICT" => Ok(()),
        Err(e) => Err(StartError::Config(format!("bootstrap admin: {} {:?}", e.message, e.details))),
    }
}

impl App {
    /// Builds everything: database, services, router.
    pub async fn build(config: Config) -> Result<App, StartError> {
        let db = open_database(&config).await?;
        let secret = server_secret(&config, &db).await?;
        let hasher = Argon2Hasher::new(config.auth.argon2_memory_kib, config.auth.argon2_iterations)
            .map_err(|e| StartError::Config(format!("`auth.argon2_memory_kib`: {e}")))?;
        let store = Arc::new(SqlStore::new(db.clone()));
        let redis = if config.redis_url.is_empty() {
            None
        } else {
            let repo = crate::auth::redis_store::RedisAuthRepo::connect_lazy(&config.redis_url, store.clone())
                .map_err(StartError::Config)?;
            // Start either way; say so when Redis is not there yet.
            if !repo.ping().await {
                tracing::warn!(
                    "Redis at `redis_url` does not answer; starting anyway. Sessions cannot be used and \
                     /readyz answers 503 until it does."
                );
            }
            Some(repo)
        };
        let auth_repo: Arc<dyn agora_core::auth::AuthRepo> = match &redis {
            Some(r) => Arc::new(r.clone()),
            None => store.clone(),
        };
        let services = Services::new(
            store.clone(),
            store.clone(),
            store,
            auth_repo,
            Arc::new(hasher),
            CursorKey::new(derive_key(&secret, "agora cursor v1")),
        );
        let config_ref = config.clone();
        let state = AppState::new(crate::state::Shared {
            services,
            db,
            metrics: Metrics::install(),
            config: Arc::new(config),
            openapi: Arc::new(crate::openapi::build()),
            tokens: token_keys(&config_ref, &secret)?,
            redis,
            routes: Arc::new(crate::http::routes::RouteTemplates::of_server()),
        });
        bootstrap_admin(&state).await?;
        let router = router(state.clone()).map_err(StartError::Config)?;
        Ok(App { state, router })
    }

    /// The complete service (for tests: drive it with `tower::ServiceExt::oneshot`).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight requests for at
    /// most the configured grace period and closes the pool.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.config.shutdown_grace;
        let db = self.state.db.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutdown requested; finishing in-flight requests");
            let _ = tx.send(());
        };
        let server = axum::serve(listener, self.router.into_make_service_with_connect_info::<crate::ratelimit::Peer>())
            .with_graceful_shutdown(signal);
        let drained = async {
            let _ = rx.await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            r = server => r?,
            _ = drained => tracing::warn!(grace = ?grace, "grace period over; dropping remaining connections"),
        }
        db.close().await;
        Ok(())
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!(request_id = %crate::http::ctx::current().request_id, "handler panicked");
    ApiError::internal().into_response()
}

/// The full middleware stack around the routes.
///
/// Order matters: the request context is outermost (every response gets a request id and a
/// log line); version selection rewrites the URI before the inner router matches it, which is
/// why the routes sit behind a fallback service instead of directly in this router.
pub fn router(state: AppState) -> Result<Router, String> {
    let body_limit = state.config.body_limit_bytes;
    let api = Router::new()
        .merge(rest::versioned("/v1"))
        .merge(rest::versioned("/v2"))
        .merge(crate::auth::routes::operational())
        .route("/healthz", get(rest::ops::healthz))
        .route("/readyz", get(rest::ops::readyz))
        .route("/metrics", get(rest::ops::metrics))
        .route("/openapi.json", get(rest::ops::openapi))
        .merge(crate::openapi::docs_router())
        .fallback(fallback)
        .route_layer(AroundLayer(RecordRoute))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state.clone());
    let inner = tower::ServiceBuilder::new()
        .layer(AroundLayer(NormalizeErrors))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .service(api);
    // The outer stack is one tower service behind a single router level. (Each
    // `Router::layer` would add its own boxed route, cloned on every request.) Rate limiting
    // sees the versioned path (so route globs like `GET /v*/products*` match) and the
    // resolved principal, and answers inside the request context (so a 429 carries the
    // request id).
    let outer = tower::ServiceBuilder::new()
        .layer(RequestContextLayer(state.clone()))
        .layer(AroundLayer(SelectVersion))
        .layer(crate::auth::AuthenticateLayer(state.clone()))
        .option_layer(crate::ratelimit::layer(&state.config, state.routes.clone())?)
        .service(inner);
    Ok(Router::new().fallback_service(outer))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Binds the configured address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })
}
