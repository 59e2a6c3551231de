//! The rules of the catalogue: read by anyone, written by administrators.

use std::sync::Arc;

use super::{NewProduct, PRODUCTS, Product, ProductPatch, ProductRepo};
use crate::actor::{Actor, ensure_admin};
use crate::cursor::CursorKey;
use crate::error::{DomainResult, ErrorCode};
use crate::list::{ListRequest, Page};
use crate::repo::Written;

/// The catalogue.
#[derive(Clone)]
pub struct ProductService {
    repo: Arc<dyn ProductRepo>,
    cursor_key: CursorKey,
}

impl ProductService {
    pub(crate) fn new(repo: Arc<dyn ProductRepo>, cursor_key: CursorKey) -> Self {
        Self { repo, cursor_key }
    }

    /// Adds a product (administrators).
    pub async fn create(&self, actor: &Actor, input: NewProduct) -> DomainResult<Product> {
        ensure_admin(actor)?;
        self.repo.create(&input, crate::now()).await
    }

    /// One product.
    pub async fn get(&self, _actor: &Actor, id: i64) -> DomainResult<Product> {
        self.repo.get(id).await?.ok_or_else(|| ErrorCode::ProductNotFound.into())
    }

    /// A page of products.
    pub async fn list(&self, _actor: &Actor, req: &ListRequest) -> DomainResult<Page<Product>> {
        let q = req.parse(&PRODUCTS, vec![], &self.cursor_key)?;
        Ok(q.finish(self.repo.list(&q).await?, &self.cursor_key))
    }

    /// `PATCH`, or `PUT` (a [`NewProduct`] is the patch of every field, the absent optional
    /// ones back to their defaults) — administrators: only the fields sent change.
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        patch: ProductPatch,
        expected_version: Option<i64>,
    ) -> DomainResult<Product> {
        ensure_admin(actor)?;
        match self.repo.update(id, expected_version, &patch, crate::now()).await? {
            Written::Done(p) => Ok(p),
            Written::Missing => Err(ErrorCode::ProductNotFound.into()),
            Written::VersionMismatch => Err(ErrorCode::PreconditionFailed.into()),
        }
    }

    /// Removes a product (administrators).
    pub async fn delete(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        ensure_admin(actor)?;
        if self.repo.delete(id).await? { Ok(()) } else { Err(ErrorCode::ProductNotFound.into()) }
    }
}
