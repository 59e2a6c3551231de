//! Schemas that exist for the document only: request bodies (handlers read bodies as JSON
//! objects field by field, see `agora_core::patch`), the success envelopes, pagination, and
//! RFC 9457 problem details. Each mirrors what the code accepts or renders; the tests in
//! [`super`] check them against the real serialisers where one exists.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::envelope::Meta;
use crate::rest::repr::{PostOut, ProductOut, UserOut};

mod auth;
pub use auth::*;

/// A user's role. Only administrators may set it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Role)]
pub enum RoleDoc {
    /// A regular account.
    User,
    /// An administrator.
    Admin,
}

/// Sign-up (`POST /users`): a new account. Unknown or read-only fields are refused (422).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    /// Display name, 1–100 characters after trimming.
    #[schema(min_length = 1, max_length = 100, example = "Ada Lovelace")]
    pub name: String,
    /// Email address; stored lower-cased and unique (a taken address is 409 `CONFLICT`).
    #[schema(format = "email", max_length = 254, example = "ada@example.com")]
    pub email: String,
    /// Password, 8–128 characters. Stored as an Argon2id hash and never returned.
    #[schema(format = Password, min_length = 8, max_length = 128, write_only, example = "correct horse battery")]
    pub password: String,
    /// `user` (the default) or `admin`. Only administrators may send it; anyone else gets
    /// 403 `FORBIDDEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub role: Option<RoleDoc>,
}

/// `PUT /users/{id}`: replaces name and email (both required); password and role optional.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserReplace {
    /// Display name, 1–100 characters after trimming.
    #[schema(min_length = 1, max_length = 100, example = "Ada Lovelace")]
    pub name: String,
    /// Email address (unique).
    #[schema(format = "email", max_length = 254, example = "ada@example.com")]
    pub email: String,
    /// A new password, 8–128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Password, min_length = 8, max_length = 128, write_only, nullable = false)]
    pub password: Option<String>,
    /// `user` or `admin`; administrators only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub role: Option<RoleDoc>,
}

/// `PATCH /users/{id}`: JSON merge patch; absent fields stay unchanged, `null` is refused.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Display name, 1–100 characters after trimming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub name: Option<String>,
    /// Email address (unique).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "email", max_length = 254, nullable = false)]
    pub email: Option<String>,
    /// A new password, 8–128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Password, min_length = 8, max_length = 128, write_only, nullable = false)]
    pub password: Option<String>,
    /// `user` or `admin`; administrators only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub role: Option<RoleDoc>,
}

/// `POST /posts`: a new post by the caller, who is always its author (`author_id` is not
/// accepted: 422).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostCreate {
    /// Title, 1–200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, example = "Hello, Agora")]
    pub title: String,
    /// Body, 1–20,000 characters.
    #[schema(min_length = 1, max_length = 20000, example = "My first post.")]
    pub content: String,
}

/// `PATCH /posts/{id}`: JSON merge patch by the author.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostPatch {
    /// Title, 1–200 characters after trimming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub title: Option<String>,
    /// Body, 1–20,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 20000, nullable = false)]
    pub content: Option<String>,
}

/// `POST /products` and `PUT /products/{id}` (admins). On `PUT`, absent optional fields go
/// back to their defaults.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductWrite {
    /// Name, 1–200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, example = "Laptop Pro 14")]
    pub name: String,
    /// Description, up to 5,000 characters. Default empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 5000, nullable = false, example = "A light laptop.")]
    pub description: Option<String>,
    /// Category slug: 1–50 letters, digits, `-` or `_` (stored lower-cased).
    #[schema(pattern = "^[A-Za-z0-9_-]{1,50}$", example = "electronics")]
    pub category: String,
    /// Price in minor units (`1999` = 19.99).
    #[schema(minimum = 0, maximum = 1000000000000_i64, example = 149900)]
    pub price: i64,
    /// ISO 4217 code, any case (stored lower-cased). Default `usd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z]{3}$", nullable = false, example = "usd")]
    pub currency: Option<String>,
    /// Units in stock. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1000000000000_i64, nullable = false, example = 25)]
    pub stock: Option<i64>,
}

/// `PATCH /products/{id}` (admins): JSON merge patch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    /// Name, 1–200 characters after trimming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub name: Option<String>,
    /// Description, up to 5,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 5000, nullable = false)]
    pub description: Option<String>,
    /// Category slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,50}$", nullable = false)]
    pub category: Option<String>,
    /// Price in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1000000000000_i64, nullable = false)]
    pub price: Option<i64>,
    /// ISO 4217 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z]{3}$", nullable = false)]
    pub currency: Option<String>,
    /// Units in stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1000000000000_i64, nullable = false)]
    pub stock: Option<i64>,
}

