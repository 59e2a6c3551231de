use agora_core::charges::{Charge, ChargeRepo, ChargeStatus, NewChargeRow};
use agora_core::error::DomainResult;
use agora_core::list::{Fetched, ListQuery, Value};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::SqlStore;
use crate::error::internal;
use crate::orders::locking;
use crate::sql::{self, Table};

const COLUMNS: &str = "id, user_id, order_id, amount, currency, status, amount_refunded, description, failure_code, \
     reference, created_at, updated_at, version";

pub(crate) static TABLE: Table = Table::plain("charges", COLUMNS, &[]);

#[derive(sqlx::FromRow)]
struct ChargeRow {
    id: i64,
    user_id: i64,
    order_id: Option<i64>,
    amount: i64,
    currency: String,
    status: String,
    amount_refunded: i64,
    description: Option<String>,
    failure_code: Option<String>,
    reference: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

fn to_charge(r: ChargeRow) -> Charge {
    Charge {
        id: r.id,
        user_id: r.user_id,
        amount: r.amount,
        currency: r.currency,
        // The column's CHECK admits only the three statuses.
        status: ChargeStatus::parse(&r.status).unwrap_or(ChargeStatus::Failed),
        amount_refunded: r.amount_refunded,
        order_id: r.order_id,
        description: r.description,
        failure_code: r.failure_code,
        created_at: r.created_at,
        updated_at: r.updated_at,
        reference: r.reference,
        version: r.version,
    }
}

#[async_trait]
impl ChargeRepo for SqlStore {
    async fn insert(&self, c: &NewChargeRow<'_>, now: DateTime<Utc>) -> DomainResult<Charge> {
        const SQL: &str = "INSERT INTO charges (user_id, order_id, amount, currency, status, description, \
             failure_code, reference, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             RETURNING id, user_id, order_id, amount, currency, status, amount_refunded, description, failure_code, \
             reference, created_at, updated_at, version";
        let vals = [
            Value::Int(c.user_id),
            Value::opt_int(c.order_id),
            Value::Int(c.amount),
            Value::Text(c.currency.into()),
            Value::Text(c.status.as_str().into()),
            Value::opt_text(c.description.map(Into::into)),
            Value::opt_text(c.failure_code.map(Into::into)),
            Value::opt_text(c.reference.map(Into::into)),
            Value::Time(now),
        ];
        let row: ChargeRow = sql::fetch_optional(self, SQL, &vals)
            .await
            .map_err(internal)?
            .ok_or_else(|| agora_core::DomainError::internal("insert returned nothing"))?;
        if c.status == ChargeStatus::Failed
            && let Some(unit) = self.unit()
        {
            unit.keep_writes();
        }
        Ok(to_charge(row))
    }

    async fn get(&self, id: i64) -> DomainResult<Option<Charge>> {
        const SQL: &str = "SELECT id, user_id, order_id, amount, currency, status, amount_refunded, description, \
             failure_code, reference, created_at, updated_at, version FROM charges WHERE id = $1";
        sql::fetch_optional(self, SQL, &[Value::Int(id)]).await.map(|r| r.map(to_charge)).map_err(internal)
    }

    async fn lock(&self, id: i64) -> DomainResult<Option<Charge>> {
        const LITE: &str = "SELECT id, user_id, order_id, amount, currency, status, amount_refunded, description, \
             failure_code, reference, created_at, updated_at, version FROM charges WHERE id = $1";
        const PG: &str = "SELECT id, user_id, order_id, amount, currency, status, amount_refunded, description, \
             failure_code, reference, created_at, updated_at, version FROM charges WHERE id = $1 FOR UPDATE";
        sql::fetch_optional(self, locking(self, LITE, PG), &[Value::Int(id)])
            .await
            .map(|r| r.map(to_charge))
            .map_err(internal)
    }

    async fn lock_paid_for_order(&self, order_id: i64) -> DomainResult<Option<Charge>> {
        const LITE: &str = "SELECT id, user_id, order_id, amount, currency, status, amount_refunded, description, \
             failure_code, reference, created_at, updated_at, version FROM charges \
             WHERE order_id = $1 AND status = 'succeeded' ORDER BY id LIMIT 1";
        const PG: &str = "SELECT id, user_id, order_id, amount, currency, status, amount_refunded, description, \
             failure_code, reference, created_at, updated_at, version FROM charges \
             WHERE order_id = $1 AND status = 'succeeded' ORDER BY id LIMIT 1 FOR UPDATE";
        sql::fetch_optional(self, locking(self, LITE, PG), &[Value::Int(order_id)])
            .await
            .map(|r| r.map(to_charge))
            .map_err(internal)
    }

    async fn set_refunded(
        &self,
        id: i64,
        amount_refunded: i64,
        status: ChargeStatus,
        now: DateTime<Utc>,
    ) -> DomainResult<Charge> {
        const SQL: &str = "UPDATE charges SET amount_refunded = $2, status = $3, updated_at = $4, \
             version = version + 1 WHERE id = $1 \
             RETURNING id, user_id, order_id, amount, currency, status, amount_refunded, description, failure_code, \
             reference, created_at, updated_at, version";
        let vals = [Value::Int(id), Value::Int(amount_refunded), Value::Text(status.as_str().into()), Value::Time(now)];
        let row: Option<ChargeRow> = sql::fetch_optional(self, SQL, &vals).await.map_err(internal)?;
        row.map(to_charge).ok_or_else(|| agora_core::ErrorCode::ChargeNotFound.into())
    }

    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Charge>> {
        sql::list::<ChargeRow, Charge>(self, &TABLE, q, to_charge).await.map_err(internal)
    }

    async fn count_by_status(&self) -> DomainResult<Vec<(ChargeStatus, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Count {
            status: String,
            n: i64,
        }
        const SQL: &str = "SELECT status, COUNT(*) AS n FROM charges GROUP BY status";
        let rows: Vec<Count> = sql::fetch_rows(self, SQL, &[]).await.map_err(internal)?;
        Ok(rows.into_iter().filter_map(|r| Some((ChargeStatus::parse(&r.status)?, r.n))).collect())
    }
}
