//! The route table: what the layers in front of the router know about routes.
//!
//! Several layers act before the router has matched a request: version selection must know
//! which paths belong to no version, authentication which endpoints carry their credentials in
//! the body, rate limiting which paths are probes and which route template a path falls under
//! (so that a client cannot mint per-route counters by inventing paths), and the log line of a
//! request answered before routing needs its route label. All of it comes from the router's
//! own declaration ([`RoutesBuilder`], used by `rest::api`), so a route is declared once.

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::response::Response;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::PathItem;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use super::ctx::RouteLabel;

/// The label of a path that matches no route.
pub const UNMATCHED: &str = "unmatched";

/// What a route is, for the layers in front of the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A resource under `/v1` and `/v2`.
    Versioned,
    /// An endpoint outside the versions (`/openapi.json`, `/oauth/authorize`, `/docs`).
    Unversioned,
}

/// One route template and what is known of it.
#[derive(Debug, Clone)]
struct Entry {
    template: Arc<str>,
    kind: Kind,
    /// Called by operators, load balancers, scrapers and the docs page rather than by API
    /// clients (`/healthz`, `/readyz`, `/metrics`, the documents, `/docs`): a wildcard
    /// rate-limit pattern never covers it (see `ratelimit`).
    operational: bool,
    /// Methods whose request body carries the credentials being presented (a password, a
    /// refresh token, a client secret): a cookie or bearer header on them is not.
    credentials_in_body: Vec<Method>,
    /// Methods that honour `Idempotency-Key` (`POST` and `PATCH`, except where the body
    /// carries credentials or the response carries a secret).
    idempotent: Vec<Method>,
}

/// The declared routes, matched against concrete paths.
#[derive(Clone)]
pub struct RouteTable(matchit::Router<Entry>);

impl std::fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTable").finish_non_exhaustive()
    }
}

/// Collects the table while routes are declared.
#[derive(Debug, Default, Clone)]
pub struct RoutesBuilder {
    entries: Vec<Entry>,
}

impl RoutesBuilder {
    /// Records `template` (with `methods` carrying credentials in their body, and those that
    /// honour idempotency keys).
    pub fn add(
        &mut self,
        template: &str,
        kind: Kind,
        operational: bool,
        credentials_in_body: &[Method],
        idempotent: &[Method],
    ) {
        match self.entries.iter_mut().find(|e| &*e.template == template) {
            Some(e) => {
                e.credentials_in_body.extend_from_slice(credentials_in_body);
                e.idempotent.extend_from_slice(idempotent);
            }
            None => self.entries.push(Entry {
                template: Arc::from(template),
                kind,
                operational,
                credentials_in_body: credentials_in_body.to_vec(),
                idempotent: idempotent.to_vec(),
            }),
        }
    }

    /// The same routes under `prefix` (a version), as versioned routes.
    pub fn prefixed(&self, prefix: &str) -> RoutesBuilder {
        let entries = self
            .entries
            .iter()
            .map(|e| Entry {
                template: Arc::from(format!("{prefix}{}", e.template)),
                kind: Kind::Versioned,
                ..e.clone()
            })
            .collect();
        RoutesBuilder { entries }
    }

    /// Adds every route of `other`.
    pub fn merge(&mut self, other: RoutesBuilder) {
        for e in other.entries {
            self.add(&e.template, e.kind, e.operational, &e.credentials_in_body, &e.idempotent);
        }
    }

    /// Every template recorded.
    pub fn templates(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| &*e.template)
    }

    /// The finished table. Templates the router accepted cannot conflict; one that did would
    /// only be left out of the table (its requests counted as `unmatched`).
    pub fn build(self) -> RouteTable {
        let mut router = matchit::Router::new();
        for e in self.entries {
            let template = e.template.clone();
            let _ = router.insert(&*template, e);
        }
        RouteTable(router)
    }
}

/// Routes being declared: each group of handlers with its documentation (utoipa-axum's
/// `routes!` registers a handler and its `#[utoipa::path]` operation together) and the
/// [`RouteTable`] entries for them.
///
/// The versioned API is declared once, without its prefix, and copied under `/v1` and `/v2`
/// by [`Routes::nest`], which prefixes each group's paths itself rather than nesting routers:
/// an axum nested router rewrites every request's URI to strip the prefix, which cost a
/// request several allocations.
pub struct Routes<S> {
    groups: Vec<UtoipaMethodRouter<S>>,
    undocumented: Vec<Router<S>>,
    table: RoutesBuilder,
    kind: Kind,
}

