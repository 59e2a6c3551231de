//! The OpenAPI 3.1 document, generated from the code.
//!
//! How it is put together:
//!
//! 1. Every handler carries `#[utoipa::path]` with its path *without* a version prefix, its
//!    parameters ([`params`]), request body and response schemas ([`schemas`]), and its
//!    responses, naming shared error responses ([`responses`]).
//! 2. [`crate::rest::api`] registers the handlers with utoipa-axum's `OpenApiRouter`, once per
//!    prefix; the router that serves `/v1` and `/v2` and the paths documented here come from
//!    the same call, so they cannot drift.
//! 3. [`ApiDoc`] adds what is global: `info`, `servers`, tags, the operational endpoints and
//!    the components, including the security schemes ([`security`]). The unversioned auth
//!    endpoints come from [`crate::auth::routes::operational_api`], registered the same way.
//! 4. Every operation declares its `security` (a test checks it against the authorization
//!    rules) and its 401/403 responses.
//! 5. [`document_for`] decorates each version's copy: unique `operationId`s (`v1_list_users`),
//!    `deprecated` on v1 with its `Deprecation`/`Sunset`/`Link` headers, the `X-Request-ID` and
//!    `API-Version` headers every response carries and every request may send, and
//!    `X-CSRF-Token` on unsafe methods; then it drops components the document no longer
//!    references.
//!
//! The documents are rendered once at start-up ([`build`]) and served from memory.

pub mod docs_page;
pub mod params;
pub mod responses;
pub mod schemas;
pub mod security;

use std::collections::BTreeSet;

use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::{Components, Deprecated, License, Ref, RefOr};

use crate::http::envelope::Meta;
use crate::http::error::{ErrorBody, ErrorEnvelope};
use crate::http::versioning::{ApiVersion, V1_SUNSET};
use crate::rest::ops;
use responses::names;
use schemas::{
    CursorPagination, FieldErrorDoc, HealthResponse, OffsetPagination, PagePagination, Pagination, ProblemDetails,
    ReadyResponse,
};

pub use docs_page::docs_router;

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
response and equals `meta.request_id`.

**Lists** accept page (`page`, `per_page`), offset (`offset`, `limit`) or cursor (`cursor` or \
`after_id`, `limit`) pagination — one style per request — plus `sort`, `fields`, `q`/`search` and \
per-collection filters, and return an RFC 8288 `Link` header.

**Writes.** `PUT` replaces, `PATCH` is a JSON merge patch (unknown fields are 422), `POST` answers \
201 with `Location`, `DELETE` 204. Single-resource GETs return a strong `ETag` (`If-None-Match` → 304); \
`PUT`/`PATCH` honour `If-Match` (412 on mismatch). `POST` and `PATCH` accept an `Idempotency-Key`.

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

/// The global parts of the document: info, servers, tags, operational endpoints, schemas that
/// no operation names directly.
#[derive(OpenApi)]
#[openapi(
    info(title = "Agora API", version = "2.0.0", description = DESCRIPTION),
    servers((url = "/", description = "This server")),
    paths(ops::healthz, ops::readyz, ops::metrics, ops::openapi),
    components(schemas(
        ErrorEnvelope,
        ErrorBody,
        Meta,
        ProblemDetails,
        FieldErrorDoc,
        Pagination,
        PagePagination,
        OffsetPagination,
        CursorPagination,
        HealthResponse,
        ReadyResponse,
    )),
    tags(
        (name = "users", description = "Accounts: public sign-up, profiles, deletion."),
        (name = "posts", description = "Posts, their authors and likes."),
        (name = "products", description = "The catalogue, read by anyone and written by administrators."),
        (name = "auth", description = "Access tokens (OAuth 2.0 token endpoint), revocation, introspection and browser sessions."),
        (name = "api-keys", description = "The caller's API keys."),
        (name = "oauth", description = "The OAuth 2.0 authorization server: client registration, the authorize page and the discovery documents (`/oauth/authorize` and `/.well-known/*` are unversioned)."),
        (name = "operations", description = "Health, readiness, metrics and this document. Unversioned."),
    )
)]
pub struct ApiDoc;

/// Which document to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Both versions plus the operational endpoints (`/openapi.json`).
    All,
    /// One version's paths only (`/v1/openapi.json`, `/v2/openapi.json`).
    Version(ApiVersion),
}

/// Name of the v1 copy of a response component (the copy carries the v1 headers).
fn v1_component(name: &str) -> String {
    format!("{name}.v1")
}

fn parameter_ref(name: &str) -> RefOr<utoipa::openapi::path::Parameter> {
    RefOr::Ref(Ref::new(format!("#/components/parameters/{name}")))
}

/// The operations of a path item, mutably.
pub fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The operations of a path item with their methods, mutably.
fn operations_with_methods_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
}

