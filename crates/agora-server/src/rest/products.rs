//! `/products`: the catalogue (admin-written).

use agora_core::list::parse_fields;
use agora_core::services::PRODUCTS;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::repr::ProductOut;
use crate::auth::CurrentActor;
use crate::http::error::ApiResult;
use crate::http::etag::check_if_match;
use crate::http::extract::{JsonObject, PathId, QueryPairs, Version};
use crate::http::listing::{created_response, list_response, single_response, updated_response};
use crate::openapi::{params::*, responses::*, schemas::*};
use crate::state::AppState;

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
    security((), ("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    params(ProductListParams),
    responses(
        (status = 200, description = "A page of products.", body = ProductListResponse, headers(("Link" = String))),
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
    let lq = s.services.parse_list(&PRODUCTS, &q.0, v.default_style(), vec![])?;
    let page = s.services.products.list(&actor, &lq).await?;
    let items: Vec<ProductOut> = page.items.iter().map(ProductOut::from).collect();
    Ok(list_response(&items, &page.info, lq.fields.as_deref(), &uri))
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
    security(
        ("bearerAuth" = ["write", "admin"]),
        ("apiKeyHeader" = ["write", "admin"]),
        ("sessionCookie" = ["write", "admin"]),
        ("oauth2" = ["write", "admin"])
    ),
    params(IdempotencyKey),
    request_body(content = ProductWrite, description = "The new product."),
    responses(
        (
            status = 201, description = "Created. `Location` names the new product.", body = ProductResponse,
            headers(("Location" = String), ("ETag" = String), ("Idempotency-Replay" = String))
        ),
        (status = 400, response = InvalidBody),
        (status = 403, response = Forbidden),
        (status = 404, response = UnsupportedVersion),
        (status = 409, response = RequestInProgress),
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
    let p = s.services.products.create(&actor, &body).await?;
    Ok(created_response(
        &ProductOut::from(&p),
        format!("{}/products/{}", v.0.prefix(), p.id),
        ProductOut::etag(&p, v, None),
    ))
}

/// Get a product
///
/// One product, with a strong `ETag`; `If-None-Match` with a matching tag answers 304.
#[utoipa::path(
    get,
    path = "/products/{id}",
    operation_id = "get_product",
    tag = "products",
    security((), ("bearerAuth" = []), ("apiKeyHeader" = []), ("sessionCookie" = []), ("oauth2" = [])),
    params(IdPath, ProductFieldsParam, IfNoneMatch),
    responses(
        (status = 200, description = "The product.", body = ProductResponse, headers(("ETag" = String))),
        (status = 304, response = NotModified),
        (status = 400, response = InvalidIdOrQuery),
        (status = 404, response = ProductNotFound),
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
    let fields = q.get("fields").map(|f| parse_fields(&PRODUCTS, f)).transpose()?;
    let p = s.services.products.get(&actor, id).await?;
    let tag = ProductOut::etag(&p, v, fields.as_deref());
    Ok(single_response(&headers, &ProductOut::from(&p), fields.as_deref(), tag))
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
    let current = s.services.products.get(&actor, id).await?;
    let expected = check_if_match(&headers, &ProductOut::etag(&current, v, None))?.then_some(current.version);
    let p = s.services.products.update(&actor, id, &body, replace, expected).await?;
    Ok(updated_response(&ProductOut::from(&p), ProductOut::etag(&p, v, None)))
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
    security(
        ("bearerAuth" = ["write", "admin"]),
        ("apiKeyHeader" = ["write", "admin"]),
        ("sessionCookie" = ["write", "admin"]),
        ("oauth2" = ["write", "admin"])
    ),
    params(IdPath, IfMatch),
    request_body(content = ProductWrite, description = "The product's new state."),
    responses(
        (status = 200, description = "Replaced; the new representation.", body = ProductResponse, headers(("ETag" = String))),
        (status = 400, response = InvalidIdOrBody),
        (status = 403, response = Forbidden),
        (status = 404, response = ProductNotFound),
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

/// Update a product
///
/// JSON merge patch (administrators): only the fields sent change. Honours `If-Match`.
#[utoipa::path(
    patch,
    path = "/products/{id}",
    operation_id = "update_product",
    tag = "products",
    security(
        ("bearerAuth" = ["write", "admin"]),
        ("apiKeyHeader" = ["write", "admin"]),
        ("sessionCookie" = ["write", "admin"]),
        ("oauth2" = ["write", "admin"])
    ),
    params(IdPath, IfMatch, IdempotencyKey),
    request_body(
        description = "The fields to change.",
        content((ProductPatch = "application/merge-patch+json"), (ProductPatch = "application/json"))
    ),
    responses(
        (status = 200, description = "Updated; the new representation.", body = ProductResponse, headers(("ETag" = String), ("Idempotency-Replay" = String))),
        (status = 400, response = InvalidIdOrBody),
        (status = 403, response = Forbidden),
        (status = 404, response = ProductNotFound),
        (status = 409, response = RequestInProgress),
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

/// Delete a product
///
/// Removes a product from the catalogue (administrators).
#[utoipa::path(
    delete,
    path = "/products/{id}",
    operation_id = "delete_product",
    tag = "products",
    security(
        ("bearerAuth" = ["write", "admin"]),
        ("apiKeyHeader" = ["write", "admin"]),
        ("sessionCookie" = ["write", "admin"]),
        ("oauth2" = ["write", "admin"])
    ),
    params(IdPath),
    responses(
        (status = 204, description = "Deleted. No body."),
        (status = 400, response = InvalidId),
        (status = 403, response = Forbidden),
        (status = 404, response = ProductNotFound),
        VersionedErrors,
    )
)]
pub async fn delete(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
) -> ApiResult<Response> {
    s.services.products.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