fn methods(item: &PathItem) -> Vec<Method> {
    [
        (Method::GET, item.get.is_some()),
        (Method::PUT, item.put.is_some()),
        (Method::POST, item.post.is_some()),
        (Method::DELETE, item.delete.is_some()),
        (Method::PATCH, item.patch.is_some()),
    ]
    .into_iter()
    .filter_map(|(m, present)| present.then_some(m))
    .collect()
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// Routes of `kind` (the versioned API is declared without its prefix and nested).
    pub fn new(kind: Kind) -> Self {
        Routes { groups: Vec::new(), undocumented: Vec::new(), table: RoutesBuilder::default(), kind }
    }

    fn add(mut self, r: UtoipaMethodRouter<S>, operational: bool, credentials_in_body: bool, keys: bool) -> Self {
        for (path, item) in &r.1.paths {
            let all = methods(item);
            let creds = if credentials_in_body { all.clone() } else { Vec::new() };
            let idempotent: Vec<Method> = if keys && !credentials_in_body {
                all.into_iter().filter(|m| *m == Method::POST || *m == Method::PATCH).collect()
            } else {
                Vec::new()
            };
            self.table.add(path, self.kind, operational, &creds, &idempotent);
        }
        self.groups.push(r);
        self
    }

    /// Adds handlers (one path) with their documentation. Their `POST` and `PATCH` honour
    /// `Idempotency-Key`.
    pub fn route(self, r: UtoipaMethodRouter<S>) -> Self {
        self.add(r, false, false, true)
    }

    /// Adds handlers whose responses carry a secret shown once (an API key, a client secret):
    /// they ignore `Idempotency-Key`, because a stored response would keep the secret at rest,
    /// where Agora keeps only hashes.
    pub fn secret_response(self, r: UtoipaMethodRouter<S>) -> Self {
        self.add(r, false, false, false)
    }

    /// Adds handlers whose request body carries the credentials being presented (a password,
    /// a refresh token, a client secret): authentication leaves their other credentials alone,
    /// so a browser holding a session cookie can still sign in again.
    /// They ignore `Idempotency-Key` too: their responses carry tokens or sessions.
    pub fn credentials_in_body(self, r: UtoipaMethodRouter<S>) -> Self {
        self.add(r, false, true, false)
    }

    /// Adds an operational endpoint (health, readiness, metrics, the documents).
    pub fn operational(self, r: UtoipaMethodRouter<S>) -> Self {
        self.add(r, true, false, false)
    }

    /// Adds operational routes that are not part of the API document (the docs page and its
    /// assets).
    pub fn undocumented(mut self, router: Router<S>, templates: &[&str]) -> Self {
        for t in templates {
            self.table.add(t, self.kind, true, &[], &[]);
        }
        self.undocumented.push(router);
        self
    }

    /// Adds API routes that the OpenAPI document does not describe (GraphQL, which has its own
    /// schema): rate limits, authentication and logging treat them like any other API route.
    pub fn api(mut self, router: Router<S>, templates: &[&str]) -> Self {
        for t in templates {
            self.table.add(t, self.kind, false, &[], &[]);
        }
        self.undocumented.push(router);
        self
    }

    /// Adds a copy of `versioned` under `prefix` (`/v1`, `/v2`).
    pub fn nest(mut self, prefix: &str, versioned: &Routes<S>) -> Self {
        self.table.merge(versioned.table.prefixed(prefix));
        for (schemas, paths, handlers) in &versioned.groups {
            let mut prefixed = utoipa::openapi::path::Paths::new();
            for (path, item) in &paths.paths {
                prefixed.paths.insert(format!("{prefix}{path}"), item.clone());
            }
            self.groups.push((schemas.clone(), prefixed, handlers.clone()));
        }
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.table.merge(other.table);
        self.groups.extend(other.groups);
        self.undocumented.extend(other.undocumented);
        self
    }

    /// The router, its document and its table.
    pub fn split(self) -> (Router<S>, OpenApi, RouteTable) {
        let mut api = OpenApiRouter::default();
        for group in self.groups {
            api = api.routes(group);
        }
        for router in self.undocumented {
            api = api.merge(OpenApiRouter::from(router));
        }
        let (router, doc) = api.split_for_parts();
        (router, doc, self.table.build())
    }
}

