//! API version selection, before routing.
//!
//! Four ways to name a version, in order of precedence: the URL prefix (`/v1/…`), the
//! `API-Version` header, the `version` query parameter, and the media type
//! `application/vnd.agora.vN+json`. Unprefixed requests are rewritten to the prefixed path so
//! one router serves all four; the chosen version rides in the request extensions, and the
//! response says which version served it. v1 responses carry the deprecation headers.

use std::sync::Arc;

use agora_core::ErrorCode;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use super::around::{Around, Before};
use super::error::ApiError;
use super::routes::RouteTable;

/// A served API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// Deprecated; page pagination by default.
    V1,
    /// Current; cursor pagination by default.
    V2,
}

impl ApiVersion {
    /// The version clients get when they name none.
    pub const CURRENT: ApiVersion = ApiVersion::V2;

    fn from_number(n: &str) -> Option<ApiVersion> {
        match n {
            "1" => Some(ApiVersion::V1),
            "2" => Some(ApiVersion::V2),
            _ => None,
        }
    }

    /// `1` or `2`.
    pub fn number(self) -> &'static str {
        match self {
            ApiVersion::V1 => "1",
            ApiVersion::V2 => "2",
        }
    }

    /// The URL prefix, `/v1` or `/v2`.
    pub fn prefix(self) -> &'static str {
        match self {
            ApiVersion::V1 => "/v1",
            ApiVersion::V2 => "/v2",
        }
    }
}

/// When v1 was deprecated (2026-01-01T00:00:00Z), as RFC 9745 wants it: `@<unix seconds>`.
pub const V1_DEPRECATION: &str = "@1767225600";
/// When v1 stops being served (RFC 8594 HTTP-date).
pub const V1_SUNSET: &str = "Wed, 30 Jun 2027 23:59:59 GMT";

/// Splits `/v12/rest` into `("12", "/rest")`.
fn version_prefix(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v")?;
    let end = rest.find('/').unwrap_or(rest.len());
    let (num, tail) = rest.split_at(end);
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((num, tail))
}

fn unsupported(requested: &str) -> Response {
    ApiError::new(
        ErrorCode::UnsupportedApiVersion,
        format!("API version `{requested}` is not supported; supported versions are 1 and 2."),
    )
    .into_response()
}

fn requested_elsewhere(req: &Request) -> Result<Option<String>, ()> {
    if let Some(v) = req.headers().get("api-version") {
        let v = v.to_str().map_err(|_| ())?.trim();
        return Ok(Some(v.trim_start_matches(['v', 'V']).to_string()));
    }
    if let Some(q) = req.uri().query() {
        for pair in q.split('&') {
            if let Some(v) = pair.strip_prefix("version=") {
                return Ok(Some(v.trim_start_matches(['v', 'V']).to_string()));
            }
        }
    }
    if let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        for part in accept.split(',') {
            let media = part.split(';').next().unwrap_or("").trim();
            if let Some(rest) = media.strip_prefix("application/vnd.agora.v") {
                let num = rest.strip_suffix("+json").unwrap_or(rest);
                return Ok(Some(num.to_string()));
            }
        }
    }
    Ok(None)
}

fn rewrite(uri: &Uri, new_path: &str) -> Option<Uri> {
    let pq = match uri.query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(pq.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// Middleware: resolve the version, rewrite unprefixed paths, stamp the response. The route
/// table says which paths belong to no version.
#[derive(Debug, Clone)]
pub struct SelectVersion(pub Arc<RouteTable>);

/// What the response needs: the version, and for v1 the path after the prefix (its
/// successor link).
pub struct Selected {
    version: ApiVersion,
    v1_tail: Option<String>,
}

impl Around for SelectVersion {
    type Carry = Selected;

    fn before(&self, req: &mut Request) -> Before<Selected> {
        let path = req.uri().path();
        // A prefixed path is versioned: no lookup on the common path.
        if version_prefix(path).is_none() && self.0.is_unversioned(path) {
            return Before::Continue(Selected { version: ApiVersion::CURRENT, v1_tail: None });
        }
        let (version, tail) = if let Some((num, tail)) = version_prefix(path) {
            match ApiVersion::from_number(num) {
                Some(v) => (v, (v == ApiVersion::V1).then(|| tail.to_string())),
                None => return Before::Answer(unsupported(num)),
            }
        } else {
            let version = match requested_elsewhere(req) {
                Err(()) => return Before::Answer(unsupported("?")),
                Ok(None) => ApiVersion::CURRENT,
                Ok(Some(n)) => match ApiVersion::from_number(&n) {
                    Some(v) => v,
                    None => return Before::Answer(unsupported(&n)),
                },
            };
            let new_path = format!("{}{}", version.prefix(), if path == "/" { "" } else { path });
            let tail = (version == ApiVersion::V1).then(|| path.to_string());
            match rewrite(req.uri(), &new_path) {
                Some(uri) => *req.uri_mut() = uri,
                None => return Before::Answer(ApiError::from(ErrorCode::NotFound).into_response()),
            }
            (version, tail)
        };
        req.extensions_mut().insert(version);
        Before::Continue(Selected { version, v1_tail: tail })
    }

    fn after(&self, selected: Selected, res: &mut Response) {
        let h = res.headers_mut();
        h.insert(API_VERSION.clone(), HeaderValue::from_static(selected.version.number()));
        if let Some(tail) = selected.v1_tail {
            h.insert("deprecation", HeaderValue::from_static(V1_DEPRECATION));
            h.insert("sunset", HeaderValue::from_static(V1_SUNSET));
            if let Ok(v) = HeaderValue::from_str(&format!("</v2{tail}>; rel=\"successor-version\"")) {
                h.append(header::LINK, v);
            }
        }
    }
}

/// `API-Version`, parsed once.
static API_VERSION: HeaderName = HeaderName::from_static("api-version");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(version_prefix("/v1/users"), Some(("1", "/users")));
        assert_eq!(version_prefix("/v2"), Some(("2", "")));
        assert_eq!(version_prefix("/v99/x"), Some(("99", "/x")));
        assert_eq!(version_prefix("/videos"), None);
        assert_eq!(version_prefix("/users"), None);
    }
}
