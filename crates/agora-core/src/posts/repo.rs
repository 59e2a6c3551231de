//! What the post service needs from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewPost, Post, PostPatch};
use crate::error::DomainResult;
use crate::list::{Fetched, ListQuery};
use crate::repo::Written;

/// Storage of posts.
#[async_trait]
pub trait PostRepo: Send + Sync {
    /// Inserts a post by `author_id`, created at `now`.
    async fn create(&self, author_id: i64, new: &NewPost, now: DateTime<Utc>) -> DomainResult<Post>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<Post>>;
    /// Finds every post of `ids` that exists, in one statement (batched loading).
    async fn get_many(&self, ids: &[i64]) -> DomainResult<Vec<Post>>;
    /// The first page (`q`'s order and limit, plus one) of each author's posts, in one
    /// statement (batched loading of nested lists).
    async fn first_per_author(&self, authors: &[i64], q: &ListQuery) -> DomainResult<Vec<Post>>;
    /// Lists per the query.
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Post>>;
    /// Applies changes, optionally only at `expected_version`.
    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        patch: &PostPatch,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<Post>>;
    /// Deletes; false if there was none.
    async fn delete(&self, id: i64) -> DomainResult<bool>;
    /// Records that `user_id` likes the post (nothing if already); false if the post does not
    /// exist. The post's `likes` follows in the same transaction.
    async fn like(&self, post_id: i64, user_id: i64, now: DateTime<Utc>) -> DomainResult<bool>;
    /// Removes `user_id`'s like, if any.
    async fn unlike(&self, post_id: i64, user_id: i64) -> DomainResult<()>;
}
