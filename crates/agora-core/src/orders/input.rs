//! What a client sends to place an order.

use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

use super::{MAX_ITEMS, MAX_QUANTITY};
use crate::error::FieldError;
use crate::input::{FieldValue, invalid_type, json_i64};

/// One requested line: a product and how many of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRequest {
    /// The product's id (positive).
    pub product_id: i64,
    /// Units, 1–[`MAX_QUANTITY`].
    pub quantity: i64,
}

/// The requested lines: 1–[`MAX_ITEMS`] of them, each product at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItems(Vec<ItemRequest>);

impl OrderItems {
    /// The lines, in the order they were sent.
    pub fn lines(&self) -> &[ItemRequest] {
        &self.0
    }
}

const ITEM_FIELDS: [&str; 2] = ["product_id", "quantity"];

/// Reads one element, `items[i]`, pushing its problems.
fn item(i: usize, v: &Value, errors: &mut Vec<FieldError>) -> Option<ItemRequest> {
    let at = |f: &str| format!("items[{i}].{f}");
    let Some(obj) = v.as_object() else {
        errors.push(invalid_type(&format!("items[{i}]"), "an object with product_id and quantity"));
        return None;
    };
    let mut read = |name: &str, min: i64, max: i64| -> Option<i64> {
        let field = at(name);
        match obj.get(name) {
            None | Some(Value::Null) => {
                errors.push(FieldError::new(field, "required", "is required"));
                None
            }
            Some(raw) => match json_i64(&field, raw) {
                Err(e) => {
                    errors.push(e);
                    None
                }
                Ok(n) if !(min..=max).contains(&n) => {
                    errors.push(FieldError::new(field, "out_of_range", format!("must be between {min} and {max}")));
                    None
                }
                Ok(n) => Some(n),
            },
        }
    };
    let product_id = read("product_id", 1, i64::MAX);
    let quantity = read("quantity", 1, MAX_QUANTITY);
    let mut extra: Vec<&String> = obj.keys().filter(|k| !ITEM_FIELDS.contains(&k.as_str())).collect();
    extra.sort();
    for k in extra {
        errors.push(FieldError::new(at(k), "unknown_field", "is not a field of an order item"));
    }
    Some(ItemRequest { product_id: product_id?, quantity: quantity? })
}

impl FieldValue for OrderItems {
    fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        Self::from_json_all(field, value).map_err(|mut e| e.swap_remove(0))
    }

    fn from_json_all(field: &str, value: &Value) -> Result<Self, Vec<FieldError>> {
        let Some(arr) = value.as_array() else {
            return Err(vec![invalid_type(field, "an array of items")]);
        };
        if arr.is_empty() || arr.len() > MAX_ITEMS {
            return Err(vec![FieldError::new(
                field,
                "out_of_range",
                format!("must hold between 1 and {MAX_ITEMS} items"),
            )]);
        }
        let mut errors = Vec::new();
        let mut lines: Vec<ItemRequest> = Vec::with_capacity(arr.len());
        for (i, v) in arr.iter().enumerate() {
            if let Some(line) = item(i, v, &mut errors) {
                if lines.iter().any(|l| l.product_id == line.product_id) {
                    errors.push(FieldError::new(
                        format!("items[{i}].product_id"),
                        "duplicate",
                        "names a product already in the order; send one line per product",
                    ));
                }
                lines.push(line);
            }
        }
        if errors.is_empty() { Ok(OrderItems(lines)) } else { Err(errors) }
    }
}

impl utoipa::PartialSchema for OrderItems {
    fn schema() -> RefOr<Schema> {
        let int64 = || {
            ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        };
        let item = ObjectBuilder::new()
            .property("product_id", int64().minimum(Some(1)).description(Some("The product.")))
            .property(
                "quantity",
                int64().minimum(Some(1)).maximum(Some(MAX_QUANTITY)).description(Some("Units of it.")),
            )
            .required("product_id")
            .required("quantity")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
        ArrayBuilder::new()
            .items(item)
            .min_items(Some(1))
            .max_items(Some(MAX_ITEMS))
            .description(Some("1–50 lines, one per product (a product named twice is refused)."))
            .into()
    }
}

impl utoipa::ToSchema for OrderItems {}

crate::input! {
    /// `POST /users/{id}/orders`: what to buy. Prices and the total are the server's.
    #[derive(Debug, Clone)]
    pub struct NewOrder {
        /// The lines.
        pub items: OrderItems,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(v: Value) -> Result<NewOrder, Vec<(String, String)>> {
        let Value::Object(obj) = v else { panic!("an object") };
        NewOrder::try_from(&obj).map_err(|e| e.details.into_iter().map(|d| (d.field, d.code)).collect())
    }

    #[test]
    fn every_bad_line_is_named() {
        let ok =
            read(json!({"items": [{"product_id": 3, "quantity": 2}, {"product_id": 1, "quantity": 100}]})).unwrap();
        assert_eq!(ok.items.lines()[1], ItemRequest { product_id: 1, quantity: 100 });
        let e = read(json!({"items": [
            {"product_id": 0, "quantity": 1},
            {"product_id": 2, "quantity": 101, "price": 1},
            "x",
            {"product_id": 4},
            {"product_id": 5, "quantity": 1},
            {"product_id": 5, "quantity": 2},
        ]}))
        .unwrap_err();
        let want = [
            ("items[0].product_id", "out_of_range"),
            ("items[1].quantity", "out_of_range"),
            ("items[1].price", "unknown_field"),
            ("items[2]", "invalid_type"),
            ("items[3].quantity", "required"),
            ("items[5].product_id", "duplicate"),
        ];
        assert_eq!(e, want.map(|(f, c)| (f.to_string(), c.to_string())));
        assert_eq!(read(json!({"items": []})).unwrap_err(), [("items".to_string(), "out_of_range".to_string())]);
        let many: Vec<Value> = (1..=51).map(|i| json!({"product_id": i, "quantity": 1})).collect();
        assert_eq!(read(json!({"items": many})).unwrap_err()[0].1, "out_of_range");
        assert_eq!(read(json!({"items": {}})).unwrap_err()[0].1, "invalid_type");
        assert_eq!(read(json!({})).unwrap_err()[0].1, "required");
    }
}
