//! What the product service needs from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Product;
use crate::error::DomainResult;
use crate::list::{Fetched, ListQuery};
use crate::repo::Written;

/// A product row to insert, or a full replacement.
#[derive(Debug, Clone)]
pub struct ProductRecord {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category slug.
    pub category: String,
    /// Price in minor units.
    pub price: i64,
    /// Currency code.
    pub currency: String,
    /// Stock.
    pub stock: i64,
}

/// Changes to a product.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New price.
    pub price: Option<i64>,
    /// New currency.
    pub currency: Option<String>,
    /// New stock.
    pub stock: Option<i64>,
}

/// Storage of products.
#[async_trait]
pub trait ProductRepo: Send + Sync {
    /// Inserts.
    async fn create(&self, new: ProductRecord, now: DateTime<Utc>) -> DomainResult<Product>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<Product>>;
    /// Lists per the query.
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Product>>;
    /// Applies changes, optionally only at `expected_version`.
    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        changes: ProductChanges,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<Product>>;
    /// Deletes; false if there was none.
    async fn delete(&self, id: i64) -> DomainResult<bool>;
}
