//! What the product service needs from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewProduct, Product, ProductPatch};
use crate::error::DomainResult;
use crate::list::{Fetched, ListQuery};
use crate::repo::Written;

/// Storage of products.
#[async_trait]
pub trait ProductRepo: Send + Sync {
    /// Inserts, created at `now`.
    async fn create(&self, new: &NewProduct, now: DateTime<Utc>) -> DomainResult<Product>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<Product>>;
    /// Lists per the query.
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Product>>;
    /// Applies changes, optionally only at `expected_version`.
    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        patch: &ProductPatch,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<Product>>;
    /// Deletes; false if there was none.
    async fn delete(&self, id: i64) -> DomainResult<bool>;
}
