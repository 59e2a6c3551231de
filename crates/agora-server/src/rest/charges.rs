//! `/charges`: payments and refunds.

use agora_core::Actor;
use agora_core::charges::{CHARGES, Charge, NewCharge, NewRefund};
use agora_core::list::parse_fields;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::Representation;
use crate::errors;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentActor, PathId, QueryPairs, Version, Write, WriteOptional};
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::openapi::params::{FieldsParam, IdPath, IfNoneMatch, ListParams};
use crate::state::{AppState, Atomic};

/// The charges routes.
pub fn routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned)
        .route(utoipa_axum::routes!(list, create))
        .route(utoipa_axum::routes!(get))
        .route(utoipa_axum::routes!(refund))
}

/// A charge as clients see it: the entity itself.
pub type ChargeOut = Charge;

impl Representation for ChargeOut {
    type Entity = Charge;
    const KIND: &'static str = "charge";

    fn of(c: &Charge, _viewer: &Actor, _v: Version) -> Self {
        c.clone()
    }

    fn identity(c: &Charge) -> (i64, i64) {
        (c.id, c.version)
    }
}

/// Create a charge
///
/// Charges the caller's payment `source`. With `order_id`, pays one of the caller's
/// `pending` orders: `amount` and `currency` must be its total, and the order becomes `paid`
/// in the same transaction. A declined card is recorded as a `failed` charge and answered 402
/// (`CARD_DECLINED`, `INSUFFICIENT_FUNDS`). Requires an `Idempotency-Key`: a retry with the
/// same key never charges twice.
#[utoipa::path(
    post,
    path = "/charges",
    operation_id = "create_charge",
    tag = "charges",
    security(("user" = ["write"])),
    request_body(content = NewCharge, description = "The payment."),
    responses(
        (
            status = 201, description = "Charged (`succeeded`). `Location` names the new charge.", body = Envelope<Charge>,
            headers(("Location" = String), ("ETag" = String))
        ),
        Errors<{ errors![CardDeclined, InsufficientFunds, Forbidden, OrderNotFound, InvalidOrderState, ValidationError] }>,
    )
)]
pub async fn create(tx: Atomic, v: Version, Write(actor, input): Write<NewCharge>) -> ApiResult<Response> {
    let charged = tx.state.services.charges.create(&actor, input).await;
    let answer = charged.map(|c| ChargeOut::created(v, &actor, &c, "charges")).map_err(Into::into);
    tx.finish(answer).await
}

/// List charges
///
/// The caller's charges (administrators: everyone's), newest first by default, filterable by
/// `status`, `created_after` and `created_before`.
#[utoipa::path(
    get,
    path = "/charges",
    operation_id = "list_charges",
    tag = "charges",
    security(("user" = [])),
    params(ListParams<Charge>),
    responses(
        (status = 200, description = "A page of charges.", body = ListEnvelope<Charge>, headers(("Link" = String))),
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
    let page = s.services.charges.list(&actor, &q.list(v)).await?;
    Ok(ChargeOut::page(&page, &actor, v, &uri))
}

/// Get a charge
///
/// One of the caller's charges (administrators: any), with a strong `ETag`. Others' charges
/// are not found.
#[utoipa::path(
    get,
    path = "/charges/{id}",
    operation_id = "get_charge",
    tag = "charges",
    security(("user" = [])),
    params(IdPath, FieldsParam<Charge>, IfNoneMatch),
    responses(
        (status = 200, description = "The charge.", body = Envelope<Charge>, headers(("ETag" = String))),
        (status = 304, description = "Not modified (`If-None-Match` matched)."),
        Errors<{ errors![ChargeNotFound] }>,
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
    let fields = q.get("fields").map(|f| parse_fields(&CHARGES, f)).transpose()?;
    let c = s.services.charges.get(&actor, id).await?;
    Ok(ChargeOut::found(&headers, v, &actor, &c, fields.as_deref()))
}

/// Refund a charge
///
/// Gives back `amount` (default: all that is left) of a succeeded charge (its owner or an
/// administrator). `amount_refunded` grows; the charge becomes `refunded` when it reaches
/// `amount`. More than is left, or a failed charge: 422. The body may be left out.
#[utoipa::path(
    post,
    path = "/charges/{id}/refund",
    operation_id = "refund_charge",
    tag = "charges",
    security(("user" = ["write"])),
    params(IdPath),
    request_body(content = Option<NewRefund>, description = "How much; absent (no body) or `{}` for all that is left."),
    responses(
        (status = 200, description = "The charge after the refund.", body = Envelope<Charge>, headers(("ETag" = String))),
        Errors<{ errors![Forbidden, ChargeNotFound, ValidationError] }>,
    )
)]
pub async fn refund(
    tx: Atomic,
    v: Version,
    PathId(id): PathId,
    WriteOptional(actor, input): WriteOptional<NewRefund>,
) -> ApiResult<Response> {
    let done = tx.state.services.charges.refund(&actor, id, input).await;
    let answer = done.map(|c| ChargeOut::updated(v, &actor, &c)).map_err(Into::into);
    tx.finish(answer).await
}
