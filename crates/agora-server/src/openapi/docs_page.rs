//! `GET /docs`: Swagger UI over `/openapi.json`. The UI's files are embedded in the binary
//! (utoipa-swagger-ui with the `vendored` feature), so the page works without internet access.

use axum::Router;
use utoipa_swagger_ui::{Config, SwaggerUi, Url, oauth};

/// Where the page lives. `/docs` redirects to `/docs/`; assets are under `/docs/`.
pub const DOCS_PATH: &str = "/docs";

/// The route templates [`docs_router`] serves.
pub const TEMPLATES: [&str; 3] = ["/docs", "/docs/", "/docs/{*rest}"];

/// The docs routes: `/docs`, `/docs/` and `/docs/{*rest}`. They fetch the documents the
/// server already serves (`/v2/openapi.json` first, then `/v1/openapi.json` and
/// `/openapi.json`). "Authorize"
/// uses PKCE for the authorization-code flow (the server requires it); a client used from the
/// page needs `<origin>/docs/oauth2-redirect.html` among its redirect URIs.
pub fn docs_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let config = Config::new([
        // The current version opens first, so a newcomer meets no deprecated operation.
        Url::with_primary("v2 (current)", "/v2/openapi.json", true),
        Url::new("v1 (deprecated)", "/v1/openapi.json"),
        Url::new("v1 and v2", "/openapi.json"),
    ])
    // No call-outs: the default would ask validator.swagger.io to validate the document.
    .validator_url("none")
    .display_operation_id(true)
    .display_request_duration(true)
    .try_it_out_enabled(true);
    SwaggerUi::new(DOCS_PATH)
        .config(config)
        .oauth(oauth::Config::new().use_pkce_with_authorization_code_grant(true))
        .into()
}
