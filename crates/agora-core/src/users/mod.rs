//! Users: accounts, their inputs, storage port and rules.

mod repo;
mod service;

use chrono::{DateTime, Utc};

pub use repo::{NewUserRecord, UserChanges, UserRepo};
pub use service::UserService;

use crate::actor::Role;
use crate::list::{Collection, ResourceSpec, SortDir, SortKey, Sortable, Value, ValueKind};
use crate::types::{Email, Password, text_newtype};

text_newtype!(
    /// A user's display name: 1–100 characters after trimming.
    UserName, "name", 1, 100, trim = true, "A display name, 1–100 characters after trimming."
);

/// A registered account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Normalised email, unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Row version, bumped by every write; the basis of ETags and `If-Match`.
    pub version: i64,
    /// Users who follow this one.
    pub followers_count: i64,
    /// Users this one follows.
    pub following_count: i64,
}

crate::input! {
    /// Sign-up (`POST /users`): a new account. Only administrators may set `role`.
    #[derive(Debug, Clone)]
    pub struct NewUser {
        /// Display name.
        pub name: UserName,
        /// Email address (a taken one is 409 `CONFLICT`).
        pub email: Email,
        /// Password.
        pub password: Password,
        /// `user` (the default) or `admin`; administrators only (anyone else: 403).
        #[schema(nullable = false)]
        pub role: Option<Role>,
    }
}

crate::input! {
    /// `PUT /users/{id}`: name and email replaced; password and role changed when sent.
    #[derive(Debug, Clone)]
    pub struct UserReplace {
        /// Display name.
        pub name: UserName,
        /// Email address (unique).
        pub email: Email,
        /// A new password.
        #[schema(nullable = false)]
        pub password: Option<Password>,
        /// `user` or `admin`; administrators only.
        #[schema(nullable = false)]
        pub role: Option<Role>,
    }
}

crate::input! {
    /// `PATCH /users/{id}`: a JSON merge patch; absent fields stay as they are, `null` is refused.
    #[derive(Debug, Clone, Default)]
    pub struct UserPatch {
        /// Display name.
        #[schema(nullable = false)]
        pub name: Option<UserName>,
        /// Email address (unique).
        #[schema(nullable = false)]
        pub email: Option<Email>,
        /// A new password.
        #[schema(nullable = false)]
        pub password: Option<Password>,
        /// `user` or `admin`; administrators only.
        #[schema(nullable = false)]
        pub role: Option<Role>,
    }
}

impl From<UserReplace> for UserPatch {
    fn from(r: UserReplace) -> Self {
        UserPatch { name: Some(r.name), email: Some(r.email), password: r.password, role: r.role }
    }
}

/// The users collection: selectable fields, sorts and filters.
pub static USERS: ResourceSpec = ResourceSpec {
    name: "users",
    fields: &["id", "name", "email", "role", "created_at", "updated_at", "followers_count", "following_count"],
    sortable: &[("id", ValueKind::Int), ("name", ValueKind::Text), ("created_at", ValueKind::Time)],
    default_sort: &[SortKey { column: "id", dir: SortDir::Asc }],
    filters: &[],
};

impl Collection for User {
    const SPEC: &'static ResourceSpec = &USERS;
}

impl Sortable for User {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "name" => Value::Text(self.name.clone()),
            "email" => Value::Text(self.email.clone()),
            "created_at" => Value::Time(self.created_at),
            _ => Value::Int(self.id),
        }
    }
}
