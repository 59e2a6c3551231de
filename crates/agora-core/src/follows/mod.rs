//! Follows: who follows whom, and the rules for changing it.
//!
//! A follow is a row (`follower → followee`); each user's `followers_count` and
//! `following_count` are kept by the storage in the same transaction as the row, so they are
//! exact under concurrent follows and unfollows and cost nothing to read.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::actor::{Actor, ensure_owner_or_admin};
use crate::cursor::CursorKey;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::list::{Fetched, Filter, FilterOp, ListQuery, ListRequest, Page, Value};
use crate::users::{USERS, User, UserService};

/// Storage of follows.
#[async_trait]
pub trait FollowRepo: Send + Sync {
    /// Records that `follower` follows `followee` (nothing if it already does); false if
    /// either user does not exist.
    async fn follow(&self, follower: i64, followee: i64, now: DateTime<Utc>) -> DomainResult<bool>;
    /// Removes the follow, if any.
    async fn unfollow(&self, follower: i64, followee: i64) -> DomainResult<()>;
    /// The users who follow `followee_id` (the query carries it as a scope filter).
    async fn followers(&self, q: &ListQuery) -> DomainResult<Fetched<User>>;
    /// The users `follower_id` follows (the query carries it as a scope filter).
    async fn following(&self, q: &ListQuery) -> DomainResult<Fetched<User>>;
}

/// Follows: following, unfollowing and the two lists.
#[derive(Clone)]
pub struct FollowService {
    repo: Arc<dyn FollowRepo>,
    users: UserService,
    cursor_key: CursorKey,
}

impl FollowService {
    pub(crate) fn new(repo: Arc<dyn FollowRepo>, users: UserService, cursor_key: CursorKey) -> Self {
        Self { repo, users, cursor_key }
    }

    /// Who may change `user_id`'s follows: that user or an admin, with the `write` scope;
    /// never itself as the target.
    fn check(&self, actor: &Actor, user_id: i64, target_id: i64) -> DomainResult<()> {
        actor.require_write()?;
        ensure_owner_or_admin(actor, user_id)?;
        if user_id == target_id {
            return Err(DomainError::validation(vec![FieldError::new(
                "target_id",
                "invalid",
                "a user cannot follow itself",
            )]));
        }
        Ok(())
    }

    /// `user_id` follows `target_id` (idempotent).
    pub async fn follow(&self, actor: &Actor, user_id: i64, target_id: i64) -> DomainResult<()> {
        self.check(actor, user_id, target_id)?;
        if self.repo.follow(user_id, target_id, crate::now()).await? {
            Ok(())
        } else {
            Err(crate::ErrorCode::UserNotFound.into())
        }
    }

    /// `user_id` no longer follows `target_id` (idempotent).
    pub async fn unfollow(&self, actor: &Actor, user_id: i64, target_id: i64) -> DomainResult<()> {
        self.check(actor, user_id, target_id)?;
        self.users.ensure_exists(user_id).await?;
        self.users.ensure_exists(target_id).await?;
        self.repo.unfollow(user_id, target_id).await
    }

    /// A page of the users who follow `user_id` (404 if it does not exist).
    pub async fn followers(&self, _actor: &Actor, user_id: i64, req: &ListRequest) -> DomainResult<Page<User>> {
        self.users.ensure_exists(user_id).await?;
        let q = req.parse(&USERS, vec![scope("followee_id", user_id)], &self.cursor_key)?;
        Ok(q.finish(self.repo.followers(&q).await?, &self.cursor_key))
    }

    /// A page of the users `user_id` follows (404 if it does not exist).
    pub async fn following(&self, _actor: &Actor, user_id: i64, req: &ListRequest) -> DomainResult<Page<User>> {
        self.users.ensure_exists(user_id).await?;
        let q = req.parse(&USERS, vec![scope("follower_id", user_id)], &self.cursor_key)?;
        Ok(q.finish(self.repo.following(&q).await?, &self.cursor_key))
    }
}

fn scope(column: &'static str, id: i64) -> Filter {
    Filter { column, op: FilterOp::Eq, value: Value::Int(id) }
}
