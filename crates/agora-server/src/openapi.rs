//! The OpenAPI 3.1 document, generated from the router's own declaration.
//!
//! Every handler carries `#[utoipa::path]` with its path (without a version prefix), its
//! parameters ([`params`]), the very types it reads and writes as request and response
//! bodies, and the error codes it can answer with ([`errors`]). `rest::all` registers the
//! handlers with utoipa-axum, so the router and the document come from the same declaration
//! and cannot drift. What no handler knows is added here:
//!
//! - `info`, servers, tags and the security schemes ([`security`]);
//! - per version, unique `operationId`s (`v1_list_users`) and, on v1, `deprecated` with the
//!   `Deprecation`/`Sunset`/`Link` headers;
//! - rules across a body's properties, declared by the input types ([`conditions`]);
//! - `fields=`: the responses of operations that accept it may leave properties out
//!   ([`fields`]);
//! - what the middleware stack answers on every operation: the `X-Request-ID`, `API-Version`
//!   and `X-CSRF-Token` parameters, the `X-Request-ID` and `API-Version` response headers, and
//!   the stack's error codes (401, 405, 429, 500, 503 for an unreachable dependency or rate
//!   limiter; 404 for an unknown version; 403 CSRF on
//!   unsafe methods; 400/413/415 where there is a body or a path id) merged into the
//!   handler's.
//!
//! The documents are rendered once at start-up ([`documents`]) and served from memory.

pub mod conditions;
pub mod docs_page;
pub mod errors;
pub mod fields;
pub mod headers;
pub mod params;
pub mod security;

use std::collections::BTreeSet;

use agora_core::{ErrorCode, FieldError};
use axum::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Components, Deprecated, License, Ref, RefOr};

use crate::http::envelope::Meta;
use crate::http::error::{ErrorEnvelope, ProblemDetails};
use crate::http::versioning::{ApiVersion, V1_SUNSET};
use crate::idempotency::KeyRules;
use crate::state::Documents;
use agora_idempotency::Rule;
use headers::names;

const DESCRIPTION: &str = "\
Agora: users, posts and products over REST.

**Versions.** Every resource is served under `/v1` (deprecated: its responses carry `Deprecation`, \
`Sunset` and a `Link` to the `/v2` successor) and `/v2` (current). Requests without a prefix name \
the version with the `API-Version` header, `?version=N` or `Accept: application/vnd.agora.vN+json`, \
and get v2 when they name none; every response says which version served it in `API-Version`. \
v1 lists default to page pagination, v2 lists to cursor pagination. `/v1/openapi.json` and \
`/v2/openapi.json` hold each version alone.

**Envelope.** JSON bodies are `{success, data, meta}`; lists add `pagination`; errors are \
`{success: false, error: {code, message, details}, meta}` with a stable `code`. Send \
`Accept: application/problem+json` for RFC 9457 problem details instead. `X-Request-ID` is on every \
response and equals `meta.request_id`. Each error response lists the codes it can carry in \
`x-error-codes`.

**Lists** accept page (`page`, `per_page`), offset (`offset`, `limit`) or cursor (`cursor` or \
`after_id`, `limit`) pagination — one style per request — plus `sort`, `fields`, `q`/`search` and \
per-collection filters, and return an RFC 8288 `Link` header.

**Writes.** `PUT` replaces, `PATCH` is a JSON merge patch, `POST` answers 201 with `Location`, \
`DELETE` 204. Unknown or read-only fields in a JSON body are 422. Single-resource GETs return a \
strong `ETag` (`If-None-Match` → 304); `PUT`/`PATCH` honour `If-Match` (412 on mismatch).

**Authentication.** Sign-up (`POST /users`) and reads are public; every write needs a credential \
with the `write` scope, and product writes and OAuth client registration need an administrator \
(role `admin` with the `admin` scope). Users change only their own resources; posts are edited by \
their author and deleted by their author or an administrator. Present one credential: an access \
token (`Authorization: Bearer`, from `POST /v2/auth/token` — password, refresh token, client \
credentials or authorization code with PKCE), an API key (`X-API-Key`), or the `agora_session` \
cookie from `POST /v2/auth/session`. Cookie-authenticated unsafe requests must send the session's \
`X-CSRF-Token` (else 403 `CSRF_FAILED`). A credential that is sent but invalid is 401 with \
`WWW-Authenticate` on every endpoint, never treated as anonymous; a valid one without the right is \
403 `FORBIDDEN`. Each operation's `security` lists what it accepts; `{}` among them means a \
credential is optional.";

