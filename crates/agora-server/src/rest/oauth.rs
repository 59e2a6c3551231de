//! The OAuth 2.0 authorization server: client registration (`/oauth/clients`, versioned), the
//! authorize page (`/oauth/authorize`, a server-rendered sign-in and consent page — plain
//! HTML, no scripts or external assets) and the discovery documents (`/.well-known/*`).
//!
//! Which authorization requests may be shown, and what approving one issues, is
//! `AuthService`'s call; this module renders pages and redirects.

use agora_core::ErrorCode;
use agora_core::auth::{
    AuthorizationRequest, AuthorizeForm, AuthorizeParams, AuthorizeRefusal, NewOAuthClient, OAuthClient,
};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{OAuthEnvelope, oauth_response};
use crate::errors;
use crate::http::error::{AlreadyEnveloped, ApiResult};
use crate::http::extract::{Params, QueryPairs, Write};
use crate::http::routes::{Kind, Routes};
use crate::openapi::errors::Errors;
use crate::state::AppState;
use crate::tokens::Jwks;

/// Client registration, under each version.
pub fn versioned_routes() -> Routes<AppState> {
    Routes::new(Kind::Versioned).secret_response(utoipa_axum::routes!(create_client))
}

/// The authorize page and the discovery documents, outside the versions.
pub fn unversioned_routes() -> Routes<AppState> {
    Routes::new(Kind::Unversioned)
        .credentials_in_body(utoipa_axum::routes!(authorize_page, authorize_submit))
        .route(utoipa_axum::routes!(jwks))
        .route(utoipa_axum::routes!(metadata))
}

/// A registered client, with its secret — shown this once; only a hash is stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientRegistration {
    /// The public client id.
    #[schema(example = "cl_4V7Kq9Zr2Xb8Wd3Jh6Tn")]
    pub client_id: String,
    /// The client secret. **Shown only in this response.**
    pub client_secret: String,
    /// Display name.
    pub name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed grants.
    pub grant_types: Vec<String>,
    /// Allowed scopes, space-separated.
    #[schema(example = "read write")]
    pub scopes: String,
}

impl ClientRegistration {
    /// The registration of `c` with its secret.
    pub fn new(c: &OAuthClient, secret: &str) -> Self {
        ClientRegistration {
            client_id: c.client_id.clone(),
            client_secret: secret.to_string(),
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            grant_types: c.grant_types.clone(),
            scopes: c.scopes.to_scope_string(),
        }
    }
}

/// Register an OAuth client
///
/// Administrators only (role `admin` and the `admin` scope). The `client_secret` is in this
/// response only; the server keeps a hash. Clients can also be registered on the command line
/// (`agora oauth create-client`).
#[utoipa::path(
    post,
    path = "/oauth/clients",
    operation_id = "create_oauth_client",
    tag = "oauth",
    request_body(content = NewOAuthClient, description = "The client's name, redirect URIs, grants and scopes."),
    security(("user" = ["write", "admin"])),
    responses(
        (
            status = 201, description = "Registered. `client_secret` is shown this once.",
            body = OAuthEnvelope<ClientRegistration>, headers(("Cache-Control" = String))
        ),
        Errors<{ errors![Forbidden, ValidationError] }>,
    )
)]
pub async fn create_client(
    State(s): State<AppState>,
    Write(actor, input): Write<NewOAuthClient>,
) -> ApiResult<Response> {
    let minted = s.services.auth.register_client(Some(&actor), input).await?;
    Ok(oauth_response(StatusCode::CREATED, ClientRegistration::new(&minted.record, &minted.secret)))
}

fn esc(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title><style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}}\
         label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;box-sizing:border-box}}\
         button{{margin-top:1rem;padding:.6rem 1.2rem}}.err{{color:#a00}}</style></head><body><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    );
    let mut res = (status, Html(html)).into_response();
    // A deliberate HTML page (for a browser, not an API client): the error normaliser must
    // not replace a 400/401 page with a JSON envelope.
    res.extensions_mut().insert(AlreadyEnveloped);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert("x-frame-options", HeaderValue::from_static("DENY"));
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
    );
    res
}

