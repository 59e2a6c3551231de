//! `/users/{id}/orders` and `/orders/{id}`: placing orders and moving them along.

use agora_core::Actor;
use agora_core::list::parse_fields;
use agora_core::orders::{NewOrder, ORDERS, Order};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::Representation;
use crate::errors;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentActor, PathId, QueryPairs, Version, Write, Writer};
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::openapi::params::{FieldsParam, IdPath, IfNoneMatch, ListParams};
use crate::state::{AppState, Atomic};

/// The orders routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned)
        .route(utoipa_axum::routes!(list, create))
        .route(utoipa_axum::routes!(get))
        .route(utoipa_axum::routes!(cancel))
        .route(utoipa_axum::routes!(fulfill))
}

/// An order as clients see it: the entity itself.
pub type OrderOut = Order;

impl Representation for OrderOut {
    type Entity = Order;
    const KIND: &'static str = "order";

    fn of(o: &Order, _viewer: &Actor, _v: Version) -> Self {
        o.clone()
    }

    fn identity(o: &Order) -> (i64, i64) {
        (o.id, o.version)
    }
}

/// Place an order
///
/// Orders products for user `id` (that user or an administrator). Prices are the products'
/// at this moment; the server computes `total`. The stock of every line is taken at once, all
/// or nothing: when a product has too little, nothing is taken (409 `OUT_OF_STOCK`, naming
/// the line). Requires an `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/users/{id}/orders",
    operation_id = "create_order",
    tag = "orders",
    security(("user" = ["write"])),
    params(IdPath),
    request_body(content = NewOrder, description = "The lines: 1–50, one per product, quantity 1–100."),
    responses(
        (
            status = 201, description = "Placed (`pending`). `Location` names the new order.", body = Envelope<Order>,
            headers(("Location" = String), ("ETag" = String))
        ),
        Errors<{ errors![Forbidden, UserNotFound, OutOfStock, ValidationError] }>,
    )
)]
pub async fn create(
    tx: Atomic,
    v: Version,
    PathId(user_id): PathId,
    Write(actor, input): Write<NewOrder>,
) -> ApiResult<Response> {
    let placed = tx.state.services.orders.place(&actor, user_id, input).await;
    let answer = placed.map(|o| OrderOut::created(v, &actor, &o, "orders")).map_err(Into::into);
    tx.finish(answer).await
}

/// List a user's orders
///
/// User `id`'s orders (that user or an administrator), newest first by default, filterable
/// by `status`.
#[utoipa::path(
    get,
    path = "/users/{id}/orders",
    operation_id = "list_orders",
    tag = "orders",
    security(("user" = [])),
    params(IdPath, ListParams<Order>),
    responses(
        (status = 200, description = "A page of orders.", body = ListEnvelope<Order>, headers(("Link" = String))),
        Errors<{ errors![InvalidQuery, Forbidden, UserNotFound] }>,
    )
)]
pub async fn list(
    State(s): State<AppState>,
    v: Version,
    CurrentActor(actor): CurrentActor,
    PathId(user_id): PathId,
    q: QueryPairs,
    uri: Uri,
) -> ApiResult<Response> {
    let page = s.services.orders.list(&actor, user_id, &q.list(v)).await?;
    Ok(OrderOut::page(&page, &actor, v, &uri))
}

/// Get an order
///
/// One of the caller's orders (administrators: any), with a strong `ETag`. Others' orders
/// are not found.
#[utoipa::path(
    get,
    path = "/orders/{id}",
    operation_id = "get_order",
    tag = "orders",
    security(("user" = [])),
    params(IdPath, FieldsParam<Order>, IfNoneMatch),
    responses(
        (status = 200, description = "The order.", body = Envelope<Order>, headers(("ETag" = String))),
        (status = 304, description = "Not modified (`If-None-Match` matched)."),
        Errors<{ errors![OrderNotFound] }>,
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
    let fields = q.get("fields").map(|f| parse_fields(&ORDERS, f)).transpose()?;
    let o = s.services.orders.get(&actor, id).await?;
    Ok(OrderOut::found(&headers, v, &actor, &o, fields.as_deref()))
}

/// Cancel an order
///
/// A `pending` or `paid` order becomes `cancelled` (its owner or an administrator): its stock
/// goes back, and a paid order's charge is refunded in full, all at once. A `fulfilled` or
/// `cancelled` order cannot be (409 `INVALID_ORDER_STATE`).
#[utoipa::path(
    post,
    path = "/orders/{id}/cancel",
    operation_id = "cancel_order",
    tag = "orders",
    security(("user" = ["write"])),
    params(IdPath),
    responses(
        (status = 200, description = "The cancelled order.", body = Envelope<Order>, headers(("ETag" = String))),
        Errors<{ errors![Forbidden, OrderNotFound, InvalidOrderState] }>,
    )
)]
pub async fn cancel(tx: Atomic, v: Version, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    let done = tx.state.services.orders.cancel(&actor, id).await;
    let answer = done.map(|o| OrderOut::updated(v, &actor, &o)).map_err(Into::into);
    tx.finish(answer).await
}

/// Fulfil an order
///
/// A `paid` order becomes `fulfilled` (administrators). Any other status: 409
/// `INVALID_ORDER_STATE`.
#[utoipa::path(
    post,
    path = "/orders/{id}/fulfill",
    operation_id = "fulfill_order",
    tag = "orders",
    security(("user" = ["write", "admin"])),
    params(IdPath),
    responses(
        (status = 200, description = "The fulfilled order.", body = Envelope<Order>, headers(("ETag" = String))),
        Errors<{ errors![Forbidden, OrderNotFound, InvalidOrderState] }>,
    )
)]
pub async fn fulfill(tx: Atomic, v: Version, PathId(id): PathId, Writer(actor): Writer) -> ApiResult<Response> {
    let done = tx.state.services.orders.fulfill(&actor, id).await;
    let answer = done.map(|o| OrderOut::updated(v, &actor, &o)).map_err(Into::into);
    tx.finish(answer).await
}
