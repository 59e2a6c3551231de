//! The rules of charging and refunding.
//!
//! Like orders, every operation that writes runs in one unit of work: a charge for an order
//! and the order becoming `paid` commit together, or neither does.

use std::sync::Arc;

use super::{CHARGES, Charge, ChargeRepo, ChargeStatus, NewCharge, NewChargeRow, NewRefund};
use crate::actor::{Actor, unauthenticated};
use crate::cursor::CursorKey;
use crate::error::{DomainError, DomainResult, ErrorCode, FieldError};
use crate::list::{Filter, FilterOp, ListRequest, Page, Value};
use crate::orders::{OrderAction, OrderRepo};
use crate::payments::{ChargeRequest, Decline, GatewayError, GatewayOutcome, PaymentGateway};

/// Charges.
#[derive(Clone)]
pub struct ChargeService {
    repo: Arc<dyn ChargeRepo>,
    orders: Arc<dyn OrderRepo>,
    gateway: Arc<dyn PaymentGateway>,
    cursor_key: CursorKey,
}

impl ChargeService {
    pub(crate) fn new(
        repo: Arc<dyn ChargeRepo>,
        orders: Arc<dyn OrderRepo>,
        gateway: Arc<dyn PaymentGateway>,
        cursor_key: CursorKey,
    ) -> Self {
        Self { repo, orders, gateway, cursor_key }
    }

    /// Charges the caller's source. With `order_id`, pays that order: it must be the caller's
    /// and `pending`, and the amount and currency its total; on success it becomes `paid`. A
    /// declined card is recorded as a `failed` charge and answered 402 with its reason.
    pub async fn create(&self, actor: &Actor, input: NewCharge) -> DomainResult<Charge> {
        actor.require_write()?;
        let Some(user_id) = actor.user_id() else {
            return Err(DomainError::forbidden("Only users can be charged."));
        };
        let order_id = input.order_id.map(|o| o.get());
        let (amount, currency) = (input.amount.get(), input.currency.as_str());
        if let Some(id) = order_id {
            // Locked first: a payment and a cancellation of one order take turns.
            let order = match self.orders.lock(id).await? {
                Some(o) if o.user_id == user_id => o,
                _ => return Err(ErrorCode::OrderNotFound.into()),
            };
            order.status.after(OrderAction::Pay)?;
            let mut wrong = Vec::new();
            if amount != order.total {
                wrong.push(FieldError::new(
                    "amount",
                    "mismatch",
                    format!("must equal the order's total, {}", order.total),
                ));
            }
            if currency != order.currency {
                wrong.push(FieldError::new(
                    "currency",
                    "mismatch",
                    format!("must equal the order's currency, {}", order.currency),
                ));
            }
            if !wrong.is_empty() {
                return Err(DomainError::validation(wrong));
            }
        }
        let outcome = self
            .gateway
            .charge(&ChargeRequest { amount, currency, source: input.source.as_str() })
            .await
            .map_err(gateway_error)?;
        let row = |status, failure_code, reference| NewChargeRow {
            user_id,
            amount,
            currency,
            status,
            order_id,
            description: input.description.as_ref().map(|d| d.as_str()),
            failure_code,
            reference,
        };
        match outcome {
            GatewayOutcome::Succeeded { reference } => {
                let charge =
                    self.repo.insert(&row(ChargeStatus::Succeeded, None, Some(&reference)), crate::now()).await?;
                if let Some(id) = order_id {
                    self.orders.set_status(id, crate::orders::OrderStatus::Paid, crate::now()).await?;
                }
                Ok(charge)
            }
            GatewayOutcome::Declined(why) => {
                let (code, failure) = match why {
                    Decline::CardDeclined => (ErrorCode::CardDeclined, "card_declined"),
                    Decline::InsufficientFunds => (ErrorCode::InsufficientFunds, "insufficient_funds"),
                };
                let charge = self.repo.insert(&row(ChargeStatus::Failed, Some(failure), None), crate::now()).await?;
                Err(DomainError::new(
                    code,
                    format!(
                        "{} The attempt is recorded as charge {} (status failed).",
                        code.default_message(),
                        charge.id
                    ),
                )
                .with_details(vec![FieldError::new(
                    "source",
                    failure,
                    format!("declined; charge {}", charge.id),
                )]))
            }
        }
    }

