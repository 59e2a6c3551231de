//! `Idempotency-Key` in Agora: which operations honour it, whose scope a key belongs to, how
//! a refusal looks, and which store keeps the records (`[idempotency]` in the configuration).
//!
//! The mechanism is `agora-idempotency`'s layer; what is Agora's is here. The operations come
//! from the route table (every `POST` and `PATCH` declared with `Routes::route`), the required
//! ones from `idempotency.required`; both the layer and the OpenAPI document read
//! [`KeyRules`], so the document lists the header exactly where the server honours it.

use std::sync::Arc;
use std::time::Duration;

use agora_core::{Actor, ErrorCode, FieldError};
use agora_idempotency::{IdempotencyLayer, MemoryStore, Refusal, Rule, Settings, Store};
use axum::body::Body;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::routes::RouteTable;

/// Which requests honour keys and which require them.
#[derive(Clone, Debug)]
pub struct KeyRules {
    table: Arc<RouteTable>,
    required: Vec<String>,
}

impl KeyRules {
    /// The rules of `table` with the `required` globs (`"POST /v*/charges"`).
    pub fn new(table: Arc<RouteTable>, required: Vec<String>) -> Self {
        Self { table, required }
    }

    /// The route table the rules read.
    pub fn table(&self) -> &RouteTable {
        &self.table
    }

    /// What `method path` does with a key.
    pub fn rule(&self, method: &Method, path: &str) -> Rule {
        if !self.table.honours_keys(method, path) {
            Rule::Ignore
        } else if self.required.iter().any(|g| agora_ratelimit::route_matches(g, method.as_str(), path)) {
            Rule::Require
        } else {
            Rule::Honour
        }
    }
}

/// Checks `[idempotency] required`: each entry is `"<POST|PATCH|*> /path-glob"`.
pub fn validate_required(globs: &[String]) -> Result<(), String> {
    for (i, g) in globs.iter().enumerate() {
        let ok = g.split_once(' ').is_some_and(|(m, p)| matches!(m, "POST" | "PATCH" | "*") && p.starts_with('/'));
        if !ok {
            return Err(format!(
                "`idempotency.required[{i}]`: `{g}` must be a method (POST, PATCH or *) and a path glob, \
                 like \"POST /v*/charges\""
            ));
        }
    }
    Ok(())
}

/// A key's scope: the principal. Keys of different users never meet; every anonymous caller
/// shares the `anonymous` scope (there is nobody to tell them apart by).
pub fn scope_of(actor: Option<&Actor>) -> String {
    actor.map_or_else(|| Actor::Anonymous.label(), Actor::label)
}

/// A refusal in the envelope (or problem details) every other error uses.
pub fn refusal(r: Refusal) -> Response {
    let err = match r {
        Refusal::MissingKey => ApiError::from(ErrorCode::MissingIdempotencyKey),
        Refusal::InvalidKey(e) => {
            let why = e.map_or_else(|| "send one Idempotency-Key header, not several".to_string(), |e| e.to_string());
            ApiError::new(ErrorCode::InvalidRequest, "The Idempotency-Key header is not a valid key.")
                .with_details(vec![FieldError::new("Idempotency-Key", "invalid_format", why)])
        }
        Refusal::InProgress(after) => ApiError::from(ErrorCode::RequestInProgress)
            .with_header(header::RETRY_AFTER, HeaderValue::from(after.as_secs().max(1))),
        Refusal::KeyReused => ApiError::from(ErrorCode::IdempotencyKeyReused),
        Refusal::BodyTooLarge => ApiError::from(ErrorCode::PayloadTooLarge),
        Refusal::BodyUnreadable => ApiError::invalid_request("The request body could not be read."),
        Refusal::Unavailable => {
            ApiError::new(ErrorCode::NotReady, "Idempotency records are unavailable; retry shortly.").with_details(
                vec![FieldError::new("idempotency", "unavailable", "the idempotency store did not answer")],
            )
        }
    };
    err.into_response()
}

/// How long a reservation holds its key: past the longest a request may run, so that only a
/// holder that died loses it.
pub fn lease(config: &Config) -> Duration {
    config.request_timeout + Duration::from_secs(2)
}

/// The layer over `store`.
pub fn layer(config: &Config, rules: KeyRules, store: Arc<dyn Store>) -> IdempotencyLayer<Body> {
    let settings = Settings {
        lease: lease(config),
        ttl: config.idempotency.ttl,
        max_body: config.body_limit_bytes,
        ..Settings::default()
    };
    IdempotencyLayer::new(
        store,
        settings,
        move |parts| rules.rule(&parts.method, parts.uri.path()),
        |parts| scope_of(parts.extensions.get::<Actor>()),
        refusal,
    )
    // The request id (and problem+json choice) go with the request onto its own task.
    .with_task_context(|work| Box::pin(crate::http::ctx::carry(work)))
}

/// The store `idempotency.backend` names.
pub fn store(
    config: &Config,
    db: &agora_db::Db,
    redis: Option<&agora_redis::RedisCredentials>,
) -> Result<Arc<dyn Store>, String> {
    match config.idempotency.backend.as_str() {
        "memory" => Ok(Arc::new(MemoryStore::default())),
        "redis" => match redis {
            Some(r) => Ok(Arc::new(agora_idempotency::RedisStore::new(r.connection(), "agora"))),
            None => Err("`idempotency.backend` = \"redis\" needs `redis_url`".into()),
        },
        _ => Ok(Arc::new(agora_db::SqlIdempotencyStore::new(db.clone()))),
    }
}

/// How often expired records are purged.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Purges expired records every [`PURGE_EVERY`] in the background, off every request's path,
/// until the process ends.
pub fn spawn_purger(store: Arc<dyn Store>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store.purge_expired().await {
                Ok(0) => {}
                Ok(n) => metrics::counter!(agora_idempotency::metrics_names::PURGED_TOTAL).increment(n),
                Err(e) => tracing::warn!(error = %e, "idempotency: purging expired records failed; will retry"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_globs_are_checked() {
        assert!(validate_required(&["POST /v*/charges".into(), "* /v2/users/*/orders".into()]).is_ok());
        for bad in ["GET /v2/users", "POST", "POST v2/users", "/v2/users"] {
            assert!(validate_required(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_separate_principals() {
        use agora_core::actor::Role;
        assert_eq!(scope_of(None), "anonymous");
        assert_eq!(scope_of(Some(&Actor::Anonymous)), "anonymous");
        assert_eq!(scope_of(Some(&Actor::user(7, Role::User))), "user:7");
        assert_ne!(scope_of(Some(&Actor::user(7, Role::User))), scope_of(Some(&Actor::user(8, Role::User))));
    }
}