impl RouteTable {
    fn entry(&self, path: &str) -> Option<&Entry> {
        self.0.at(path).ok().map(|m| m.value)
    }

    /// The template `path` matches, or [`UNMATCHED`].
    pub fn template(&self, path: &str) -> &str {
        self.entry(path).map_or(UNMATCHED, |e| &*e.template)
    }

    /// Whether `path` is an unversioned route (probes included).
    pub fn is_unversioned(&self, path: &str) -> bool {
        self.entry(path).is_some_and(|e| e.kind != Kind::Versioned)
    }

    /// Whether `path` is an operational endpoint.
    pub fn is_operational(&self, path: &str) -> bool {
        self.entry(path).is_some_and(|e| e.operational)
    }

    /// Whether `method path` honours `Idempotency-Key`.
    pub fn honours_keys(&self, method: &Method, path: &str) -> bool {
        self.entry(path).is_some_and(|e| e.idempotent.contains(method))
    }

    /// Whether the body of `method path` carries the credentials being presented.
    pub fn credentials_in_body(&self, method: &Method, path: &str) -> bool {
        self.entry(path).is_some_and(|e| e.credentials_in_body.contains(method))
    }

    /// Labels `res`, answered to a request for `path` before routing, with the route `path`
    /// matches (as the router labels the responses it produces). A path that matches no route
    /// is left unlabelled, and so is counted as `unmatched`.
    pub fn label(&self, path: &str, mut res: Response) -> Response {
        if let Some(e) = self.entry(path) {
            res.extensions_mut().insert(RouteLabel::Template(e.template.clone()));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        let mut api = RoutesBuilder::default();
        api.add("/users", Kind::Versioned, false, &[], &[Method::POST]);
        api.add("/users/{id}", Kind::Versioned, false, &[], &[Method::PATCH]);
        api.add("/users/me", Kind::Versioned, false, &[], &[]);
        api.add("/auth/session", Kind::Versioned, false, &[Method::POST], &[]);
        api.add("/openapi.json", Kind::Versioned, true, &[], &[]);
        let mut all = api.prefixed("/v1");
        all.merge(api.prefixed("/v2"));
        all.add("/healthz", Kind::Unversioned, true, &[], &[]);
        all.add("/oauth/authorize", Kind::Unversioned, false, &[], &[]);
        all.build()
    }

    #[test]
    fn paths_match_the_templates_of_their_routes() {
        let t = table();
        assert_eq!(t.template("/v2/users/42"), "/v2/users/{id}");
        assert_eq!(t.template("/v2/users/alice"), "/v2/users/{id}");
        assert_eq!(t.template("/v2/users/me"), "/v2/users/me");
        assert_eq!(t.template("/v1/users"), "/v1/users");
        for path in ["/v2/nope", "/v2/users/1/2/3", "/v2/users/", "/x/9", "/users"] {
            assert_eq!(t.template(path), UNMATCHED, "{path}");
        }
    }

    #[test]
    fn kinds_and_credentials() {
        let t = table();
        assert!(t.is_unversioned("/healthz") && t.is_operational("/healthz"));
        assert!(!t.is_unversioned("/v2/openapi.json") && t.is_operational("/v2/openapi.json"));
        assert!(t.is_unversioned("/oauth/authorize") && !t.is_operational("/oauth/authorize"));
        assert!(!t.is_operational("/v2/users/1"));
        assert!(!t.is_unversioned("/v2/users") && !t.is_unversioned("/nope"));
        assert!(t.credentials_in_body(&Method::POST, "/v1/auth/session"));
        assert!(!t.credentials_in_body(&Method::DELETE, "/v2/auth/session"));
        assert!(!t.credentials_in_body(&Method::POST, "/v2/users"));
        assert!(t.honours_keys(&Method::POST, "/v1/users") && t.honours_keys(&Method::PATCH, "/v2/users/3"));
        assert!(!t.honours_keys(&Method::GET, "/v2/users") && !t.honours_keys(&Method::POST, "/v2/auth/session"));
        assert!(!t.honours_keys(&Method::POST, "/v2/nope"));
    }

    #[test]
    fn responses_are_labelled_only_for_served_paths() {
        let t = table();
        let res = t.label("/v2/users/9", Response::default());
        assert_eq!(res.extensions().get::<RouteLabel>().map(RouteLabel::as_str), Some("/v2/users/{id}"));
        assert!(t.label("/v2/nope", Response::default()).extensions().get::<RouteLabel>().is_none());
    }
}
