//! The REST transport: one module per resource, each declaring its routes (with their
//! documentation) and its wire types. v1 and v2 share handlers; what differs (default
//! pagination, deprecation headers) is decided by the [`Version`] the request carries, never
//! by copies of handler logic.
//!
//! [`all`] is the one place that knows every path: the router, the OpenAPI document and the
//! route table the layers in front of the router read all come from it.

pub mod api_keys;
pub mod auth;
pub mod charges;
pub mod comments;
pub mod feed;
pub mod follows;
pub mod oauth;
pub mod ops;
pub mod orders;
pub mod posts;
pub mod products;
pub mod users;

use agora_core::Actor;
use agora_core::list::Page;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde::Serialize;

use crate::http::error::ApiResult;
use crate::http::etag::{check_if_match, etag};
use crate::http::extract::Version;
use crate::http::listing::{created_response, list_response, single_response, updated_response};
use crate::http::routes::{Kind, Routes};
use crate::state::AppState;

/// Every versioned route, without its prefix.
pub fn versioned() -> Routes<AppState> {
    users::routes()
        .merge(follows::routes())
        .merge(posts::routes())
        .merge(comments::routes())
        .merge(feed::routes())
        .merge(products::routes())
        .merge(orders::routes())
        .merge(charges::routes())
        .merge(auth::routes())
        .merge(api_keys::routes())
        .merge(oauth::versioned_routes())
        .merge(ops::versioned_routes())
}

/// Every route: the versioned ones under `/v1` and `/v2`, and the unversioned ones.
pub fn all() -> Routes<AppState> {
    let versioned = versioned();
    Routes::new(Kind::Unversioned)
        .nest("/v1", &versioned)
        .nest("/v2", &versioned)
        .merge(ops::unversioned_routes())
        .merge(oauth::unversioned_routes())
        .undocumented(crate::openapi::docs_page::docs_router(), &crate::openapi::docs_page::TEMPLATES)
        .api(crate::graphql::router(), &[crate::graphql::PATH])
        .undocumented(crate::graphql::graphiql::router(), &[crate::graphql::graphiql::ASSETS])
}

/// How a domain entity is shown over REST. The representation is its own type (what is
/// serialised is what the document shows), and what varies it — who is looking, the API
/// version, the selected fields — is part of its strong ETag.
pub trait Representation: Serialize + Sized {
    /// The entity shown.
    type Entity;
    /// The resource's name in its ETags.
    const KIND: &'static str;

    /// The representation of `e` for `viewer` in version `v`.
    fn of(e: &Self::Entity, viewer: &Actor, v: Version) -> Self;

    /// `(id, row version)` of `e`.
    fn identity(e: &Self::Entity) -> (i64, i64);

    /// Whether `viewer` sees private fields of `e` (which changes the representation).
    fn private(_e: &Self::Entity, _viewer: &Actor) -> bool {
        false
    }

    /// The strong ETag of the representation of `e` for `viewer` under version `v` with
    /// `fields` selected: equal tags mean byte-identical bodies.
    fn etag(e: &Self::Entity, viewer: &Actor, v: Version, fields: Option<&[String]>) -> String {
        let (id, version) = Self::identity(e);
        let variant = format!(
            "{}|{}|{}",
            v.0.number(),
            Self::private(e, viewer),
            fields.map(|f| f.join(",")).unwrap_or_default()
        );
        etag(Self::KIND, id, version, &variant)
    }

    /// A single-resource GET: the representation with its ETag, or 304.
    fn found(headers: &HeaderMap, v: Version, viewer: &Actor, e: &Self::Entity, fields: Option<&[String]>) -> Response {
        single_response(headers, &Self::of(e, viewer, v), fields, Self::etag(e, viewer, v, fields))
    }

    /// A page of a collection, with its `Link` header.
    fn page(page: &Page<Self::Entity>, viewer: &Actor, v: Version, uri: &Uri) -> Response {
        list_response(page, |e| Self::of(e, viewer, v), uri)
    }

    /// `201 Created` at `{prefix}/{collection}/{id}`.
    fn created(v: Version, viewer: &Actor, e: &Self::Entity, collection: &str) -> Response {
        let location = format!("{}/{collection}/{}", v.0.prefix(), Self::identity(e).0);
        created_response(&Self::of(e, viewer, v), location, Some(Self::etag(e, viewer, v, None)))
    }

    /// `200 OK` after a write, with the new ETag.
    fn updated(v: Version, viewer: &Actor, e: &Self::Entity) -> Response {
        updated_response(&Self::of(e, viewer, v), Self::etag(e, viewer, v, None))
    }

    /// The row version a write must find, when `If-Match` matches the current representation;
    /// 412 `PRECONDITION_FAILED` when it does not.
    fn precondition(headers: &HeaderMap, v: Version, viewer: &Actor, current: &Self::Entity) -> ApiResult<Option<i64>> {
        Ok(check_if_match(headers, &Self::etag(current, viewer, v, None))?.then_some(Self::identity(current).1))
    }
}
