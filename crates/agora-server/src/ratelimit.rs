//! Wiring `agora-ratelimit` into the server: policies from configuration, request keys from
//! the socket and the authenticated principal, and 429/503 bodies in the Agora envelope.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use agora_core::auth::Principal as Credential;
use agora_core::{Actor, ErrorCode};
use agora_ratelimit::compact_str::{CompactString, format_compact};
use agora_ratelimit::{
    Algorithm, Check, Checks, FallbackLimiter, LimitError, MemoryStore, OnBackendError, Policy, RateLimitLayer,
    RateLimiter, RedisConfig, RedisStore, route_matches,
};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::config::{Config, PolicyConfig};
use crate::http::ApiError;
use crate::http::routes::RouteTable;

/// Which part of the request a policy counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Ip,
    User,
    ApiKey,
    Client,
}

/// Which callers a policy covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Principals {
    Anonymous,
    Authenticated,
    Any,
}

#[derive(Debug, Clone)]
struct RuntimePolicy {
    policy: Policy,
    key: KeyKind,
    principals: Principals,
    routes: Vec<String>,
    per_route: bool,
}

/// The policies used when the configuration names none (CONTRACT §8).
fn default_policies() -> Vec<PolicyConfig> {
    vec![
        PolicyConfig {
            name: "anonymous".into(),
            algorithm: "sliding_window_log".into(),
            limit: 100,
            window: Duration::from_secs(60),
            key: "ip".into(),
            principals: "anonymous".into(),
            routes: vec!["*".into()],
            per_route: false,
        },
        PolicyConfig {
            name: "authenticated".into(),
            algorithm: "sliding_window_log".into(),
            limit: 1000,
            window: Duration::from_secs(60),
            key: "client".into(),
            principals: "authenticated".into(),
            routes: vec!["*".into()],
            per_route: false,
        },
    ]
}

fn runtime(p: &PolicyConfig) -> Result<RuntimePolicy, String> {
    let algorithm: Algorithm = p.algorithm.parse().map_err(|_| format!("unknown algorithm `{}`", p.algorithm))?;
    let policy =
        Policy::new(p.name.clone(), algorithm, p.limit, p.window).map_err(|e| format!("policy `{}`: {e}", p.name))?;
    let key = match p.key.as_str() {
        "ip" => KeyKind::Ip,
        "user" => KeyKind::User,
        "api_key" => KeyKind::ApiKey,
        _ => KeyKind::Client,
    };
    let principals = match p.principals.as_str() {
        "anonymous" => Principals::Anonymous,
        "authenticated" => Principals::Authenticated,
        _ => Principals::Any,
    };
    Ok(RuntimePolicy { policy, key, principals, routes: p.routes.clone(), per_route: p.per_route })
}

/// The client address: the socket peer, or the right-most `X-Forwarded-For` hop that is not
/// a trusted proxy when the peer is one.
///
/// Addresses are compared in canonical form: on a dual-stack listener an IPv4 client arrives
/// as `::ffff:a.b.c.d`, and must still match `trusted_proxies = ["a.b.c.d"]` and share a key
/// with the same client over IPv4.
///
/// Returned with the connection's [`Peer`], whose key is the client's when the two are the
/// same address.
fn client<'r>(req: &'r Request<Body>, trusted: &[IpNet]) -> Option<(&'r Peer, IpAddr)> {
    let ConnectInfo(connection) = req.extensions().get::<ConnectInfo<Peer>>()?;
    let peer = connection.ip;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some((connection, peer));
    }
    // Walk from the right (closest hop) past trusted proxies. Every `X-Forwarded-For` line
    // counts, the last one first: some proxies (HAProxy's `option forwardfor`) add a line of
    // their own instead of appending to the client's, and reading only the first line would
    // believe whatever the client wrote there. A hop that does not parse (or a line that is
    // not text) ends the walk: nothing to its left can be believed. No header: the trusted
    // peer is itself the client.
    let mut client = peer;
    'walk: for line in req.headers().get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = line.to_str() else { break };
        for hop in text.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !is_trusted(&client) {
                        break 'walk;
                    }
                }
                Err(_) => break 'walk,
            }
        }
    }
    Some((connection, client))
}

