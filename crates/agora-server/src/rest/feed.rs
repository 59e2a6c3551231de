//! `/feed`.

use agora_core::posts::Post;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;

use super::Representation;
use super::posts::PostOut;
use crate::errors;
use crate::http::envelope::ListEnvelope;
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentActor, QueryPairs, Version};
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::openapi::params::CursorListParams;
use crate::state::AppState;

/// The feed route.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned).route(utoipa_axum::routes!(list_feed))
}

/// The caller's feed
///
/// Posts by the users the caller follows, newest first, in cursor pages (`limit` ≤ 100, then
/// `cursor`) in both versions. A new follow shows on the next page, and an unfollow removes
/// that author's posts from it. Page numbers and offsets are refused (400): the feed is read
/// by keyset, never by skipping rows.
#[utoipa::path(
    get,
    path = "/feed",
    operation_id = "list_feed",
    tag = "posts",
    security(("user" = ["read"])),
    params(CursorListParams<Post>),
    responses(
        (status = 200, description = "A page of the feed.", body = ListEnvelope<PostOut>, headers(("Link" = String))),
        Errors<{ errors![Forbidden, InvalidQuery] }>,
    )
)]
pub async fn list_feed(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    q: QueryPairs,
    uri: Uri,
) -> ApiResult<Response> {
    let page = s.services.feed.feed(&actor, &q.list(v)).await?;
    Ok(PostOut::page(&page, &actor, v, &uri))
}
