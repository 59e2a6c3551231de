//! `/posts/{id}/comments` and `/comments/{id}`.

use agora_core::Actor;
use agora_core::comments::{COMMENTS, Comment, NewComment};
use agora_core::list::parse_fields;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::Representation;
use crate::errors;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentActor, PathId, QueryPairs, Version, Write, Writer};
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::openapi::params::{FieldsParam, IdPath, IfNoneMatch, ListParams};
use crate::state::{AppState, Scoped};

/// The comments routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned).route(utoipa_axum::routes!(list, create)).route(utoipa_axum::routes!(get, delete))
}

/// A comment as clients see it: the entity itself.
pub type CommentOut = Comment;

impl Representation for CommentOut {
    type Entity = Comment;
    const KIND: &'static str = "comment";

    fn of(c: &Comment, _viewer: &Actor, _v: Version) -> Self {
        c.clone()
    }

    /// Comments are never edited: every comment is its first and only version.
    fn identity(c: &Comment) -> (i64, i64) {
        (c.id, 1)
    }
}

/// List a post's comments
///
/// The comments on post `id`, oldest first by default, searchable in their text (`q`).
#[utoipa::path(
    get,
    path = "/posts/{id}/comments",
    operation_id = "list_comments",
    tag = "comments",
    security((), ("user" = [])),
    params(IdPath, ListParams<Comment>),
    responses(
        (status = 200, description = "A page of comments.", body = ListEnvelope<Comment>, headers(("Link" = String))),
        Errors<{ errors![InvalidQuery, PostNotFound] }>,
    )
)]
pub async fn list(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    PathId(post_id): PathId,
    q: QueryPairs,
    uri: Uri,
) -> ApiResult<Response> {
    let page = s.services.comments.list(&actor, post_id, &q.list(v)).await?;
    Ok(CommentOut::page(&page, &actor, v, &uri))
}

/// Comment on a post
///
/// The caller comments on post `id`. `Location` names the new comment.
#[utoipa::path(
    post,
    path = "/posts/{id}/comments",
    operation_id = "create_comment",
    tag = "comments",
    security(("user" = ["write"])),
    params(IdPath),
    request_body(content = NewComment, description = "The comment."),
    responses(
        (
            status = 201, description = "Created. `Location` names the new comment.", body = Envelope<Comment>,
            headers(("Location" = String), ("ETag" = String))
        ),
        Errors<{ errors![Forbidden, PostNotFound, ValidationError] }>,
    )
)]
pub async fn create(
    Scoped(s): Scoped,
    v: Version,
    PathId(post_id): PathId,
    Write(actor, input): Write<NewComment>,
) -> ApiResult<Response> {
    let c = s.services.comments.create(&actor, post_id, input).await?;
    Ok(CommentOut::created(v, &actor, &c, "comments"))
}

/// Get a comment
///
/// One comment, with a strong `ETag`.
#[utoipa::path(
    get,
    path = "/comments/{id}",
    operation_id = "get_comment",
    tag = "comments",
    security((), ("user" = [])),
    params(IdPath, FieldsParam<Comment>, IfNoneMatch),
    responses(
        (status = 200, description = "The comment.", body = Envelope<Comment>, headers(("ETag" = String))),
        (status = 304, description = "Not modified (`If-None-Match` matched)."),
        Errors<{ errors![CommentNotFound] }>,
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
    let fields = q.get("fields").map(|f| parse_fields(&COMMENTS, f)).transpose()?;
    let c = s.services.comments.get(&actor, id).await?;
    Ok(CommentOut::found(&headers, v, &actor, &c, fields.as_deref()))
}

/// Delete a comment
///
/// Removes a comment: its author, the post's author or an administrator.
#[utoipa::path(
    delete,
    path = "/comments/{id}",
    operation_id = "delete_comment",
    tag = "comments",
    security(("user" = ["write"])),
    params(IdPath),
    responses(
        (status = 204, description = "Deleted. No body."),
        Errors<{ errors![Forbidden, CommentNotFound] }>,
    )
)]
pub async fn delete(State(s): State<AppState>, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    s.services.comments.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
