//! The feed: the posts of the users the caller follows, newest first.
//!
//! Fan-out on read: the feed is a keyset query over `follows` joined to
//! `posts(author_id, created_at, id)` at request time, so a follow or an unfollow shows on
//! the very next page and a post costs one insert however many followers its author has (see
//! docs/ARCHITECTURE.md). It pages by signed cursor only: a page number would make the
//! database skip every earlier post.

use std::sync::Arc;

use async_trait::async_trait;

use crate::actor::{Actor, unauthenticated};
use crate::cursor::CursorKey;
use crate::error::{DomainError, DomainResult};
use crate::list::{DefaultStyle, Fetched, Filter, FilterOp, ListQuery, ListRequest, Page, Value};
use crate::posts::{POSTS, Post};

/// Storage of the feed.
#[async_trait]
pub trait FeedRepo: Send + Sync {
    /// The posts of the authors `follower_id` follows (the query carries it as a scope filter).
    async fn feed(&self, q: &ListQuery) -> DomainResult<Fetched<Post>>;
}

/// The feed.
#[derive(Clone)]
pub struct FeedService {
    repo: Arc<dyn FeedRepo>,
    cursor_key: CursorKey,
}

impl FeedService {
    pub(crate) fn new(repo: Arc<dyn FeedRepo>, cursor_key: CursorKey) -> Self {
        Self { repo, cursor_key }
    }

    /// A page of the caller's feed: a signed-in user only; cursor pages only.
    pub async fn feed(&self, actor: &Actor, req: &ListRequest) -> DomainResult<Page<Post>> {
        let Some(user_id) = actor.user_id() else {
            return Err(match actor {
                Actor::Anonymous => unauthenticated(),
                _ => DomainError::forbidden("Only users have a feed."),
            });
        };
        if let Some((name, _)) = req.params.iter().find(|(k, _)| matches!(k.as_str(), "page" | "per_page" | "offset")) {
            return Err(DomainError::invalid_query(
                name,
                "cursor_only",
                "the feed pages by cursor (`limit`, `cursor`)",
            ));
        }
        let req = ListRequest { params: req.params.clone(), style: DefaultStyle::Cursor };
        let scope = Filter { column: "follower_id", op: FilterOp::Eq, value: Value::Int(user_id) };
        let q = req.parse(&POSTS, vec![scope], &self.cursor_key)?;
        Ok(q.finish(self.repo.feed(&q).await?, &self.cursor_key))
    }
}