fn error_page(message: &str) -> Response {
    page(StatusCode::BAD_REQUEST, "Authorization failed", &format!("<p class=\"err\">{}</p>", esc(message)))
}

fn redirect(uri: &str, params: &[(&str, &str)]) -> Response {
    let q = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{uri}{sep}{q}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The checked request, or the page or redirect to answer instead.
async fn check(s: &AppState, params: &AuthorizeParams) -> Result<AuthorizationRequest, Response> {
    match s.services.auth.authorization_request(params).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(AuthorizeRefusal::Page(message))) => Err(error_page(message)),
        Ok(Err(AuthorizeRefusal::Redirect { redirect_uri, error, description, state })) => {
            Err(redirect(&redirect_uri, &[("error", error), ("error_description", description), ("state", &state)]))
        }
        Err(_) => Err(error_page("The authorization server is unavailable.")),
    }
}

fn form(r: &AuthorizationRequest, params: &AuthorizeParams, error: Option<&str>) -> String {
    let hidden: String = params
        .pairs()
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
        .collect();
    let err = error.map(|e| format!("<p class=\"err\">{}</p>", esc(e))).unwrap_or_default();
    format!(
        "<p><strong>{name}</strong> wants to access your Agora account with scope <code>{scope}</code>.</p>{err}\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in and allow</button></form>",
        name = esc(&r.client.name),
        scope = esc(&r.scopes.to_scope_string()),
    )
}

/// Authorize (sign-in and consent page)
///
/// The OAuth 2.0 authorization endpoint (authorization code with PKCE S256): an HTML page
/// naming the client and scopes, with a `<form method="post">` whose inputs `email` and
/// `password` sign the user in. An unknown client or a redirect URI not registered exactly is
/// an error page, never a redirect; other problems redirect to the client with `error`.
#[utoipa::path(
    get,
    path = "/oauth/authorize",
    operation_id = "authorize_page",
    tag = "oauth",
    params(AuthorizeParams),
    security(()),
    responses(
        (
            status = 200, description = "The sign-in and consent page (not to be framed or cached).", body = String,
            content_type = "text/html; charset=utf-8", headers(("Cache-Control" = String))
        ),
        (status = 302, description = "Back to the client's `redirect_uri` with `error`, `error_description` and `state`.", headers(("Location" = String))),
        (
            status = 400, description = "An error page: an unreadable request, an unknown client, or a redirect URI not registered exactly. Nothing is redirected.",
            body = String, content_type = "text/html; charset=utf-8"
        ),
    )
)]
pub async fn authorize_page(State(s): State<AppState>, q: Result<QueryPairs, crate::http::ApiError>) -> Response {
    // A browser is on this page: an unreadable request is the error page, like any other.
    let Ok(q) = q else { return error_page("The authorization request could not be read.") };
    let de = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(q.0.into_iter());
    let params = <AuthorizeParams as serde::Deserialize>::deserialize(de).unwrap_or_default();
    match check(&s, &params).await {
        Ok(r) => page(StatusCode::OK, "Sign in to Agora", &form(&r, &params, None)),
        Err(res) => res,
    }
}

