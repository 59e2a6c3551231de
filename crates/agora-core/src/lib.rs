//! Agora's domain layer.
//!
//! Everything a transport (REST, GraphQL, CLI) needs to act on the domain lives here, with no
//! knowledge of HTTP or SQL: validated input types, entities, the business rules (services), the
//! repository ports the database layer implements, and the list-query model shared by every
//! collection. Keeping it free of frameworks is what lets one rule serve every transport.

pub mod actor;
pub mod auth;
pub mod cursor;
pub mod entities;
pub mod error;
pub mod list;
pub mod patch;
pub mod repo;
pub mod services;
pub mod types;

pub use actor::Actor;
pub use error::{DomainError, ErrorKind, FieldError};
