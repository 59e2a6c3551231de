//! The error vocabulary: one [`ErrorCode`] per failure a client can react to, and the
//! [`DomainError`] that carries one.
//!
//! Each code's string, HTTP status, default message and documentation are declared once, in
//! the table below. The REST envelope, RFC 9457 problem details, the OpenAPI document and
//! GraphQL `extensions.code` all render from it, so a code cannot be spelt two ways or
//! documented differently from what is sent. The string is the contract clients program
//! against: it never changes once published.

use serde::Serialize;

macro_rules! error_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $code:literal, $status:literal, $message:literal, $description:literal;
    )*) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order (grouped by status).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as clients see it, e.g. `USER_NOT_FOUND`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status a REST response with this code carries.
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// The client-safe message used when the failure has nothing more specific to say.
            pub const fn default_message(self) -> &'static str {
                match self { $(ErrorCode::$variant => $message,)* }
            }

            /// When clients meet this code (for the API documentation).
            pub const fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $description,)* }
            }
        }
    };
}

error_codes! {
    /// The request as a whole could not be understood.
    InvalidRequest = "INVALID_REQUEST", 400, "The request could not be understood.",
        "The body is not valid JSON (or form encoding), not a JSON object, or a path parameter is malformed.";
    /// A query-string parameter was invalid.
    InvalidQuery = "INVALID_QUERY", 400, "A query parameter is invalid.",
        "A query parameter is unknown, malformed or out of range (an unknown sort field, a modified cursor, mixed pagination styles); `details` name it.";
    /// A GraphQL query nests deeper than allowed.
    QueryTooDeep = "QUERY_TOO_DEEP", 400, "The query nests too deeply.",
        "A GraphQL query nests selection sets deeper than `graphql.max_depth` (default 10); nothing ran.";
    /// A GraphQL query would cost more than allowed.
    QueryTooComplex = "QUERY_TOO_COMPLEX", 400, "The query is too complex.",
        "A GraphQL query costs more than `graphql.max_complexity` (default 1000): every field costs 1 and a list field multiplies its children's cost by its `limit` (default 20); nothing ran.";
    /// The token endpoint does not know the grant.
    UnsupportedGrantType = "UNSUPPORTED_GRANT_TYPE", 400, "This grant_type is not supported.",
        "`grant_type` is not `password`, `refresh_token`, `client_credentials` or `authorization_code`.";
    /// The OAuth client may not use the grant it asked for.
    UnauthorizedClient = "UNAUTHORIZED_CLIENT", 400, "This client may not use this grant.",
        "The OAuth client is not registered for the grant it used.";
    /// The operation requires an `Idempotency-Key` and none was sent.
    MissingIdempotencyKey = "MISSING_IDEMPOTENCY_KEY", 400, "This operation requires an Idempotency-Key header.",
        "The operation requires an `Idempotency-Key` header (1–255 printable ASCII characters, unique per attempt series); nothing was done.";
    /// No usable credential.
    Unauthenticated = "UNAUTHENTICATED", 401, "Authentication is required.",
        "No credential where one is required, or one that is invalid, expired or revoked (never treated as anonymous). `WWW-Authenticate` names the scheme.";
    /// The card issuer refused the charge.
    CardDeclined = "CARD_DECLINED", 402, "The card was declined.",
        "The payment source was declined. The charge is recorded with `status: failed`; `details` name the source and the charge.";
    /// The card has not enough funds.
    InsufficientFunds = "INSUFFICIENT_FUNDS", 402, "The card has insufficient funds.",
        "The payment source has not enough funds. The charge is recorded with `status: failed`; `details` name the source and the charge.";
    /// Authenticated, but not allowed.
    Forbidden = "FORBIDDEN", 403, "You may not do this.",
        "The credential is valid but lacks the right: another user's resource, a missing scope or role.";
    /// A cookie-authenticated unsafe request without the session's CSRF token.
    CsrfFailed = "CSRF_FAILED", 403, "Cookie-authenticated writes must send the session's CSRF token in X-CSRF-Token.",
        "The request carries the `agora_session` cookie but not the session's token in `X-CSRF-Token` (every unsafe method is checked).";
    /// No route at this path.
    NotFound = "NOT_FOUND", 404, "No resource exists at this path.",
        "No route matches the path.";
    /// The requested API version does not exist.
    UnsupportedApiVersion = "UNSUPPORTED_API_VERSION", 404, "This API version is not supported; supported versions are 1 and 2.",
        "The version named by the path, `API-Version`, `?version=` or the media type is not served.";
    /// No user with this id.
    UserNotFound = "USER_NOT_FOUND", 404, "The user does not exist.",
        "No user has this id.";
    /// No post with this id.
    PostNotFound = "POST_NOT_FOUND", 404, "The post does not exist.",
        "No post has this id.";
    /// No product with this id.
    ProductNotFound = "PRODUCT_NOT_FOUND", 404, "The product does not exist.",
        "No product has this id.";
    /// No comment with this id.
    CommentNotFound = "COMMENT_NOT_FOUND", 404, "The comment does not exist.",
        "No comment has this id.";
    /// No order with this id among those the caller may see.
    OrderNotFound = "ORDER_NOT_FOUND", 404, "The order does not exist.",
        "No order with this id is the caller's (administrators see every order).";
    /// No charge with this id among those the caller may see.
    ChargeNotFound = "CHARGE_NOT_FOUND", 404, "The charge does not exist.",
        "No charge with this id is the caller's (administrators see every charge).";
    /// No API key with this id among the caller's.
    ApiKeyNotFound = "API_KEY_NOT_FOUND", 404, "The API key does not exist.",
        "The caller has no API key with this id (other users' keys are not found either).";
    /// The path exists, the method does not.
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, "This method is not allowed on this resource.",
        "The path exists but not with this method; `Allow` lists the methods.";
    /// The request took too long to arrive.
    RequestTimeout = "REQUEST_TIMEOUT", 408, "The request took too long.",
        "The request was not received in time.";
    /// A unique value is already taken.
    Conflict = "CONFLICT", 409, "The resource conflicts with an existing one.",
        "A unique value is already taken (`details` name the field).";
    /// A request with the same `Idempotency-Key` is still running.
    RequestInProgress = "REQUEST_IN_PROGRESS", 409, "A request with this Idempotency-Key is still in progress; retry after Retry-After.",
        "A request with the same `Idempotency-Key` and the same content is still being processed; retry after `Retry-After` seconds to get its response.";
    /// The caller holds as many of something as it may.
    LimitReached = "LIMIT_REACHED", 409, "You have reached the limit for this resource.",
        "The caller already holds as many of these as it may (100 API keys); delete one first.";
    /// The order's state does not allow the action.
    InvalidOrderState = "INVALID_ORDER_STATE", 409, "The order's state does not allow this.",
        "The action is not allowed from the order's current status (`pending → paid → fulfilled`, or `cancelled`); `details` name the status.";
    /// Not enough stock for an order.
    OutOfStock = "OUT_OF_STOCK", 409, "Not enough stock.",
        "A product of the order has not enough stock (`details` name it); nothing was taken.";
    /// `If-Match` does not match.
    PreconditionFailed = "PRECONDITION_FAILED", 412, "The resource has changed since you fetched it; fetch it again and retry.",
        "`If-Match` does not match the current ETag: the resource changed since the caller fetched it. Nothing was written.";
    /// The body is over the configured limit.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413, "The request body is too large.",
        "The body exceeds the configured limit (default 1 MiB).";
    /// The body is not in a media type the operation reads.
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415, "Send the request body as application/json.",
        "The body's `Content-Type` is not one the operation reads (`application/json` or another `application/*+json`; the OAuth endpoints also read forms).";
    /// One or more fields failed validation.
    ValidationError = "VALIDATION_ERROR", 422, "The request has invalid fields.",
        "One `details` entry per bad field: missing, `null`, wrong type, out of range, unknown or read-only.";
    /// The key was already used for a different request.
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED", 422, "This Idempotency-Key was used for a different request.",
        "The `Idempotency-Key` was already used with a different method, path or body; use a new key for a new request.";
    /// Over a rate limit.
    RateLimitExceeded = "RATE_LIMIT_EXCEEDED", 429, "Too many requests.",
        "Too many requests: retry after `Retry-After` seconds (also `error.retry_after`).";
    /// Something failed on our side.
    InternalError = "INTERNAL_ERROR", 500, "An internal error occurred.",
        "An unexpected failure. The message carries only the request id to quote.";
    /// A dependency does not answer.
    NotReady = "NOT_READY", 503, "A dependency is unreachable.",
        "A dependency (the database, Redis) did not answer; `details` name it.";
    /// Too many password hashes are waiting for a core.
    ServerBusy = "SERVER_BUSY", 503, "The server is busy; retry shortly.",
        "Password hashing (sign-up, login, password change) is at capacity and this request waited its limit for a turn; retry after `Retry-After` seconds.";
    /// The rate limiter's store is down and configured to deny.
    RateLimiterUnavailable = "RATE_LIMITER_UNAVAILABLE", 503, "Rate limiting is temporarily unavailable.",
        "The rate limiter's store (Redis) is unreachable and the server is configured to deny (`on_backend_error = \"deny\"`).";
}

