//! Who is calling. Every service call takes an [`Actor`] so that authorization lives in the
//! domain, once, for every transport.

use serde::{Deserialize, Serialize};

use serde_json::Value as Json;

use crate::error::{DomainError, DomainResult, ErrorCode, FieldError};
use crate::input::{FieldValue, json_str};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

    /// The scopes a password login grants for this role.
    pub fn default_scopes(self) -> Scopes {
        match self {
            Role::User => Scopes::READ.union(Scopes::WRITE),
            Role::Admin => Scopes::ALL,
        }
    }
}

impl FieldValue for Role {
    fn from_json(field: &str, value: &Json) -> Result<Self, FieldError> {
        Role::parse(json_str(field, value)?)
            .ok_or_else(|| FieldError::new(field, "invalid_value", "must be `user` or `admin`"))
    }
}

/// What a credential may do: `read`, `write`, `admin`. Tokens and keys carry a subset; the
/// effective rights are the intersection of the scopes and the user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// A scope list as the OAuth `scope` parameter spells it (space- or comma-separated scope
    /// names, possibly none), as a JSON Schema pattern.
    pub const LIST_PATTERN: &'static str = "^[ ,]*((read|write|admin)([ ,]+(read|write|admin))*)?[ ,]*$";
    /// [`Scopes::LIST_PATTERN`] with at least one name.
    pub const NON_EMPTY_LIST_PATTERN: &'static str = "^[ ,]*(read|write|admin)([ ,]+(read|write|admin))*[ ,]*$";

    /// No rights.
    pub const NONE: Scopes = Scopes(0);
    /// Read resources.
    pub const READ: Scopes = Scopes(1);
    /// Create, change and delete resources.
    pub const WRITE: Scopes = Scopes(2);
    /// Administrative operations (still requires the admin role for users).
    pub const ADMIN: Scopes = Scopes(4);
    /// Everything.
    pub const ALL: Scopes = Scopes(7);

    /// Both sets.
    pub const fn union(self, other: Scopes) -> Scopes {
        Scopes(self.0 | other.0)
    }

    /// Only what both allow.
    pub const fn intersect(self, other: Scopes) -> Scopes {
        Scopes(self.0 & other.0)
    }

    /// Whether every scope of `other` is present.
    pub const fn contains(self, other: Scopes) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parses a space- or comma-separated list; unknown names are an error naming them.
    pub fn parse(s: &str) -> Result<Scopes, String> {
        let mut out = Scopes::NONE;
        for part in s.split([' ', ',']).filter(|p| !p.is_empty()) {
            out = out.union(match part {
                "read" => Scopes::READ,
                "write" => Scopes::WRITE,
                "admin" => Scopes::ADMIN,
                other => return Err(format!("unknown scope `{other}`; allowed: read, write, admin")),
            });
        }
        Ok(out)
    }

    /// The names of the scopes present, in `read`, `write`, `admin` order.
    pub fn names(self) -> Vec<&'static str> {
        [(Scopes::READ, "read"), (Scopes::WRITE, "write"), (Scopes::ADMIN, "admin")]
            .into_iter()
            .filter_map(|(s, name)| self.contains(s).then_some(name))
            .collect()
    }

    /// The space-separated form used in tokens (`read write`).
    pub fn to_scope_string(self) -> String {
        let mut v = Vec::new();
        if self.contains(Scopes::READ) {
            v.push("read");
        }
        if self.contains(Scopes::WRITE) {
            v.push("write");
        }
        if self.contains(Scopes::ADMIN) {
            v.push("admin");
        }
        v.join(" ")
    }
}

/// Serialised as the array of names (`["read", "write"]`).
impl Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

/// The authenticated (or anonymous) principal behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// No credentials were presented.
    Anonymous,
    /// A user, through a token, key or session.
    User {
        /// The user's id.
        id: i64,
        /// The user's current role.
        role: Role,
        /// What the credential allows.
        scopes: Scopes,
    },
    /// An OAuth client acting for itself (`client_credentials`).
    Client {
        /// The client's public id.
        client_id: String,
        /// What the client's token allows.
        scopes: Scopes,
    },
}

impl Actor {
    /// A user with every right their role allows (CLI, internal calls).
    pub fn user(id: i64, role: Role) -> Actor {
        Actor::User { id, role, scopes: role.default_scopes() }
    }

