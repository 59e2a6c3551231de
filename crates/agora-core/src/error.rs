//! The domain error: one enum of failure kinds, each with a stable machine-readable code.
//!
//! Transports map a [`DomainError`] to their own shape (HTTP envelope, problem+json, GraphQL
//! `extensions.code`); the code string is the contract clients program against, so it never
//! changes once published.

use serde::Serialize;

/// What went wrong, at the granularity a client needs to react to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request body could not be understood (malformed JSON, wrong shape).
    InvalidRequest,
    /// A query-string parameter was invalid.
    InvalidQuery,
    /// One or more fields failed validation.
    Validation,
    /// A unique value is already taken.
    Conflict,
    /// A named resource does not exist; the payload is the resource name in upper snake case.
    NotFound(&'static str),
    /// The caller is not authenticated.
    Unauthenticated,
    /// The caller is authenticated but not allowed.
    Forbidden,
    /// `If-Match` did not match the current representation.
    PreconditionFailed,
    /// Not enough stock to satisfy an order.
    OutOfStock,
    /// Something failed on our side; never carries internals to the client.
    Internal,
}

/// One problem with one input field (or query parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field or parameter name as the client sent it.
    pub field: String,
    /// A human-readable explanation.
    pub message: String,
    /// A stable machine-readable reason, e.g. `too_long`, `invalid_format`.
    pub code: String,
}

impl FieldError {
    /// Builds a field error; used by every validator so details look the same everywhere.
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), code: code.into() }
    }
}

/// A failure of a domain operation, carrying a stable code and per-field details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct DomainError {
    /// The failure kind, which determines status and code.
    pub kind: ErrorKind,
    /// A human-readable message safe to show to clients.
    pub message: String,
    /// Field-level details (validation, conflicts, bad query parameters).
    pub details: Vec<FieldError>,
}

impl DomainError {
    /// Builds an error of `kind` with a client-safe message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), details: Vec::new() }
    }

    /// Adds field details.
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    /// A validation failure listing every bad field.
    pub fn validation(details: Vec<FieldError>) -> Self {
        Self::new(ErrorKind::Validation, "The request has invalid fields.").with_details(details)
    }

    /// A bad query parameter, naming it.
    pub fn invalid_query(param: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorKind::InvalidQuery, format!("Invalid query parameter `{param}`: {message}"))
            .with_details(vec![FieldError::new(param, code, message)])
    }

    /// A missing resource.
    pub fn not_found(resource: &'static str) -> Self {
        let human = resource.to_ascii_lowercase().replace('_', " ");
        Self::new(ErrorKind::NotFound(resource), format!("The {human} does not exist."))
    }

    /// A unique field already taken.
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorKind::Conflict, message.clone()).with_details(vec![FieldError::new(field, "taken", message)])
    }

    /// The caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// An internal failure; the message is logged, never shown.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The stable code clients see, e.g. `VALIDATION_ERROR` or `USER_NOT_FOUND`.
    pub fn code(&self) -> String {
        match &self.kind {
            ErrorKind::InvalidRequest => "INVALID_REQUEST".into(),
            ErrorKind::InvalidQuery => "INVALID_QUERY".into(),
            ErrorKind::Validation => "VALIDATION_ERROR".into(),
            ErrorKind::Conflict => "CONFLICT".into(),
            ErrorKind::NotFound(resource) => format!("{resource}_NOT_FOUND"),
            ErrorKind::Unauthenticated => "UNAUTHENTICATED".into(),
            ErrorKind::Forbidden => "FORBIDDEN".into(),
            ErrorKind::PreconditionFailed => "PRECONDITION_FAILED".into(),
            ErrorKind::OutOfStock => "OUT_OF_STOCK".into(),
            ErrorKind::Internal => "INTERNAL_ERROR".into(),
        }
    }
}

/// Result alias for domain operations.
pub type DomainResult<T> = Result<T, DomainError>;
