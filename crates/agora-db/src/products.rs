use agora_core::error::DomainResult;
use agora_core::list::{Fetched, ListQuery, Value};
use agora_core::products::Product;
use agora_core::products::{NewProduct, ProductPatch, ProductRepo};
use agora_core::repo::Written;
use agora_core::types::Amount;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::internal;
use crate::sql::{self, Table};
use crate::{SqlStore, on_conn};

const COLUMNS: &str = "id, name, description, category, price, currency, stock, created_at, updated_at, version";

pub(crate) static TABLE: Table = Table::plain("products", COLUMNS, &["name", "description"]);

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    name: String,
    description: String,
    category: String,
    price: i64,
    currency: String,
    stock: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

fn to_product(r: ProductRow) -> Product {
    Product {
        id: r.id,
        name: r.name,
        description: r.description,
        category: r.category,
        price: r.price,
        currency: r.currency,
        stock: r.stock,
        created_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
    }
}

#[async_trait]
impl ProductRepo for SqlStore {
    async fn create(&self, n: &NewProduct, now: DateTime<Utc>) -> DomainResult<Product> {
        const SQL: &str = "INSERT INTO products (name, description, category, price, currency, stock, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             RETURNING id, name, description, category, price, currency, stock, created_at, updated_at, version";
        let vals = [
            Value::Text(n.name.as_str().into()),
            Value::Text(n.description().into_inner()),
            Value::Text(n.category.as_str().into()),
            Value::Int(n.price.get()),
            Value::Text(n.currency().as_str().into()),
            Value::Int(n.stock().get()),
            Value::Time(now),
        ];
        let row: ProductRow = sql::fetch_optional(self, SQL, &vals)
            .await
            .map_err(internal)?
            .ok_or_else(|| agora_core::DomainError::internal("insert returned nothing"))?;
        Ok(to_product(row))
    }

    async fn get(&self, id: i64) -> DomainResult<Option<Product>> {
        const SQL: &str = "SELECT id, name, description, category, price, currency, stock, created_at, updated_at, version \
             FROM products WHERE id = $1";
        let row: Option<ProductRow> =
            on_conn!(self, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await).map_err(internal)?;
        Ok(row.map(to_product))
    }

    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Product>> {
        sql::list::<ProductRow, Product>(self, &TABLE, q, to_product).await.map_err(internal)
    }

    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        c: &ProductPatch,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<Product>> {
        const SQL: &str = "UPDATE products SET name = COALESCE($1, name), description = COALESCE($2, description), \
             category = COALESCE($3, category), price = COALESCE($4, price), currency = COALESCE($5, currency), \
             stock = COALESCE($6, stock), updated_at = $7, version = version + 1 \
             WHERE id = $8 AND ($9 IS NULL OR version = $9) \
             RETURNING id, name, description, category, price, currency, stock, created_at, updated_at, version";
        let vals = [
            Value::opt_text(c.name.as_ref().map(|v| v.as_str().into())),
            Value::opt_text(c.description.as_ref().map(|v| v.as_str().into())),
            Value::opt_text(c.category.as_ref().map(|v| v.as_str().into())),
            Value::opt_int(c.price.map(Amount::get)),
            Value::opt_text(c.currency.as_ref().map(|v| v.as_str().into())),
            Value::opt_int(c.stock.map(Amount::get)),
            Value::Time(now),
            Value::Int(id),
            Value::opt_int(expected_version),
        ];
        let res: Result<Option<ProductRow>, sqlx::Error> = sql::fetch_optional(self, SQL, &vals).await;
        match res.map_err(internal)? {
            Some(r) => Ok(Written::Done(to_product(r))),
            None => Ok(if self.get(id).await?.is_some() { Written::VersionMismatch } else { Written::Missing }),
        }
    }

    async fn delete(&self, id: i64) -> DomainResult<bool> {
        let done = on_conn!(self, p => sqlx::query("DELETE FROM products WHERE id = $1").bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(internal)?;
        Ok(done > 0)
    }
}
