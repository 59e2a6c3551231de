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

/// Maps an unexpected sqlx error to a domain error, logging the cause: 503 `NOT_READY` when
/// the database cannot be reached (no connection within the acquire timeout, a lost socket,
/// the server shutting down) — a client may retry, and the pool replaces the connection by
/// itself once the database is back — else an opaque 500.
pub(crate) fn internal(e: sqlx::Error) -> DomainError {
    if is_unavailable(&e) {
        tracing::warn!(error = %e, "database unavailable");
        return DomainError::new(agora_core::ErrorCode::NotReady, "The database is unavailable; retry shortly.")
            .with_details(vec![agora_core::FieldError::new("database", "unavailable", "did not answer")]);
    }
    tracing::error!(error = %e, "database error");
    DomainError::internal("database error")
}

/// True when the error says the database could not be reached or dropped the connection
/// (SQLSTATE class 08, connection exception; 57P, the server ending sessions), rather than
/// that the statement failed.
pub(crate) fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// True when the error is a violation of a unique constraint.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

/// True when the error is a violation of a foreign key.
pub(crate) fn is_fk_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_foreign_key_violation())
}
