//! The rules of ordering: who may order, what an order may hold, how stock is taken and
//! given back, and how an order moves through its life cycle.
//!
//! Every operation that writes must run in a unit of work (the transports make one per
//! request): stock taken for the first lines of an order that then fails is given back by the
//! rollback, and a cancellation's stock, refund and status commit together.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{CataloguePrice, NewOrder, NewOrderRow, ORDERS, Order, OrderAction, OrderItem, OrderRepo, OrderStatus};
use crate::actor::{Actor, ensure_admin, unauthenticated};
use crate::charges::{self, ChargeRepo};
use crate::cursor::CursorKey;
use crate::error::{DomainError, DomainResult, ErrorCode, FieldError};
use crate::list::{Filter, FilterOp, ListRequest, Page, Value};
use crate::payments::PaymentGateway;
use crate::users::UserService;

/// Orders.
#[derive(Clone)]
pub struct OrderService {
    repo: Arc<dyn OrderRepo>,
    charges: Arc<dyn ChargeRepo>,
    gateway: Arc<dyn PaymentGateway>,
    users: UserService,
    cursor_key: CursorKey,
}

impl OrderService {
    pub(crate) fn new(
        repo: Arc<dyn OrderRepo>,
        charges: Arc<dyn ChargeRepo>,
        gateway: Arc<dyn PaymentGateway>,
        users: UserService,
        cursor_key: CursorKey,
    ) -> Self {
        Self { repo, charges, gateway, users, cursor_key }
    }

    /// Places an order for user `user_id` (that user or an administrator): the products must
    /// exist and share one currency; their prices now become the lines' `unit_price`; the
    /// stock of every line is taken, all or nothing (409 `OUT_OF_STOCK` naming the first line
    /// short of stock).
    pub async fn place(&self, actor: &Actor, user_id: i64, input: NewOrder) -> DomainResult<Order> {
        actor.require_write()?;
        if !actor.is_self_or_admin(user_id) {
            return Err(DomainError::forbidden("You may only place orders for yourself."));
        }
        self.users.ensure_exists(user_id).await?;
        let lines = input.items.lines();
        let position: BTreeMap<i64, usize> = lines.iter().enumerate().map(|(i, l)| (l.product_id, i)).collect();
        let ids: Vec<i64> = position.keys().copied().collect();
        // Checked before any stock is touched, so that a bad order locks nothing.
        check_catalogue(&position, &self.repo.prices(&ids).await?)?;
        // Ascending product id: the one lock order every order follows.
        let mut items = Vec::with_capacity(lines.len());
        let mut taken = Vec::with_capacity(lines.len());
        for (&product_id, &i) in &position {
            let quantity = lines[i].quantity;
            match self.repo.take_stock(product_id, quantity).await? {
                Some(price) => {
                    items.push(OrderItem { product_id, quantity, unit_price: price.price });
                    taken.push(price);
                }
                None => return Err(self.shortage(i, product_id, quantity).await?),
            }
        }
        // Prices or currencies may have changed since the check: the ones that count are
        // those read as the stock was taken.
        check_catalogue(&position, &taken)?;
        let total = super::total(items.iter().map(|l| (l.unit_price, l.quantity)))?;
        let currency = taken.first().map(|p| p.currency.clone()).unwrap_or_default();
        let row = NewOrderRow { user_id, items: &items, total, currency: &currency };
        self.repo.insert(&row, crate::now()).await
    }

    /// Why line `i` could not be taken: its product is gone (422) or short of stock (409).
    async fn shortage(&self, i: usize, product_id: i64, quantity: i64) -> DomainResult<DomainError> {
        let field = format!("items[{i}].product_id");
        Ok(match self.repo.stock(product_id).await? {
            None => DomainError::validation(vec![FieldError::new(field, "not_found", "no product has this id")]),
            Some(left) => DomainError::new(
                ErrorCode::OutOfStock,
                format!("Product {product_id} has {left} in stock; the order asks for {quantity}."),
            )
            .with_details(vec![FieldError::new(
                field,
                "out_of_stock",
                format!("product {product_id} has {left} in stock, {quantity} requested"),
            )]),
        })
    }

