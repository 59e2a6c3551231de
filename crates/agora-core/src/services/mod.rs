//! Business rules, once for every transport. A service method takes the [`Actor`], validated
//! input and returns entities or a [`DomainError`]; handlers and resolvers stay thin.

mod posts;
mod products;
mod users;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

pub use posts::{POSTS, PostService};
pub use products::{PRODUCTS, ProductService};
pub use users::{USERS, UserService};

use crate::actor::Actor;
use crate::cursor::CursorKey;
use crate::error::{DomainError, DomainResult};
use crate::list::{DefaultStyle, Filter, ListQuery, ResourceSpec, parse_list_query};
use crate::repo::{PasswordHasher, PostRepo, ProductRepo, UserRepo};

/// The current time at the precision both databases store (microseconds), so a value returned
/// from a write equals the value read back later.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Everything a transport needs, built once at start-up.
#[derive(Clone)]
pub struct Services {
    /// Users.
    pub users: UserService,
    /// Posts.
    pub posts: PostService,
    /// Products.
    pub products: ProductService,
    /// Credentials.
    pub auth: crate::auth::AuthService,
    /// Signs and verifies pagination cursors.
    pub cursor_key: CursorKey,
}

impl Services {
    /// Wires services over repositories.
    pub fn new(
        users: Arc<dyn UserRepo>,
        posts: Arc<dyn PostRepo>,
        products: Arc<dyn ProductRepo>,
        auth: Arc<dyn crate::auth::AuthRepo>,
        hasher: Arc<dyn PasswordHasher>,
        cursor_key: CursorKey,
    ) -> Self {
        Self {
            auth: crate::auth::AuthService::new(users.clone(), auth, hasher.clone()),
            users: UserService::new(users.clone(), hasher, cursor_key.clone()),
            posts: PostService::new(posts, users, cursor_key.clone()),
            products: ProductService::new(products, cursor_key.clone()),
            cursor_key,
        }
    }

    /// Parses a list query for `spec` with this server's cursor key.
    pub fn parse_list(
        &self,
        spec: &ResourceSpec,
        params: &[(String, String)],
        style: DefaultStyle,
        scope: Vec<Filter>,
    ) -> DomainResult<ListQuery> {
        parse_list_query(spec, params, style, scope, &self.cursor_key)
    }
}

/// Authorization rule for changing something owned by `owner_id`: its owner or an admin,
/// with a credential that allows writing.
pub(crate) fn ensure_owner_or_admin(actor: &Actor, owner_id: i64) -> DomainResult<()> {
    actor.require_write()?;
    if actor.is_self_or_admin(owner_id) {
        Ok(())
    } else {
        Err(DomainError::forbidden("You may only change your own resources."))
    }
}

/// Authorization rule for admin-only operations.
pub(crate) fn ensure_admin(actor: &Actor) -> DomainResult<()> {
    actor.require_write()?;
    if actor.is_admin() { Ok(()) } else { Err(DomainError::forbidden("Only administrators may do this.")) }
}
