//! Charges: payments taken through the [`PaymentGateway`](crate::payments::PaymentGateway),
//! optionally for an order, and their refunds.
//!
//! A charge that succeeds is `succeeded`; refunds add up in `amount_refunded` until it reaches
//! `amount`, when the charge becomes `refunded`. A declined card is recorded as `failed` (and
//! answered 402). Money is integer minor units throughout.

mod service;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

pub use service::ChargeService;
pub(crate) use service::refund;

use crate::error::{DomainResult, FieldError};
use crate::input::{FieldValue, json_i64};
use crate::list::{
    Collection, Fetched, Filter, FilterOp, FilterSpec, ListQuery, ResourceSpec, SortDir, SortKey, Sortable, Value,
    ValueKind, filters,
};
use crate::types::{Currency, text_newtype};

/// Where a charge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChargeStatus {
    /// Money was taken (some of it may have been refunded).
    Succeeded,
    /// The card was declined; nothing was taken.
    Failed,
    /// Everything taken was given back.
    Refunded,
}

impl ChargeStatus {
    /// The status's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Succeeded => "succeeded",
            ChargeStatus::Failed => "failed",
            ChargeStatus::Refunded => "refunded",
        }
    }

    /// Parses [`ChargeStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        [ChargeStatus::Succeeded, ChargeStatus::Failed, ChargeStatus::Refunded].into_iter().find(|st| st.as_str() == s)
    }
}

/// A charge.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Charge {
    /// Id.
    pub id: i64,
    /// Who paid.
    pub user_id: i64,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code, lower case.
    pub currency: String,
    /// Where it stands.
    pub status: ChargeStatus,
    /// How much has been refunded, in minor units (0 to `amount`).
    pub amount_refunded: i64,
    /// The order it paid, if any.
    pub order_id: Option<i64>,
    /// The caller's note.
    pub description: Option<String>,
    /// Why a failed charge failed (`card_declined`, `insufficient_funds`).
    pub failure_code: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (a refund).
    pub updated_at: DateTime<Utc>,
    /// The payment provider's reference (for refunds); never shown.
    #[serde(skip)]
    pub reference: Option<String>,
    /// Row version (clients see it through the ETag).
    #[serde(skip)]
    pub version: i64,
}

/// An amount to charge or refund: 1–99,999,999 minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeAmount(i64);

impl ChargeAmount {
    /// The largest amount one charge can take.
    pub const MAX: i64 = 99_999_999;

    /// Validates the range, naming `field`.
    pub fn parse(field: &str, value: i64) -> Result<Self, FieldError> {
        if !(1..=Self::MAX).contains(&value) {
            return Err(FieldError::new(field, "out_of_range", format!("must be between 1 and {}", Self::MAX)));
        }
        Ok(Self(value))
    }

    /// The amount.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl FieldValue for ChargeAmount {
    fn from_json(field: &str, value: &Json) -> Result<Self, FieldError> {
        ChargeAmount::parse(field, json_i64(field, value)?)
    }
}

impl utoipa::PartialSchema for ChargeAmount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(Self::MAX))
            .description(Some("An amount in minor units (`1999` = 19.99), 1–99,999,999."))
            .into()
    }
}

impl utoipa::ToSchema for ChargeAmount {}

/// The id of a record a body refers to: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordId(i64);

impl RecordId {
    /// The id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl FieldValue for RecordId {
    fn from_json(field: &str, value: &Json) -> Result<Self, FieldError> {
        match json_i64(field, value)? {
            n if n >= 1 => Ok(RecordId(n)),
            _ => Err(FieldError::new(field, "out_of_range", "must be a positive id")),
        }
    }
}

impl utoipa::PartialSchema for RecordId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .description(Some("A positive id."))
            .into()
    }
}

impl utoipa::ToSchema for RecordId {}

text_newtype!(
    /// A payment source: a card token such as `tok_visa`.
    PaymentSource, "source", 1, 255, trim = false, "A payment source token. The sandbox knows `tok_visa` (succeeds), `tok_chargeDeclined` and `tok_insufficientFunds` (declined); any other is refused."
);
text_newtype!(
    /// A charge's description: up to 500 characters.
    ChargeDescription, "description", 0, 500, trim = false, "A note on the charge, up to 500 characters."
);