/// The global parts of the document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Agora API", version = "2.0.0", description = DESCRIPTION),
    servers((url = "/", description = "This server")),
    components(schemas(ErrorEnvelope, ProblemDetails, FieldError, ErrorCode, Meta)),
    tags(
        (name = "users", description = "Accounts: public sign-up, profiles, deletion."),
        (name = "follows", description = "Who follows whom: following, unfollowing, followers and following lists."),
        (name = "posts", description = "Posts, their authors and likes."),
        (name = "comments", description = "Comments on posts: written by users, removed by their author, the post's author or an administrator."),
        (name = "products", description = "The catalogue, read by anyone and written by administrators."),
        (name = "auth", description = "Access tokens (OAuth 2.0 token endpoint), revocation, introspection and browser sessions."),
        (name = "api-keys", description = "The caller's API keys."),
        (name = "oauth", description = "The OAuth 2.0 authorization server: client registration, the authorize page and the discovery documents (`/oauth/authorize` and `/.well-known/*` are unversioned)."),
        (name = "operations", description = "Health, readiness, metrics and this document. Unversioned."),
    )
)]
struct ApiDoc;

/// The operations of a path item with their methods, mutably.
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
}

fn parameter_ref(name: &str) -> RefOr<utoipa::openapi::path::Parameter> {
    RefOr::Ref(Ref::new(format!("#/components/parameters/{name}")))
}

/// Whether the authentication middleware checks `X-CSRF-Token` on this method.
fn is_unsafe(method: &str) -> bool {
    !matches!(method, "get" | "head" | "options" | "trace")
}

/// Adds the headers every response carries, turns headers declared by name into references
/// (a redirect's `Location` is the client's URI, not a new resource's), and for v1 adds
/// `Deprecation`, `Sunset` and the successor `Link`.
fn decorate_response(response: &mut Response, redirect: bool, v1: bool, replayable: bool) {
    for (name, header) in response.headers.iter_mut() {
        if redirect && name == "Location" {
            *header = RefOr::Ref(headers::header_ref(names::LOCATION_REDIRECT));
        } else if let Some((_, component)) = headers::DECLARED_HEADERS.iter().find(|(n, _)| n == name) {
            *header = RefOr::Ref(headers::header_ref(component));
        }
    }
    let mut add = |name: &str, component: &str| {
        response.headers.insert(name.to_string(), RefOr::Ref(headers::header_ref(component)));
    };
    add("X-Request-ID", names::REQUEST_ID);
    add("API-Version", names::API_VERSION);
    if replayable {
        add("Idempotency-Replay", names::IDEMPOTENCY_REPLAY);
    }
    if v1 {
        add("Deprecation", names::DEPRECATION);
        add("Sunset", names::SUNSET);
        let link =
            if response.headers.contains_key("Link") { names::LINK_PAGINATION_V1 } else { names::LINK_SUCCESSOR };
        response.headers.insert("Link".to_string(), RefOr::Ref(headers::header_ref(link)));
    }
}

/// The error codes the middleware stack can answer with on this operation.
fn stack_codes(method: &str, path: &str, op: &Operation, versioned: bool, keys: &KeyRules) -> Vec<ErrorCode> {
    let table = keys.table();
    let mut codes = vec![
        ErrorCode::MethodNotAllowed,
        ErrorCode::RateLimitExceeded,
        ErrorCode::InternalError,
        ErrorCode::RateLimiterUnavailable,
        // The database (or Redis) is unreachable: any operation may need it.
        ErrorCode::NotReady,
    ];
    let concrete = path.replace("{id}", "1");
    let http_method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
    // Credentials sent with the request are checked everywhere except where the body carries
    // them: an invalid one is refused, and a cookie without its CSRF token on an unsafe method.
    if !table.credentials_in_body(&http_method, &concrete) {
        codes.push(ErrorCode::Unauthenticated);
        if is_unsafe(method) {
            codes.push(ErrorCode::CsrfFailed);
        }
    }
    if versioned {
        codes.push(ErrorCode::UnsupportedApiVersion);
    }
    if op.request_body.is_some() {
        codes.extend([ErrorCode::InvalidRequest, ErrorCode::PayloadTooLarge, ErrorCode::UnsupportedMediaType]);
    }
    if path.contains('{') {
        codes.push(ErrorCode::InvalidRequest);
    }
    match keys.rule(&http_method, &concrete) {
        Rule::Ignore => {}
        rule => {
            codes.extend([ErrorCode::InvalidRequest, ErrorCode::RequestInProgress, ErrorCode::IdempotencyKeyReused]);
            if rule == Rule::Require {
                codes.push(ErrorCode::MissingIdempotencyKey);
            }
        }
    }
    codes
}