/// Authorize (sign-in form submission)
///
/// The authorize page's form: checks the authorization request again and the user's password,
/// then redirects to the client's `redirect_uri` with a single-use `code` (valid 60 s) and the
/// `state`. The granted scopes are those asked for, narrowed to what the user's role allows.
#[utoipa::path(
    post,
    path = "/oauth/authorize",
    operation_id = "authorize_submit",
    tag = "oauth",
    request_body(
        description = "The authorization request (hidden inputs) and the user's email and password.",
        content((AuthorizeForm = "application/x-www-form-urlencoded"), (AuthorizeForm = "application/json"))
    ),
    security(()),
    responses(
        (
            status = 302, description = "Back to the client's `redirect_uri`: with a single-use `code` and the `state` on success, or with `error`.",
            headers(("Location" = String), ("Cache-Control" = String))
        ),
        (
            status = 400, description = "An error page: the form could not be read, an unknown client, a redirect URI not registered exactly, or the code could not be issued.",
            body = String, content_type = "text/html; charset=utf-8"
        ),
        (
            status = 401, description = "Wrong email or password: the sign-in form again, with an error.",
            body = String, content_type = "text/html; charset=utf-8"
        ),
    )
)]
pub async fn authorize_submit(
    State(s): State<AppState>,
    form_body: Result<Params<AuthorizeForm>, crate::http::ApiError>,
) -> Response {
    let Ok(Params(input)) = form_body else { return error_page("The form could not be read.") };
    let r = match check(&s, &input.request).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    match s.services.auth.approve(&r, &input.email, &input.password).await {
        Ok(code) => {
            let mut params = vec![("code", code.as_str())];
            if !r.state.is_empty() {
                params.push(("state", r.state.as_str()));
            }
            redirect(&r.redirect_uri, &params)
        }
        Err(e) if e.code == ErrorCode::Unauthenticated => page(
            StatusCode::UNAUTHORIZED,
            "Sign in to Agora",
            &form(&r, &input.request, Some("Wrong email or password.")),
        ),
        Err(_) => error_page("The authorization server is unavailable."),
    }
}

/// JSON Web Key Set
///
/// RFC 7517: the public keys that verify access tokens (with `kid`), for resource servers.
/// Empty with HS256 signing (the shared secret is never published). Cacheable for 5 minutes.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "oauth",
    security(()),
    responses((status = 200, description = "The key set.", body = Jwks))
)]
pub async fn jwks(State(s): State<AppState>) -> Response {
    let mut res = axum::Json(s.tokens.jwks()).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414). URLs are absolute, built from the
/// request's `Host`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerMetadata {
    /// The `iss` of issued tokens.
    pub issuer: String,
    /// `/oauth/authorize`.
    #[schema(format = "uri")]
    pub authorization_endpoint: String,
    /// `/v2/auth/token`.
    #[schema(format = "uri")]
    pub token_endpoint: String,
    /// `/v2/auth/revoke`.
    #[schema(format = "uri")]
    pub revocation_endpoint: String,
    /// `/v2/auth/introspect`.
    #[schema(format = "uri")]
    pub introspection_endpoint: String,
    /// `/v2/oauth/clients` (administrators only).
    #[schema(format = "uri")]
    pub registration_endpoint: String,
    /// `/.well-known/jwks.json`.
    #[schema(format = "uri")]
    pub jwks_uri: String,
    /// The grants.
    pub grant_types_supported: Vec<&'static str>,
    /// `code`.
    pub response_types_supported: Vec<&'static str>,
    /// `S256`.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `client_secret_basic`, `client_secret_post`, `none`.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `none`.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `client_secret_basic`, `client_secret_post`.
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `read`, `write`, `admin`.
    pub scopes_supported: Vec<&'static str>,
}

/// Authorization server metadata
///
/// RFC 8414: the OAuth endpoints, grants, PKCE methods, client authentication methods and
/// scopes. URLs are absolute, built from the request's `Host`.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    operation_id = "oauth_authorization_server_metadata",
    tag = "oauth",
    security(()),
    responses((status = 200, description = "The metadata.", body = ServerMetadata))
)]
pub async fn metadata(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1:8080");
    let base = format!("http://{host}");
    axum::Json(ServerMetadata {
        issuer: s.config.auth.issuer.clone(),
        authorization_endpoint: format!("{base}/oauth/authorize"),
        token_endpoint: format!("{base}/v2/auth/token"),
        revocation_endpoint: format!("{base}/v2/auth/revoke"),
        introspection_endpoint: format!("{base}/v2/auth/introspect"),
        registration_endpoint: format!("{base}/v2/oauth/clients"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        grant_types_supported: vec!["authorization_code", "client_credentials", "password", "refresh_token"],
        response_types_supported: vec!["code"],
        code_challenge_methods_supported: vec!["S256"],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "none"],
        revocation_endpoint_auth_methods_supported: vec!["none"],
        introspection_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
        scopes_supported: vec!["read", "write", "admin"],
    })
    .into_response()
}