    /// The operator: the command line and start-up tasks (creating the first administrator),
    /// which act with every right.
    pub fn operator() -> Actor {
        Actor::user(0, Role::Admin)
    }

    /// The user id, if any.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The credential's scopes.
    pub fn scopes(&self) -> Scopes {
        match self {
            Actor::Anonymous => Scopes::NONE,
            Actor::User { scopes, .. } | Actor::Client { scopes, .. } => *scopes,
        }
    }

    /// Administrator: the admin role *and* the admin scope (a read-only key of an admin is
    /// not an admin credential). A client is an administrator when granted the admin scope.
    pub fn is_admin(&self) -> bool {
        match self {
            Actor::User { role, scopes, .. } => *role == Role::Admin && scopes.contains(Scopes::ADMIN),
            Actor::Client { scopes, .. } => scopes.contains(Scopes::ADMIN),
            Actor::Anonymous => false,
        }
    }

    /// Whether the actor is this user or an admin: the rule for seeing private fields.
    pub fn is_self_or_admin(&self, user_id: i64) -> bool {
        self.is_admin() || self.user_id() == Some(user_id)
    }

    /// Requires an authenticated actor whose credential allows writing.
    pub fn require_write(&self) -> DomainResult<()> {
        match self {
            Actor::Anonymous => Err(unauthenticated()),
            a if a.scopes().contains(Scopes::WRITE) => Ok(()),
            _ => Err(DomainError::forbidden("This credential lacks the `write` scope.")),
        }
    }

    /// A label for logs: `anonymous`, `user:42`, `client:abc`.
    pub fn label(&self) -> String {
        match self {
            Actor::Anonymous => "anonymous".into(),
            Actor::User { id, .. } => format!("user:{id}"),
            Actor::Client { client_id, .. } => format!("client:{client_id}"),
        }
    }
}

/// The error for a missing or unusable credential.
pub fn unauthenticated() -> DomainError {
    ErrorCode::Unauthenticated.into()
}

/// Authorization rule for changing something owned by `owner_id`: its owner or an admin,
/// with a credential that allows writing.
pub fn ensure_owner_or_admin(actor: &Actor, owner_id: i64) -> DomainResult<()> {
    actor.require_write()?;
    if actor.is_self_or_admin(owner_id) {
        Ok(())
    } else {
        Err(DomainError::forbidden("You may only change your own resources."))
    }
}

/// Authorization rule for admin-only operations.
pub fn ensure_admin(actor: &Actor) -> DomainResult<()> {
    actor.require_write()?;
    if actor.is_admin() { Ok(()) } else { Err(DomainError::forbidden("Only administrators may do this.")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The documented patterns accept exactly the scope lists [`Scopes::parse`] accepts.
        #[test]
        fn scope_patterns_match_the_parser(s in "(read|write|admin|reed|adminx|[ ,\t]){0,5}") {
            let list = regex::Regex::new(Scopes::LIST_PATTERN).expect("pattern");
            let non_empty = regex::Regex::new(Scopes::NON_EMPTY_LIST_PATTERN).expect("pattern");
            let parsed = Scopes::parse(&s);
            proptest::prop_assert_eq!(list.is_match(&s), parsed.is_ok(), "{:?}", s);
            proptest::prop_assert_eq!(non_empty.is_match(&s), parsed.is_ok_and(|p| p != Scopes::NONE), "{:?}", s);
        }
    }

    #[test]
    fn scopes_parse_and_print() {
        assert_eq!(Scopes::parse("read write"), Ok(Scopes::READ.union(Scopes::WRITE)));
        assert_eq!(Scopes::parse("read,admin").map(|s| s.to_scope_string()), Ok("read admin".into()));
        assert!(Scopes::parse("root").is_err());
    }

    #[test]
    fn admin_needs_role_and_scope() {
        assert!(Actor::user(1, Role::Admin).is_admin());
        assert!(!Actor::User { id: 1, role: Role::Admin, scopes: Scopes::READ }.is_admin());
        assert!(!Actor::User { id: 1, role: Role::User, scopes: Scopes::ALL }.is_admin());
    }

    #[test]
    fn write_needs_scope() {
        assert!(Actor::Anonymous.require_write().is_err());
        assert!(Actor::User { id: 1, role: Role::User, scopes: Scopes::READ }.require_write().is_err());
        assert!(Actor::user(1, Role::User).require_write().is_ok());
    }
}
