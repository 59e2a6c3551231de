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
use crate::state::AppState;

/// `GET /users`
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

/// `POST /users` — public sign-up.
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

/// `GET /users/{id}`
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

/// `PUT /users/{id}` — replaces name and email (password and role optional).
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

/// `PATCH /users/{id}` — JSON merge patch.
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

/// `DELETE /users/{id}`
pub async fn delete(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
) -> ApiResult<Response> {
    s.services.users.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