/// The operations of a path item with their methods.
pub fn operations(item: &PathItem) -> impl Iterator<Item = (&'static str, &Operation)> {
    [
        ("get", &item.get),
        ("put", &item.put),
        ("post", &item.post),
        ("delete", &item.delete),
        ("options", &item.options),
        ("head", &item.head),
        ("patch", &item.patch),
        ("trace", &item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
}

/// Adds the headers every response carries, turns headers declared by name into references,
/// and for v1 adds `Deprecation`, `Sunset` and the successor `Link`.
fn decorate_response(response: &mut Response, v1: bool) {
    for (name, header) in response.headers.iter_mut() {
        if let RefOr::T(_) = header
            && let Some((_, component)) = responses::DECLARED_HEADERS.iter().find(|(n, _)| n == name)
        {
            *header = RefOr::Ref(responses::header_ref(component));
        }
    }
    let mut add = |name: &str, component: &str| {
        response.headers.insert(name.to_string(), RefOr::Ref(responses::header_ref(component)));
    };
    add("X-Request-ID", names::REQUEST_ID);
    add("API-Version", names::API_VERSION);
    if v1 {
        add("Deprecation", names::DEPRECATION);
        add("Sunset", names::SUNSET);
        let link =
            if response.headers.contains_key("Link") { names::LINK_PAGINATION_V1 } else { names::LINK_SUCCESSOR };
        response.headers.insert("Link".to_string(), RefOr::Ref(responses::header_ref(link)));
    }
}

/// Whether the authentication middleware checks `X-CSRF-Token` on this method (when the
/// request carries the session cookie).
pub fn is_unsafe(method: &str) -> bool {
    !matches!(method, "get" | "head" | "options" | "trace")
}

/// Decorates one operation; `version` is `None` for the operational endpoints.
fn decorate_operation(method: &str, op: &mut Operation, version: Option<ApiVersion>) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    params.push(parameter_ref(names::REQUEST_ID));
    if version.is_some() {
        params.push(parameter_ref(names::API_VERSION));
    }
    if is_unsafe(method) {
        params.push(parameter_ref(names::CSRF_TOKEN));
    }
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
    for response in op.responses.responses.values_mut() {
        match response {
            RefOr::T(r) => decorate_response(r, v1),
            RefOr::Ref(r) if v1 => {
                if let Some(name) = r.ref_location.strip_prefix("#/components/responses/") {
                    *r = Ref::from_response_name(v1_component(name));
                }
            }
            RefOr::Ref(_) => {}
        }
    }
}

/// The components: schemas from [`ApiDoc`] and the handlers, shared responses (plain and v1
/// copies), headers, the header parameters every operation accepts and the security schemes.
fn components(mut base: Components, handler_schemas: Components) -> Components {
    base.schemas.extend(handler_schemas.schemas);
    // `ErrorBody.details` is typed as a free-form object in the server; it holds FieldErrors.
    if let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(body))) = base.schemas.get_mut("ErrorBody")
        && let Some(RefOr::T(utoipa::openapi::schema::Schema::Array(details))) = body.properties.get_mut("details")
    {
        details.items =
            utoipa::openapi::schema::ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name("FieldError"))));
    }
    for (name, response) in responses::response_components() {
        let RefOr::T(mut plain) = response else { continue };
        let mut v1 = plain.clone();
        decorate_response(&mut plain, false);
        decorate_response(&mut v1, true);
        base.responses.insert(name.clone(), RefOr::T(plain));
        base.responses.insert(v1_component(&name), RefOr::T(v1));
    }
    base.headers.extend(responses::header_components());
    base.parameters.insert(names::REQUEST_ID.to_string(), RefOr::T(params::request_id_param()));
    base.parameters.insert(names::API_VERSION.to_string(), RefOr::T(params::api_version_param()));
    base.parameters.insert(names::CSRF_TOKEN.to_string(), RefOr::T(params::csrf_token_param()));
    base.security_schemes.extend(security::security_schemes());
    base
}

/// Every path template the server documents (`/v2/users/{id}`, ...), both versions and the
/// operational endpoints: what per-route rate limits count by.
pub fn path_templates() -> Vec<String> {
    document_for(Scope::All).paths.paths.into_keys().collect()
}

/// The document for `scope`, as a value.
pub fn document_for(scope: Scope) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let mut license = License::new("MIT OR Apache-2.0");
    license.identifier = Some("MIT OR Apache-2.0".to_string());
    doc.info.license = Some(license);

    let mut handler_components = Components::new();
    let mut paths = utoipa::openapi::path::Paths::new();
    if scope == Scope::All {
        let mut auth = crate::auth::routes::operational_api().into_openapi();
        doc.paths.paths.append(&mut auth.paths.paths);
        if let Some(c) = auth.components {
            handler_components.schemas.extend(c.schemas);
        }
        for item in doc.paths.paths.values_mut() {
            operations_with_methods_mut(item).for_each(|(m, op)| decorate_operation(m, op, None));
        }
        paths.paths.append(&mut doc.paths.paths);
    }
    for v in [ApiVersion::V1, ApiVersion::V2] {
        if scope != Scope::All && scope != Scope::Version(v) {
            continue;
        }
        let mut api = crate::rest::api(v.prefix()).into_openapi();
        for (path, mut item) in std::mem::take(&mut api.paths.paths) {
            operations_with_methods_mut(&mut item).for_each(|(m, op)| decorate_operation(m, op, Some(v)));
            paths.paths.insert(path, item);
        }
        if let Some(c) = api.components {
            handler_components.schemas.extend(c.schemas);
        }
    }
    doc.paths = paths;
    doc.components = Some(components(doc.components.take().unwrap_or_default(), handler_components));
    prune(&mut doc);
    doc
}

/// The full document (both versions and the operational endpoints).
pub fn document() -> utoipa::openapi::OpenApi {
    document_for(Scope::All)
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
        .values()
        .flat_map(|item| operations(item).flat_map(|(_, op)| op.tags.clone().unwrap_or_default()))
        .collect();
    if let Some(tags) = doc.tags.as_mut() {
        tags.retain(|t| used.contains(&t.name));
    }
}

fn render(doc: &utoipa::openapi::OpenApi) -> String {
    doc.to_pretty_json().unwrap_or_default()
}

/// Renders the documents.
pub fn build() -> Documents {
    Documents {
        all: render(&document_for(Scope::All)),
        v1: render(&document_for(Scope::Version(ApiVersion::V1))),
        v2: render(&document_for(Scope::Version(ApiVersion::V2))),
    }
}

#[cfg(test)]
mod tests;
