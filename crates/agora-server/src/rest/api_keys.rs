//! `/api-keys`: the caller's API keys.

use agora_core::actor::Scopes;
use agora_core::auth::{ApiKey, NewApiKey};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::errors;
use crate::http::envelope::{CursorPagination, Envelope, ListEnvelope, Meta, Pagination, json_response, to_bytes};
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentActor, PathId, Version, Write, Writer};
use crate::http::listing::created_response;
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::openapi::params::IdPath;
use crate::state::AppState;

/// The API key routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned).secret_response(utoipa_axum::routes!(list, create)).route(utoipa_axum::routes!(delete))
}

/// An API key (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    /// Id.
    pub id: i64,
    /// Label.
    pub name: String,
    /// The public prefix, also the key's second `_`-separated part; tells keys apart.
    #[schema(example = "Ab12Cd34")]
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Scopes,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last successful use (updated at most once a minute), or null.
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&ApiKey> for ApiKeyOut {
    fn from(k: &ApiKey) -> Self {
        ApiKeyOut {
            id: k.id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scopes: k.scopes,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A new API key, with its secret — shown this once; only a hash is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    /// The key's record.
    #[serde(flatten)]
    pub api_key: ApiKeyOut,
    /// The key: send it as `X-API-Key`. **Shown only in this response.**
    #[schema(example = "agora_Ab12Cd34_9fQ2xL7mV3pK8nR1tY6wZ0bC4dF5gH")]
    pub key: String,
}

/// List my API keys
///
/// The caller's keys, all in one page, without their secrets (those are shown only at creation).
#[utoipa::path(
    get,
    path = "/api-keys",
    operation_id = "list_api_keys",
    tag = "api-keys",
    security(("user" = [])),
    responses(
        (status = 200, description = "The caller's keys, in one page.", body = ListEnvelope<ApiKeyOut>),
        Errors<{ errors![Unauthenticated] }>,
    )
)]
pub async fn list(State(s): State<AppState>, CurrentActor(actor): CurrentActor) -> ApiResult<Response> {
    let keys = s.services.auth.list_api_keys(&actor).await?;
    let data: Vec<ApiKeyOut> = keys.iter().map(ApiKeyOut::from).collect();
    let pagination = Pagination::Cursor(CursorPagination {
        // One page holds every key: a user has at most this many.
        limit: agora_core::auth::MAX_API_KEYS as u64,
        next_cursor: None,
        prev_cursor: None,
        has_more: false,
        total: None,
        total_is_estimate: None,
    });
    Ok(json_response(StatusCode::OK, to_bytes(&ListEnvelope { success: true, data, pagination, meta: Meta::now() })))
}

/// Create an API key
///
/// Mints a key for the caller, with at most the scopes of the caller's credential. The secret
/// (`key`) is in this response only; the server keeps a hash.
#[utoipa::path(
    post,
    path = "/api-keys",
    operation_id = "create_api_key",
    tag = "api-keys",
    request_body(content = NewApiKey, description = "The key's label and scopes."),
    security(("user" = ["write"])),
    responses(
        (
            status = 201, description = "Created. `data.key` is the secret, shown this once.",
            body = Envelope<ApiKeyCreated>, headers(("Location" = String))
        ),
        Errors<{ errors![Forbidden, ValidationError, LimitReached] }>,
    )
)]
pub async fn create(
    State(s): State<AppState>,
    v: Version,
    Write(actor, input): Write<NewApiKey>,
) -> ApiResult<Response> {
    let minted = s.services.auth.create_api_key(&actor, input).await?;
    let location = format!("{}/api-keys/{}", v.0.prefix(), minted.record.id);
    let data = ApiKeyCreated { api_key: ApiKeyOut::from(&minted.record), key: minted.secret };
    Ok(created_response(&data, location, None))
}

/// Revoke an API key
///
/// Deletes one of the caller's keys; it stops working at once.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    operation_id = "delete_api_key",
    tag = "api-keys",
    params(IdPath),
    security(("user" = ["write"])),
    responses(
        (status = 204, description = "Revoked. No body."),
        Errors<{ errors![Forbidden, ApiKeyNotFound] }>,
    )
)]
pub async fn delete(State(s): State<AppState>, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    s.services.auth.delete_api_key(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