/// The client address alone (see [`client`]).
#[cfg(test)]
fn client_ip(req: &Request<Body>, trusted: &[IpNet]) -> Option<IpAddr> {
    client(req, trusted).map(|(_, ip)| ip)
}

/// A connection's peer, as the server sees it for every request on the connection: its
/// address, and the rate-limit key of that address.
///
/// The key (`ip:203.0.113.9`) is made once, when the connection is accepted, rather than on
/// each of its requests: a keep-alive connection carries many requests, and formatting the
/// address was a visible share of the limiter's per-request cost. It is the client's key
/// whenever the peer is the client, i.e. unless the peer is a trusted proxy.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The address in canonical form (see [`client`]).
    ip: IpAddr,
    key: CompactString,
}

impl Peer {
    /// The peer at `addr`.
    pub fn new(addr: SocketAddr) -> Peer {
        let ip = addr.ip().to_canonical();
        Peer { ip, key: ip_key(ip) }
    }
}

/// The rate-limit key of a client address.
fn ip_key(ip: IpAddr) -> CompactString {
    match ip {
        IpAddr::V4(v4) => ipv4_key(v4),
        IpAddr::V6(v6) => ipv6_key(v6),
    }
}

/// `ip:` and the IPv6 client's /64 prefix, as in `ip:2001:db8:1:2::/64`.
///
/// One subscriber is routinely given a whole /64 (SLAAC, privacy addresses) and can pick any
/// of its 2^64 addresses per request; counting single IPv6 addresses would let one client
/// multiply its quota at will. The /64 is the smallest block that can be presumed one client.
fn ipv6_key(ip: Ipv6Addr) -> CompactString {
    let prefix = Ipv6Addr::from(u128::from(ip) & !u128::from(u64::MAX));
    format_compact!("ip:{prefix}/64")
}

/// `ip:` and a dotted quad, as an inline string (at most 18 bytes: no allocation).
///
/// Written out by hand: every request of an anonymous client needs one, and `Display` for an
/// address (through the formatting machinery) was a visible share of the limiter's cost.
fn ipv4_key(ip: Ipv4Addr) -> CompactString {
    let mut buf = [0u8; 18];
    buf[..3].copy_from_slice(b"ip:");
    let mut n = 3;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            buf[n] = b'0' + octet / 100;
            n += 1;
        }
        if octet >= 10 {
            buf[n] = b'0' + octet / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + octet % 10;
        n += 1;
    }
    // Only ASCII digits and dots were written.
    std::str::from_utf8(&buf[..n]).map_or_else(|_| format_compact!("ip:{ip}"), CompactString::new)
}

/// Whether a route pattern names `path` literally: its path part (after the method and a
/// space) is exactly `path`, as in `"GET /metrics"` or `"* /readyz"`.
fn names_path(pattern: &str, path: &str) -> bool {
    pattern.split_once(' ').is_some_and(|(_, p)| p == path)
}

/// How requests are turned into checks: the policies, the trusted proxies, and whether any
/// policy looks at who is calling (its principals, or a key other than the IP). When none
/// does, requests are keyed without looking the principal up.
///
/// A per-route counter is keyed by the route template the path matches (`GET
/// /v2/users/{id}`), whatever the id, so that a client cannot mint counters by inventing
/// paths; paths the server does not serve share one counter per method, `unmatched`.
struct KeyRules {
    policies: Vec<RuntimePolicy>,
    trusted: Vec<IpNet>,
    needs_principal: bool,
    /// For per-route counters.
    routes: Arc<RouteTable>,
}

impl KeyRules {
    fn new(policies: Vec<RuntimePolicy>, trusted: Vec<IpNet>, routes: Arc<RouteTable>) -> KeyRules {
        let needs_principal = policies.iter().any(|p| p.principals != Principals::Any || p.key != KeyKind::Ip);
        KeyRules { policies, trusted, needs_principal, routes }
    }

