//! The domain's entities as services return them. Transports choose what to show (for example,
//! `email` only to its owner and admins); entities carry everything.

use chrono::{DateTime, Utc};

use crate::actor::Role;
use crate::list::{Sortable, Value};

/// A registered account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Normalised email, unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Row version, bumped by every write; the basis of ETags and `If-Match`.
    pub version: i64,
}

/// A post written by a user.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// Id.
    pub id: i64,
    /// Author's user id.
    pub author_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Number of likes.
    pub likes: i64,
    /// Number of comments.
    pub comment_count: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Row version.
    pub version: i64,
}

/// Something for sale.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// Category slug.
    pub category: String,
    /// Price in minor units.
    pub price: i64,
    /// ISO 4217 code, lower case.
    pub currency: String,
    /// Units in stock.
    pub stock: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Row version.
    pub version: i64,
}

impl Sortable for User {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "name" => Value::Text(self.name.clone()),
            "email" => Value::Text(self.email.clone()),
            "created_at" => Value::Time(self.created_at),
            _ => Value::Int(self.id),
        }
    }
}

impl Sortable for Post {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "title" => Value::Text(self.title.clone()),
            "created_at" => Value::Time(self.created_at),
            "updated_at" => Value::Time(self.updated_at),
            "likes" => Value::Int(self.likes),
            "author_id" => Value::Int(self.author_id),
            _ => Value::Int(self.id),
        }
    }
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
