//! Every service, wired once at start-up over the repository and other ports.

use std::sync::Arc;

use crate::auth::{AuthRepo, AuthService, AuthSettings, Denylist, PasswordHasher, SessionStore, TokenSigner};
use crate::cursor::CursorKey;
use crate::posts::{PostRepo, PostService};
use crate::products::{ProductRepo, ProductService};
use crate::users::{UserRepo, UserService};

/// What the services are built from, by name.
pub struct Ports {
    /// User storage.
    pub users: Arc<dyn UserRepo>,
    /// Post storage.
    pub posts: Arc<dyn PostRepo>,
    /// Product storage.
    pub products: Arc<dyn ProductRepo>,
    /// Durable credential storage.
    pub auth: Arc<dyn AuthRepo>,
    /// Revoked access tokens.
    pub denylist: Arc<dyn Denylist>,
    /// Browser sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Access-token signing.
    pub signer: Arc<dyn TokenSigner>,
    /// Signs and verifies pagination cursors.
    pub cursor_key: CursorKey,
    /// Credential lifetimes.
    pub auth_settings: AuthSettings,
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
    pub auth: AuthService,
}

impl Services {
    /// Wires the services over their ports.
    pub fn new(p: Ports) -> Self {
        let users = UserService::new(p.users.clone(), p.hasher.clone(), p.cursor_key.clone());
        Self {
            auth: AuthService::new(&p),
            posts: PostService::new(p.posts, users.clone(), p.cursor_key.clone()),
            products: ProductService::new(p.products, p.cursor_key),
            users,
        }
    }
}
