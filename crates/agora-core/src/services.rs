//! Every service, wired once at start-up over the repository and other ports.

use std::sync::Arc;

use crate::auth::{AuthRepo, AuthService, AuthSettings, Denylist, PasswordHasher, SessionStore, TokenSigner};
use crate::charges::{ChargeRepo, ChargeService};
use crate::comments::{CommentRepo, CommentService};
use crate::cursor::CursorKey;
use crate::events::EventBus;
use crate::feed::{FeedRepo, FeedService};
use crate::follows::{FollowRepo, FollowService};
use crate::orders::{OrderRepo, OrderService};
use crate::payments::PaymentGateway;
use crate::posts::{PostRepo, PostService};
use crate::products::{ProductRepo, ProductService};
use crate::users::{UserRepo, UserService};

/// What the services are built from, by name.
#[derive(Clone)]
pub struct Ports {
    /// Storage.
    pub repos: Repos,
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
    /// Where domain events go.
    pub events: Arc<dyn EventBus>,
    /// The payment provider.
    pub gateway: Arc<dyn PaymentGateway>,
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
    /// Follows.
    pub follows: FollowService,
    /// Comments.
    pub comments: CommentService,
    /// The feed.
    pub feed: FeedService,
    /// Orders.
    pub orders: OrderService,
    /// Charges.
    pub charges: ChargeService,
    /// Credentials.
    pub auth: AuthService,
    /// What they were built from, for [`Services::within`].
    ports: Arc<Ports>,
}

/// The storage ports a unit of work replaces: repositories whose statements all run in one
/// transaction (see [`Services::within`]).
#[derive(Clone)]
pub struct Repos {
    /// Users.
    pub users: Arc<dyn UserRepo>,
    /// Posts.
    pub posts: Arc<dyn PostRepo>,
    /// Follows.
    pub follows: Arc<dyn FollowRepo>,
    /// Comments.
    pub comments: Arc<dyn CommentRepo>,
    /// The feed.
    pub feed: Arc<dyn FeedRepo>,
    /// Products.
    pub products: Arc<dyn ProductRepo>,
    /// Orders.
    pub orders: Arc<dyn OrderRepo>,
    /// Charges.
    pub charges: Arc<dyn ChargeRepo>,
    /// Durable credentials.
    pub auth: Arc<dyn AuthRepo>,
}

impl Repos {
    /// Every repository from one storage adapter.
    pub fn all<T>(store: Arc<T>) -> Self
    where
        T: UserRepo
            + PostRepo
            + FollowRepo
            + CommentRepo
            + FeedRepo
            + ProductRepo
            + OrderRepo
            + ChargeRepo
            + AuthRepo
            + 'static,
    {
        Self {
            users: store.clone(),
            posts: store.clone(),
            follows: store.clone(),
            comments: store.clone(),
            feed: store.clone(),
            products: store.clone(),
            orders: store.clone(),
            charges: store.clone(),
            auth: store,
        }
    }
}

impl Services {
    /// Wires the services over their ports.
    pub fn new(p: Ports) -> Self {
        let users = UserService::new(p.repos.users.clone(), p.hasher.clone(), p.cursor_key.clone());
        let posts = PostService::new(p.repos.posts.clone(), users.clone(), p.cursor_key.clone(), p.events.clone());
        Self {
            auth: AuthService::new(&p),
            comments: CommentService::new(
                p.repos.comments.clone(),
                posts.clone(),
                p.cursor_key.clone(),
                p.events.clone(),
            ),
            feed: FeedService::new(p.repos.feed.clone(), p.cursor_key.clone()),
            orders: OrderService::new(
                p.repos.orders.clone(),
                p.repos.charges.clone(),
                p.gateway.clone(),
                users.clone(),
                p.cursor_key.clone(),
            ),
            charges: ChargeService::new(
                p.repos.charges.clone(),
                p.repos.orders.clone(),
                p.gateway.clone(),
                p.cursor_key.clone(),
            ),
            posts,
            products: ProductService::new(p.repos.products.clone(), p.cursor_key.clone()),
            follows: FollowService::new(p.repos.follows.clone(), users.clone(), p.cursor_key.clone()),
            users,
            ports: Arc::new(p),
        }
    }

    /// The event bus, for those who subscribe.
    pub fn events(&self) -> &Arc<dyn EventBus> {
        &self.ports.events
    }

    /// The same services over `repos`: a unit of work, so that everything one request writes
    /// commits (or rolls back) as one, together with whatever else the unit's transaction
    /// holds (the request's idempotency record). `events` is the bus that holds their events
    /// until the unit commits. The other ports are shared.
    pub fn within(&self, repos: Repos, events: Arc<dyn EventBus>) -> Services {
        Services::new(Ports { repos, events, ..(*self.ports).clone() })
    }
}