crate::input! {
    /// `POST /charges`: a payment, optionally for one of the caller's pending orders.
    #[derive(Debug, Clone)]
    pub struct NewCharge {
        /// Amount in minor units; with `order_id`, the order's total.
        pub amount: ChargeAmount,
        /// Currency; with `order_id`, the order's.
        pub currency: Currency,
        /// The payment source (a test token in the sandbox).
        pub source: PaymentSource,
        /// The order this pays.
        #[schema(nullable = false)]
        pub order_id: Option<RecordId>,
        /// A note.
        #[schema(nullable = false)]
        pub description: Option<ChargeDescription>,
    }
}

crate::input! {
    /// `POST /charges/{id}/refund`: how much to give back (default: all that is left).
    #[derive(Debug, Clone, Default)]
    pub struct NewRefund {
        /// Amount in minor units, at most what is left.
        #[schema(nullable = false)]
        pub amount: Option<ChargeAmount>,
    }
}

fn status_filter(raw: &str) -> Result<Filter, String> {
    let st = ChargeStatus::parse(raw.trim()).ok_or("must be succeeded, failed or refunded")?;
    Ok(Filter { column: "status", op: FilterOp::Eq, value: Value::Text(st.as_str().to_string()) })
}

/// The charges collection: newest first by default.
pub static CHARGES: ResourceSpec = ResourceSpec {
    name: "charges",
    fields: &[
        "id",
        "user_id",
        "amount",
        "currency",
        "status",
        "amount_refunded",
        "order_id",
        "description",
        "failure_code",
        "created_at",
        "updated_at",
    ],
    sortable: &[("id", ValueKind::Int), ("created_at", ValueKind::Time), ("amount", ValueKind::Int)],
    default_sort: &[SortKey { column: "created_at", dir: SortDir::Desc }],
    filters: &[
        FilterSpec {
            param: "status",
            kind: filters::Kind::OneOf(&["succeeded", "failed", "refunded"]),
            description: "Only charges in this status.",
            parse: status_filter,
        },
        FilterSpec {
            param: "created_after",
            kind: filters::Kind::Time,
            description: "Only charges created after this instant (RFC 3339, exclusive).",
            parse: |r| filters::time("created_at", FilterOp::Gt, r),
        },
        FilterSpec {
            param: "created_before",
            kind: filters::Kind::Time,
            description: "Only charges created before this instant (RFC 3339, exclusive).",
            parse: |r| filters::time("created_at", FilterOp::Lt, r),
        },
    ],
};

impl Collection for Charge {
    const SPEC: &'static ResourceSpec = &CHARGES;
}

impl Sortable for Charge {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "created_at" => Value::Time(self.created_at),
            "amount" => Value::Int(self.amount),
            _ => Value::Int(self.id),
        }
    }
}

/// A charge about to be stored.
#[derive(Debug, Clone)]
pub struct NewChargeRow<'a> {
    /// Who paid.
    pub user_id: i64,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: &'a str,
    /// `succeeded` or `failed`.
    pub status: ChargeStatus,
    /// The order it pays.
    pub order_id: Option<i64>,
    /// The caller's note.
    pub description: Option<&'a str>,
    /// Why it failed.
    pub failure_code: Option<&'a str>,
    /// The provider's reference of a successful charge.
    pub reference: Option<&'a str>,
}

/// Storage of charges. Like orders, the service runs each operation in one unit of work.
#[async_trait]
pub trait ChargeRepo: Send + Sync {
    /// Stores a charge. A `failed` charge is durable even though the request that made it
    /// answers with an error (402): the attempt happened, and the record says so.
    async fn insert(&self, charge: &NewChargeRow<'_>, now: DateTime<Utc>) -> DomainResult<Charge>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<Charge>>;
    /// Finds by id and locks the charge until the unit of work ends (two refunds take turns).
    async fn lock(&self, id: i64) -> DomainResult<Option<Charge>>;
    /// The succeeded charge that paid an order, locked like [`ChargeRepo::lock`].
    async fn lock_paid_for_order(&self, order_id: i64) -> DomainResult<Option<Charge>>;
    /// Records refunds (the service has checked the amount on the locked charge).
    async fn set_refunded(
        &self,
        id: i64,
        amount_refunded: i64,
        status: ChargeStatus,
        now: DateTime<Utc>,
    ) -> DomainResult<Charge>;
    /// Lists per the query.
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Charge>>;
    /// How many charges are in each status (for metrics).
    async fn count_by_status(&self) -> DomainResult<Vec<(ChargeStatus, i64)>>;
}
