//! What the order service needs from storage.
//!
//! The service runs every order operation inside one unit of work (one transaction): the
//! methods here are the steps, and none of them commits on its own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Order, OrderItem, OrderStatus};
use crate::error::DomainResult;
use crate::list::{Fetched, ListQuery};

/// A product's price and currency at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CataloguePrice {
    /// The product.
    pub product_id: i64,
    /// Price in minor units.
    pub price: i64,
    /// Its currency.
    pub currency: String,
}

/// An order about to be stored (its stock already taken).
#[derive(Debug, Clone)]
pub struct NewOrderRow<'a> {
    /// Who ordered.
    pub user_id: i64,
    /// The priced lines, in product-id order.
    pub items: &'a [OrderItem],
    /// Their total.
    pub total: i64,
    /// Their one currency.
    pub currency: &'a str,
}

/// Storage of orders and of the stock they take.
#[async_trait]
pub trait OrderRepo: Send + Sync {
    /// The current price and currency of each of these products that exists.
    async fn prices(&self, product_ids: &[i64]) -> DomainResult<Vec<CataloguePrice>>;
    /// Takes `quantity` units of a product if at least that many are in stock, as one
    /// conditional update (so concurrent orders can never take more than there is), and
    /// returns its price and currency at that moment; `None` if there were not enough (or the
    /// product is gone). On PostgreSQL the row stays locked until the unit of work ends:
    /// callers take products in ascending id order, so two orders never wait on each other
    /// in a cycle.
    async fn take_stock(&self, product_id: i64, quantity: i64) -> DomainResult<Option<CataloguePrice>>;
    /// The stock of a product, `None` if it does not exist.
    async fn stock(&self, product_id: i64) -> DomainResult<Option<i64>>;
    /// Puts units back (a cancelled order); nothing if the product was deleted.
    async fn return_stock(&self, product_id: i64, quantity: i64) -> DomainResult<()>;
    /// Stores a `pending` order with its lines.
    async fn insert(&self, order: &NewOrderRow<'_>, now: DateTime<Utc>) -> DomainResult<Order>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<Order>>;
    /// Finds by id and locks the order until the unit of work ends, so that two requests
    /// acting on one order (a payment and a cancellation) take turns.
    async fn lock(&self, id: i64) -> DomainResult<Option<Order>>;
    /// Sets the status (the service has checked the transition on the locked order).
    async fn set_status(&self, id: i64, status: OrderStatus, now: DateTime<Utc>) -> DomainResult<Order>;
    /// Lists per the query (scoped to one user).
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Order>>;
    /// How many orders are in each status (for metrics).
    async fn count_by_status(&self) -> DomainResult<Vec<(OrderStatus, i64)>>;
}
