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
use crate::openapi::{params::*, responses::*, schemas::*};
use crate::state::AppState;

/// List posts
///
/// A page of posts, newest first by default, searchable in title and content (`q`) and
/// filterable by `author_id`. v1 defaults to page style, v2 to cursor style.
#[utoipa::path(
    get,
    path = "/posts",
    operation_id = "list_posts",
    tag = "posts",
    security((), ("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    params(PostListParams),
    responses(
        (status = 200, description = "A page of posts.", body = PostListResponse, headers(("Link" = String))),
        (status = 400, response = InvalidQuery),
        (status = 404, response = UnsupportedVersion),
        VersionedErrors,
    )
)]
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

/// List a user's posts
///
/// The posts written by one user, with the same query parameters as `GET /posts`.
#[utoipa::path(
    get,
    path = "/users/{id}/posts",
    operation_id = "list_user_posts",
    tag = "posts",
    security((), ("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    params(IdPath, PostListParams),
    responses(
        (status = 200, description = "A page of the user's posts.", body = PostListResponse, headers(("Link" = String))),
        (status = 400, response = InvalidIdOrQuery),
        (status = 404, response = UserNotFound),
        VersionedErrors,
    )
)]
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

/// Create a post
///
/// Publishes a post by the caller, who becomes its author. Needs a user credential with the
/// `write` scope (an OAuth client's own token cannot write posts).
#[utoipa::path(
    post,
    path = "/posts",
    operation_id = "create_post",
    tag = "posts",
    security(
        ("bearerAuth" = ["write"]), ("apiKeyHeader" = ["write"]), ("sessionCookie" = ["write"]), ("oauth2" = ["write"])
    ),
    params(IdempotencyKey),
    request_body(content = PostCreate, description = "The new post."),
    responses(
        (
            status = 201, description = "Created. `Location` names the new post.", body = PostResponse,
            headers(("Location" = String), ("ETag" = String), ("Idempotency-Replay" = String))
        ),
        (status = 400, response = InvalidBody),
        (status = 403, response = Forbidden),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = RequestInProgress),
        (status = 422, response = ValidationFailedOrKeyReused),
        BodyErrors,
        VersionedErrors,
    )
)]
pub async fn create(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let p = s.services.posts.create(&actor, &body).await?;
    Ok(created_response(&PostOut::from(&p), format!("{}/posts/{}", v.0.prefix(), p.id), PostOut::etag(&p, v, None)))
}

/// Get a post
///
/// One post, with a strong `ETag`; `If-None-Match` with a matching tag answers 304.
#[utoipa::path(
    get,
    path = "/posts/{id}",
    operation_id = "get_post",
    tag = "posts",
    security((), ("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    params(IdPath, PostFieldsParam, IfNoneMatch),
    responses(
        (status = 200, description = "The post.", body = PostResponse, headers(("ETag" = String))),
        (status = 304, response = NotModified),
        (status = 400, response = InvalidIdOrQuery),
        (status = 404, response = PostNotFound),
        VersionedErrors,
    )
)]
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

/// Update a post
///
/// JSON merge patch of `title` and/or `content`, by the author only. Honours `If-Match`.
#[utoipa::path(
    patch,
    path = "/posts/{id}",
    operation_id = "update_post",
    tag = "posts",
    security(
        ("bearerAuth" = ["write"]), ("apiKeyHeader" = ["write"]), ("sessionCookie" = ["write"]), ("oauth2" = ["write"])
    ),
    params(IdPath, IfMatch, IdempotencyKey),
    request_body(
        description = "The fields to change.",
        content((PostPatch = "application/merge-patch+json"), (PostPatch = "application/json"))
    ),
    responses(
        (status = 200, description = "Updated; the new representation.", body = PostResponse, headers(("ETag" = String), ("Idempotency-Replay" = String))),
        (status = 400, response = InvalidIdOrBody),
        (status = 403, response = Forbidden),
        (status = 404, response = PostNotFound),
        (status = 409, response = RequestInProgress),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailedOrKeyReused),
        BodyErrors,
        VersionedErrors,
    )
)]
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

/// Delete a post
///
/// By its author or an administrator.
#[utoipa::path(
    delete,
    path = "/posts/{id}",
    operation_id = "delete_post",
    tag = "posts",
    security(
        ("bearerAuth" = ["write"]), ("apiKeyHeader" = ["write"]), ("sessionCookie" = ["write"]), ("oauth2" = ["write"])
    ),
    params(IdPath),
    responses(
        (status = 204, description = "Deleted. No body."),
        (status = 400, response = InvalidId),
        (status = 403, response = Forbidden),
        (status = 404, response = PostNotFound),
        VersionedErrors,
    )
)]
pub async fn delete(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
) -> ApiResult<Response> {
    s.services.posts.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
