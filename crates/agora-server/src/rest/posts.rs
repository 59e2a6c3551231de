//! `/posts` and `/users/{id}/posts`.

use agora_core::Actor;
use agora_core::list::parse_fields;
use agora_core::posts::{NewPost, POSTS, Post, PostPatch};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Representation;
use crate::errors;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentActor, PathId, QueryPairs, Version, Write, Writer};
use crate::http::routes::{Kind, Routes};
use crate::http::versioning::ApiVersion;
use crate::openapi::errors::Errors;
use crate::openapi::params::{FieldsParam, IdPath, IfMatch, IfNoneMatch, ListParams};
use crate::state::{AppState, Scoped};

/// The posts routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned)
        .route(utoipa_axum::routes!(list_by_user))
        .route(utoipa_axum::routes!(list, create))
        .route(utoipa_axum::routes!(get, patch, delete))
        .route(utoipa_axum::routes!(like, unlike))
}

/// A post as clients see it. The count of comments is `comments_count` in v2 (the
/// contract's name) and keeps its v1 name, `comment_count`, in v1.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostOut {
    /// Id.
    pub id: i64,
    /// Author's user id.
    pub author_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Number of likes (each user counts once).
    pub likes: i64,
    /// Number of comments (v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub comments_count: Option<i64>,
    /// Number of comments (v1 only; `comments_count` in v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub comment_count: Option<i64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Representation for PostOut {
    type Entity = Post;
    const KIND: &'static str = "post";

    fn of(p: &Post, _viewer: &Actor, v: Version) -> Self {
        let v1 = v.0 == ApiVersion::V1;
        Self {
            id: p.id,
            author_id: p.author_id,
            title: p.title.clone(),
            content: p.content.clone(),
            likes: p.likes,
            comments_count: (!v1).then_some(p.comment_count),
            comment_count: v1.then_some(p.comment_count),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }

    fn identity(p: &Post) -> (i64, i64) {
        (p.id, p.version)
    }
}

/// List posts
///
/// A page of posts, newest first by default, searchable in title and content (`q`) and
/// filterable by `author_id`. v1 defaults to page style, v2 to cursor style.
#[utoipa::path(
    get,
    path = "/posts",
    operation_id = "list_posts",
    tag = "posts",
    security((), ("user" = [])),
    params(ListParams<Post>),
    responses(
        (status = 200, description = "A page of posts.", body = ListEnvelope<PostOut>, headers(("Link" = String))),
        Errors<{ errors![InvalidQuery] }>,
    )
)]
pub async fn list(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    q: QueryPairs,
    uri: Uri,
) -> ApiResult<Response> {
    let page = s.services.posts.list(&actor, &q.list(v)).await?;
    Ok(PostOut::page(&page, &actor, v, &uri))
}

/// List a user's posts
///
/// The posts written by one user, with the same query parameters as `GET /posts`.
#[utoipa::path(
    get,
    path = "/users/{id}/posts",
    operation_id = "list_user_posts",
    tag = "posts",
    security((), ("user" = [])),
    params(IdPath, ListParams<Post>),
    responses(
        (status = 200, description = "A page of the user's posts.", body = ListEnvelope<PostOut>, headers(("Link" = String))),
        Errors<{ errors![InvalidQuery, UserNotFound] }>,
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
    let page = s.services.posts.list_by_author(&actor, user_id, &q.list(v)).await?;
    Ok(PostOut::page(&page, &actor, v, &uri))
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
    security(("user" = ["write"])),
    request_body(content = NewPost, description = "The new post."),
    responses(
        (
            status = 201, description = "Created. `Location` names the new post.", body = Envelope<PostOut>,
            headers(("Location" = String), ("ETag" = String))
        ),
        Errors<{ errors![Forbidden, ValidationError] }>,
    )
)]
pub async fn create(Scoped(s): Scoped, v: Version, Write(actor, input): Write<NewPost>) -> ApiResult<Response> {
    let p = s.services.posts.create(&actor, input).await?;
    Ok(PostOut::created(v, &actor, &p, "posts"))
}

/// Get a post
///
/// One post, with a strong `ETag`; `If-None-Match` with a matching tag answers 304.
#[utoipa::path(
    get,
    path = "/posts/{id}",
    operation_id = "get_post",
    tag = "posts",
    security((), ("user" = [])),
    params(IdPath, FieldsParam<Post>, IfNoneMatch),
    responses(
        (status = 200, description = "The post.", body = Envelope<PostOut>, headers(("ETag" = String))),
        (status = 304, description = "Not Modified: `If-None-Match` matched the current ETag. No body.", headers(("ETag" = String))),
        Errors<{ errors![InvalidQuery, PostNotFound] }>,
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
    Ok(PostOut::found(&headers, v, &actor, &p, fields.as_deref()))
}

/// Update a post
///
/// JSON merge patch of `title` and/or `content`, by the author only. Honours `If-Match`.
#[utoipa::path(
    patch,
    path = "/posts/{id}",
    operation_id = "update_post",
    tag = "posts",
    security(("user" = ["write"])),
    params(IdPath, IfMatch),
    request_body(
        description = "The fields to change.",
        content((PostPatch = "application/merge-patch+json"), (PostPatch = "application/json"))
    ),
    responses(
        (status = 200, description = "Updated; the new representation.", body = Envelope<PostOut>, headers(("ETag" = String))),
        Errors<{ errors![Forbidden, PostNotFound, PreconditionFailed, ValidationError] }>,
    )
)]
pub async fn patch(
    Scoped(s): Scoped,
    v: Version,
    PathId(id): PathId,
    headers: HeaderMap,
    Write(actor, input): Write<PostPatch>,
) -> ApiResult<Response> {
    let current = s.services.posts.get(&actor, id).await?;
    let expected = PostOut::precondition(&headers, v, &actor, &current)?;
    let p = s.services.posts.update(&actor, id, input, expected).await?;
    Ok(PostOut::updated(v, &actor, &p))
}

/// Delete a post
///
/// Removes a post: its author or an administrator.
#[utoipa::path(
    delete,
    path = "/posts/{id}",
    operation_id = "delete_post",
    tag = "posts",
    security(("user" = ["write"])),
    params(IdPath),
    responses(
        (status = 204, description = "Deleted. No body."),
        Errors<{ errors![Forbidden, PostNotFound] }>,
    )
)]
pub async fn delete(State(s): State<AppState>, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    s.services.posts.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Like a post
///
/// The caller likes the post. Idempotent: liking again changes nothing, and the post's `likes`
/// counts each user once.
#[utoipa::path(
    put,
    path = "/posts/{id}/like",
    operation_id = "like_post",
    tag = "posts",
    security(("user" = ["write"])),
    params(IdPath),
    responses(
        (status = 204, description = "The caller likes the post (now or already). No body."),
        Errors<{ errors![Forbidden, PostNotFound] }>,
    )
)]
pub async fn like(State(s): State<AppState>, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    s.services.posts.like(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Unlike a post
///
/// The caller no longer likes the post. Idempotent: 204 whether or not it did.
#[utoipa::path(
    delete,
    path = "/posts/{id}/like",
    operation_id = "unlike_post",
    tag = "posts",
    security(("user" = ["write"])),
    params(IdPath),
    responses(
        (status = 204, description = "The caller does not like the post (any more). No body."),
        Errors<{ errors![Forbidden, PostNotFound] }>,
    )
)]
pub async fn unlike(State(s): State<AppState>, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    s.services.posts.unlike(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
