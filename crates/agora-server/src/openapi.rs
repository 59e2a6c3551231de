//! The OpenAPI 3.1 document, generated from the code.

use utoipa::OpenApi;

/// Rendered documents, built once at start-up.
#[derive(Debug, Clone)]
pub struct Documents {
    /// Both versions.
    pub all: String,
    /// `/v1` only.
    pub v1: String,
    /// `/v2` only.
    pub v2: String,
}

#[derive(OpenApi)]
#[openapi(info(title = "Agora API", version = "2.0.0", description = "Agora: users, posts and products over REST."))]
struct ApiDoc;

/// The full document as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Renders the documents.
pub fn build() -> Documents {
    let doc = document();
    let all = doc.to_pretty_json().unwrap_or_default();
    Documents { v1: all.clone(), v2: all.clone(), all }
}
