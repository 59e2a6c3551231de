//! `/users`: sign-up, profiles, deletion, and `/users/me`.

use agora_core::Actor;
use agora_core::list::parse_fields;
use agora_core::users::{NewUser, USERS, User, UserPatch, UserReplace};
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
use crate::http::extract::{Body, CurrentActor, PathId, QueryPairs, Version, Write, Writer};
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::openapi::params::{FieldsParam, IdPath, IfMatch, IfNoneMatch, ListParams};
use crate::state::{AppState, Scoped};

/// The users routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned)
        .route(utoipa_axum::routes!(list, create))
        .route(utoipa_axum::routes!(me))
        .route(utoipa_axum::routes!(get, replace, patch, delete))
}

/// A user as clients see it. `email` appears only to the user themself and to admins.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Email, shown only to the user and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// `user` or `admin`.
    pub role: agora_core::actor::Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Users who follow this one.
    pub followers_count: i64,
    /// Users this one follows.
    pub following_count: i64,
}

impl Representation for UserOut {
    type Entity = User;
    const KIND: &'static str = "user";

    /// The email is shown to the user themself and to administrators.
    fn of(u: &User, viewer: &Actor, _v: Version) -> Self {
        Self::with_email(u, viewer.is_self_or_admin(u.id))
    }

    fn identity(u: &User) -> (i64, i64) {
        (u.id, u.version)
    }

    fn private(u: &User, viewer: &Actor) -> bool {
        viewer.is_self_or_admin(u.id)
    }
}

impl UserOut {
    /// The representation, with the email or without.
    pub fn with_email(u: &User, private: bool) -> Self {
        Self {
            id: u.id,
            name: u.name.clone(),
            email: private.then(|| u.email.clone()),
            role: u.role,
            created_at: u.created_at,
            updated_at: u.updated_at,
            followers_count: u.followers_count,
            following_count: u.following_count,
        }
    }
}

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
    security((), ("user" = [])),
    params(ListParams<User>),
    responses(
        (status = 200, description = "A page of users.", body = ListEnvelope<UserOut>, headers(("Link" = String))),
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
    let page = s.services.users.list(&actor, &q.list(v)).await?;
    Ok(UserOut::page(&page, &actor, v, &uri))
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
    security((), ("user" = [])),
    request_body(content = NewUser, description = "The new account."),
    responses(
        (
            status = 201, description = "Created. `Location` names the new user.", body = Envelope<UserOut>,
            headers(("Location" = String), ("ETag" = String))
        ),
        Errors<{ errors![Forbidden, Conflict, ValidationError, ServerBusy] }>,
    )
)]
pub async fn create(
    Scoped(s): Scoped,
    v: Version,
    CurrentActor(actor): CurrentActor,
    Body(input): Body<NewUser>,
) -> ApiResult<Response> {
    let u = s.services.users.create(&actor, input).await?;
    // Shown as to its owner: the caller just chose this email, so showing it back reveals nothing.
    Ok(UserOut::created(v, &Actor::user(u.id, u.role), &u, "users"))
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
    security((), ("user" = [])),
    params(IdPath, FieldsParam<User>, IfNoneMatch),
    responses(
        (status = 200, description = "The user.", body = Envelope<UserOut>, headers(("ETag" = String))),
        (status = 304, description = "Not Modified: `If-None-Match` matched the current ETag. No body.", headers(("ETag" = String))),
        Errors<{ errors![InvalidQuery, UserNotFound] }>,
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
    Ok(UserOut::found(&headers, v, &actor, &u, fields.as_deref()))
}

/// Get the current user
///
/// The user the credential belongs to, with `email`, a strong `ETag` and `If-None-Match`
/// support, like `GET /users/{id}`. OAuth client tokens (`client_credentials`) act for no user
/// and get 401.
#[utoipa::path(
    get,
    path = "/users/me",
    operation_id = "get_current_user",
    tag = "users",
    params(IfNoneMatch),
    security(("user" = [])),
    responses(
        (status = 200, description = "The current user.", body = Envelope<UserOut>, headers(("ETag" = String))),
        (status = 304, description = "Not Modified: `If-None-Match` matched the current ETag. No body.", headers(("ETag" = String))),
        Errors<{ errors![Unauthenticated] }>,
    )
)]
pub async fn me(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = actor.user_id().ok_or_else(agora_core::actor::unauthenticated)?;
    let u = s.services.users.get(&actor, id).await?;
    Ok(UserOut::found(&headers, v, &actor, &u, None))
}

/// `PUT` and `PATCH`: `If-Match` against the current representation, then the change.
async fn apply(
    s: AppState,
    v: Version,
    actor: Actor,
    id: i64,
    headers: HeaderMap,
    patch: UserPatch,
) -> ApiResult<Response> {
    let current = s.services.users.get(&actor, id).await?;
    let expected = UserOut::precondition(&headers, v, &actor, &current)?;
    let changed = s.services.users.update(&actor, id, patch, expected).await?;
    Ok(UserOut::updated(v, &actor, &changed))
}

/// Replace a user
///
/// Replaces name and email (both required); `password` and `role` are changed when sent. The
/// user themself or an administrator only. Honours `If-Match`.
#[utoipa::path(
    put,
    path = "/users/{id}",
    operation_id = "replace_user",
    tag = "users",
    security(("user" = ["write"])),
    params(IdPath, IfMatch),
    request_body(content = UserReplace, description = "The user's new state."),
    responses(
        (status = 200, description = "Replaced; the new representation.", body = Envelope<UserOut>, headers(("ETag" = String))),
        Errors<{ errors![Forbidden, UserNotFound, Conflict, PreconditionFailed, ValidationError, ServerBusy] }>,
    )
)]
pub async fn replace(
    State(s): State<AppState>,
    v: Version,
    PathId(id): PathId,
    headers: HeaderMap,
    Write(actor, input): Write<UserReplace>,
) -> ApiResult<Response> {
    apply(s, v, actor, id, headers, input.into()).await
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
    security(("user" = ["write"])),
    params(IdPath, IfMatch),
    request_body(
        description = "The fields to change.",
        content((UserPatch = "application/merge-patch+json"), (UserPatch = "application/json"))
    ),
    responses(
        (status = 200, description = "Updated; the new representation.", body = Envelope<UserOut>, headers(("ETag" = String))),
        Errors<{ errors![Forbidden, UserNotFound, Conflict, PreconditionFailed, ValidationError, ServerBusy] }>,
    )
)]
pub async fn patch(
    Scoped(s): Scoped,
    v: Version,
    PathId(id): PathId,
    headers: HeaderMap,
    Write(actor, input): Write<UserPatch>,
) -> ApiResult<Response> {
    apply(s, v, actor, id, headers, input).await
}

/// Delete a user
///
/// Deletes the account and its content. The user themself or an administrator only.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    operation_id = "delete_user",
    tag = "users",
    security(("user" = ["write"])),
    params(IdPath),
    responses(
        (status = 204, description = "Deleted. No body."),
        Errors<{ errors![Forbidden, UserNotFound] }>,
    )
)]
pub async fn delete(State(s): State<AppState>, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    s.services.users.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
