//! The one error path: every failure — domain errors, extractor rejections, unknown routes,
//! panics — becomes an [`ApiError`] and is rendered as the envelope or, when the client asked
//! for it, as RFC 9457 problem details. Codes come from the vocabulary in
//! [`agora_core::ErrorCode`]; nothing here spells one.

use agora_core::{DomainError, ErrorCode, FieldError};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
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
    /// HTTP status (the code's, unless a framework rejection had another).
    pub status: StatusCode,
    /// Stable code.
    pub code: ErrorCode,
    /// Client-safe message.
    pub message: String,
    /// Per-field details.
    pub details: Vec<FieldError>,
    /// Extra headers (`Allow`, `Retry-After`, `WWW-Authenticate`…).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
    /// The rate-limit policy that refused the request.
    pub policy: Option<String>,
}

/// The error object inside the envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody<'a> {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: &'a str,
    /// Field-level problems.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(value_type = Vec<FieldError>)]
    pub details: &'a [FieldError],
    /// Seconds to wait before retrying (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub retry_after: Option<u64>,
    /// The rate-limit policy that refused the request (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub policy: Option<&'a str>,
}

/// `{"success": false, "error": {...}, "meta": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope<'a> {
    /// Always false.
    pub success: bool,
    /// What went wrong.
    pub error: ErrorBody<'a>,
    /// Request metadata.
    pub meta: Meta,
}

/// RFC 9457 problem details, sent instead of the envelope when the request's `Accept` asks
/// for `application/problem+json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDetails<'a> {
    /// A URI naming the problem type, derived from `code`.
    #[serde(rename = "type")]
    #[schema(format = "uri", example = "https://agora.dev/problems/user-not-found")]
    pub kind: String,
    /// The HTTP reason phrase.
    #[schema(example = "Not Found")]
    pub title: &'a str,
    /// The HTTP status.
    #[schema(example = 404)]
    pub status: u16,
    /// Human-readable explanation (the envelope's `error.message`).
    pub detail: &'a str,
    /// `urn:agora:request:<request id>`.
    #[schema(example = "urn:agora:request:req_0123456789abcdef")]
    pub instance: String,
    /// Stable machine-readable code (the envelope's `error.code`).
    pub code: ErrorCode,
    /// Equals the `X-Request-ID` header.
    pub request_id: &'a str,
    /// Field-level problems, when there are any.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(value_type = Vec<FieldError>)]
    pub errors: &'a [FieldError],
    /// Seconds to wait before retrying (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub retry_after: Option<u64>,
    /// The rate-limit policy that refused the request (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub policy: Option<&'a str>,
}

/// Marks a response whose body is already final: rendered by [`ApiError`], or a deliberate
/// non-JSON page. The error normaliser leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct AlreadyEnveloped;

/// Credentials the authentication layer turned away, with the answer owed to the client. The
/// answer is given by the first layer after rate limiting (see `auth::Authenticate`), so that
/// requests with bad credentials are counted against the anonymous quota.
#[derive(Debug, Clone)]
pub struct Rejected(pub ApiError);

fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl ApiError {
    /// An error with `code` and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Box::new(ApiErrorParts {
            status: status_of(code),
            code,
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
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// 500 `INTERNAL_ERROR`: opaque by design.
    pub fn internal() -> Self {
        let id = ctx::current().request_id;
        Self::new(
            ErrorCode::InternalError,
            format!("{} Quote request id {id} when reporting it.", ErrorCode::InternalError.default_message()),
        )
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code, code.default_message())
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        if e.code == ErrorCode::InternalError {
            tracing::error!(request_id = %ctx::current().request_id, error = %e.message, "internal error");
            return ApiError::internal();
        }
        let out = ApiError::new(e.code, e.message).with_details(e.details);
        match e.code {
            ErrorCode::Unauthenticated => {
                out.with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"agora\""))
            }
            ErrorCode::ServerBusy => out.with_header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            _ => out,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let c = ctx::current();
        let (content_type, body) = if c.graphql {
            // A GraphQL client reads errors in GraphQL's shape, whatever refused the request
            // (authentication, the rate limiter, the body limit).
            let mut ext = serde_json::json!({ "code": self.code });
            if !self.details.is_empty() {
                ext["details"] = serde_json::to_value(&self.details).unwrap_or_default();
            }
            if let Some(s) = self.retry_after {
                ext["retryAfter"] = s.into();
            }
            (
                "application/json",
                serde_json::to_vec(&serde_json::json!({"errors": [{"message": self.message, "extensions": ext}]})),
            )
        } else if c.problem_json {
            let p = ProblemDetails {
                kind: format!(
                    "https://agora.dev/problems/{}",
                    self.code.as_str().to_ascii_lowercase().replace('_', "-")
                ),
                title: self.status.canonical_reason().unwrap_or("Error"),
                status: self.status.as_u16(),
                detail: &self.message,
                instance: format!("urn:agora:request:{}", c.request_id),
                code: self.code,
                request_id: &c.request_id,
                errors: &self.details,
                retry_after: self.retry_after,
                policy: self.policy.as_deref(),
            };
            ("application/problem+json", serde_json::to_vec(&p))
        } else {
            let env = ErrorEnvelope {
                success: false,
                error: ErrorBody {
                    code: self.code,
                    message: &self.message,
                    details: &self.details,
                    retry_after: self.retry_after,
                    policy: self.policy.as_deref(),
                },
                meta: Meta::now(),
            };
            ("application/json", serde_json::to_vec(&env))
        };
        let mut res = (self.status, body.unwrap_or_default()).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (k, v) in self.headers.iter() {
            headers.insert(k.clone(), v.clone());
        }
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res.extensions_mut().insert(AlreadyEnveloped);
        res
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