/// `pagination` for page-numbered requests (`page`/`per_page`; the v1 default).
#[derive(Debug, Serialize, ToSchema)]
pub struct PagePagination {
    /// Current page (1-based).
    #[schema(minimum = 1)]
    pub page: u64,
    /// Page size.
    #[schema(minimum = 1, maximum = 100)]
    pub per_page: u64,
    /// Rows in the (filtered) collection.
    pub total: i64,
    /// Pages in the collection.
    pub total_pages: u64,
    /// Cursor continuing after this page (to switch to cursor pagination), or null.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// Cursor continuing before this page, or null.
    #[schema(required = true)]
    pub prev_cursor: Option<String>,
}

/// `pagination` for `offset`/`limit` requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct OffsetPagination {
    /// Rows skipped.
    pub offset: u64,
    /// Page size.
    #[schema(minimum = 1, maximum = 100)]
    pub limit: u64,
    /// Rows in the (filtered) collection.
    pub total: i64,
}

/// `pagination` for cursor requests (`cursor`/`after_id`/`limit`; the v2 default).
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorPagination {
    /// Page size.
    #[schema(minimum = 1, maximum = 100)]
    pub limit: u64,
    /// Opaque cursor for the next page, or null at the end.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// Opaque cursor for the previous page, or null at the start.
    #[schema(required = true)]
    pub prev_cursor: Option<String>,
    /// Whether rows follow this page.
    pub has_more: bool,
    /// Rows in the (filtered) collection; only with `include_total=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total: Option<i64>,
}

/// Pagination metadata. Its shape follows the pagination style of the request: page
/// (`page`, `per_page`, `total`, `total_pages`, `next_cursor`, `prev_cursor`), offset
/// (`offset`, `limit`, `total`) or cursor (`limit`, `next_cursor`, `prev_cursor`, `has_more`,
/// and `total` with `include_total=true`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Pagination {
    /// Page style.
    Page(PagePagination),
    /// Offset style.
    Offset(OffsetPagination),
    /// Cursor style.
    Cursor(CursorPagination),
}

macro_rules! envelopes {
    ($(#[$one_doc:meta])* $one:ident, $(#[$many_doc:meta])* $many:ident, $data:ident) => {
        $(#[$one_doc])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $one {
            /// Always `true`.
            pub success: bool,
            /// The resource. With `fields=` only the selected fields are present.
            pub data: $data,
            /// Request metadata.
            pub meta: Meta,
        }

        $(#[$many_doc])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $many {
            /// Always `true`.
            pub success: bool,
            /// The page's items. With `fields=` only the selected fields are present.
            pub data: Vec<$data>,
            /// Where this page sits in the collection.
            pub pagination: Pagination,
            /// Request metadata.
            pub meta: Meta,
        }
    };
}

envelopes!(
    /// `{success, data, meta}` holding one user.
    UserResponse,
    /// `{success, data: [users], pagination, meta}`.
    UserListResponse,
    UserOut
);
envelopes!(
    /// `{success, data, meta}` holding one post.
    PostResponse,
    /// `{success, data: [posts], pagination, meta}`.
    PostListResponse,
    PostOut
);
envelopes!(
    /// `{success, data, meta}` holding one product.
    ProductResponse,
    /// `{success, data: [products], pagination, meta}`.
    ProductListResponse,
    ProductOut
);

/// One field-level problem (`error.details[]`, problem details `errors[]`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorDoc {
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

/// RFC 9457 problem details, sent instead of the envelope when the request's `Accept` asks
/// for `application/problem+json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDetails {
    /// A URI naming the problem type, derived from `code`.
    #[serde(rename = "type")]
    #[schema(format = "uri", example = "https://agora.dev/problems/user-not-found")]
    pub kind: String,
    /// The HTTP reason phrase.
    #[schema(example = "Not Found")]
    pub title: String,
    /// The HTTP status.
    #[schema(example = 404)]
    pub status: u16,
    /// Human-readable explanation (the envelope's `error.message`).
    pub detail: String,
    /// `urn:agora:request:<request id>`.
    #[schema(example = "urn:agora:request:req_0123456789abcdef")]
    pub instance: String,
    /// Stable machine-readable code (the envelope's `error.code`).
    #[schema(example = "USER_NOT_FOUND")]
    pub code: String,
    /// Equals the `X-Request-ID` header.
    pub request_id: String,
    /// Field-level problems, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldErrorDoc>>,
    /// Seconds to wait before retrying (429, 409 `REQUEST_IN_PROGRESS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub retry_after: Option<u64>,
}

/// `GET /healthz` data.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /healthz` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// Always `true`.
    pub success: bool,
    /// Status.
    pub data: HealthStatus,
    /// Request metadata.
    pub meta: Meta,
}

/// Per-dependency readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyChecks {
    /// `ok` when the database answered.
    #[schema(example = "ok")]
    pub database: String,
    /// `ok` when Redis answered; absent when `redis_url` is empty (Redis is not used).
    #[schema(example = "ok")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
}

/// `GET /readyz` data.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyStatus {
    /// `ready`.
    #[schema(example = "ready")]
    pub status: String,
    /// Each dependency's state.
    pub checks: ReadyChecks,
}

/// `GET /readyz` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyResponse {
    /// Always `true`.
    pub success: bool,
    /// Status.
    pub data: ReadyStatus,
    /// Request metadata.
    pub meta: Meta,
}
