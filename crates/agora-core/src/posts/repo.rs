//! What the post service needs from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Post;
use crate::error::DomainResult;
use crate::list::{Fetched, ListQuery};
use crate::repo::Written;

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
