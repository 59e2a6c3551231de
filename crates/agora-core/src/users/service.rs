//! The rules of accounts: who may create, see, change and delete them.

use std::sync::Arc;

#[cfg(doc)]
use super::UserReplace;
use super::{NewUser, USERS, User, UserChanges, UserPatch, UserRepo};
use crate::actor::{Actor, Role, ensure_owner_or_admin};
use crate::auth::PasswordHasher;
use crate::cursor::CursorKey;
use crate::error::{DomainError, DomainResult, ErrorCode, FieldError};
use crate::list::{ListRequest, Page};
use crate::repo::Written;
use crate::users::NewUserRecord;

/// User accounts: sign-up, profile changes, deletion.
#[derive(Clone)]
pub struct UserService {
    repo: Arc<dyn UserRepo>,
    hasher: Arc<dyn PasswordHasher>,
    cursor_key: CursorKey,
}

/// `role` is writable only by admins; anyone else sending it is refused rather than ignored,
/// so a client never believes it set something it did not.
fn ensure_may_set_role(actor: &Actor, role: Option<Role>) -> DomainResult<()> {
    if role.is_none() || actor.is_admin() {
        return Ok(());
    }
    Err(DomainError::forbidden("Only administrators may set `role`.").with_details(vec![FieldError::new(
        "role",
        "forbidden",
        "only administrators may set role",
    )]))
}

impl UserService {
    pub(crate) fn new(repo: Arc<dyn UserRepo>, hasher: Arc<dyn PasswordHasher>, cursor_key: CursorKey) -> Self {
        Self { repo, hasher, cursor_key }
    }

    /// Public sign-up, or an administrator's creation (which may set `role`).
    pub async fn create(&self, actor: &Actor, input: NewUser) -> DomainResult<User> {
        ensure_may_set_role(actor, input.role)?;
        let password_hash = self.hasher.hash(input.password.expose().to_string()).await?;
        self.repo
            .create(NewUserRecord {
                email: input.email.as_str().to_string(),
                name: input.name.into_inner(),
                password_hash,
                role: input.role.unwrap_or(Role::User),
                now: crate::now(),
            })
            .await
    }

    /// One user by id.
    pub async fn get(&self, _actor: &Actor, id: i64) -> DomainResult<User> {
        self.repo.get(id).await?.ok_or_else(|| ErrorCode::UserNotFound.into())
    }

    /// The users of `ids` that exist, in one round trip: how a transport resolving many
    /// references (the authors of a page of posts) avoids one lookup per reference.
    pub async fn get_many(&self, _actor: &Actor, ids: &[i64]) -> DomainResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.repo.get_many(ids).await
    }

    /// A page of users.
    pub async fn list(&self, _actor: &Actor, req: &ListRequest) -> DomainResult<Page<User>> {
        let q = req.parse(&USERS, vec![], &self.cursor_key)?;
        Ok(q.finish(self.repo.list(&q).await?, &self.cursor_key))
    }

    /// `PATCH`, or `PUT` (a [`UserReplace`] is the patch that sets name and email): only
    /// the fields sent change. The user themself or an administrator.
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        patch: UserPatch,
        expected_version: Option<i64>,
    ) -> DomainResult<User> {
        ensure_owner_or_admin(actor, id)?;
        ensure_may_set_role(actor, patch.role)?;
        let password_hash = match patch.password {
            Some(p) => Some(self.hasher.hash(p.expose().to_string()).await?),
            None => None,
        };
        let changes = UserChanges {
            email: patch.email.map(|e| e.as_str().to_string()),
            name: patch.name.map(|n| n.into_inner()),
            password_hash,
            role: patch.role,
        };
        match self.repo.update(id, expected_version, changes, crate::now()).await? {
            Written::Done(u) => Ok(u),
            Written::Missing => Err(ErrorCode::UserNotFound.into()),
            Written::VersionMismatch => Err(ErrorCode::PreconditionFailed.into()),
        }
    }

    /// Deletes a user and their content. The user themself or an administrator.
    pub async fn delete(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        ensure_owner_or_admin(actor, id)?;
        if self.repo.delete(id).await? { Ok(()) } else { Err(ErrorCode::UserNotFound.into()) }
    }

    /// Whether a user exists (a nested collection such as `/users/{id}/posts` is 404 without).
    pub async fn ensure_exists(&self, id: i64) -> DomainResult<()> {
        match self.repo.get(id).await? {
            Some(_) => Ok(()),
            None => Err(ErrorCode::UserNotFound.into()),
        }
    }
}
