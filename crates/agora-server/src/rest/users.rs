//! `/users`: sign-up, profiles, deletion.

use agora_core::list::parse_fields;
use agora_core::services::USERS;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::repr::UserOut;
use crate::auth::CurrentActor;
use crate::http::error::ApiResult;
use crate::http::etag::check_if_match;
use crate::http::extract::{JsonObject, PathId, QueryPairs, Version};
use crate::http::listing::{created_response, list_response, single_response, updated_response};
use crate::openapi::{params::*, responses::*, schemas::*};
use crate::state::AppState;

/// List users
///
/// A page of users, sortable, searchable by name (`q`) and pageable in three styles (v1
/// defaults to page style, v2 to cursor style). `email` appears only on the caller's own
/// record and for administrators.
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "list_users",
    tag = "users",
    security((), ("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    params(UserListParams),
    responses(
        (status = 200, description = "A page of users.", body = UserListResponse, headers(("Link" = String))),
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
    let lq = s.services.parse_list(&USERS, &q.0, v.default_style(), vec![])?;
    let page = s.services.users.list(&actor, &lq).await?;
    let items: Vec<UserOut> = page.items.iter().map(|u| UserOut::new(u, actor.is_self_or_admin(u.id))).collect();
    Ok(list_response(&items, &page.info, lq.fields.as_deref(), &uri))
}

/// Sign up
///
/// Public sign-up: creates an account; no credential is needed. The password is stored as an
/// Argon2id hash and never returned. Only administrators (a credential with the admin role and
/// the `admin` scope) may set `role`.
#[utoipa::path(
    post,
    path = "/users",
    operation_id = "create_user",
    tag = "users",
    security((), ("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    params(IdempotencyKey),
    request_body(content = UserCreate, description = "The new account."),
    responses(
        (
            status = 201, description = "Created. `Location` names the new user.", body = UserResponse,
            headers(("Location" = String), ("ETag" = String), ("Idempotency-Replay" = String))
        ),
        (status = 400, response = InvalidBody),
        (status = 403, response = ForbiddenRole),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = EmailConflictOrInProgress),
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
    let u = s.services.users.create(&actor, &body).await?;
    // The caller just chose this email, so showing it back reveals nothing.
    Ok(created_response(
        &UserOut::new(&u, true),
        format!("{}/users/{}", v.0.prefix(), u.id),
        UserOut::etag(&u, true, v, None),
    ))
}

/// Get a user
///
/// One user, with a strong `ETag`; `If-None-Match` with a matching tag answers 304. `email`
/// appears only for the user themself and administrators.
#[utoipa::path(
    get,
    path = "/users/{id}",
    operation_id = "get_user",
    tag = "users",
    security((), ("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    params(IdPath, UserFieldsParam, IfNoneMatch),
    responses(
        (status = 200, description = "The user.", body = UserResponse, headers(("ETag" = String))),
        (status = 304, response = NotModified),
        (status = 400, response = InvalidIdOrQuery),
        (status = 404, response = UserNotFound),
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
    let fields = q.get("fields").map(|f| parse_fields(&USERS, f)).transpose()?;
    let u = s.services.users.get(&actor, id).await?;
    let private = actor.is_self_or_admin(u.id);
    let tag = UserOut::etag(&u, private, v, fields.as_deref());
    Ok(single_response(&headers, &UserOut::new(&u, private), fields.as_deref(), tag))
}

async fn write(
    s: AppState,
    v: Version,
    actor: agora_core::Actor,
    id: i64,
    headers: HeaderMap,
    body: serde_json::Map<String, serde_json::Value>,
    replace: bool,
) -> ApiResult<Response> {
    let current = s.services.users.get(&actor, id).await?;
    let private = actor.is_self_or_admin(id);
    let expected = check_if_match(&headers, &UserOut::etag(&current, private, v, None))?.then_some(current.version);
    let u = s.services.users.update(&actor, id, &body, replace, expected).await?;
    let private = actor.is_self_or_admin(u.id);
    Ok(updated_response(&UserOut::new(&u, private), UserOut::etag(&u, private, v, None)))
}

/// Replace a user
///
/// Replaces name and email (both required); `password` and `role` are optional. The user
/// themself or an administrator only. Honours `If-Match`.
#[utoipa::path(
    put,
    path = "/users/{id}",
    operation_id = "replace_user",
    tag = "users",
    security(
        ("bearerAuth" = ["write"]), ("apiKeyHeader" = ["write"]), ("sessionCookie" = ["write"]), ("oauth2" = ["write"])
    ),
    params(IdPath, IfMatch),
    request_body(content = UserReplace, description = "The user's new state."),
    responses(
        (status = 200, description = "Replaced; the new representation.", body = UserResponse, headers(("ETag" = String))),
        (status = 400, response = InvalidIdOrBody),
        (status = 403, response = ForbiddenUserWrite),
        (status = 404, response = UserNotFound),
        (status = 409, response = EmailConflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed),
        BodyErrors,
        VersionedErrors,
    )
)]
pub async fn replace(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    write(s, v, actor, id, headers, body, true).await
}

/// Update a user
///
/// JSON merge patch: only the fields sent change. The user themself or an administrator only.
/// Honours `If-Match`.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    operation_id = "update_user",
    tag = "users",
    security(
        ("bearerAuth" = ["write"]), ("apiKeyHeader" = ["write"]), ("sessionCookie" = ["write"]), ("oauth2" = ["write"])
    ),
    params(IdPath, IfMatch, IdempotencyKey),
    request_body(
        description = "The fields to change.",
        content((UserPatch = "application/merge-patch+json"), (UserPatch = "application/json"))
    ),
    responses(
        (status = 200, description = "Updated; the new representation.", body = UserResponse, headers(("ETag" = String), ("Idempotency-Replay" = String))),
        (status = 400, response = InvalidIdOrBody),
        (status = 403, response = ForbiddenUserWrite),
        (status = 404, response = UserNotFound),
        (status = 409, response = EmailConflictOrInProgress),
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
    write(s, v, actor, id, headers, body, false).await
}

/// Delete a user
///
/// Deletes the account and its content. The user themself or an administrator only.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    operation_id = "delete_user",
    tag = "users",
    security(
        ("bearerAuth" = ["write"]), ("apiKeyHeader" = ["write"]), ("sessionCookie" = ["write"]), ("oauth2" = ["write"])
    ),
    params(IdPath),
    responses(
        (status = 204, description = "Deleted. No body."),
        (status = 400, response = InvalidId),
        (status = 403, response = Forbidden),
        (status = 404, response = UserNotFound),
        VersionedErrors,
    )
)]
pub async fn delete(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
) -> ApiResult<Response> {
    s.services.users.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
