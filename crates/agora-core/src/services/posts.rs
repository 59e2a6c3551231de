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

    /// Creates a post. The author is the actor; while the server runs without authentication an
    /// anonymous caller must name an existing `author_id`.
    pub async fn create(&self, actor: &Actor, body: &Map<String, Value>) -> DomainResult<Post> {
        let allowed: &'static [&'static str] =
            if actor.user_id().is_some() { &["title", "content"] } else { &["title", "content", "author_id"] };
        let mut f = Fields::new(body, allowed);
        let title = f.string("title", true).and_then(|s| f.check(PostTitle::parse(s)));
        let content = f.string("content", true).and_then(|s| f.check(PostContent::parse(s)));
        let author_id = match actor.user_id() {
            Some(id) => Some(id),
            None => f.int("author_id", true),
        };
        f.finish()?;
        let (Some(title), Some(content), Some(author_id)) = (title, content, author_id) else {
            return Err(DomainError::internal("validated fields missing"));
        };
        if self.users.get(author_id).await?.is_none() {
            return Err(DomainError::validation(vec![crate::error::FieldError::new(
                "author_id",
                "not_found",
                "no user has this id",
            )]));
        }
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
        let current = self.get(actor, id).await?;
        if actor.user_id().is_some() && actor.user_id() != Some(current.author_id) {
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
