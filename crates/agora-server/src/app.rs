//! Start-up: `App::build` turns a configuration into a ready router. `main` and every test call
//! the same function, so tests exercise the real middleware stack.

use std::net::SocketAddr;
use std::sync::Arc;

use agora_core::auth::{AuthSettings, Denylist, SessionStore};
use agora_core::cursor::CursorKey;
use agora_core::services::{Ports, Repos, Services};
use agora_core::users::NewUser;
use agora_core::{Actor, ErrorCode};
use agora_db::{Db, PoolSettings, SqlStore};
use agora_idempotency::IdempotencyLayer;
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Config;
use crate::http::around::AroundLayer;
use crate::http::ctx::{RecordRoute, RequestContextLayer};
use crate::http::error::ApiError;
use crate::http::normalize::{NormalizeErrors, fallback};
use crate::http::routes::RouteTable;
use crate::http::versioning::SelectVersion;
use crate::idempotency::KeyRules;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::tokens::TokenKeys;

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
    /// What the layers in front of the router know about routes.
    pub routes: Arc<RouteTable>,
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
    Ok(open_and_migrate(config).await?.0)
}

/// [`open_database`], also returning the migrations it applied (`<version> <description>`).
pub async fn open_and_migrate(config: &Config) -> Result<(Db, Vec<String>), StartError> {
    let settings =
        PoolSettings { max_connections: config.db_max_connections, acquire_timeout: config.db_acquire_timeout };
    let db = Db::connect(&config.database_url, &settings).await?;
    let applied = db.migrate().await?;
    for m in &applied {
        tracing::info!(migration = %m, "migration applied");
    }
    Ok((db, applied))
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
fn token_keys(config: &Config, secret: &[u8]) -> Result<TokenKeys, StartError> {
    let a = &config.auth;
    if a.jwt_private_key_file.is_empty() {
        let key = derive_key(secret, "agora jwt hs256 v1");
        return Ok(TokenKeys::hs256(&key, &a.issuer, &a.audience, a.access_token_ttl));
    }
    let pem = std::fs::read_to_string(&a.jwt_private_key_file).map_err(|e| {
        StartError::Config(format!("`auth.jwt_private_key_file`: cannot read {}: {e}", a.jwt_private_key_file))
    })?;
    TokenKeys::eddsa_pem(&pem, &a.issuer, &a.audience, a.access_token_ttl)
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
    let body = serde_json::json!({
        "email": a.bootstrap_admin_email, "name": "Administrator", "password": a.bootstrap_admin_password, "role": "admin"
    });
    let created = match NewUser::try_from(body.as_object().unwrap_or(&serde_json::Map::new())) {
        Ok(input) => state.services.users.create(&Actor::operator(), input).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(u) => {
            tracing::info!(user_id = u.id, "bootstrap administrator created");
            Ok(())
        }
        Err(e) if e.code == ErrorCode::Conflict => Ok(()),
        Err(e) => Err(StartError::Config(format!("bootstrap admin: {} {:?}", e.message, e.details))),
    }
}

impl App {
    /// Builds everything: database, services, router.
    pub async fn build(config: Config) -> Result<App, StartError> {
        let db = open_database(&config).await?;
        let secret = server_secret(&config, &db).await?;
        let hasher = config.auth.hasher().map_err(|e| StartError::Config(format!("`auth.argon2_memory_kib`: {e}")))?;
        let store = Arc::new(SqlStore::new(db.clone()).with_list_settings(config.lists.settings()));
        let redis = if config.redis_url.is_empty() {
            None
        } else {
            let repo = agora_redis::RedisCredentials::connect_lazy(&config.redis_url, store.clone())
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
        let (denylist, sessions): (Arc<dyn Denylist>, Arc<dyn SessionStore>) = match &redis {
            Some(r) => (Arc::new(r.clone()), Arc::new(r.clone())),
            None => (store.clone(), store.clone()),
        };
        let tokens = token_keys(&config, &secret)?;
        let refresh_token_ttl = chrono::Duration::from_std(config.auth.refresh_token_ttl)
            .map_err(|_| StartError::Config("`auth.refresh_token_ttl` is too long".into()))?;
        let sql_store = (*store).clone();
        // Domain events (GraphQL subscriptions) cross instances through Redis when there is one.
        let events: Arc<dyn agora_core::events::EventBus> = match &redis {
            Some(r) => agora_redis::RedisBus::start(&config.redis_url, r.connection(), "agora:events".into())
                .map_err(StartError::Config)?,
            None => Arc::new(agora_core::events::InProcessBus::new()),
        };
        let services = Services::new(Ports {
            repos: Repos::all(store),
            denylist,
            sessions,
            hasher: Arc::new(hasher),
            signer: Arc::new(tokens.clone()),
            cursor_key: CursorKey::new(derive_key(&secret, "agora cursor v1")),
            events,
            gateway: Arc::new(agora_core::payments::SandboxGateway),
            auth_settings: AuthSettings { refresh_token_ttl },
        });
        // The routes are declared once: the router, its document and the table the layers in
        // front of it read all come from this.
        let (routes, api, table) = crate::rest::all().split();
        let table = Arc::new(table);
        let keys = KeyRules::new(table.clone(), config.idempotency.required.clone());
        let idempotency_store = crate::idempotency::store(&config, &db, redis.as_ref()).map_err(StartError::Config)?;
        crate::idempotency::spawn_purger(idempotency_store.clone());
        let idempotency = crate::idempotency::layer(&config, keys.clone(), idempotency_store);
        let state = AppState::new(crate::state::Shared {
            services,
            store: sql_store,
            db,
            metrics: Metrics::install(),
            config: Arc::new(config),
            docs: Arc::new(crate::openapi::documents(api, &keys)),
            tokens,
            redis,
        });
        bootstrap_admin(&state).await?;
        let router = router(state.clone(), routes, table.clone(), idempotency).map_err(StartError::Config)?;
        Ok(App { state, routes: table, router })
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
        let limits = crate::serve::ConnectionLimits {
            max_connections: self.state.config.max_connections,
            header_read_timeout: self.state.config.header_read_timeout,
        };
        let server = crate::serve::serve(listener, self.router, limits, signal);
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
fn router(
    state: AppState,
    routes: Router<AppState>,
    table: Arc<RouteTable>,
    idempotency: IdempotencyLayer<Body>,
) -> Result<Router, String> {
    let body_limit = state.config.body_limit_bytes;
    let api = routes
        .fallback(fallback)
        .route_layer(AroundLayer(RecordRoute))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state.clone());
    let inner = tower::ServiceBuilder::new()
        .layer(AroundLayer(NormalizeErrors))
        .layer(CatchPanicLayer::custom(panic_response))
        // The whole request, body included: a client that trickles its body is cut off (408)
        // instead of holding a connection and a handler for as long as it likes.
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        // Inside authentication (a key's scope is the principal) and the rate limiter (a 429
        // never touches a key); each request with a key runs in its own task, so the timeout
        // above cannot cut it off between its write and its record.
        .layer(idempotency)
        // One body type for the layer above to store and replay (axum boxes it here or later
        // anyway).
        .map_response(|res: axum::http::Response<_>| res.map(Body::new))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .service(api);
    // The outer stack is one tower service behind a single router level. (Each
    // `Router::layer` would add its own boxed route, cloned on every request.) Rate limiting
    // sees the versioned path (so route globs like `GET /v*/products*` match) and the
    // resolved principal, and answers inside the request context (so a 429 carries the
    // request id).
    let outer = tower::ServiceBuilder::new()
        .layer(RequestContextLayer(state.metrics.clone()))
        .layer(AroundLayer(SelectVersion(table.clone())))
        .layer(crate::auth::AuthenticateLayer(state.clone(), table.clone()))
        .option_layer(crate::ratelimit::layer(&state.config, table)?)
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
