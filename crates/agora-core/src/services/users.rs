use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ensure_owner_or_admin, now};
use crate::actor::{Actor, Role};
use crate::cursor::CursorKey;
use crate::entities::User;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::list::{ListQuery, Page, ResourceSpec, SortDir, SortKey, ValueKind};
use crate::patch::Fields;
use crate::repo::{NewUserRecord, PasswordHasher, UserChanges, UserRepo, Written};
use crate::types::{Email, Password, UserName};

/// The users collection: selectable fields, sorts and filters.
pub static USERS: ResourceSpec = ResourceSpec {
    name: "users",
    fields: &["id", "name", "email", "role", "created_at", "updated_at"],
    sortable: &[("id", ValueKind::Int), ("name", ValueKind::Text), ("created_at", ValueKind::Time)],
    default_sort: &[SortKey { column: "id", dir: SortDir::Asc }],
    filters: &[],
};

const WRITABLE: &[&str] = &["name", "email", "password", "role"];

/// User accounts: sign-up, profile changes, deletion.
#[derive(Clone)]
pub struct UserService {
    repo: Arc<dyn UserRepo>,
    hasher: Arc<dyn PasswordHasher>,
    cursor_key: CursorKey,
}

/// Role is writable only by admins; anyone else sending it is refused rather than ignored, so
/// a client never believes it set something it did not.
fn parse_role(actor: &Actor, f: &mut Fields<'_>) -> DomainResult<Option<Role>> {
    let Some(raw) = f.string("role", false) else { return Ok(None) };
    let Some(role) = Role::parse(raw) else {
        f.push(FieldError::new("role", "invalid_value", "must be `user` or `admin`"));
        return Ok(None);
    };
    if !actor.is_admin() {
        return Err(DomainError::forbidden("Only administrators may set `role`.").with_details(vec![FieldError::new(
            "role",
            "forbidden",
            "only administrators may set role",
        )]));
    }
    Ok(Some(role))
}

impl UserService {
    pub(crate) fn new(repo: Arc<dyn UserRepo>, hasher: Arc<dyn PasswordHasher>, cursor_key: CursorKey) -> Self {
        Self { repo, hasher, cursor_key }
    }

    /// Public sign-up (or admin creation, which may set `role`).
    pub async fn create(&self, actor: &Actor, body: &Map<String, Value>) -> DomainResult<User> {
        let mut f = Fields::new(body, WRITABLE);
        let name = f.string("name", true).and_then(|s| f.check(UserName::parse(s)));
        let email = f.string("email", true).and_then(|s| f.check(Email::parse(s)));
        let password = f.string("password", true).and_then(|s| f.check(Password::parse(s)));
        let role = parse_role(actor, &mut f)?;
        f.finish()?;
        let (Some(name), Some(email), Some(password)) = (name, email, password) else {
            return Err(DomainError::internal("validated fields missing"));
        };
        let password_hash = self.hasher.hash(password.expose().to_string()).await?;
        self.repo
            .create(NewUserRecord {
                email: email.as_str().to_string(),
                name: name.into_inner(),
                password_hash,
                role: role.unwrap_or(Role::User),
                now: now(),
            })
            .await
    }

    /// One user by id.
    pub async fn get(&self, _actor: &Actor, id: i64) -> DomainResult<User> {
        self.repo.get(id).await?.ok_or_else(|| DomainError::not_found("USER"))
    }

    /// A page of users.
    pub async fn list(&self, _actor: &Actor, q: &ListQuery) -> DomainResult<Page<User>> {
        Ok(q.finish(self.repo.list(q).await?, &self.cursor_key))
    }

    /// `PUT` (`replace = true`: name and email required) or `PATCH` (only fields sent).
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        body: &Map<String, Value>,
        replace: bool,
        expected_version: Option<i64>,
    ) -> DomainResult<User> {
        ensure_owner_or_admin(actor, id)?;
        let mut f = Fields::new(body, WRITABLE);
        let name = f.string("name", replace).and_then(|s| f.check(UserName::parse(s)));
        let email = f.string("email", replace).and_then(|s| f.check(Email::parse(s)));
        let password = f.string("password", false).and_then(|s| f.check(Password::parse(s)));
        let role = parse_role(actor, &mut f)?;
        f.finish()?;
        let password_hash = match password {
            Some(p) => Some(self.hasher.hash(p.expose().to_string()).await?),
            None => None,
        };
        let changes = UserChanges {
            email: email.map(|e| e.as_str().to_string()),
            name: name.map(UserName::into_inner),
            password_hash,
            role,
        };
        match self.repo.update(id, expected_version, changes, now()).await? {
            Written::Done(u) => Ok(u),
            Written::Missing => Err(DomainError::not_found("USER")),
            Written::VersionMismatch => Err(precondition_failed()),
        }
    }

    /// Deletes a user and their content.
    pub async fn delete(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        ensure_owner_or_admin(actor, id)?;
        if self.repo.delete(id).await? { Ok(()) } else { Err(DomainError::not_found("USER")) }
    }
}

pub(crate) fn precondition_failed() -> DomainError {
    DomainError::new(
        crate::error::ErrorKind::PreconditionFailed,
        "The resource has changed since you fetched it; fetch it again and retry.",
    )
}