impl ErrorCode {
    /// The code an error response of `status` carries when nothing more specific produced it
    /// (a framework rejection re-rendered in the envelope).
    pub fn for_status(status: u16) -> ErrorCode {
        match status {
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            408 => ErrorCode::RequestTimeout,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::ValidationError,
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::Forbidden,
            429 => ErrorCode::RateLimitExceeded,
            s if s >= 500 => ErrorCode::InternalError,
            _ => ErrorCode::InvalidRequest,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A stable, machine-readable error code."))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

/// One problem with one input field (or query parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field or parameter name as the client sent it.
    #[schema(example = "email")]
    pub field: String,
    /// A human-readable explanation.
    #[schema(example = "must be a valid email address")]
    pub message: String,
    /// A stable machine-readable reason, e.g. `too_long`, `invalid_format`.
    #[schema(example = "invalid_format")]
    pub code: String,
}

impl FieldError {
    /// Builds a field error; used by every validator so details look the same everywhere.
    ///
    /// `field` echoes a name the client sent (an unknown body field, a query parameter), so a
    /// NUL in it is shown as U+FFFD: a NUL is text no document promises and no log or terminal
    /// handles well.
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        let mut field = field.into();
        if field.contains('\0') {
            field = field.replace('\0', "\u{FFFD}");
        }
        Self { field, message: message.into(), code: code.into() }
    }
}

/// A failure of a domain operation, carrying a stable code and per-field details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DomainError {
    /// What went wrong, which determines status and code.
    pub code: ErrorCode,
    /// A human-readable message safe to show to clients (logged, not shown, for internal errors).
    pub message: String,
    /// Field-level details (validation, conflicts, bad query parameters).
    pub details: Vec<FieldError>,
}

