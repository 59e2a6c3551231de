//! The rules of posts: users write them, authors edit them, authors and admins delete them.

use std::sync::Arc;

use super::{NewPost, POSTS, Post, PostPatch, PostRepo};
use crate::actor::{Actor, ensure_owner_or_admin};
use crate::cursor::CursorKey;
use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::events::{DomainEvent, EventBus};
use crate::list::{Filter, FilterOp, ListRequest, Page, Value};
use crate::repo::Written;
use crate::users::UserService;

/// Posts: writing, editing and reading.
#[derive(Clone)]
pub struct PostService {
    repo: Arc<dyn PostRepo>,
    users: UserService,
    cursor_key: CursorKey,
    events: Arc<dyn EventBus>,
}

impl PostService {
    pub(crate) fn new(
        repo: Arc<dyn PostRepo>,
        users: UserService,
        cursor_key: CursorKey,
        events: Arc<dyn EventBus>,
    ) -> Self {
        Self { repo, users, cursor_key, events }
    }

    /// Creates a post authored by the calling user.
    pub async fn create(&self, actor: &Actor, input: NewPost) -> DomainResult<Post> {
        actor.require_write()?;
        let Some(author_id) = actor.user_id() else {
            return Err(DomainError::forbidden("Only users can write posts."));
        };
        let post = self.repo.create(author_id, &input, crate::now()).await?;
        self.events.publish(DomainEvent::PostCreated(post.clone()));
        Ok(post)
    }

    /// One post.
    pub async fn get(&self, _actor: &Actor, id: i64) -> DomainResult<Post> {
        self.repo.get(id).await?.ok_or_else(|| ErrorCode::PostNotFound.into())
    }

    /// The posts of `ids` that exist, in one round trip (batched loading).
    pub async fn get_many(&self, _actor: &Actor, ids: &[i64]) -> DomainResult<Vec<Post>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.repo.get_many(ids).await
    }

    /// A page of posts.
    pub async fn list(&self, _actor: &Actor, req: &ListRequest) -> DomainResult<Page<Post>> {
        self.list_in(vec![], req).await
    }

    /// The first page of each of several users' posts, newest first, `limit` long, in one
    /// round trip: how a transport listing users with their posts avoids a query per user.
    /// Each page's cursor continues with [`PostService::list_by_author`].
    pub async fn first_pages_by_author(
        &self,
        _actor: &Actor,
        authors: &[i64],
        limit: u64,
    ) -> DomainResult<std::collections::HashMap<i64, Page<Post>>> {
        let req = ListRequest::first_page(limit);
        let rows = self.repo.first_per_author(authors, &req.parse(&POSTS, vec![], &self.cursor_key)?).await?;
        crate::list::pages_per_parent(&POSTS, "author_id", authors, &req, &rows, |p| p.author_id, &self.cursor_key)
    }

    /// A page of one user's posts (404 if the user does not exist).
    pub async fn list_by_author(&self, _actor: &Actor, author_id: i64, req: &ListRequest) -> DomainResult<Page<Post>> {
        self.users.ensure_exists(author_id).await?;
        self.list_in(vec![Filter { column: "author_id", op: FilterOp::Eq, value: Value::Int(author_id) }], req).await
    }

    async fn list_in(&self, scope: Vec<Filter>, req: &ListRequest) -> DomainResult<Page<Post>> {
        let q = req.parse(&POSTS, scope, &self.cursor_key)?;
        Ok(q.finish(self.repo.list(&q).await?, &self.cursor_key))
    }

    /// Edits a post: its author only.
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        patch: PostPatch,
        expected_version: Option<i64>,
    ) -> DomainResult<Post> {
        actor.require_write()?;
        let current = self.get(actor, id).await?;
        if actor.user_id() != Some(current.author_id) {
            return Err(DomainError::forbidden("Only the author may edit a post."));
        }
        match self.repo.update(id, expected_version, &patch, crate::now()).await? {
            Written::Done(p) => Ok(p),
            Written::Missing => Err(ErrorCode::PostNotFound.into()),
            Written::VersionMismatch => Err(ErrorCode::PreconditionFailed.into()),
        }
    }

    /// The caller likes a post (once, however often it says so).
    pub async fn like(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        let user_id = self.liker(actor)?;
        if self.repo.like(id, user_id, crate::now()).await? { Ok(()) } else { Err(ErrorCode::PostNotFound.into()) }
    }

    /// The caller no longer likes a post (harmless if it did not).
    pub async fn unlike(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        let user_id = self.liker(actor)?;
        self.get(actor, id).await?;
        self.repo.unlike(id, user_id).await
    }

    /// Who likes: a user with the `write` scope (checked before the post is looked up, so an
    /// anonymous caller learns nothing of which ids exist).
    fn liker(&self, actor: &Actor) -> DomainResult<i64> {
        actor.require_write()?;
        actor.user_id().ok_or_else(|| DomainError::forbidden("Only users can like posts."))
    }

    /// Deletes a post: its author or an admin.
    pub async fn delete(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        // Who may write at all is checked before the post is looked up: otherwise a 404 would
        // tell an anonymous caller which ids exist.
        actor.require_write()?;
        let current = self.get(actor, id).await?;
        ensure_owner_or_admin(actor, current.author_id)?;
        if self.repo.delete(id).await? { Ok(()) } else { Err(ErrorCode::PostNotFound.into()) }
    }
}
