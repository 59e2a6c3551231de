//! Orders: what they are, their input, storage port, life cycle and money.
//!
//! An order is `pending` when placed, `paid` when a charge for its total succeeds, then
//! `fulfilled` by an administrator; `pending` and `paid` orders can be `cancelled` (stock
//! returned, and a paid order's charge refunded). Money is integer minor units throughout.

mod input;
mod repo;
mod service;

use chrono::{DateTime, Utc};

pub use input::{ItemRequest, NewOrder, OrderItems};
pub use repo::{CataloguePrice, NewOrderRow, OrderRepo};
pub use service::OrderService;

use crate::error::{DomainError, DomainResult, ErrorCode, FieldError};
use crate::list::{Collection, FilterSpec, ResourceSpec, SortDir, SortKey, Sortable, Value, ValueKind, filters};

/// One line of an order: what was bought, how many, and the price it had when the order was
/// placed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct OrderItem {
    /// The product.
    pub product_id: i64,
    /// Units, 1–100.
    pub quantity: i64,
    /// The product's price when the order was placed, in minor units.
    pub unit_price: i64,
}

/// An order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Order {
    /// Id.
    pub id: i64,
    /// Who ordered.
    pub user_id: i64,
    /// Where it stands.
    pub status: OrderStatus,
    /// Its lines, in product-id order.
    pub items: Vec<OrderItem>,
    /// `Σ unit_price × quantity`, in minor units, computed by the server.
    pub total: i64,
    /// The currency of every item and of the total.
    pub currency: String,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    /// Its last change of status.
    pub updated_at: DateTime<Utc>,
    /// Row version (clients see it through the ETag).
    #[serde(skip)]
    pub version: i64,
}

fn status_filter(raw: &str) -> Result<crate::list::Filter, String> {
    let st = OrderStatus::parse(raw.trim()).ok_or("must be pending, paid, fulfilled or cancelled")?;
    Ok(crate::list::Filter {
        column: "status",
        op: crate::list::FilterOp::Eq,
        value: Value::Text(st.as_str().to_string()),
    })
}

/// A user's orders: newest first by default.
pub static ORDERS: ResourceSpec = ResourceSpec {
    name: "orders",
    fields: &["id", "user_id", "status", "items", "total", "currency", "created_at", "updated_at"],
    sortable: &[("id", ValueKind::Int), ("created_at", ValueKind::Time), ("total", ValueKind::Int)],
    default_sort: &[SortKey { column: "created_at", dir: SortDir::Desc }],
    filters: &[FilterSpec {
        param: "status",
        kind: filters::Kind::OneOf(&["pending", "paid", "fulfilled", "cancelled"]),
        description: "Only orders in this status.",
        parse: status_filter,
    }],
};

impl Collection for Order {
    const SPEC: &'static ResourceSpec = &ORDERS;
}

impl Sortable for Order {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "created_at" => Value::Time(self.created_at),
            "total" => Value::Int(self.total),
            _ => Value::Int(self.id),
        }
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Placed, stock taken, not paid.
    Pending,
    /// Paid in full.
    Paid,
    /// Shipped (an administrator said so).
    Fulfilled,
    /// Cancelled; its stock was returned.
    Cancelled,
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// A charge for its total succeeded.
    Pay,
    /// An administrator fulfilled it.
    Fulfill,
    /// Its owner or an administrator cancelled it.
    Cancel,
}

impl OrderStatus {
    /// The status's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Parses [`OrderStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        [OrderStatus::Pending, OrderStatus::Paid, OrderStatus::Fulfilled, OrderStatus::Cancelled]
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    /// The status after `action`, or 409 `INVALID_ORDER_STATE` naming the current status.
    pub fn after(self, action: OrderAction) -> DomainResult<OrderStatus> {
        use OrderAction::*;
        use OrderStatus::*;
        match (self, action) {
            (Pending, Pay) => Ok(Paid),
            (Paid, Fulfill) => Ok(Fulfilled),
            (Pending | Paid, Cancel) => Ok(Cancelled),
            (from, _) => Err(DomainError::new(
                ErrorCode::InvalidOrderState,
                format!("A {} order cannot be {}.", from.as_str(), action.past_tense()),
            )
            .with_details(vec![FieldError::new("status", "invalid_state", from.as_str())])),
        }
    }
}

impl OrderAction {
    fn past_tense(self) -> &'static str {
        match self {
            OrderAction::Pay => "paid",
            OrderAction::Fulfill => "fulfilled",
            OrderAction::Cancel => "cancelled",
        }
    }
}

/// Items per order.
pub const MAX_ITEMS: usize = 50;
/// Units of one product per order line.
pub const MAX_QUANTITY: i64 = 100;

/// `Σ unit_price × quantity` over `(unit_price, quantity)` lines, refusing an amount that does
/// not fit (never wrapping): the server computes totals, clients never send them.
pub fn total(lines: impl IntoIterator<Item = (i64, i64)>) -> DomainResult<i64> {
    lines.into_iter().try_fold(0i64, |sum, (price, qty)| {
        price.checked_mul(qty).and_then(|line| sum.checked_add(line)).ok_or_else(|| {
            DomainError::validation(vec![FieldError::new("items", "out_of_range", "the order's total is too large")])
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [OrderStatus; 4] =
        [OrderStatus::Pending, OrderStatus::Paid, OrderStatus::Fulfilled, OrderStatus::Cancelled];
    const ACTIONS: [OrderAction; 3] = [OrderAction::Pay, OrderAction::Fulfill, OrderAction::Cancel];

    #[test]
    fn the_life_cycle() {
        use OrderAction::*;
        use OrderStatus::*;
        assert_eq!(Pending.after(Pay).unwrap(), Paid);
        assert_eq!(Paid.after(Fulfill).unwrap(), Fulfilled);
        assert_eq!(Pending.after(Cancel).unwrap(), Cancelled);
        assert_eq!(Paid.after(Cancel).unwrap(), Cancelled);
        for (from, action) in
            [(Pending, Fulfill), (Paid, Pay), (Fulfilled, Cancel), (Cancelled, Cancel), (Cancelled, Pay)]
        {
            let e = from.after(action).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidOrderState, "{from:?} {action:?}");
        }
        for st in ALL {
            assert_eq!(OrderStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
    }

    #[test]
    fn totals_are_exact_or_refused() {
        assert_eq!(total([(1999, 2), (500, 1)]).unwrap(), 4498);
        assert_eq!(total([]).unwrap(), 0);
        assert!(total([(i64::MAX, 2)]).is_err());
        assert!(total([(i64::MAX, 1), (1, 1)]).is_err());
    }

    proptest! {
        /// Final states are final; every allowed step moves forward.
        #[test]
        fn no_way_back(path in proptest::collection::vec(0usize..3, 0..8)) {
            let mut st = OrderStatus::Pending;
            for a in path {
                let before = st;
                if let Ok(next) = st.after(ACTIONS[a]) {
                    prop_assert!(!matches!(before, OrderStatus::Fulfilled | OrderStatus::Cancelled));
                    prop_assert_ne!(next, OrderStatus::Pending);
                    st = next;
                }
            }
        }

        /// A total is the exact sum of its lines whenever it fits.
        #[test]
        fn totals_add_up(lines in proptest::collection::vec((0i64..100_000_000, 1i64..=MAX_QUANTITY), 0..MAX_ITEMS)) {
            let exact: i128 = lines.iter().map(|(p, q)| i128::from(*p) * i128::from(*q)).sum();
            prop_assert_eq!(i128::from(total(lines).unwrap()), exact);
        }
    }
}
