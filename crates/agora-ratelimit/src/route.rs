//! Route matching: glob patterns over `"METHOD /path"` strings.
//!
//! A pattern is matched against the whole string `"{METHOD} {path}"`; `*` matches any run of
//! characters (including `/` and the empty string), every other character matches itself
//! (case-sensitive). So `"GET /v*/products*"` matches `GET /v1/products` and
//! `GET /v2/products/42`, `"* /admin/*"` matches any method under `/admin/`, and `"*"` matches
//! everything.
//!
//! A `HEAD` request also matches the patterns its `GET` would. A server answers `HEAD` with
//! the `GET` handler and drops the body (RFC 9110 §9.3.2; axum does exactly this), so the
//! work is the same; a `GET` limit that let `HEAD` through would let a client keep the server
//! busy, and learn each resource's status, `ETag` and length, past the limit.

/// Whether `text` matches the glob `pattern` (`*` = any run of characters).
///
/// Linear-time greedy matching with backtracking to the last `*` only (no exponential cases).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    glob_match_at(pattern.as_bytes(), text.len(), |i| text.as_bytes()[i])
}

/// [`glob_match`] over a text of `len` bytes read through `at`, so that a text made of
/// several pieces (a method, a space, a path) is matched without joining them first.
fn glob_match_at(p: &[u8], len: usize, at: impl Fn(usize) -> u8) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None; // (pattern index after '*', text index)
    while ti < len {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi + 1, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == at(ti) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether a request with `method` and `path` matches `pattern` (see the module docs; a
/// `HEAD` request matches what its `GET` would match).
///
/// Runs for every policy with route patterns on every request, so the `"{METHOD} {path}"`
/// text is read in place rather than built.
pub fn route_matches(pattern: &str, method: &str, path: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let matches = |method: &str| {
        let (m, p) = (method.as_bytes(), path.as_bytes());
        glob_match_at(pattern.as_bytes(), m.len() + 1 + p.len(), |i| match i.checked_sub(m.len()) {
            None => m[i],
            Some(0) => b' ',
            Some(j) => p[j - 1],
        })
    };
    matches(method) || (method == "HEAD" && matches("GET"))
}

/// An ordered list of `(pattern, value)` rules, e.g. route pattern → policies.
#[derive(Debug, Clone)]
pub struct RouteTable<T> {
    rules: Vec<(String, T)>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        RouteTable { rules: Vec::new() }
    }
}

impl<T> RouteTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a rule.
    pub fn push(&mut self, pattern: impl Into<String>, value: T) {
        self.rules.push((pattern.into(), value));
    }

    /// Builder-style [`RouteTable::push`].
    pub fn with(mut self, pattern: impl Into<String>, value: T) -> Self {
        self.push(pattern, value);
        self
    }

    /// The values of all rules matching, in rule order.
    pub fn matching<'a>(&'a self, method: &'a str, path: &'a str) -> impl Iterator<Item = &'a T> {
        self.rules.iter().filter(move |(p, _)| route_matches(p, method, path)).map(|(_, v)| v)
    }

    /// The value of the first matching rule.
    pub fn first(&self, method: &str, path: &str) -> Option<&T> {
        self.rules.iter().find(|(p, _)| route_matches(p, method, path)).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_basics() {
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything / at all"));
        assert!(glob_match("abc", "abc"));
        assert!(!glob_match("abc", "abd"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("a*c", "ac"));
        assert!(glob_match("a*c", "abbbc"));
        assert!(!glob_match("a*c", "abbbd"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("*a*b*", "xxbxxaxx"));
        assert!(glob_match("a**b", "ab"));
        assert!(glob_match("*aab", "aaaab"));
        assert!(!glob_match(&"a*".repeat(20), &"a".repeat(19)));
    }

    #[test]
    fn routes() {
        let p = "GET /v*/products*";
        assert!(route_matches(p, "GET", "/v1/products"));
        assert!(route_matches(p, "GET", "/v2/products/42"));
        assert!(route_matches(p, "GET", "/v1/productsearch"));
        assert!(!route_matches(p, "POST", "/v1/products"));
        assert!(!route_matches(p, "GET", "/api/v1/products"));
        assert!(route_matches("*", "DELETE", "/x"));
        assert!(route_matches("* /admin/*", "PUT", "/admin/users/1"));
        assert!(!route_matches("* /admin/*", "PUT", "/administrator"));
        assert!(route_matches("POST /v1/orders", "POST", "/v1/orders"));
        assert!(!route_matches("POST /v1/orders", "POST", "/v1/orders/1"));
    }

    #[test]
    fn route_matching_equals_matching_the_joined_text() {
        let patterns = ["*", "GET *", "* /v*/users*", "GET /v2/users/*/posts", "*/a*b*", "POST /x", "* ", " *", "**"];
        let requests = [("GET", "/v2/users/1/posts"), ("POST", "/x"), ("GET", ""), ("", "/a/b"), ("PUT", "/v1/users")];
        for pattern in patterns {
            for (method, path) in requests {
                assert_eq!(
                    route_matches(pattern, method, path),
                    glob_match(pattern, &format!("{method} {path}")),
                    "{pattern:?} on {method:?} {path:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn route_matching_is_glob_matching_of_the_joined_text(
            pattern in "[ab* /]{0,10}",
            method in proptest::sample::select(vec!["GET", "HEAD", "POST", ""]),
            path in "[ab /*]{0,10}",
        ) {
            let joined = |m: &str| glob_match(&pattern, &format!("{m} {path}"));
            let expected = joined(method) || (method == "HEAD" && joined("GET"));
            proptest::prop_assert_eq!(route_matches(&pattern, method, &path), expected);
        }
    }

    #[test]
    fn head_matches_what_get_matches() {
        let p = "GET /v*/products*";
        assert!(route_matches(p, "HEAD", "/v2/products/42"));
        assert!(!route_matches(p, "HEAD", "/v2/users"));
        assert!(route_matches("HEAD /v2/products", "HEAD", "/v2/products"));
        assert!(route_matches("* /v2/products", "HEAD", "/v2/products"));
        // Only HEAD borrows GET's patterns.
        assert!(!route_matches("GET /v2/products", "OPTIONS", "/v2/products"));
        assert!(!route_matches("GET /v2/products", "POST", "/v2/products"));
        assert!(!route_matches("POST /v2/products", "HEAD", "/v2/products"));
    }

    #[test]
    fn route_table() {
        let t = RouteTable::new()
            .with("POST /v1/auth/*", "login")
            .with("GET /v*/products*", "catalog")
            .with("*", "default");
        assert_eq!(t.matching("POST", "/v1/auth/token").collect::<Vec<_>>(), [&"login", &"default"]);
        assert_eq!(t.first("GET", "/v1/products/3"), Some(&"catalog"));
        assert_eq!(t.first("GET", "/health"), Some(&"default"));
    }
}
