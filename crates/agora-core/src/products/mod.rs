//! Products: the catalogue, its inputs, storage port and rules.

mod repo;
mod service;

use chrono::{DateTime, Utc};
use utoipa::openapi::schema::ObjectBuilder;

pub use repo::ProductRepo;
pub use service::ProductService;

use crate::error::FieldError;
use crate::list::{
    Collection, Filter, FilterOp, FilterSpec, ResourceSpec, SortDir, SortKey, Sortable, Value, ValueKind, filters,
};
use crate::types::{Amount, Currency, string_value, text_newtype};

text_newtype!(
    /// A product name: 1–200 characters after trimming.
    ProductName, "name", 1, 200, trim = true, "A product name, 1–200 characters after trimming."
);
text_newtype!(
    /// A product description: up to 5,000 characters (may be empty).
    ProductDescription, "description", 0, 5_000, trim = false, "A product description, up to 5,000 characters."
);

/// An empty description: the default.
impl Default for ProductDescription {
    fn default() -> Self {
        ProductDescription(String::new())
    }
}

/// A product category slug: 1–50 letters, digits, `-` or `_`, stored lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category(String);

impl Category {
    /// The accepted form.
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{1,50}$";

    /// Validates the slug form.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let v = value.trim().to_ascii_lowercase();
        if v.is_empty() || v.len() > 50 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(FieldError::new(
                "category",
                "invalid_format",
                "must be 1-50 characters of letters, digits, '-' or '_'",
            ));
        }
        Ok(Self(v))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value!(
    Category,
    ObjectBuilder::new()
        .pattern(Some(Category::PATTERN))
        .description(Some("A category slug: 1–50 letters, digits, `-` or `_` (stored lower-cased)."))
        .examples([serde_json::json!("electronics")])
);

/// Something for sale. Serialised as clients see it (REST adds the derived `in_stock`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Product {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// Category slug.
    pub category: String,
    /// Price in minor units (`1999` = 19.99).
    pub price: i64,
    /// ISO 4217 code, lower case.
    pub currency: String,
    /// Units in stock.
    pub stock: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Row version (clients see it through the ETag).
    #[serde(skip)]
    pub version: i64,
}

crate::input! {
    /// `POST /products` and `PUT /products/{id}` (administrators): every field of a product.
    /// Absent optional fields take their defaults (also on `PUT`, which replaces).
    #[derive(Debug, Clone)]
    pub struct NewProduct {
        /// Name.
        pub name: ProductName,
        /// Description; default empty.
        #[schema(nullable = false)]
        pub description: Option<ProductDescription>,
        /// Category.
        pub category: Category,
        /// Price in minor units (`1999` = 19.99).
        pub price: Amount,
        /// Currency; default `usd`.
        #[schema(nullable = false)]
        pub currency: Option<Currency>,
        /// Units in stock; default 0.
        #[schema(nullable = false)]
        pub stock: Option<Amount>,
    }
}

crate::input! {
    /// `PATCH /products/{id}` (administrators): a JSON merge patch.
    #[derive(Debug, Clone, Default)]
    pub struct ProductPatch {
        /// Name.
        #[schema(nullable = false)]
        pub name: Option<ProductName>,
        /// Description.
        #[schema(nullable = false)]
        pub description: Option<ProductDescription>,
        /// Category.
        #[schema(nullable = false)]
        pub category: Option<Category>,
        /// Price in minor units.
        #[schema(nullable = false)]
        pub price: Option<Amount>,
        /// Currency.
        #[schema(nullable = false)]
        pub currency: Option<Currency>,
        /// Units in stock.
        #[schema(nullable = false)]
        pub stock: Option<Amount>,
    }
}

impl NewProduct {
    /// The description, empty when none was given.
    pub fn description(&self) -> ProductDescription {
        self.description.clone().unwrap_or_default()
    }

    /// The currency, `usd` when none was given.
    pub fn currency(&self) -> Currency {
        self.currency.clone().unwrap_or_else(Currency::default_currency)
    }

    /// The stock, 0 when none was given.
    pub fn stock(&self) -> Amount {
        self.stock.unwrap_or(Amount::ZERO)
    }
}

/// A replacement (`PUT`) as a patch of every field, the absent optional ones back to their
/// defaults.
impl From<NewProduct> for ProductPatch {
    fn from(p: NewProduct) -> Self {
        ProductPatch {
            description: Some(p.description()),
            currency: Some(p.currency()),
            stock: Some(p.stock()),
            name: Some(p.name),
            category: Some(p.category),
            price: Some(p.price),
        }
    }
}

fn in_stock(raw: &str) -> Result<Filter, String> {
    match raw {
        "true" | "1" => Ok(Filter { column: "stock", op: FilterOp::Gt, value: Value::Int(0) }),
        "false" | "0" => Ok(Filter { column: "stock", op: FilterOp::Lte, value: Value::Int(0) }),
        _ => Err("must be true or false".into()),
    }
}

fn category(raw: &str) -> Result<Filter, String> {
    let c = Category::parse(raw).map_err(|e| e.message)?;
    Ok(Filter { column: "category", op: FilterOp::Eq, value: Value::Text(c.as_str().to_string()) })
}

/// The products collection.
pub static PRODUCTS: ResourceSpec = ResourceSpec {
    name: "products",
    fields: &[
        "id",
        "name",
        "description",
        "category",
        "price",
        "currency",
        "stock",
        "in_stock",
        "created_at",
        "updated_at",
    ],
    sortable: &[
        ("id", ValueKind::Int),
        ("name", ValueKind::Text),
        ("category", ValueKind::Text),
        ("price", ValueKind::Int),
        ("stock", ValueKind::Int),
        ("created_at", ValueKind::Time),
    ],
    default_sort: &[SortKey { column: "id", dir: SortDir::Asc }],
    filters: &[
        FilterSpec {
            param: "category",
            kind: filters::Kind::Slug,
            description: "Only products in this category (case-insensitive slug).",
            parse: category,
        },
        FilterSpec {
            param: "price_min",
            kind: filters::Kind::Int,
            description: "Only products whose price (minor units) is at least this.",
            parse: |r| filters::int("price", FilterOp::Gte, r),
        },
        FilterSpec {
            param: "price_max",
            kind: filters::Kind::Int,
            description: "Only products whose price (minor units) is at most this.",
            parse: |r| filters::int("price", FilterOp::Lte, r),
        },
        FilterSpec {
            param: "in_stock",
            kind: filters::Kind::Bool,
            description: "`true`: only products with stock > 0; `false`: only those out of stock. `1`/`0` are accepted too.",
            parse: in_stock,
        },
    ],
};

impl Collection for Product {
    const SPEC: &'static ResourceSpec = &PRODUCTS;
}

impl Sortable for Product {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "name" => Value::Text(self.name.clone()),
            "category" => Value::Text(self.category.clone()),
            "price" => Value::Int(self.price),
            "stock" => Value::Int(self.stock),
            "created_at" => Value::Time(self.created_at),
            _ => Value::Int(self.id),
        }
    }
}
