//! Comments on posts: what they are, their input, storage port and rules.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::cursor::CursorKey;
use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::events::{DomainEvent, EventBus};
use crate::list::{
    Collection, Fetched, Filter, FilterOp, ListQuery, ListRequest, Page, ResourceSpec, SortDir, SortKey, Sortable,
    Value, ValueKind,
};
use crate::posts::PostService;
use crate::types::text_newtype;

text_newtype!(
    /// A comment: 1–2,000 characters.
    CommentContent, "content", 1, 2_000, trim = false, "A comment, 1–2,000 characters."
);

/// A comment on a post. Comments are not edited, so a comment is its own only version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Comment {
    /// Id.
    pub id: i64,
    /// The post it is on.
    pub post_id: i64,
    /// Its author's user id.
    pub author_id: i64,
    /// Text.
    pub content: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

crate::input! {
    /// `POST /posts/{id}/comments`: a comment by the caller.
    #[derive(Debug, Clone)]
    pub struct NewComment {
        /// Text.
        pub content: CommentContent,
    }
}

/// A post's comments: oldest first by default.
pub static COMMENTS: ResourceSpec = ResourceSpec {
    name: "comments",
    fields: &["id", "post_id", "author_id", "content", "created_at"],
    sortable: &[("id", ValueKind::Int), ("created_at", ValueKind::Time)],
    default_sort: &[SortKey { column: "created_at", dir: SortDir::Asc }],
    filters: &[],
};

impl Collection for Comment {
    const SPEC: &'static ResourceSpec = &COMMENTS;
}

impl Sortable for Comment {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "created_at" => Value::Time(self.created_at),
            _ => Value::Int(self.id),
        }
    }
}

/// Storage of comments.
#[async_trait]
pub trait CommentRepo: Send + Sync {
    /// Inserts a comment; `None` if the post does not exist.
    async fn create(
        &self,
        post_id: i64,
        author_id: i64,
        new: &NewComment,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<Comment>>;
    /// Finds by id.
    async fn get(&self, id: i64) -> DomainResult<Option<Comment>>;
    /// Lists per the query (scoped to one post).
    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Comment>>;
    /// The first page (`q`'s order and limit, plus one) of each post's comments, in one
    /// statement (batched loading of nested lists).
    async fn first_per_post(&self, posts: &[i64], q: &ListQuery) -> DomainResult<Vec<Comment>>;
    /// Deletes; false if there was none.
    async fn delete(&self, id: i64) -> DomainResult<bool>;
}

/// Comments: writing, reading, removing.
#[derive(Clone)]
pub struct CommentService {
    repo: Arc<dyn CommentRepo>,
    posts: PostService,
    cursor_key: CursorKey,
    events: Arc<dyn EventBus>,
}

impl CommentService {
    pub(crate) fn new(
        repo: Arc<dyn CommentRepo>,
        posts: PostService,
        cursor_key: CursorKey,
        events: Arc<dyn EventBus>,
    ) -> Self {
        Self { repo, posts, cursor_key, events }
    }

    /// The caller comments on a post.
    pub async fn create(&self, actor: &Actor, post_id: i64, input: NewComment) -> DomainResult<Comment> {
        actor.require_write()?;
        let Some(author_id) = actor.user_id() else {
            return Err(DomainError::forbidden("Only users can comment."));
        };
        let comment =
            self.repo.create(post_id, author_id, &input, crate::now()).await?.ok_or(ErrorCode::PostNotFound)?;
        self.events.publish(DomainEvent::CommentAdded(comment.clone()));
        Ok(comment)
    }

    /// One comment.
    pub async fn get(&self, _actor: &Actor, id: i64) -> DomainResult<Comment> {
        self.repo.get(id).await?.ok_or_else(|| ErrorCode::CommentNotFound.into())
    }

    /// A page of a post's comments (404 if the post does not exist).
    pub async fn list(&self, actor: &Actor, post_id: i64, req: &ListRequest) -> DomainResult<Page<Comment>> {
        self.posts.get(actor, post_id).await?;
        let scope = Filter { column: "post_id", op: FilterOp::Eq, value: Value::Int(post_id) };
        let q = req.parse(&COMMENTS, vec![scope], &self.cursor_key)?;
        Ok(q.finish(self.repo.list(&q).await?, &self.cursor_key))
    }

    /// The first page of each of several posts' comments, oldest first, `limit` long, in one
    /// round trip (batched loading). Each page's cursor continues with
    /// [`CommentService::list`].
    pub async fn first_pages_by_post(
        &self,
        _actor: &Actor,
        posts: &[i64],
        limit: u64,
    ) -> DomainResult<std::collections::HashMap<i64, Page<Comment>>> {
        let req = ListRequest::first_page(limit);
        let rows = self.repo.first_per_post(posts, &req.parse(&COMMENTS, vec![], &self.cursor_key)?).await?;
        crate::list::pages_per_parent(&COMMENTS, "post_id", posts, &req, &rows, |c| c.post_id, &self.cursor_key)
    }

    /// Removes a comment: its author, the post's author or an admin.
    pub async fn delete(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        actor.require_write()?;
        let comment = self.get(actor, id).await?;
        let allowed = actor.is_self_or_admin(comment.author_id)
            || match self.posts.get(actor, comment.post_id).await {
                Ok(post) => actor.user_id() == Some(post.author_id),
                Err(_) => false,
            };
        if !allowed {
            return Err(DomainError::forbidden(
                "Only the comment's author, the post's author or an admin may delete it.",
            ));
        }
        if self.repo.delete(id).await? { Ok(()) } else { Err(ErrorCode::CommentNotFound.into()) }
    }
}
