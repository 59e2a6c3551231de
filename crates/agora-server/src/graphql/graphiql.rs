//! GraphiQL at `GET /graphql` for browsers, with every asset served from the binary (see
//! `assets/graphiql/NOTICE.md`), so the page works with no internet access.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::error::AlreadyEnveloped;

/// Where the assets are served.
pub const ASSETS: &str = "/graphql/assets/{file}";

/// `(name, media type, bytes)` of each asset.
const FILES: &[(&str, &str, &[u8])] = &[
    ("graphiql.min.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/graphiql/graphiql.min.js")),
    ("graphiql.min.css", "text/css; charset=utf-8", include_bytes!("../../assets/graphiql/graphiql.min.css")),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    ("start.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/graphiql/start.js")),
];

const PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// The page.
pub fn page() -> Response {
    let mut res = (StatusCode::OK, PAGE).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res.extensions_mut().insert(AlreadyEnveloped);
    res
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, media, bytes)) = FILES.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut res = (StatusCode::OK, *bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

/// The asset routes.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(ASSETS, get(asset))
}

/// Whether a `GET /graphql` comes from a browser navigating to it (which wants the page, not
/// a GraphQL response): it accepts HTML.
pub fn wants_page(accept: &str) -> bool {
    accept.split(',').any(|m| m.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html")))
}