impl From<ErrorCode> for DomainError {
    fn from(code: ErrorCode) -> Self {
        DomainError::new(code, code.default_message())
    }
}

impl DomainError {
    /// An error with `code` and a client-safe message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Vec::new() }
    }

    /// Adds field details.
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    /// A validation failure listing every bad field.
    pub fn validation(details: Vec<FieldError>) -> Self {
        DomainError::from(ErrorCode::ValidationError).with_details(details)
    }

    /// A validation failure of one field.
    pub fn invalid_field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, code, message)])
    }

    /// A bad query parameter, naming it.
    pub fn invalid_query(param: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorCode::InvalidQuery, format!("Invalid query parameter `{param}`: {message}"))
            .with_details(vec![FieldError::new(param, code, message)])
    }

    /// A unique field already taken.
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorCode::Conflict, message.clone()).with_details(vec![FieldError::new(field, "taken", message)])
    }

    /// The caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// No usable credential.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    /// An internal failure; the message is logged, never shown.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }
}

/// Result alias for domain operations.
pub type DomainResult<T> = Result<T, DomainError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in ErrorCode::ALL {
            let s = c.as_str();
            assert!(s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{s}");
            assert!(seen.insert(s), "{s} twice");
            assert!((400..600).contains(&c.http_status()), "{s}");
            assert!(!c.default_message().is_empty() && !c.description().is_empty(), "{s}");
        }
    }

    #[test]
    fn framework_statuses_map_to_their_codes() {
        assert_eq!(ErrorCode::for_status(405), ErrorCode::MethodNotAllowed);
        assert_eq!(ErrorCode::for_status(502), ErrorCode::InternalError);
        assert_eq!(ErrorCode::for_status(411), ErrorCode::InvalidRequest);
        for c in [ErrorCode::NotFound, ErrorCode::PayloadTooLarge, ErrorCode::UnsupportedMediaType] {
            assert_eq!(ErrorCode::for_status(c.http_status()), c);
        }
    }
}
