//! The success envelope: `{"success": true, "data": …, ["pagination": …,] "meta": {…}}`.
//!
//! [`Envelope`] and [`ListEnvelope`] are both what handlers serialise and what the OpenAPI
//! document shows (`Envelope<UserOut>`), so the two cannot differ.

use agora_core::list::PageInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ctx;

/// Request metadata present in every body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    /// Equals the `X-Request-ID` header.
    #[schema(example = "req_01J8Z3V9K2Q4M5N6P7R8S9T0UV")]
    pub request_id: String,
    /// When the response was produced (RFC 3339, UTC).
    #[schema(example = "2026-01-15T10:30:00Z")]
    pub timestamp: String,
}

impl Meta {
    /// Metadata for the current request.
    pub fn now() -> Self {
        Self {
            request_id: ctx::current().request_id.to_string(),
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// `{success, data, meta}` holding one resource.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always `true`.
    pub success: bool,
    /// The resource. With `fields=` only the selected fields are present.
    pub data: T,
    /// Request metadata.
    pub meta: Meta,
}

impl<T> Envelope<T> {
    /// The envelope of `data` for the current request.
    pub fn new(data: T) -> Self {
        Envelope { success: true, data, meta: Meta::now() }
    }
}

/// `{success, data: [...], pagination, meta}` holding one page of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListEnvelope<T> {
    /// Always `true`.
    pub success: bool,
    /// The page's items. With `fields=` only the selected fields are present.
    pub data: Vec<T>,
    /// Where this page sits in the collection.
    pub pagination: Pagination,
    /// Request metadata.
    pub meta: Meta,
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
    /// Rows in the (filtered) collection: exact up to the configured threshold (1,000 by
    /// default) or with `count=exact`, an estimate above it.
    pub total: i64,
    /// Whether `total` and `total_pages` are estimates.
    pub total_is_estimate: bool,
    /// Pages in the collection (from `total`, so an estimate when it is).
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
    /// Rows in the (filtered) collection: exact up to the configured threshold or with
    /// `count=exact`, an estimate above it.
    pub total: i64,
    /// Whether `total` is an estimate.
    pub total_is_estimate: bool,
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
    /// Rows in the (filtered) collection; only with `include_total=true`. Exact up to the
    /// configured threshold or with `count=exact`, an estimate above it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total: Option<i64>,
    /// Whether `total` is an estimate; present with `total`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total_is_estimate: Option<bool>,
}

/// Pagination metadata, shaped by the request's pagination style.
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

impl From<&PageInfo> for Pagination {
    fn from(info: &PageInfo) -> Self {
        match info.clone() {
            PageInfo::Page {
                page, per_page, total, total_is_estimate, total_pages, next_cursor, prev_cursor, ..
            } => Pagination::Page(PagePagination {
                page,
                per_page,
                total,
                total_is_estimate,
                total_pages,
                next_cursor,
                prev_cursor,
            }),
            PageInfo::Offset { offset, limit, total, total_is_estimate, .. } => {
                Pagination::Offset(OffsetPagination { offset, limit, total, total_is_estimate })
            }
            PageInfo::Cursor { limit, next_cursor, prev_cursor, has_more, total } => {
                Pagination::Cursor(CursorPagination {
                    limit,
                    next_cursor,
                    prev_cursor,
                    has_more,
                    total: total.map(|t| t.rows),
                    total_is_estimate: total.map(|t| t.estimate),
                })
            }
        }
    }
}

/// Serialises a body straight to bytes (no intermediate JSON tree on the hot path).
pub fn to_bytes<T: Serialize>(body: &T) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|_| b"{\"success\":false}".to_vec())
}

/// Headers a JSON response typically ends up with, middleware included (request id, version,
/// rate-limit and deprecation headers): sized once, since growing the map rehashes it.
const RESPONSE_HEADER_CAPACITY: usize = 16;

/// A JSON response with the given status and pre-serialised body.
pub fn json_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut headers = HeaderMap::with_capacity(RESPONSE_HEADER_CAPACITY);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut res = Response::new(axum::body::Body::from(bytes));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

/// `200 OK` with `data` in the envelope.
pub fn ok<T: Serialize>(data: T) -> Response {
    json_response(StatusCode::OK, to_bytes(&Envelope::new(data)))
}
