use agora_core::error::DomainResult;
use agora_core::list::{Fetched, ListQuery, Value};
use agora_core::orders::{CataloguePrice, NewOrderRow, Order, OrderItem, OrderRepo, OrderStatus};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::internal;
use crate::sql::{self, Sql, Table};
use crate::{Db, SqlStore};

const COLUMNS: &str = "id, user_id, status, total, currency, created_at, updated_at, version";

pub(crate) static TABLE: Table = Table::plain("orders", COLUMNS, &[]);

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    user_id: i64,
    status: String,
    total: i64,
    currency: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    order_id: i64,
    product_id: i64,
    quantity: i64,
    unit_price: i64,
}

#[derive(sqlx::FromRow)]
struct PriceRow {
    id: i64,
    price: i64,
    currency: String,
}

fn to_order(r: OrderRow) -> Order {
    Order {
        id: r.id,
        user_id: r.user_id,
        // The column's CHECK admits only the four statuses.
        status: OrderStatus::parse(&r.status).unwrap_or(OrderStatus::Pending),
        items: Vec::new(),
        total: r.total,
        currency: r.currency,
        created_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
    }
}

/// The statement for the engine: PostgreSQL locks the rows it reads (`FOR UPDATE`); SQLite
/// needs nothing, as a unit of work there holds the database's write lock from its start
/// (`BEGIN IMMEDIATE`).
pub(crate) fn locking(store: &SqlStore, sqlite: &'static str, postgres: &'static str) -> &'static str {
    match store.db() {
        Db::Sqlite(_) => sqlite,
        Db::Postgres(_) => postgres,
    }
}

impl SqlStore {
    /// Fills in the lines of `orders`, one statement for all of them.
    async fn with_items(&self, mut orders: Vec<Order>) -> Result<Vec<Order>, sqlx::Error> {
        if orders.is_empty() {
            return Ok(orders);
        }
        let ids: Vec<Value> = orders.iter().map(|o| Value::Int(o.id)).collect();
        let text = format!(
            "SELECT order_id, product_id, quantity, unit_price FROM order_items WHERE order_id IN ({}) \
             ORDER BY order_id, product_id",
            sql::placeholders(ids.len())
        );
        let rows: Vec<ItemRow> = sql::fetch_all(self, Sql { text, params: ids }).await?;
        for r in rows {
            if let Some(o) = orders.iter_mut().find(|o| o.id == r.order_id) {
                o.items.push(OrderItem { product_id: r.product_id, quantity: r.quantity, unit_price: r.unit_price });
            }
        }
        Ok(orders)
    }

    async fn one_order(&self, sql: &'static str, id: i64) -> DomainResult<Option<Order>> {
        let row: Option<OrderRow> = sql::fetch_optional(self, sql, &[Value::Int(id)]).await.map_err(internal)?;
        let orders = self.with_items(row.map(to_order).into_iter().collect()).await.map_err(internal)?;
        Ok(orders.into_iter().next())
    }
}

