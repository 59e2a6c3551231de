//! Who is calling. Every service call takes an [`Actor`] so that authorization lives in the
//! domain, once, for every transport.

use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary account.
    User,
    /// May read and change anything.
    Admin,
}

impl Role {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or client-sent role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The authenticated (or anonymous) principal behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// No credentials were presented.
    Anonymous,
    /// A signed-in user.
    User {
        /// The user's id.
        id: i64,
        /// The user's role at authentication time.
        role: Role,
    },
}

impl Actor {
    /// The user id, if any.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::Anonymous => None,
            Actor::User { id, .. } => Some(*id),
        }
    }

    /// Whether the actor is an administrator.
    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::User { role: Role::Admin, .. })
    }

    /// Whether the actor is this user or an admin: the rule for seeing private fields.
    pub fn is_self_or_admin(&self, user_id: i64) -> bool {
        self.is_admin() || self.user_id() == Some(user_id)
    }
}