    /// The checks that apply to `req`.
    fn checks(&self, req: &Request<Body>) -> Checks {
        let (policies, trusted) = (&self.policies, &self.trusted);
        // (`anonymous` is only read by policies that need the principal.)
        let (cred, anonymous) = if self.needs_principal {
            let cred = req.extensions().get::<Credential>();
            let signed_in =
                || matches!(req.extensions().get::<Actor>(), Some(Actor::User { .. } | Actor::Client { .. }));
            (cred, cred.is_none() && !signed_in())
        } else {
            (None, true)
        };
        let method = req.method().as_str();
        let path = req.uri().path();
        // A wildcard pattern never covers an operational endpoint. Behind a proxy that is not
        // listed in `trusted_proxies`, every request arrives from the proxy's address; if `"*"`
        // covered the probes, API traffic from that address would use up the quota of the
        // proxy's own health checks, and the instance would be taken out of rotation for being
        // busy — and a newcomer reading `/docs` would be refused its assets. A policy limits an
        // operational endpoint only if one of its patterns names the path itself.
        let operational = self.routes.is_operational(path);
        let covers =
            |pattern: &String| route_matches(pattern, method, path) && (!operational || names_path(pattern, path));
        let client = client(req, trusted);
        let ip_key = || match client {
            // The client is the peer itself: its key was made when the connection opened.
            Some((peer, ip)) if peer.ip == ip => peer.key.clone(),
            Some((_, ip)) => ip_key(ip),
            None => CompactString::const_new("ip:unknown"),
        };
        let mut out = Checks::new();
        for p in policies {
            match p.principals {
                Principals::Anonymous if !anonymous => continue,
                Principals::Authenticated if anonymous => continue,
                _ => {}
            }
            if !p.routes.iter().any(covers) {
                continue;
            }
            let key = match (p.key, cred) {
                (KeyKind::Ip, _) => ip_key(),
                (KeyKind::User, Some(Credential::User(id) | Credential::ApiKey { user_id: id, .. })) => {
                    format_compact!("user:{id}")
                }
                (KeyKind::User, _) => continue,
                (KeyKind::ApiKey, Some(Credential::ApiKey { prefix, .. })) => format_compact!("key:{prefix}"),
                (KeyKind::ApiKey, _) => continue,
                (KeyKind::Client, Some(Credential::User(id) | Credential::ApiKey { user_id: id, .. })) => {
                    format_compact!("user:{id}")
                }
                (KeyKind::Client, Some(Credential::Client(c))) => format_compact!("client:{c}"),
                (KeyKind::Client, None) => ip_key(),
            };
            let key = if p.per_route {
                // HEAD is GET without the body (the same handler): one counter for both.
                let method = if method == "HEAD" { "GET" } else { method };
                format_compact!("{key}|{method} {}", self.routes.template(path))
            } else {
                key
            };
            out.push(Check::new(p.policy.clone(), key));
        }
        out
    }
}

/// Builds the 429 for a refused request.
fn limited(policy: &str, retry_after: Duration) -> Response {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut e = ApiError::new(
        ErrorCode::RateLimitExceeded,
        format!("Rate limit exceeded (policy `{policy}`); retry in {secs} s."),
    );
    e.retry_after = Some(secs);
    e.policy = Some(policy.to_string());
    e.into_response()
}

/// Builds the 503 answered in `deny` mode while Redis is unreachable.
///
/// Nothing is logged here. The fallback limiter logs once when an outage starts and once when
/// it ends, and each refused request is in the request log with its status. A line per refused
/// request would flood the logs exactly when they are needed. `Retry-After: 1` matches the
/// fallback's probe interval: Redis is tried again within a second.
fn unavailable(_err: &LimitError) -> Response {
    let mut e = ApiError::from(ErrorCode::RateLimiterUnavailable);
    e.retry_after = Some(1);
    e.into_response()
}

/// The rate-limit layer the configuration asks for, or `None` when limiting is disabled.
///
/// It is applied by `app::router` inside the one outer middleware stack rather than as a
/// separate `Router::layer`: each `Router::layer` adds a boxed, per-request-cloned route
/// level, which alone cost a few percent of a cheap request.
#[allow(clippy::type_complexity)]
pub fn layer(
    config: &Config,
    routes: Arc<RouteTable>,
) -> Result<
    Option<
        RateLimitLayer<
            impl Fn(&Request<Body>) -> Checks + Send + Sync + 'static,
            impl Fn(&Request<Body>, &str, Duration) -> Response + Send + Sync + 'static,
            impl Fn(&Request<Body>, &LimitError) -> Response + Send + Sync + 'static,
        >,
    >,
    String,