#[async_trait]
impl OrderRepo for SqlStore {
    async fn prices(&self, product_ids: &[i64]) -> DomainResult<Vec<CataloguePrice>> {
        if product_ids.is_empty() {
            return Ok(Vec::new());
        }
        let text = format!(
            "SELECT id, price, currency FROM products WHERE id IN ({}) ORDER BY id",
            sql::placeholders(product_ids.len())
        );
        let params = product_ids.iter().map(|i| Value::Int(*i)).collect();
        let rows: Vec<PriceRow> = sql::fetch_all(self, Sql { text, params }).await.map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|r| CataloguePrice { product_id: r.id, price: r.price, currency: r.currency })
            .collect())
    }

    async fn take_stock(&self, product_id: i64, quantity: i64) -> DomainResult<Option<CataloguePrice>> {
        const SQL: &str = "UPDATE products SET stock = stock - $2 WHERE id = $1 AND stock >= $2 \
             RETURNING id, price, currency";
        let row: Option<PriceRow> =
            sql::fetch_optional(self, SQL, &[Value::Int(product_id), Value::Int(quantity)]).await.map_err(internal)?;
        Ok(row.map(|r| CataloguePrice { product_id: r.id, price: r.price, currency: r.currency }))
    }

    async fn stock(&self, product_id: i64) -> DomainResult<Option<i64>> {
        #[derive(sqlx::FromRow)]
        struct Stock {
            stock: i64,
        }
        const SQL: &str = "SELECT stock FROM products WHERE id = $1";
        let row: Option<Stock> = sql::fetch_optional(self, SQL, &[Value::Int(product_id)]).await.map_err(internal)?;
        Ok(row.map(|r| r.stock))
    }

    async fn return_stock(&self, product_id: i64, quantity: i64) -> DomainResult<()> {
        const SQL: &str = "UPDATE products SET stock = stock + $2 WHERE id = $1";
        sql::execute(self, SQL, &[Value::Int(product_id), Value::Int(quantity)]).await.map_err(internal)?;
        Ok(())
    }

    async fn insert(&self, o: &NewOrderRow<'_>, now: DateTime<Utc>) -> DomainResult<Order> {
        const SQL: &str = "INSERT INTO orders (user_id, status, total, currency, created_at, updated_at) \
             VALUES ($1, 'pending', $2, $3, $4, $4) \
             RETURNING id, user_id, status, total, currency, created_at, updated_at, version";
        let vals = [Value::Int(o.user_id), Value::Int(o.total), Value::Text(o.currency.into()), Value::Time(now)];
        let row: OrderRow = sql::fetch_optional(self, SQL, &vals)
            .await
            .map_err(internal)?
            .ok_or_else(|| agora_core::DomainError::internal("insert returned nothing"))?;
        let mut order = to_order(row);
        // One statement for every line.
        let mut text = String::from("INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES ");
        let mut params = Vec::with_capacity(o.items.len() * 4);
        for (i, l) in o.items.iter().enumerate() {
            let n = i * 4;
            text.push_str(&format!(
                "{}(${}, ${}, ${}, ${})",
                if i > 0 { ", " } else { "" },
                n + 1,
                n + 2,
                n + 3,
                n + 4
            ));
            params.extend([
                Value::Int(order.id),
                Value::Int(l.product_id),
                Value::Int(l.quantity),
                Value::Int(l.unit_price),
            ]);
        }
        text.push_str(" RETURNING order_id, product_id, quantity, unit_price");
        let rows: Vec<ItemRow> = sql::fetch_all(self, Sql { text, params }).await.map_err(internal)?;
        order.items = rows
            .into_iter()
            .map(|r| OrderItem { product_id: r.product_id, quantity: r.quantity, unit_price: r.unit_price })
            .collect();
        order.items.sort_by_key(|l| l.product_id);
        Ok(order)
    }

    async fn get(&self, id: i64) -> DomainResult<Option<Order>> {
        const SQL: &str = "SELECT id, user_id, status, total, currency, created_at, updated_at, version \
             FROM orders WHERE id = $1";
        self.one_order(SQL, id).await
    }

    async fn lock(&self, id: i64) -> DomainResult<Option<Order>> {
        const LITE: &str = "SELECT id, user_id, status, total, currency, created_at, updated_at, version \
             FROM orders WHERE id = $1";
        const PG: &str = "SELECT id, user_id, status, total, currency, created_at, updated_at, version \
             FROM orders WHERE id = $1 FOR UPDATE";
        self.one_order(locking(self, LITE, PG), id).await
    }

    async fn set_status(&self, id: i64, status: OrderStatus, now: DateTime<Utc>) -> DomainResult<Order> {
        const SQL: &str = "UPDATE orders SET status = $2, updated_at = $3, version = version + 1 WHERE id = $1 \
             RETURNING id, user_id, status, total, currency, created_at, updated_at, version";
        let vals = [Value::Int(id), Value::Text(status.as_str().into()), Value::Time(now)];
        let row: Option<OrderRow> = sql::fetch_optional(self, SQL, &vals).await.map_err(internal)?;
        let row = row.ok_or(agora_core::ErrorCode::OrderNotFound)?;
        let orders = self.with_items(vec![to_order(row)]).await.map_err(internal)?;
        orders.into_iter().next().ok_or_else(|| agora_core::DomainError::internal("order vanished"))
    }

    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Order>> {
        let mut page = sql::list::<OrderRow, Order>(self, &TABLE, q, to_order).await.map_err(internal)?;
        page.rows = self.with_items(page.rows).await.map_err(internal)?;
        Ok(page)
    }

    async fn count_by_status(&self) -> DomainResult<Vec<(OrderStatus, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Count {
            status: String,
            n: i64,
        }
        const SQL: &str = "SELECT status, COUNT(*) AS n FROM orders GROUP BY status";
        let rows: Vec<Count> = sql::fetch_rows(self, SQL, &[]).await.map_err(internal)?;
        Ok(rows.into_iter().filter_map(|r| Some((OrderStatus::parse(&r.status)?, r.n))).collect())
    }
}
