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
use crate::state::AppState;

/// `GET /products` — filters `category`, `price_min`, `price_max`, `in_stock`.
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

/// `POST /products`
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

/// `GET /products/{id}`
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

/// `PUT /products/{id}`
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

/// `PATCH /products/{id}`
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

/// `DELETE /products/{id}`
pub async fn delete(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    PathId(id): PathId,
) -> ApiResult<Response> {
    s.services.products.delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
