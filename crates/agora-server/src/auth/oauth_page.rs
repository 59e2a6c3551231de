//! `GET/POST /oauth/authorize`: the server-rendered login and consent page of the
//! authorization-code flow. Plain HTML, no scripts or external assets.
//!
//! The client and redirect URI are checked before anything is shown; an unknown client or a
//! redirect URI that is not registered exactly is answered with an error page and never
//! redirected to (an open redirector is how authorization codes get stolen).

use std::collections::HashMap;

use agora_core::actor::Scopes;
use agora_core::auth::OAuthClient;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::http::extract::QueryPairs;
use crate::state::AppState;

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

const FIELDS: &[&str] =
    &["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"];

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title><style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}}\
         label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;box-sizing:border-box}}\
         button{{margin-top:1rem;padding:.6rem 1.2rem}}.err{{color:#a00}}</style></head><body><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    );
    let mut res = (status, Html(html)).into_response();
    // A deliberate HTML page (for a browser, not an API client): the error normalizer must not
    // replace a 400/401 page with a JSON envelope.
    res.extensions_mut().insert(crate::http::normalize::AlreadyEnveloped);
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

/// The validated request, or the response to give instead.
struct Checked {
    client: OAuthClient,
    redirect_uri: String,
    challenge: String,
    scopes: Scopes,
}

async fn check(s: &AppState, p: &HashMap<String, String>) -> Result<Checked, Response> {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let client = match s.services.auth.client(get("client_id")).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(error_page("Unknown client.")),
        Err(_) => return Err(error_page("The authorization server is unavailable.")),
    };
    let redirect_uri = get("redirect_uri").to_string();
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(error_page("The redirect URI is not registered for this client."));
    }
    let state = get("state");
    let fail = |code: &str, desc: &str| {
        redirect(&redirect_uri, &[("error", code), ("error_description", desc), ("state", state)])
    };
    if get("response_type") != "code" || !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(fail("unsupported_response_type", "only response_type=code is supported for this client"));
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() < 43 {
        return Err(fail("invalid_request", "PKCE with code_challenge_method=S256 is required"));
    }
    let scopes = match p.get("scope").filter(|v| !v.trim().is_empty()) {
        None => client.scopes,
        Some(raw) => match Scopes::parse(raw) {
            Ok(sc) if client.scopes.contains(sc) => sc,
            _ => return Err(fail("invalid_scope", "the requested scope is not allowed for this client")),
        },
    };
    Ok(Checked { client, redirect_uri, challenge: get("code_challenge").to_string(), scopes })
}

fn form(c: &Checked, p: &HashMap<String, String>, error: Option<&str>) -> String {
    let hidden: String = FIELDS
        .iter()
        .filter_map(|k| p.get(*k).map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v))))
        .collect();
    let err = error.map(|e| format!("<p class=\"err\">{}</p>", esc(e))).unwrap_or_default();
    format!(
        "<p><strong>{name}</strong> wants to access your Agora account with scope <code>{scope}</code>.</p>{err}\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in and allow</button></form>",
        name = esc(&c.client.name),
        scope = esc(&c.scopes.to_scope_string()),
    )
}

/// `GET /oauth/authorize`: the login and consent form.
pub async fn show(State(s): State<AppState>, q: QueryPairs) -> Response {
    let p: HashMap<String, String> = q.0.into_iter().collect();
    match check(&s, &p).await {
        Ok(c) => page(StatusCode::OK, "Sign in to Agora", &form(&c, &p, None)),
        Err(r) => r,
    }
}

/// `POST /oauth/authorize`: checks the password, then redirects with a single-use code.
pub async fn submit(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let p: HashMap<String, String> = match super::routes::params(&headers, &body) {
        Ok(p) => p,
        Err(_) => return error_page("The form could not be read."),
    };
    let c = match check(&s, &p).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let email = p.get("email").map(String::as_str).unwrap_or("");
    let password = p.get("password").map(String::as_str).unwrap_or("");
    let user = match s.services.auth.verify_password(email, password).await {
        Ok(u) => u,
        Err(_) => {
            let mut r =
                page(StatusCode::UNAUTHORIZED, "Sign in to Agora", &form(&c, &p, Some("Wrong email or password.")));
            r.headers_mut().remove(header::WWW_AUTHENTICATE);
            return r;
        }
    };
    let scopes = c.scopes.intersect(user.role.default_scopes());
    match s.services.auth.issue_code(&c.client, &user, &c.redirect_uri, &c.challenge, scopes).await {
        Ok(code) => {
            let state = p.get("state").map(String::as_str).unwrap_or("");
            let mut params = vec![("code", code.as_str())];
            if !state.is_empty() {
                params.push(("state", state));
            }
            redirect(&c.redirect_uri, &params)
        }
        Err(_) => error_page("The authorization server is unavailable."),
    }
}
