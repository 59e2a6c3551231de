//! `/posts` and `/users/{id}/posts`.

use agora_core::list::{Filter, FilterOp, Value, parse_fields};
use agora_core::services::POSTS;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::repr::PostOut;
use crate::auth::CurrentActor;
use crate::http::error::ApiResult;
use crate::http::etag::check_if_match;
use crate::http::extract::{JsonObject, PathId, QueryPairs, Version};
use crate::http::listing::{created_response, list_response, single_response, updated_response};
use crate::state::AppState;

/// `GET /posts`
pub async fn list(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    q: QueryPairs,
    uri: Uri,
) -> ApiResult<Response> {
    let lq = s.services.parse_list(&POSTS, &q.0, v.default_style(), vec![])?;
    let page = s.services.posts.list(&actor, &lq).await?;
    let items: Vec<PostOut> = page.items.iter().map(PostOut::from).collect();
    Ok(list_response(&items, &page.info, lq.fields.as_deref(), &uri))
}

/// `GET /users/{id}/posts`
pub async fn list_by_user(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    PathId(user_id): PathId,
    q: QueryPairs,
    uri: Uri,
) -> ApiResult<Response> {
    s.services.posts.ensure_author_exists(user_id).await?;
    let scope = vec![Filter { column: "author_id", op: FilterOp::Eq, value: Value::Int(user_id) }];
    let lq = s.services.parse_list(&POSTS, &q.0, v.default_style(), scope)?;
    let page = s.services.posts.list(&actor, &lq).await?;
    let items: Vec<PostOut> = page.items.iter().map(PostOut::from).collect();
    Ok(list_response(&items, &page.info, lq.fields.as_deref(), &uri))
}

/// `POST /posts`
pub async fn create(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let p = s.services.posts.create(&actor, &body).await?;
    Ok(created_response(&PostOut::from(&p), format!("{}/posts/{}", v.0.prefix(), p.id), PostOut::etag(&p, v, None)))
}

/// `GET /posts/{id}`
pub async fn get(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
    q: QueryPairs,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let fields = q.get("fields").map(|f| parse_fields(&POSTS, f)).transpose()?;
    let p = s.services.posts.get(&actor, id).await?;
    let tag = PostOut::etag(&p, v, fields.as_deref());
    Ok(single_response(&headers, &PostOut::from(&p), fields.as_deref(), tag))
}

/// `PATCH /posts/{id}` — the author edits title or content.
pub async fn patch(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let current = s.services.posts.get(&actor, id).await?;
    let expected = check_if_match(&headers, &PostOut::etag(&current, v, None))?.then_some(current.version);
    let p = s.services.posts.update(&actor, id, &body, expected).await?;
    Ok(updated_response(&PostOut::from(&p), PostOut::etag(&p, v, None)))
}

/// `DELETE /posts/{id}`
pub async fn delete(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
) -> ApiResult<Response> {
    s.services.posts.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
