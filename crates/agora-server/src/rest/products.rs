//! `/products`: the catalogue.

use agora_core::Actor;
use agora_core::list::parse_fields;
use agora_core::products::{NewProduct, PRODUCTS, Product, ProductPatch};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::Representation;
use crate::errors;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentActor, PathId, QueryPairs, Version, Write, Writer};
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::openapi::params::{FieldsParam, IdPath, IfMatch, IfNoneMatch, ListParams};
use crate::state::{AppState, Scoped};

/// The products routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned)
        .route(utoipa_axum::routes!(list, create))
        .route(utoipa_axum::routes!(get, replace, patch, delete))
}

/// A product as clients see it: the entity and `in_stock`, derived from its stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOut {
    /// The product.
    #[serde(flatten)]
    pub product: Product,
    /// `stock > 0`.
    pub in_stock: bool,
}

impl Representation for ProductOut {
    type Entity = Product;
    const KIND: &'static str = "product";

    fn of(p: &Product, _viewer: &Actor, _v: Version) -> Self {
        ProductOut { product: p.clone(), in_stock: p.stock > 0 }
    }

    fn identity(p: &Product) -> (i64, i64) {
        (p.id, p.version)
    }
}

/// List products
///
/// A page of the catalogue, searchable in name and description (`q`) and filterable by
/// `category`, `price_min`, `price_max` and `in_stock`. v1 defaults to page style, v2 to
/// cursor style.
#[utoipa::path(
    get,
    path = "/products",
    operation_id = "list_products",
    tag = "products",
    security((), ("user" = [])),
    params(ListParams<Product>),
    responses(
        (status = 200, description = "A page of products.", body = ListEnvelope<ProductOut>, headers(("Link" = String))),
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
    let page = s.services.products.list(&actor, &q.list(v)).await?;
    Ok(ProductOut::page(&page, &actor, v, &uri))
}

/// Create a product
///
/// Adds a product to the catalogue (administrators). `description` defaults to empty,
/// `currency` to `usd`, `stock` to 0.
#[utoipa::path(
    post,
    path = "/products",
    operation_id = "create_product",
    tag = "products",
    security(("user" = ["write", "admin"])),
    request_body(content = NewProduct, description = "The new product."),
    responses(
        (
            status = 201, description = "Created. `Location` names the new product.", body = Envelope<ProductOut>,
            headers(("Location" = String), ("ETag" = String))
        ),
        Errors<{ errors![Forbidden, ValidationError] }>,
    )
)]
pub async fn create(Scoped(s): Scoped, v: Version, Write(actor, input): Write<NewProduct>) -> ApiResult<Response> {
    let p = s.services.products.create(&actor, input).await?;
    Ok(ProductOut::created(v, &actor, &p, "products"))
}

/// Get a product
///
/// One product, with a strong `ETag`; `If-None-Match` with a matching tag answers 304.
#[utoipa::path(
    get,
    path = "/products/{id}",
    operation_id = "get_product",
    tag = "products",
    security((), ("user" = [])),
    params(IdPath, FieldsParam<Product>, IfNoneMatch),
    responses(
        (status = 200, description = "The product.", body = Envelope<ProductOut>, headers(("ETag" = String))),
        (status = 304, description = "Not Modified: `If-None-Match` matched the current ETag. No body.", headers(("ETag" = String))),
        Errors<{ errors![InvalidQuery, ProductNotFound] }>,
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
    let fields = q.get("fields").map(|f| parse_fields(&PRODUCTS, f)).transpose()?;
    let p = s.services.products.get(&actor, id).await?;
    Ok(ProductOut::found(&headers, v, &actor, &p, fields.as_deref()))
}

/// `PUT` and `PATCH`: `If-Match` against the current representation, then the change.
async fn apply(
    s: AppState,
    v: Version,
    actor: Actor,
    id: i64,
    headers: HeaderMap,
    patch: ProductPatch,
) -> ApiResult<Response> {
    let current = s.services.products.get(&actor, id).await?;
    let expected = ProductOut::precondition(&headers, v, &actor, &current)?;
    let changed = s.services.products.update(&actor, id, patch, expected).await?;
    Ok(ProductOut::updated(v, &actor, &changed))
}

/// Replace a product
///
/// Sets every field (administrators); absent optional fields go back to their defaults.
/// Honours `If-Match`.
#[utoipa::path(
    put,
    path = "/products/{id}",
    operation_id = "replace_product",
    tag = "products",
    security(("user" = ["write", "admin"])),
    params(IdPath, IfMatch),
    request_body(content = NewProduct, description = "The product's new state."),
    responses(
        (status = 200, description = "Replaced; the new representation.", body = Envelope<ProductOut>, headers(("ETag" = String))),
        Errors<{ errors![Forbidden, ProductNotFound, PreconditionFailed, ValidationError] }>,
    )
)]
pub async fn replace(
    State(s): State<AppState>,
    v: Version,
    PathId(id): PathId,
    headers: HeaderMap,
    Write(actor, input): Write<NewProduct>,
) -> ApiResult<Response> {
    apply(s, v, actor, id, headers, input.into()).await
}

/// Update a product
///
/// JSON merge patch (administrators): only the fields sent change. Honours `If-Match`.
#[utoipa::path(
    patch,
    path = "/products/{id}",
    operation_id = "update_product",
    tag = "products",
    security(("user" = ["write", "admin"])),
    params(IdPath, IfMatch),
    request_body(
        description = "The fields to change.",
        content((ProductPatch = "application/merge-patch+json"), (ProductPatch = "application/json"))
    ),
    responses(
        (status = 200, description = "Updated; the new representation.", body = Envelope<ProductOut>, headers(("ETag" = String))),
        Errors<{ errors![Forbidden, ProductNotFound, PreconditionFailed, ValidationError] }>,
    )
)]
pub async fn patch(
    Scoped(s): Scoped,
    v: Version,
    PathId(id): PathId,
    headers: HeaderMap,
    Write(actor, input): Write<ProductPatch>,
) -> ApiResult<Response> {
    apply(s, v, actor, id, headers, input).await
}

/// Delete a product
///
/// Removes a product from the catalogue (administrators).
#[utoipa::path(
    delete,
    path = "/products/{id}",
    operation_id = "delete_product",
    tag = "products",
    security(("user" = ["write", "admin"])),
    params(IdPath),
    responses(
        (status = 204, description = "Deleted. No body."),
        Errors<{ errors![Forbidden, ProductNotFound] }>,
    )
)]
pub async fn delete(State(s): State<AppState>, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    s.services.products.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
