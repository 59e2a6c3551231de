//! What the user service needs from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::User;
use crate::actor::Role;
use crate::error::DomainResult;
use crate::list::{Fetched, ListQuery};
use crate::repo::Written;

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

/// Storage of users.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Inserts; a taken email is a `CONFLICT` naming `email`.
    async fn create(&self, new: NewUserRecord) -> DomainResult<User>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<User>>;
    /// Finds every user of `ids` that exists, in one statement (batched loading).
    async fn get_many(&self, ids: &[i64]) -> DomainResult<Vec<User>>;
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
