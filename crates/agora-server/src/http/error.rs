//! The one error path: every failure — domain errors, extractor rejections, unknown routes,
//! panics — becomes an [`ApiError`] and is rendered as the envelope or, when the client asked
//! for it, as RFC 9457 problem details.

use agora_core::{DomainError, ErrorKind, FieldError};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::ctx;
use super::envelope::Meta;

/// An error on its way to the client. Boxed so that `Result<T, ApiError>` stays one pointer
/// wide on the happy path.
#[derive(Debug, Clone)]
pub struct ApiError(Box<ApiErrorParts>);

impl std::ops::Deref for ApiError {
    type Target = ApiErrorParts;
    fn deref(&self) -> &ApiErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorParts {
        &mut self.0
    }
}

/// The parts of an [`ApiError`].
#[derive(Debug, Clone)]
pub struct ApiErrorParts {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `USER_NOT_FOUND`.
    pub code: String,
    /// Client-safe message.
    pub message: String,
    /// Per-field details.
    pub details: Vec<FieldError>,
    /// Extra headers (`Allow`, `Retry-After`, `WWW-Authenticate`…).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Seconds to wait, for 429/409-in-progress.
    pub retry_after: Option<u64>,
    /// The rate-limit policy that refused the request.
    pub policy: Option<String>,
}

/// The error object inside the envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Field-level problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub details: Vec<FieldError>,
    /// Seconds to wait before retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The rate-limit policy that refused the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// `{"success": false, "error": {...}, "meta": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always false.
    pub success: bool,
    /// What went wrong.
    pub error: ErrorBody,
    /// Request metadata.
    pub meta: Meta,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    instance: String,
    code: &'a str,
    request_id: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a str>,
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self(Box::new(ApiErrorParts {
            status,
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
            retry_after: None,
            policy: None,
        }))
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds details.
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    /// 400 `INVALID_REQUEST`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    /// 404 `NOT_FOUND` for paths that match no route.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", "No resource exists at this path.")
    }

    /// 500 `INTERNAL_ERROR`: opaque by design.
    pub fn internal() -> Self {
        let id = ctx::current().request_id;
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            format!("An internal error occurred. Quote request id {id} when reporting it."),
        )
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e.kind {
            ErrorKind::InvalidRequest | ErrorKind::InvalidQuery => StatusCode::BAD_REQUEST,
            ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Conflict | ErrorKind::OutOfStock => StatusCode::CONFLICT,
            ErrorKind::NotFound(_) => StatusCode::NOT_FOUND,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorKind::Internal => {
                tracing::error!(request_id = %ctx::current().request_id, error = %e.message, "internal error");
                return ApiError::internal();
            }
        };
        let mut out = ApiError::new(status, &e.code(), e.message.clone()).with_details(e.details);
        if status == StatusCode::UNAUTHORIZED {
            out = out.with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"agora\""));
        }
        out
    }
}

fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let c = ctx::current();
        let (content_type, body) = if c.problem_json {
            let p = Problem {
                kind: format!("https://agora.dev/problems/{}", self.code.to_ascii_lowercase().replace('_', "-")),
                title: title(self.status),
                status: self.status.as_u16(),
                detail: &self.message,
                instance: format!("urn:agora:request:{}", c.request_id),
                code: &self.code,
                request_id: c.request_id.to_string(),
                errors: &self.details,
                retry_after: self.retry_after,
                policy: self.policy.as_deref(),
            };
            ("application/problem+json", serde_json::to_vec(&p))
        } else {
            let env = ErrorEnvelope {
                success: false,
                error: ErrorBody {
                    code: self.code.clone(),
                    message: self.message.clone(),
                    details: self.details.clone(),
                    retry_after: self.retry_after,
                    policy: self.policy.clone(),
                },
                meta: Meta::now(),
            };
            ("application/json", serde_json::to_vec(&env))
        };
        let mut res = (self.status, body.unwrap_or_default()).into_response();
        let headers: &mut HeaderMap = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (k, v) in self.headers.iter() {
            headers.insert(k.clone(), v.clone());
        }
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res.extensions_mut().insert(super::normalize::AlreadyEnveloped);
        res
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
