//! Shared application state handed to every handler.

use std::sync::Arc;

use agora_core::events::{DomainEvent, EventBus};
use agora_core::services::{Repos, Services};
use agora_db::{Db, SqlStore};

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

    /// The state a request runs with: when the request's idempotency record is kept by the
    /// SQL store, its services write through the record's unit of work, so the request's
    /// writes and its record commit together; otherwise the shared state itself.
    pub fn for_request(&self, extensions: &axum::http::Extensions) -> AppState {
        match request_unit(extensions) {
            None => self.clone(),
            Some(unit) => self.in_unit(unit),
        }
    }

    /// The state whose services write through `unit`.
    fn in_unit(&self, unit: &agora_db::Unit) -> AppState {
        let repos = Repos::all(Arc::new(self.store.in_unit(unit.clone())));
        let events = Arc::new(AfterCommit { unit: unit.clone(), bus: self.services.events().clone() });
        AppState::new(Shared { services: self.services.within(repos, events), ..(*self.0).clone() })
    }
}

/// The unit of work the request's idempotency record put into its extensions, if any.
fn request_unit(extensions: &axum::http::Extensions) -> Option<&agora_db::Unit> {
    extensions.get::<agora_idempotency::Unit>().and_then(|u| u.0.downcast_ref::<agora_db::Unit>())
}

/// The event bus of a unit of work: events wait for the unit to commit, so nobody hears of a
/// write that was rolled back.
struct AfterCommit {
    unit: agora_db::Unit,
    bus: Arc<dyn EventBus>,
}

impl EventBus for AfterCommit {
    fn publish(&self, event: DomainEvent) {
        let bus = self.bus.clone();
        self.unit.after_commit(Box::new(move || bus.publish(event)));
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<DomainEvent> {
        self.bus.subscribe()
    }
}

/// The request's state ([`AppState::for_request`]): what mutating handlers take instead of
/// `State<AppState>`.
pub struct Scoped(pub AppState);

impl axum::extract::FromRequestParts<AppState> for Scoped {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Scoped(state.for_request(&parts.extensions)))
    }
}

/// The request's state inside one unit of work, always: what handlers take whose operation
/// must commit whole or not at all (placing an order takes the stock of several products;
/// paying marks an order paid). With an idempotency record kept by the SQL store, it is the
/// record's unit, which the store commits; otherwise the request gets a unit of its own, which
/// [`Atomic::finish`] commits when the answer is a success (or the unit's writes are kept) and
/// rolls back otherwise. A request dropped before that rolls back with the dropped unit.
pub struct Atomic {
    /// The state whose services write through the unit.
    pub state: AppState,
    /// The unit this request owns (none when the idempotency store owns it).
    own: Option<agora_db::Unit>,
}

impl axum::extract::FromRequestParts<AppState> for Atomic {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(match request_unit(&parts.extensions) {
            Some(unit) => Atomic { state: state.in_unit(unit), own: None },
            None => {
                let unit = agora_db::Unit::new(state.db.clone());
                Atomic { state: state.in_unit(&unit), own: Some(unit) }
            }
        })
    }
}

impl Atomic {
    /// Ends the request's own unit with its answer: commit on success, else roll back.
    pub async fn finish(
        self,
        answer: crate::http::error::ApiResult<axum::response::Response>,
    ) -> crate::http::error::ApiResult<axum::response::Response> {
        let Some(unit) = self.own else { return answer };
        let success = matches!(&answer, Ok(res) if res.status().as_u16() < 400);
        match unit.finish(success).await {
            Ok(()) => answer,
            Err(e) => {
                tracing::warn!(error = %e, "cannot commit a unit of work");
                Err(agora_core::DomainError::new(
                    agora_core::ErrorCode::NotReady,
                    "The database did not confirm the write; nothing was changed. Retry shortly.",
                )
                .with_details(vec![agora_core::FieldError::new("database", "unavailable", "did not commit")])
                .into())
            }
        }
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
#[derive(Clone)]
pub struct Shared {
    /// Domain services.
    pub services: Services,
    /// The pool (readiness, pool metrics).
    pub db: Db,
    /// The repositories, to bind to a request's unit of work.
    pub store: SqlStore,
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
