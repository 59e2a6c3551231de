//! Response representations. Both versions share them today; a version that changes a shape
//! gets its own type and a conversion here, never a copy of a handler.

use agora_core::entities::{Post, Product, User};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::etag::etag;
use crate::http::extract::Version;

/// A user as clients see it. `email` appears only to the user themself and to admins.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Email, shown only to the user and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `user` or `admin`.
    pub role: &'static str,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl UserOut {
    /// Builds the representation; `private` reveals the email.
    pub fn new(u: &User, private: bool) -> Self {
        Self {
            id: u.id,
            name: u.name.clone(),
            email: private.then(|| u.email.clone()),
            role: u.role.as_str(),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }

    /// The strong ETag of this representation.
    pub fn etag(u: &User, private: bool, v: Version, fields: Option<&[String]>) -> String {
        etag("user", u.id, u.version, &variant(v, private, fields))
    }
}

/// A post.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostOut {
    /// Id.
    pub id: i64,
    /// Author's user id.
    pub author_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Likes.
    pub likes: i64,
    /// Comments.
    pub comment_count: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&Post> for PostOut {
    fn from(p: &Post) -> Self {
        Self {
            id: p.id,
            author_id: p.author_id,
            title: p.title.clone(),
            content: p.content.clone(),
            likes: p.likes,
            comment_count: p.comment_count,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl PostOut {
    /// The strong ETag of this representation.
    pub fn etag(p: &Post, v: Version, fields: Option<&[String]>) -> String {
        etag("post", p.id, p.version, &variant(v, false, fields))
    }
}

/// A product. `in_stock` is derived from `stock`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category slug.
    pub category: String,
    /// Price in minor units (`1999` = 19.99).
    pub price: i64,
    /// ISO 4217 code, lower case.
    pub currency: String,
    /// Units in stock.
    pub stock: i64,
    /// `stock > 0`.
    pub in_stock: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&Product> for ProductOut {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.clone(),
            price: p.price,
            currency: p.currency.clone(),
            stock: p.stock,
            in_stock: p.stock > 0,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl ProductOut {
    /// The strong ETag of this representation.
    pub fn etag(p: &Product, v: Version, fields: Option<&[String]>) -> String {
        etag("product", p.id, p.version, &variant(v, false, fields))
    }
}

fn variant(v: Version, private: bool, fields: Option<&[String]>) -> String {
    format!("{}|{}|{}", v.0.number(), private, fields.map(|f| f.join(",")).unwrap_or_default())
}