    /// One charge: the caller's or, for an administrator, anyone's (others' are not found).
    pub async fn get(&self, actor: &Actor, id: i64) -> DomainResult<Charge> {
        visible(actor, self.repo.get(id).await?)
    }

    /// A page of the caller's charges (administrators: everyone's).
    pub async fn list(&self, actor: &Actor, req: &ListRequest) -> DomainResult<Page<Charge>> {
        let scope = match (actor.is_admin(), actor.user_id()) {
            (true, _) => vec![],
            (false, Some(uid)) => vec![Filter { column: "user_id", op: FilterOp::Eq, value: Value::Int(uid) }],
            (false, None) => return Err(unauthenticated()),
        };
        let q = req.parse(&CHARGES, scope, &self.cursor_key)?;
        Ok(q.finish(self.repo.list(&q).await?, &self.cursor_key))
    }

    /// Refunds some or all of what is left of a charge (its owner or an administrator).
    pub async fn refund(&self, actor: &Actor, id: i64, input: NewRefund) -> DomainResult<Charge> {
        actor.require_write()?;
        let charge = visible(actor, self.repo.lock(id).await?)?;
        let amount = input.amount.map_or(charge.amount - charge.amount_refunded, |a| a.get());
        refund(&*self.repo, &*self.gateway, &charge, amount).await
    }

    /// How many charges are in each status.
    pub async fn count_by_status(&self) -> DomainResult<Vec<(ChargeStatus, i64)>> {
        self.repo.count_by_status().await
    }
}

/// Refunds `amount` of a locked charge: through the gateway, then on the record. A failed
/// charge, nothing left, or more than is left → 422.
pub(crate) async fn refund(
    repo: &dyn ChargeRepo,
    gateway: &dyn PaymentGateway,
    charge: &Charge,
    amount: i64,
) -> DomainResult<Charge> {
    let left = charge.amount - charge.amount_refunded;
    let (reference, ChargeStatus::Succeeded) = (charge.reference.as_deref(), charge.status) else {
        let why =
            if charge.status == ChargeStatus::Failed { "a failed charge took nothing" } else { "nothing is left" };
        return Err(DomainError::invalid_field("amount", "not_refundable", format!("cannot refund: {why}")));
    };
    if amount < 1 || amount > left {
        return Err(DomainError::invalid_field(
            "amount",
            "exceeds_remaining",
            format!("at most {left} is left to refund"),
        ));
    }
    let reference = reference.ok_or_else(|| DomainError::internal("a succeeded charge without its reference"))?;
    gateway.refund(reference, amount).await.map_err(gateway_error)?;
    let refunded = charge.amount_refunded + amount;
    let status = if refunded == charge.amount { ChargeStatus::Refunded } else { ChargeStatus::Succeeded };
    repo.set_refunded(charge.id, refunded, status, crate::now()).await
}

fn visible(actor: &Actor, charge: Option<Charge>) -> DomainResult<Charge> {
    if actor.user_id().is_none() && !actor.is_admin() {
        return Err(unauthenticated());
    }
    match charge {
        Some(c) if actor.is_self_or_admin(c.user_id) => Ok(c),
        _ => Err(ErrorCode::ChargeNotFound.into()),
    }
}

fn gateway_error(e: GatewayError) -> DomainError {
    match e {
        GatewayError::UnknownSource => {
            DomainError::invalid_field("source", "unknown_source", "is not a payment source the provider accepts")
        }
        GatewayError::Unavailable(why) => {
            tracing::warn!(error = %why, "payment gateway unavailable");
            DomainError::new(ErrorCode::NotReady, "The payment provider is unavailable; retry shortly.")
                .with_details(vec![FieldError::new("payment_gateway", "unavailable", "did not answer")])
        }
    }
}
