use std::sync::Arc;

use serde_json::{Map, Value};

use super::users::precondition_failed;
use super::{ensure_admin, now};
use crate::actor::Actor;
use crate::cursor::CursorKey;
use crate::entities::Product;
use crate::error::{DomainError, DomainResult};
use crate::list::{
    Filter, FilterOp, FilterSpec, ListQuery, Page, ResourceSpec, SortDir, SortKey, Value as LValue, ValueKind, filters,
};
use crate::patch::Fields;
use crate::repo::{ProductChanges, ProductRecord, ProductRepo, Written};
use crate::types::{Category, Currency, ProductDescription, ProductName, parse_amount};

fn in_stock(raw: &str) -> Result<Filter, String> {
    match raw {
        "true" | "1" => Ok(Filter { column: "stock", op: FilterOp::Gt, value: LValue::Int(0) }),
        "false" | "0" => Ok(Filter { column: "stock", op: FilterOp::Lte, value: LValue::Int(0) }),
        _ => Err("must be true or false".into()),
    }
}

fn category(raw: &str) -> Result<Filter, String> {
    let c = Category::parse(raw).map_err(|e| e.message)?;
    Ok(Filter { column: "category", op: FilterOp::Eq, value: LValue::Text(c.as_str().to_string()) })
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
        FilterSpec { param: "category", parse: category },
        FilterSpec { param: "price_min", parse: |r| filters::int("price", FilterOp::Gte, r) },
        FilterSpec { param: "price_max", parse: |r| filters::int("price", FilterOp::Lte, r) },
        FilterSpec { param: "in_stock", parse: in_stock },
    ],
};

const WRITABLE: &[&str] = &["name", "description", "category", "price", "currency", "stock"];

/// The catalogue: read by anyone, written by admins.
#[derive(Clone)]
pub struct ProductService {
    repo: Arc<dyn ProductRepo>,
    cursor_key: CursorKey,
}

struct Parsed {
    name: Option<ProductName>,
    description: Option<ProductDescription>,
    category: Option<Category>,
    price: Option<i64>,
    currency: Option<Currency>,
    stock: Option<i64>,
}

fn parse(body: &Map<String, Value>, full: bool) -> DomainResult<Parsed> {
    let mut f = Fields::new(body, WRITABLE);
    let name = f.string("name", full).and_then(|s| f.check(ProductName::parse(s)));
    let description = f.string("description", false).and_then(|s| f.check(ProductDescription::parse(s)));
    let category = f.string("category", full).and_then(|s| f.check(Category::parse(s)));
    let price = f.int("price", full).and_then(|v| f.check(parse_amount("price", v)));
    let currency = f.string("currency", false).and_then(|s| f.check(Currency::parse(s)));
    let stock = f.int("stock", false).and_then(|v| f.check(parse_amount("stock", v)));
    f.finish()?;
    Ok(Parsed { name, description, category, price, currency, stock })
}

impl Parsed {
    /// A full record; absent optional fields take their documented defaults.
    fn into_record(self) -> DomainResult<ProductRecord> {
        let (Some(name), Some(category), Some(price)) = (self.name, self.category, self.price) else {
            return Err(DomainError::internal("validated fields missing"));
        };
        Ok(ProductRecord {
            name: name.into_inner(),
            description: self.description.map(ProductDescription::into_inner).unwrap_or_default(),
            category: category.as_str().to_string(),
            price,
            currency: self.currency.map(|c| c.as_str().to_string()).unwrap_or_else(|| "usd".into()),
            stock: self.stock.unwrap_or(0),
        })
    }
}

impl ProductService {
    pub(crate) fn new(repo: Arc<dyn ProductRepo>, cursor_key: CursorKey) -> Self {
        Self { repo, cursor_key }
    }

    /// Adds a product (admins).
    pub async fn create(&self, actor: &Actor, body: &Map<String, Value>) -> DomainResult<Product> {
        ensure_admin(actor)?;
        let record = parse(body, true)?.into_record()?;
        self.repo.create(record, now()).await
    }

    /// One product.
    pub async fn get(&self, _actor: &Actor, id: i64) -> DomainResult<Product> {
        self.repo.get(id).await?.ok_or_else(|| DomainError::not_found("PRODUCT"))
    }

    /// A page of products.
    pub async fn list(&self, _actor: &Actor, q: &ListQuery) -> DomainResult<Page<Product>> {
        Ok(q.finish(self.repo.list(q).await?, &self.cursor_key))
    }

    /// `PUT` (replace: every field set, absent optional ones back to defaults) or `PATCH`.
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        body: &Map<String, Value>,
        replace: bool,
        expected_version: Option<i64>,
    ) -> DomainResult<Product> {
        ensure_admin(actor)?;
        let p = parse(body, replace)?;
        let changes = if replace {
            let r = p.into_record()?;
            ProductChanges {
                name: Some(r.name),
                description: Some(r.description),
                category: Some(r.category),
                price: Some(r.price),
                currency: Some(r.currency),
                stock: Some(r.stock),
            }
        } else {
            ProductChanges {
                name: p.name.map(ProductName::into_inner),
                description: p.description.map(ProductDescription::into_inner),
                category: p.category.map(|c| c.as_str().to_string()),
                price: p.price,
                currency: p.currency.map(|c| c.as_str().to_string()),
                stock: p.stock,
            }
        };
        match self.repo.update(id, expected_version, changes, now()).await? {
            Written::Done(p) => Ok(p),
            Written::Missing => Err(DomainError::not_found("PRODUCT")),
            Written::VersionMismatch => Err(precondition_failed()),
        }
    }

    /// Removes a product (admins).
    pub async fn delete(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        ensure_admin(actor)?;
        if self.repo.delete(id).await? { Ok(()) } else { Err(DomainError::not_found("PRODUCT")) }
    }
}
