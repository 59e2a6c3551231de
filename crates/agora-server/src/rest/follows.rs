//! `/users/{id}/following/{target_id}`, `/users/{id}/followers` and `/users/{id}/following`.

use agora_core::users::User;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::Representation;
use super::users::UserOut;
use crate::errors;
use crate::http::envelope::ListEnvelope;
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentActor, PathId, PathIds, QueryPairs, Version, Writer};
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::openapi::params::{FollowPath, IdPath, ListParams};
use crate::state::AppState;

/// The follows routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned)
        .route(utoipa_axum::routes!(follow, unfollow))
        .route(utoipa_axum::routes!(followers))
        .route(utoipa_axum::routes!(following))
}

/// Follow a user
///
/// User `id` follows user `target_id`. Only user `id` itself (or an administrator) may do it.
/// Idempotent: 204 whether or not it already followed. A user cannot follow itself (422).
#[utoipa::path(
    put,
    path = "/users/{id}/following/{target_id}",
    operation_id = "follow_user",
    tag = "follows",
    security(("user" = ["write"])),
    params(FollowPath),
    responses(
        (status = 204, description = "`id` follows `target_id` (now or already). No body."),
        Errors<{ errors![Forbidden, UserNotFound, ValidationError] }>,
    )
)]
pub async fn follow(
    State(s): State<AppState>,
    PathIds(id, target): PathIds,
    Writer(actor): Writer,
) -> ApiResult<Response> {
    s.services.follows.follow(&actor, id, target).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Unfollow a user
///
/// User `id` stops following user `target_id`. Idempotent: 204 whether or not it followed.
#[utoipa::path(
    delete,
    path = "/users/{id}/following/{target_id}",
    operation_id = "unfollow_user",
    tag = "follows",
    security(("user" = ["write"])),
    params(FollowPath),
    responses(
        (status = 204, description = "`id` does not follow `target_id` (any more). No body."),
        Errors<{ errors![Forbidden, UserNotFound, ValidationError] }>,
    )
)]
pub async fn unfollow(
    State(s): State<AppState>,
    PathIds(id, target): PathIds,
    Writer(actor): Writer,
) -> ApiResult<Response> {
    s.services.follows.unfollow(&actor, id, target).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// List a user's followers
///
/// The users who follow user `id`, with the query parameters of `GET /users`.
#[utoipa::path(
    get,
    path = "/users/{id}/followers",
    operation_id = "list_followers",
    tag = "follows",
    security((), ("user" = [])),
    params(IdPath, ListParams<User>),
    responses(
        (status = 200, description = "A page of followers.", body = ListEnvelope<UserOut>, headers(("Link" = String))),
        Errors<{ errors![InvalidQuery, UserNotFound] }>,
    )
)]
pub async fn followers(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
    q: QueryPairs,
    uri: Uri,
) -> ApiResult<Response> {
    let page = s.services.follows.followers(&actor, id, &q.list(v)).await?;
    Ok(UserOut::page(&page, &actor, v, &uri))
}

/// List whom a user follows
///
/// The users user `id` follows, with the query parameters of `GET /users`.
#[utoipa::path(
    get,
    path = "/users/{id}/following",
    operation_id = "list_following",
    tag = "follows",
    security((), ("user" = [])),
    params(IdPath, ListParams<User>),
    responses(
        (status = 200, description = "A page of followed users.", body = ListEnvelope<UserOut>, headers(("Link" = String))),
        Errors<{ errors![InvalidQuery, UserNotFound] }>,
    )
)]
pub async fn following(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
    q: QueryPairs,
    uri: Uri,
) -> ApiResult<Response> {
    let page = s.services.follows.following(&actor, id, &q.list(v)).await?;
    Ok(UserOut::page(&page, &actor, v, &uri))
}
