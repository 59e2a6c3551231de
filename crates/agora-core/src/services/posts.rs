use std::sync::Arc;

use serde_json::{Map, Value};

use super::users::precondition_failed;
use super::{ensure_owner_or_admin, now};
use crate::actor::Actor;
use crate::cursor::CursorKey;
use crate::entities::Post;
use crate::error::{DomainError, DomainResult};
use crate::list::{FilterOp, FilterSpec, ListQuery, Page, ResourceSpec, SortDir, SortKey, ValueKind, filters};
use crate::patch::Fields;
use crate::repo::{NewPostRecord, PostChanges, PostRepo, UserRepo, Written};
use crate::types::{PostContent, PostTitle};

/// The posts collection: newest first by default.
pub static POSTS: ResourceSpec = ResourceSpec {
    name: "posts",
    fields: &["id", "author_id", "title", "content", "likes", "comment_count", "created_at", "updated_at"],
    sortable: &[
        ("id", ValueKind::Int),
        ("created_at", ValueKind::Time),
        ("updated_at", ValueKind::Time),
        ("title", ValueKind::Text),
        ("likes", ValueKind::Int),
    ],
    default_sort: &[SortKey { column: "created_at", dir: SortDir::Desc }],
    filters: &[FilterSpec { param: "author_id", parse: |r| filters::int("author_id", FilterOp::Eq, r) }],
};

/// Posts: writing, editing and reading.
#[derive(Clone)]
pub struct PostService {
    repo: Arc<dyn PostRepo>,
    users: Arc<dyn UserRepo>,
    cursor_key: CursorKey,
}

impl PostService {
    pub(crate) fn new(repo: Arc<dyn PostRepo>, users: Arc<dyn UserRepo>, cursor_key: CursorKey) -> Self {
        Self { repo, users, cursor_key }
    }

    /// Creates a post authored by the calling user.
    pub async fn create(&self, actor: &Actor, body: &Map<String, Value>) -> DomainResult<Post> {
        actor.require_write()?;
        let Some(author_id) = actor.user_id() else {
            return Err(DomainError::forbidden("Only users can write posts."));
        };
        let mut f = Fields::new(body, &["title", "content"]);
        let title = f.string("title", true).and_then(|s| f.check(PostTitle::parse(s)));
        let content = f.string("content", true).and_then(|s| f.check(PostContent::parse(s)));
        f.finish()?;
        let (Some(title), Some(content)) = (title, content) else {
            return Err(DomainError::internal("validated fields missing"));
        };
        self.repo
            .create(NewPostRecord { author_id, title: title.into_inner(), content: content.into_inner(), now: now() })
            .await
    }

    /// One post.
    pub async fn get(&self, _actor: &Actor, id: i64) -> DomainResult<Post> {
        self.repo.get(id).await?.ok_or_else(|| DomainError::not_found("POST"))
    }

    /// A page of posts.
    pub async fn list(&self, _actor: &Actor, q: &ListQuery) -> DomainResult<Page<Post>> {
        Ok(q.finish(self.repo.list(q).await?, &self.cursor_key))
    }

    /// Posts of one user (404 if the user does not exist).
    pub async fn ensure_author_exists(&self, author_id: i64) -> DomainResult<()> {
        match self.users.get(author_id).await? {
            Some(_) => Ok(()),
            None => Err(DomainError::not_found("USER")),
        }
    }

    /// Edits a post: its author only.
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        body: &Map<String, Value>,
        expected_version: Option<i64>,
    ) -> DomainResult<Post> {
        actor.require_write()?;
        let current = self.get(actor, id).await?;
        if actor.user_id() != Some(current.author_id) {
            return Err(DomainError::forbidden("Only the author may edit a post."));
        }
        let mut f = Fields::new(body, &["title", "content"]);
        let title = f.string("title", false).and_then(|s| f.check(PostTitle::parse(s)));
        let content = f.string("content", false).and_then(|s| f.check(PostContent::parse(s)));
        f.finish()?;
        let changes =
            PostChanges { title: title.map(PostTitle::into_inner), content: content.map(PostContent::into_inner) };
        match self.repo.update(id, expected_version, changes, now()).await? {
            Written::Done(p) => Ok(p),
            Written::Missing => Err(DomainError::not_found("POST")),
            Written::VersionMismatch => Err(precondition_failed()),
        }
    }

    /// Deletes a post: its author or an admin.
    pub async fn delete(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        let current = self.get(actor, id).await?;
        ensure_owner_or_admin(actor, current.author_id)?;
        if self.repo.delete(id).await? { Ok(()) } else { Err(DomainError::not_found("POST")) }
    }
}
