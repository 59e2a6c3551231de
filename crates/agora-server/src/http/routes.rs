//! The server's route templates, looked up by path outside the router.
//!
//! Two things need the route of a request that the router never sees: per-route rate-limit
//! counters (which are decided before routing), and the route label in logs and metrics of
//! a request answered before routing (refused by the rate limiter, or with credentials the
//! authentication layer rejects). Without it, those responses would be counted as
//! `unmatched`, and an operator could not tell which endpoint is being refused.

use std::sync::Arc;

use axum::response::Response;

use super::ctx::RouteLabel;

/// The label of a path that matches no route.
pub const UNMATCHED: &str = "unmatched";

/// The server's path templates (`/v2/users/{id}`), matched against concrete paths.
///
/// The templates come from the routes themselves (through the OpenAPI document), not from a
/// guess at which path segments are ids: with a guess, a client could give every request a
/// path of its own (`/v2/products/a1`, `/v2/products/a2`, ...) and so a fresh rate-limit
/// counter, or a fresh metrics series.
pub struct RouteTemplates(matchit::Router<Arc<str>>);

impl std::fmt::Debug for RouteTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTemplates").finish_non_exhaustive()
    }
}

impl RouteTemplates {
    /// The templates of every route the server serves.
    pub fn of_server() -> RouteTemplates {
        RouteTemplates::new(crate::openapi::path_templates())
    }

    /// A lookup over `templates`.
    pub fn new<S: AsRef<str>>(templates: impl IntoIterator<Item = S>) -> RouteTemplates {
        let mut router = matchit::Router::new();
        for t in templates {
            let t = t.as_ref();
            // Every template is one the router accepted already; a conflict cannot happen, and
            // would only make those paths count as `unmatched`.
            let _ = router.insert(t, Arc::from(t));
        }
        RouteTemplates(router)
    }

    /// The template `path` matches, or [`UNMATCHED`].
    pub fn template(&self, path: &str) -> &str {
        self.0.at(path).map_or(UNMATCHED, |m| &**m.value)
    }

    /// Labels `res`, answered to a request for `path` before routing, with the route `path`
    /// matches (as the router labels the responses it produces). A path that matches no route
    /// is left unlabelled, and so is counted as `unmatched`.
    pub fn label(&self, path: &str, mut res: Response) -> Response {
        if let Ok(m) = self.0.at(path) {
            res.extensions_mut().insert(RouteLabel::Template(m.value.clone()));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_the_templates_of_their_routes() {
        let routes = RouteTemplates::of_server();
        assert_eq!(routes.template("/v2/users/42/posts"), "/v2/users/{id}/posts");
        assert_eq!(routes.template("/v2/users/alice/posts"), "/v2/users/{id}/posts");
        assert_eq!(routes.template("/v2/users/me"), "/v2/users/me");
        assert_eq!(routes.template("/v2/users"), "/v2/users");
        assert_eq!(routes.template("/v1/products/7"), "/v1/products/{id}");
        // Paths the server does not serve share one label, however many there are.
        for path in ["/v2/nope", "/v2/products/1/2/3", "/v2/users/", "/x/9"] {
            assert_eq!(routes.template(path), UNMATCHED, "{path}");
        }
    }

    #[test]
    fn responses_are_labelled_only_for_served_paths() {
        let routes = RouteTemplates::of_server();
        let res = routes.label("/v2/posts/9", Response::default());
        assert_eq!(res.extensions().get::<RouteLabel>().map(RouteLabel::as_str), Some("/v2/posts/{id}"));
        let res = routes.label("/v2/nope", Response::default());
        assert!(res.extensions().get::<RouteLabel>().is_none());
    }
}
