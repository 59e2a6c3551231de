//! The REST transport: one module per resource, each declaring its routes (with their
//! documentation) and its wire types. v1 and v2 share handlers; what differs (default
//! pagination, deprecation headers) is decided by the [`Version`] the request carries, never
//! by copies of handler logic.
//!
//! [`all`] is the one place that knows every path: the router, the OpenAPI document and the
//! route table the layers in front of the router read all come from it.

pub mod api_keys;
pub mod auth;
pub mod oauth;
pub mod ops;
pub mod posts;
pub mod products;
pub mod users;

use crate::http::extract::Version;
use crate::http::routes::{Kind, Routes};
use crate::state::AppState;

/// Every versioned route, without its prefix.
pub fn versioned() -> Routes<AppState> {
    users::routes()
        .merge(posts::routes())
        .merge(products::routes())
        .merge(auth::routes())
        .merge(api_keys::routes())
        .merge(oauth::versioned_routes())
        .merge(ops::versioned_routes())
}

/// Every route: the versioned ones under `/v1` and `/v2`, and the unversioned ones.
pub fn all() -> Routes<AppState> {
    let versioned = versioned();
    Routes::new(Kind::Unversioned)
        .nest("/v1", versioned.clone())
        .nest("/v2", versioned)
        .merge(ops::unversioned_routes())
        .merge(oauth::unversioned_routes())
        .undocumented(crate::openapi::docs_page::docs_router(), &crate::openapi::docs_page::TEMPLATES)
}

/// What changes a representation besides the row version: the API version, whether private
/// fields are shown, and the selected fields. Part of every ETag.
pub(crate) fn variant(v: Version, private: bool, fields: Option<&[String]>) -> String {
    format!("{}|{}|{}", v.0.number(), private, fields.map(|f| f.join(",")).unwrap_or_default())
}