/// Merges `codes` into the operation's error responses, re-rendering each from the union of
/// the handler's codes and the stack's. A status the handler documents with a response of its
/// own (an HTML page) is left as it is.
fn merge_errors(op: &mut Operation, codes: Vec<ErrorCode>) {
    let mut all: BTreeSet<ErrorCode> = codes.into_iter().collect();
    let mut custom = BTreeSet::new();
    for (status, r) in &op.responses.responses {
        if let RefOr::T(r) = r {
            let declared = errors::codes_of(r);
            if declared.is_empty() {
                custom.insert(status.clone());
            }
            all.extend(declared);
        }
    }
    for (status, r) in errors::render(&all) {
        if !custom.contains(&status) {
            op.responses.responses.insert(status, r);
        }
    }
}

/// Expands the `user` requirement handlers declare into every scheme a user credential can
/// be presented with (bearer token, API key, session cookie, OAuth 2.0), with its scopes.
fn expand_security(op: &mut Operation) {
    let Some(reqs) = op.security.take() else { return };
    let mut out = Vec::new();
    for req in reqs {
        let value = serde_json::to_value(&req).unwrap_or_default();
        match value.get(security::USER).and_then(|s| s.as_array()) {
            Some(scopes) => {
                let scopes: Vec<String> = scopes.iter().filter_map(|s| s.as_str().map(str::to_string)).collect();
                for scheme in security::USER_SCHEMES {
                    out.push(SecurityRequirement::new(scheme, scopes.clone()));
                }
            }
            None => out.push(req),
        }
    }
    op.security = Some(out);
}

/// Decorates one operation at `path`.
fn decorate_operation(method: &str, path: &str, op: &mut Operation, keys: &KeyRules) {
    let version = [ApiVersion::V1, ApiVersion::V2].into_iter().find(|v| path.starts_with(&format!("{}/", v.prefix())));
    let params = op.parameters.get_or_insert_with(Vec::new);
    params.push(parameter_ref(names::REQUEST_ID));
    if version.is_some() {
        params.push(parameter_ref(names::API_VERSION));
    }
    if is_unsafe(method) {
        params.push(parameter_ref(names::CSRF_TOKEN));
    }
    let http_method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
    let rule = keys.rule(&http_method, &path.replace("{id}", "1"));
    match rule {
        Rule::Ignore => {}
        Rule::Honour => params.push(parameter_ref(names::IDEMPOTENCY_KEY)),
        Rule::Require => params.push(parameter_ref(names::IDEMPOTENCY_KEY_REQUIRED)),
    }
    expand_security(op);
    merge_errors(op, stack_codes(method, path, op, version.is_some(), keys));
    let v1 = version == Some(ApiVersion::V1);
    if let Some(v) = version {
        let id = op.operation_id.take().unwrap_or_default();
        op.operation_id = Some(format!("v{}_{id}", v.number()));
    }
    if v1 {
        op.deprecated = Some(Deprecated::True);
        let note = format!(
            "**Deprecated:** v1 is served until {V1_SUNSET}; use the same operation under `/v2` (see the \
             `Link: rel=\"successor-version\"` header)."
        );
        op.description = Some(match op.description.take() {
            Some(d) if !d.is_empty() => format!("{note}\n\n{d}"),
            _ => note,
        });
    }
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = response {
            let replayable =
                rule != Rule::Ignore && status.parse::<u16>().is_ok_and(agora_idempotency::StoredResponse::is_storable);
            decorate_response(r, status.starts_with('3') && status != "304", v1, replayable);
        }
    }
}

