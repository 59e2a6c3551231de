//! Agora's domain layer.
//!
//! Everything a transport (REST, GraphQL, CLI) needs to act on the domain lives here, with no
//! knowledge of HTTP or SQL: the error vocabulary, who is calling ([`Actor`]), validated
//! input types, and one module per resource — its entity, typed inputs, repository port and
//! service (the business rules) — plus the list-query model shared by every collection.
//! Keeping it free of frameworks is what lets one rule serve every transport.

pub mod actor;
pub mod auth;
pub mod charges;
pub mod comments;
pub mod cursor;
pub mod error;
pub mod events;
pub mod feed;
pub mod follows;
pub mod input;
pub mod list;
pub mod orders;
pub mod payments;
pub mod posts;
pub mod products;
pub mod repo;
pub mod services;
pub mod types;
pub mod users;

pub use actor::Actor;
pub use error::{DomainError, DomainResult, ErrorCode, FieldError};

use chrono::{DateTime, SubsecRound, Utc};

/// The current time at the precision both databases store (microseconds), so a value returned
/// from a write equals the value read back later.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
