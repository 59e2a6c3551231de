//! REST routes for both versions. v1 and v2 share handlers; what differs (default pagination,
//! deprecation headers) is decided by the [`Version`](crate::http::extract::Version) the
//! request carries, never by copies of handler logic.
//!
//! Routes are registered through utoipa-axum's [`OpenApiRouter`]: each `routes!(...)` call
//! adds the handlers to the axum router *and* their `#[utoipa::path]` operations to the
//! OpenAPI document, at the same path, so a route cannot exist undocumented (or the reverse).
//! The versioned authentication routes ([`crate::auth::routes::api`]) are part of [`api`].

pub mod ops;
pub mod posts;
pub mod products;
pub mod repr;
pub mod users;

use axum::Router;
use utoipa::openapi::path::Paths;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::state::AppState;

/// Moves a `routes!(...)` group under `prefix`: the axum route and its documented path alike.
/// (Handlers declare paths without the version prefix; both versions share them.)
pub(crate) fn at(
    prefix: &str,
    (schemas, paths, method_router): UtoipaMethodRouter<AppState>,
) -> UtoipaMethodRouter<AppState> {
    let mut prefixed = Paths::new();
    for (path, item) in paths.paths {
        prefixed.paths.insert(format!("{prefix}{path}"), item);
    }
    (schemas, prefixed, method_router)
}

/// Every versioned route under `prefix` (`/v1` or `/v2`) — resources and authentication — with
/// its OpenAPI operations.
pub fn api(prefix: &str) -> OpenApiRouter<AppState> {
    resources(prefix).merge(crate::auth::routes::api(prefix))
}

/// Every versioned resource route under `prefix`, with its OpenAPI operations.
fn resources(prefix: &str) -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(at(prefix, routes!(users::list, users::create)))
        .routes(at(prefix, routes!(users::get, users::replace, users::patch, users::delete)))
        .routes(at(prefix, routes!(posts::list_by_user)))
        .routes(at(prefix, routes!(posts::list, posts::create)))
        .routes(at(prefix, routes!(posts::get, posts::patch, posts::delete)))
        .routes(at(prefix, routes!(products::list, products::create)))
        .routes(at(prefix, routes!(products::get, products::replace, products::patch, products::delete)))
        .routes(at(prefix, routes!(ops::openapi_for_version)))
}

/// Every versioned route (resources and authentication), under `prefix` (`/v1` or `/v2`).
pub fn versioned(prefix: &str) -> Router<AppState> {
    api(prefix).split_for_parts().0
}