/// The full document: the router's paths, decorated, with the global parts.
pub fn document(routes: utoipa::openapi::OpenApi, keys: &KeyRules) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let mut license = License::new("MIT OR Apache-2.0");
    license.identifier = Some("MIT OR Apache-2.0".to_string());
    doc.info.license = Some(license);
    let mut paths = routes.paths;
    for (path, item) in paths.paths.iter_mut() {
        operations_mut(item).for_each(|(m, op)| decorate_operation(m, path, op, keys));
    }
    doc.paths = paths;
    let mut components = doc.components.take().unwrap_or_default();
    components.schemas.extend(routes.components.map(|c| c.schemas).unwrap_or_default());
    components.headers.extend(headers::header_components());
    components.parameters.insert(names::REQUEST_ID.to_string(), RefOr::T(params::request_id_param()));
    components.parameters.insert(names::API_VERSION.to_string(), RefOr::T(params::api_version_param()));
    components.parameters.insert(names::CSRF_TOKEN.to_string(), RefOr::T(params::csrf_token_param()));
    components.parameters.insert(names::IDEMPOTENCY_KEY.to_string(), RefOr::T(params::idempotency_key_param(false)));
    components
        .parameters
        .insert(names::IDEMPOTENCY_KEY_REQUIRED.to_string(), RefOr::T(params::idempotency_key_param(true)));
    components.security_schemes.extend(security::security_schemes());
    fields::document_selection(
        doc.paths.paths.values_mut().flat_map(|item| operations_mut(item).map(|(_, op)| op)),
        &mut components,
    );
    doc.components = Some(components);
    prune(&mut doc);
    doc
}

/// `doc` restricted to the paths under `prefix`.
/// Renders the three documents served: all, v1 only, v2 only.
///
/// The per-version documents take their operations out of the whole one rather than copying
/// it: the operations are most of the document (each carries its error responses), and a
/// copy per version tripled the memory that start-up needs for a moment.
pub fn documents(routes: utoipa::openapi::OpenApi, keys: &KeyRules) -> Documents {
    let mut all = document(routes, keys);
    let render = |d: &utoipa::openapi::OpenApi| {
        let mut json = serde_json::to_value(d).unwrap_or_default();
        conditions::add_conditions(&mut json);
        serde_json::to_string_pretty(&json).unwrap_or_default()
    };
    let whole = render(&all);
    let mut paths = std::mem::take(&mut all.paths.paths);
    let mut version = |prefix: &str| {
        let mut one = all.clone();
        let (mine, rest) = std::mem::take(&mut paths).into_iter().partition(|(p, _)| p.starts_with(prefix));
        one.paths.paths = mine;
        paths = rest;
        prune(&mut one);
        render(&one)
    };
    let v1 = version("/v1/");
    let v2 = version("/v2/");
    Documents { v1, v2, all: whole }
}

/// Every `#/components/...` reference in a JSON text.
fn refs_in(json: &str) -> BTreeSet<String> {
    const NEEDLE: &str = "\"$ref\":\"";
    let mut out = BTreeSet::new();
    let mut rest = json;
    while let Some(at) = rest.find(NEEDLE) {
        rest = &rest[at + NEEDLE.len()..];
        if let Some(end) = rest.find('"') {
            out.insert(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Drops components and tags that nothing in the paths references (directly or through other
/// components), so each per-version document holds only what it uses.
fn prune(doc: &mut utoipa::openapi::OpenApi) {
    let Some(c) = doc.components.as_mut() else { return };
    let component_json = |c: &Components, reference: &str| -> Option<String> {
        let (kind, name) = reference.strip_prefix("#/components/")?.split_once('/')?;
        match kind {
            "schemas" => c.schemas.get(name).map(to_json),
            "responses" => c.responses.get(name).map(to_json),
            "headers" => c.headers.get(name).map(to_json),
            "parameters" => c.parameters.get(name).map(to_json),
            _ => None,
        }
    };
    let mut seen = refs_in(&to_json(&doc.paths));
    let mut frontier: Vec<String> = seen.iter().cloned().collect();
    while let Some(r) = frontier.pop() {
        if let Some(json) = component_json(c, &r) {
            for next in refs_in(&json) {
                if seen.insert(next.clone()) {
                    frontier.push(next);
                }
            }
        }
    }
    let keep = |kind: &str, name: &str| seen.contains(&format!("#/components/{kind}/{name}"));
    c.schemas.retain(|n, _| keep("schemas", n));
    c.responses.retain(|n, _| keep("responses", n));
    c.headers.retain(|n, _| keep("headers", n));
    c.parameters.retain(|n, _| keep("parameters", n));
    let used: BTreeSet<String> = doc
        .paths
        .paths
        .values_mut()
        .flat_map(|item| operations_mut(item).flat_map(|(_, op)| op.tags.clone().unwrap_or_default()))
        .collect();
    if let Some(tags) = doc.tags.as_mut() {
        tags.retain(|t| used.contains(&t.name));
    }
}