    /// One order: its owner's or, for an administrator, anyone's (others' are not found).
    pub async fn get(&self, actor: &Actor, id: i64) -> DomainResult<Order> {
        let order = self.repo.get(id).await?;
        visible(actor, order)
    }

    /// A page of user `user_id`'s orders (that user or an administrator).
    pub async fn list(&self, actor: &Actor, user_id: i64, req: &ListRequest) -> DomainResult<Page<Order>> {
        if actor.user_id().is_none() && !actor.is_admin() {
            return Err(unauthenticated());
        }
        if !actor.is_self_or_admin(user_id) {
            return Err(DomainError::forbidden("You may only list your own orders."));
        }
        self.users.ensure_exists(user_id).await?;
        let scope = Filter { column: "user_id", op: FilterOp::Eq, value: Value::Int(user_id) };
        let q = req.parse(&ORDERS, vec![scope], &self.cursor_key)?;
        Ok(q.finish(self.repo.list(&q).await?, &self.cursor_key))
    }

    /// Cancels a `pending` or `paid` order (its owner or an administrator): its stock goes
    /// back and a paid order's charge is refunded in full, together.
    pub async fn cancel(&self, actor: &Actor, id: i64) -> DomainResult<Order> {
        actor.require_write()?;
        let order = visible(actor, self.repo.lock(id).await?)?;
        let next = order.status.after(OrderAction::Cancel)?;
        if order.status == OrderStatus::Paid
            && let Some(charge) = self.charges.lock_paid_for_order(order.id).await?
        {
            charges::refund(&*self.charges, &*self.gateway, &charge, charge.amount - charge.amount_refunded).await?;
        }
        let mut lines = order.items.clone();
        lines.sort_by_key(|l| l.product_id);
        for l in &lines {
            self.repo.return_stock(l.product_id, l.quantity).await?;
        }
        self.repo.set_status(order.id, next, crate::now()).await
    }

    /// Marks a `paid` order `fulfilled` (administrators).
    pub async fn fulfill(&self, actor: &Actor, id: i64) -> DomainResult<Order> {
        ensure_admin(actor)?;
        let order = self.repo.lock(id).await?.ok_or(ErrorCode::OrderNotFound)?;
        let next = order.status.after(OrderAction::Fulfill)?;
        self.repo.set_status(order.id, next, crate::now()).await
    }

    /// How many orders are in each status.
    pub async fn count_by_status(&self) -> DomainResult<Vec<(OrderStatus, i64)>> {
        self.repo.count_by_status().await
    }
}

/// The order if `actor` may see it: its owner or an administrator; 404 otherwise, so that
/// ids of others' orders reveal nothing.
pub(crate) fn visible(actor: &Actor, order: Option<Order>) -> DomainResult<Order> {
    if actor.user_id().is_none() && !actor.is_admin() {
        return Err(unauthenticated());
    }
    match order {
        Some(o) if actor.is_self_or_admin(o.user_id) => Ok(o),
        _ => Err(ErrorCode::OrderNotFound.into()),
    }
}

/// Every line's product exists, and they share one currency (422 naming each bad line).
fn check_catalogue(position: &BTreeMap<i64, usize>, found: &[CataloguePrice]) -> DomainResult<()> {
    let mut errors: Vec<(usize, FieldError)> = position
        .iter()
        .filter(|(id, _)| !found.iter().any(|p| p.product_id == **id))
        .map(|(_, &i)| (i, FieldError::new(format!("items[{i}].product_id"), "not_found", "no product has this id")))
        .collect();
    if errors.is_empty() {
        let first = found.first().map(|p| p.currency.as_str()).unwrap_or_default();
        if found.iter().any(|p| p.currency != first) {
            let currencies: Vec<String> = found.iter().map(|p| format!("{} ({})", p.product_id, p.currency)).collect();
            return Err(DomainError::validation(vec![FieldError::new(
                "items",
                "mixed_currencies",
                format!("all products of an order must share one currency: {}", currencies.join(", ")),
            )]));
        }
        return Ok(());
    }
    errors.sort_by_key(|(i, _)| *i);
    Err(DomainError::validation(errors.into_iter().map(|(_, e)| e).collect()))
}
