//! Repository ports: what the services need from storage. The database crate implements them
//! once for SQLite and PostgreSQL; tests or other stores could implement them again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::actor::Role;
use crate::entities::{Post, Product, User};
use crate::error::DomainResult;
use crate::list::{Fetched, ListQuery};

/// A user row to insert.
#[derive(Debug, Clone)]
pub struct NewUserRecord {
    /// Normalised email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Creation time (also the first `updated_at`).
    pub now: DateTime<Utc>,
}

/// Changes to a user; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// New email.
    pub email: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New role.
    pub role: Option<Role>,
}

/// A post row to insert.
#[derive(Debug, Clone)]
pub struct NewPostRecord {
    /// Author.
    pub author_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Creation time.
    pub now: DateTime<Utc>,
}

/// Changes to a post.
#[derive(Debug, Clone, Default)]
pub struct PostChanges {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub content: Option<String>,
}

/// A product row to insert, or a full replacement.
#[derive(Debug, Clone)]
pub struct ProductRecord {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category slug.
    pub category: String,
    /// Price in minor units.
    pub price: i64,
    /// Currency code.
    pub currency: String,
    /// Stock.
    pub stock: i64,
}

/// Changes to a product.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New price.
    pub price: Option<i64>,
    /// New currency.
    pub currency: Option<String>,
    /// New stock.
    pub stock: Option<i64>,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, PartialEq)]
pub enum Written<T> {
    /// Applied; the new state.
    Done(T),
    /// No row with that id.
    Missing,
    /// The row exists but its version differs from the expected one.
    VersionMismatch,
}

/// Storage of users.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Inserts; a taken email is a `CONFLICT` naming `email`.
    async fn create(&self, new: NewUserRecord) -> DomainResult<User>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<User>>;
    /// Finds by normalised email, with the password hash (for login).
    async fn get_by_email(&self, email: &str) -> DomainResult<Option<(User, String)>>;
    /// Lists per the query.
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<User>>;
    /// Applies changes, optionally only if the row is at `expected_version`.
    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        changes: UserChanges,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<User>>;
    /// Deletes (with the user's posts); false if there was none.
    async fn delete(&self, id: i64) -> DomainResult<bool>;
}

/// Storage of posts.
#[async_trait]
pub trait PostRepo: Send + Sync {
    /// Inserts.
    async fn create(&self, new: NewPostRecord) -> DomainResult<Post>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<Post>>;
    /// Lists per the query.
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Post>>;
    /// Applies changes, optionally only at `expected_version`.
    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        changes: PostChanges,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<Post>>;
    /// Deletes; false if there was none.
    async fn delete(&self, id: i64) -> DomainResult<bool>;
}

/// Storage of products.
#[async_trait]
pub trait ProductRepo: Send + Sync {
    /// Inserts.
    async fn create(&self, new: ProductRecord, now: DateTime<Utc>) -> DomainResult<Product>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<Product>>;
    /// Lists per the query.
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Product>>;
    /// Applies changes, optionally only at `expected_version`.
    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        changes: ProductChanges,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<Product>>;
    /// Deletes; false if there was none.
    async fn delete(&self, id: i64) -> DomainResult<bool>;
}

/// Password hashing, behind a port so the domain does not pick the algorithm's parameters and
/// so the CPU-heavy work can run off the async executor.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a plaintext password into a PHC string.
    async fn hash(&self, plaintext: String) -> DomainResult<String>;
    /// Checks a plaintext against a PHC string.
    async fn verify(&self, plaintext: String, hash: String) -> DomainResult<bool>;
}
