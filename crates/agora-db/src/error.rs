use agora_core::DomainError;

/// Failures of the storage layer itself (connecting, migrating). Query failures inside
/// repositories become `DomainError::internal`, logged here with their cause and never shown
/// to clients.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL or options are wrong.
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// The server could not be reached.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(String),
    /// A statement failed.
    #[error("query failed: {0}")]
    Query(String),
}

impl DbError {
    pub(crate) fn connect(e: sqlx::Error) -> Self {
        DbError::Connect(e.to_string())
    }
    pub(crate) fn migrate(e: sqlx::migrate::MigrateError) -> Self {
        DbError::Migrate(e.to_string())
    }
    pub(crate) fn query(e: sqlx::Error) -> Self {
        DbError::Query(e.to_string())
    }
}

/// Maps an unexpected sqlx error to an opaque internal domain error, logging the cause.
pub(crate) fn internal(e: sqlx::Error) -> DomainError {
    tracing::error!(error = %e, "database error");
    DomainError::internal("database error")
}

/// True when the error is a violation of a unique constraint.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

/// True when the error is a violation of a foreign key.
pub(crate) fn is_fk_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_foreign_key_violation())
}
