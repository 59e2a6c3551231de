//! REST routes for both versions. v1 and v2 share handlers; what differs (default pagination,
//! deprecation headers) is decided by the [`Version`](crate::http::extract::Version) the
//! request carries, never by copies of handler logic.

pub mod ops;
pub mod posts;
pub mod products;
pub mod repr;
pub mod users;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

/// Every versioned resource route, under `prefix` (`/v1` or `/v2`).
pub fn versioned(prefix: &str) -> Router<AppState> {
    let p = |s: &str| format!("{prefix}{s}");
    Router::new()
        .route(&p("/users"), get(users::list).post(users::create))
        .route(&p("/users/{id}"), get(users::get).put(users::replace).patch(users::patch).delete(users::delete))
        .route(&p("/users/{id}/posts"), get(posts::list_by_user))
        .route(&p("/posts"), get(posts::list).post(posts::create))
        .route(&p("/posts/{id}"), get(posts::get).patch(posts::patch).delete(posts::delete))
        .route(&p("/products"), get(products::list).post(products::create))
        .route(
            &p("/products/{id}"),
            get(products::get).put(products::replace).patch(products::patch).delete(products::delete),
        )
        .route(&p("/openapi.json"), get(ops::openapi_for_version))
}