> {
    let rl = &config.rate_limit;
    if !rl.enabled {
        return Ok(None);
    }
    let configured = if rl.policy.is_empty() { default_policies() } else { rl.policy.clone() };
    let policies: Vec<RuntimePolicy> = configured.iter().map(runtime).collect::<Result<_, _>>()?;
    let trusted: Vec<IpNet> = config
        .trusted_proxies
        .iter()
        .map(|s| {
            crate::config::parse_proxy(s)
                .ok_or_else(|| format!("`trusted_proxies`: `{s}` is not an IP address or CIDR block"))
        })
        .collect::<Result<_, _>>()?;
    let limiter = if rl.backend == "redis" {
        if config.redis_url.is_empty() {
            return Err("`rate_limit.backend = \"redis\"` needs `redis_url`".into());
        }
        let mode = if rl.on_backend_error == "deny" { OnBackendError::Deny } else { OnBackendError::Allow };
        let redis = RedisStore::connect_lazy(
            &config.redis_url,
            RedisConfig { command_timeout: rl.redis_timeout, ..RedisConfig::default() },
        )
        .map_err(|e| format!("`redis_url`: {e}"))?;
        RateLimiter::new(FallbackLimiter::new(redis, MemoryStore::default().with_max_keys(rl.max_keys), mode))
    } else {
        RateLimiter::new(MemoryStore::default().with_max_keys(rl.max_keys))
    };
    let rules = KeyRules::new(policies, trusted, routes.clone());
    let keys = move |req: &Request<Body>| rules.checks(req);
    // Refusals are labelled with the route refused (the router, which labels every other
    // response, never sees them), so logs and metrics count them under it.
    let routes_503 = routes.clone();
    let on_limited = move |req: &Request<Body>, policy: &str, retry_after: Duration| {
        routes.label(req.uri().path(), limited(policy, retry_after))
    };
    let on_unavailable =
        move |req: &Request<Body>, err: &LimitError| routes_503.label(req.uri().path(), unavailable(err));
    Ok(Some(RateLimitLayer::new(limiter, keys, on_limited, on_unavailable)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_rules(policies: Vec<RuntimePolicy>, trusted: Vec<IpNet>) -> KeyRules {
        KeyRules::new(policies, trusted, Arc::new(crate::rest::all().split().2))
    }

    #[test]
    fn a_peer_carries_the_key_of_its_address() {
        for addr in ["10.1.2.3:80", "[2001:db8:1:2:3:4:5:6]:80", "[::ffff:192.0.2.7]:80", "[::1]:80"] {
            let addr: SocketAddr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
            assert_eq!(Peer::new(addr).key, ip_key(addr.ip().to_canonical()), "{addr}");
        }
        let mapped = Peer::new(SocketAddr::from((Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped(), 80)));
        assert_eq!((mapped.ip, mapped.key.as_str()), (IpAddr::from([192, 0, 2, 7]), "ip:192.0.2.7"));
        assert_eq!(Peer::new(SocketAddr::from(([0; 16], 80))).key, "ip:::/64");
    }

    #[test]
    fn ipv4_keys_match_display() {
        for o in 0..=255u8 {
            for ip in [Ipv4Addr::new(o, 255 - o, o / 2, 7), Ipv4Addr::new(9, o, 99, o.wrapping_mul(3))] {
                assert_eq!(ipv4_key(ip), format!("ip:{ip}"));
            }
        }
    }

    #[test]
    fn ip_only_policies_key_every_caller_by_ip() {
        let cfg = PolicyConfig { principals: "any".into(), ..default_policies().remove(0) };
        let rules = key_rules(vec![runtime(&cfg).unwrap_or_else(|e| panic!("{e}"))], vec![]);
        assert!(!rules.needs_principal);
        let mut req = Request::builder().uri("/v2/users").body(Body::empty()).unwrap_or_default();
        req.extensions_mut().insert(ConnectInfo(Peer::new(SocketAddr::from(([10, 1, 2, 3], 5000)))));
        req.extensions_mut().insert(Credential::User(7));
        let c = rules.checks(&req);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].key, "ip:10.1.2.3");
        // The same request under the default policies is keyed by its user.
        let defaults = key_rules(default_policies().iter().filter_map(|p| runtime(p).ok()).collect(), vec![]);
        assert!(defaults.needs_principal);
        let c = defaults.checks(&req);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].key, "user:7");
    }

    #[test]
    fn wildcards_never_cover_the_operational_endpoints() {
        let rules_for = |routes: &[&str]| {
            let cfg = PolicyConfig {
                principals: "any".into(),
                routes: routes.iter().map(|r| (*r).to_owned()).collect(),
                ..default_policies().remove(0)
            };
            key_rules(vec![runtime(&cfg).unwrap_or_else(|e| panic!("{e}"))], vec![])
        };
        let count = |rules: &KeyRules, method: &str, path: &str| {
            let mut req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap_or_default();
            req.extensions_mut().insert(ConnectInfo(Peer::new(SocketAddr::from(([10, 1, 2, 3], 5000)))));
            rules.checks(&req).len()
        };
        let wildcards = rules_for(&["*", "GET *", "* /*", "GET /metrics*"]);
        let operational = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/v2/openapi.json", "/docs", "/docs/"];
        for path in operational.into_iter().chain(["/docs/swagger-ui.css"]) {
            assert_eq!(count(&wildcards, "GET", path), 0, "{path}");
        }
        // Everything else, including near misses of those paths, is still covered.
        for path in ["/v2/users", "/healthz/", "/metricsx", "/v2/openapi.jsonx", "/oauth/authorize", "/graphql"] {
            assert_eq!(count(&wildcards, "GET", path), 1, "{path}");
        }
        // A pattern that names the path covers it, for the methods it names.
        let named = rules_for(&["GET /metrics", "* /readyz"]);
        assert_eq!(count(&named, "GET", "/metrics"), 1);
        assert_eq!(count(&named, "HEAD", "/metrics"), 1, "HEAD is GET without the body");
        assert_eq!(count(&named, "POST", "/metrics"), 0);
        assert_eq!(count(&named, "HEAD", "/readyz"), 1);
        assert_eq!(count(&named, "GET", "/healthz"), 0);
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let mut req = Request::builder()
            .uri("/v2/users")
            .header("x-forwarded-for", "203.0.113.9, 10.0.0.2")
            .body(Body::empty())
            .unwrap_or_default();
        req.extensions_mut().insert(ConnectInfo(Peer::new(SocketAddr::from(([10, 0, 0, 1], 5000)))));
        assert_eq!(client_ip(&req, &[]), Some(IpAddr::from([10, 0, 0, 1])));
        let trusted = nets(&["10.0.0.1", "10.0.0.2"]);
        assert_eq!(client_ip(&req, &trusted), Some(IpAddr::from([203, 0, 113, 9])));
        // A block trusts every address in it.
        assert_eq!(client_ip(&req, &nets(&["10.0.0.0/30"])), Some(IpAddr::from([203, 0, 113, 9])));
        // Only the right-most untrusted hop counts; a forged hop to its left does not.
        let forged = request_from(SocketAddr::from(([10, 0, 0, 1], 5000)), Some("198.51.100.1, 203.0.113.9, 10.0.0.2"));
        assert_eq!(client_ip(&forged, &trusted), Some(IpAddr::from([203, 0, 113, 9])));
        // An unparsable hop ends the walk at the last trusted hop.
        let garbled = request_from(SocketAddr::from(([10, 0, 0, 1], 5000)), Some("203.0.113.9, junk, 10.0.0.2"));
        assert_eq!(client_ip(&garbled, &trusted), Some(IpAddr::from([10, 0, 0, 2])));
        // A proxy that adds its own header line: the last line is read first, so the line the
        // client forged does not count.
        let mut two_lines = request_from(SocketAddr::from(([10, 0, 0, 1], 5000)), Some("198.51.100.1"));
        two_lines.headers_mut().append("x-forwarded-for", http::HeaderValue::from_static("203.0.113.9"));
        assert_eq!(client_ip(&two_lines, &trusted), Some(IpAddr::from([203, 0, 113, 9])));
        // ...and lines are walked on, right to left, past trusted hops.
        let mut relayed = request_from(SocketAddr::from(([10, 0, 0, 1], 5000)), Some("198.51.100.1, 203.0.113.9"));
        relayed.headers_mut().append("x-forwarded-for", http::HeaderValue::from_static("10.0.0.2"));
        assert_eq!(client_ip(&relayed, &trusted), Some(IpAddr::from([203, 0, 113, 9])));
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().filter_map(|s| crate::config::parse_proxy(s)).collect()
    }

    fn request_from(peer: SocketAddr, xff: Option<&str>) -> Request<Body> {
        let mut b = Request::builder().uri("/v2/users");
        if let Some(xff) = xff {
            b = b.header("x-forwarded-for", xff);
        }
        let mut req = b.body(Body::empty()).unwrap_or_default();
        req.extensions_mut().insert(ConnectInfo(Peer::new(peer)));
        req
    }

    #[test]
    fn ipv4_mapped_peers_are_ipv4_clients() {
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        // Trusted as the IPv4 proxy it is.
        let req = request_from(mapped, Some("203.0.113.9"));
        assert_eq!(client_ip(&req, &nets(&["10.0.0.1"])), Some(IpAddr::from([203, 0, 113, 9])));
        // Keyed like the same client over IPv4.
        let rules = key_rules(vec![runtime(&ip_policy()).unwrap_or_else(|e| panic!("{e}"))], vec![]);
        assert_eq!(rules.checks(&request_from(mapped, None))[0].key, "ip:10.0.0.1");
    }

    fn ip_policy() -> PolicyConfig {
        PolicyConfig { principals: "any".into(), ..default_policies().remove(0) }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let rules = key_rules(vec![runtime(&ip_policy()).unwrap_or_else(|e| panic!("{e}"))], vec![]);
        let key = |addr: &str| {
            let peer = SocketAddr::new(addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}")), 5000);
            rules.checks(&request_from(peer, None))[0].key.to_string()
        };
        assert_eq!(key("2001:db8:1:2::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:3::1"), "ip:2001:db8:1:3::/64");
        assert_eq!(key("::1"), "ip:::/64");
        // The /64 also applies to an IPv6 client named by a trusted proxy.
        let trusted = key_rules(vec![runtime(&ip_policy()).unwrap_or_else(|e| panic!("{e}"))], nets(&["fd00::/8"]));
        let req =
            request_from("[fd00::7]:5000".parse().unwrap_or_else(|e| panic!("{e}")), Some("2001:db8:aa:bb:1:2:3:4"));
        assert_eq!(trusted.checks(&req)[0].key, "ip:2001:db8:aa:bb::/64");
    }

    #[test]
    fn defaults_cover_anonymous_by_ip() {
        let cfg = Config::default();
        let policies: Vec<RuntimePolicy> =
            default_policies().iter().map(runtime).collect::<Result<_, _>>().unwrap_or_default();
        assert_eq!(policies.len(), 2);
        let rules = key_rules(policies, vec![]);
        let mut req = Request::builder().uri("/v2/users").body(Body::empty()).unwrap_or_default();
        req.extensions_mut().insert(ConnectInfo(Peer::new(SocketAddr::from(([127, 0, 0, 1], 5000)))));
        let c = rules.checks(&req);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].key, "ip:127.0.0.1");
        assert!(cfg.rate_limit.enabled);
        for (peer, key) in [
            (SocketAddr::from(([10, 200, 0, 255], 1)), "ip:10.200.0.255"),
            (SocketAddr::from(([0, 0, 0, 0], 1)), "ip:0.0.0.0"),
            (SocketAddr::from(([255, 255, 255, 255], 1)), "ip:255.255.255.255"),
            (SocketAddr::from(([1, 20, 100, 9], 1)), "ip:1.20.100.9"),
            ("[2001:db8::1]:443".parse().unwrap_or(SocketAddr::from(([0; 16], 0))), "ip:2001:db8::/64"),
        ] {
            let mut req = Request::builder().uri("/v2/users").body(Body::empty()).unwrap_or_default();
            req.extensions_mut().insert(ConnectInfo(Peer::new(peer)));
            assert_eq!(rules.checks(&req)[0].key, key);
        }
    }
}
