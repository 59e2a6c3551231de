//! Configuration: TOML file (`--config` or `AGORA_CONFIG`), then `AGORA_*` environment
//! variables, over defaults that run the embedded server with nothing else installed.
//! Unknown keys and bad values stop start-up with a message that names the key.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://FILE` or `postgres://…`.
    pub database_url: String,
    /// Redis for shared state across instances; empty keeps state in process.
    pub redis_url: String,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed: addresses (`10.0.0.7`) or CIDR blocks
    /// (`10.0.0.0/8`, `fd00::/8`).
    pub trusted_proxies: Vec<String>,
    /// Most database connections.
    pub db_max_connections: u32,
    /// How long a request waits for a database connection (or for the database to accept a
    /// new one) before it is answered 503 `NOT_READY`.
    #[serde(with = "humantime_serde")]
    pub db_acquire_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Connections open at once; at the limit new ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's head, and to start the next request on a
    /// kept-alive connection before it is closed.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Time a request may take, body included (408 after it).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Authentication settings.
    pub auth: AuthConfig,
    /// Rate limiting.
    pub rate_limit: RateLimitConfig,
    /// Idempotency keys.
    pub idempotency: IdempotencyConfig,
    /// The GraphQL endpoint.
    pub graphql: GraphqlConfig,
    /// What list totals may cost.
    pub lists: ListsConfig,
}

/// `[lists]`: how exact a list's `total` is, and what it may cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListsConfig {
    /// Totals up to this many rows are counted exactly; above it they are estimates
    /// (`total_is_estimate: true`), unless the client asks for `count=exact`.
    pub exact_total_up_to: u64,
    /// How long a `count=exact` count may run before the total falls back to an estimate.
    #[serde(with = "humantime_serde")]
    pub count_timeout: Duration,
}

impl Default for ListsConfig {
    fn default() -> Self {
        let d = agora_db::sql::ListSettings::default();
        Self { exact_total_up_to: d.exact_total_up_to, count_timeout: d.count_timeout }
    }
}

impl ListsConfig {
    /// The store's settings.
    pub fn settings(&self) -> agora_db::sql::ListSettings {
        agora_db::sql::ListSettings { exact_total_up_to: self.exact_total_up_to, count_timeout: self.count_timeout }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `[auth]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HMAC secret; empty generates one kept beside the database.
    pub jwt_secret: String,
    /// EdDSA/RSA PEM file for signing tokens.
    pub jwt_private_key_file: String,
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim.
    pub audience: String,
    /// Access token lifetime.
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    /// Refresh token lifetime.
    #[serde(with = "humantime_serde")]
    pub refresh_token_ttl: Duration,
    /// Argon2id memory cost in KiB (19 MiB by default, per OWASP).
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Most password hashes computed at once; 0 means one per core. Each holds its memory
    /// cost while it runs, so this bounds what a burst of sign-ups can take from readers.
    pub argon2_concurrency: usize,
    /// How long a hash waits for its turn before the request fails with 503 `SERVER_BUSY`.
    #[serde(with = "humantime_serde")]
    pub argon2_queue_timeout: Duration,
    /// First administrator's email, created at start if no user has it (usually set through
    /// `AGORA_BOOTSTRAP_ADMIN_EMAIL`).
    pub bootstrap_admin_email: String,
    /// First administrator's password (`AGORA_BOOTSTRAP_ADMIN_PASSWORD`).
    pub bootstrap_admin_password: String,
}

/// `[rate_limit]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Master switch.
    pub enabled: bool,
    /// `memory` or `redis`.
    pub backend: String,
    /// `allow` or `deny` when the backend fails.
    pub on_backend_error: String,
    /// Longest wait for one Redis decision before `on_backend_error` applies.
    #[serde(with = "humantime_serde")]
    pub redis_timeout: Duration,
    /// Most `(policy, key)` entries the in-process store (or Redis mode's fallback) holds;
    /// past it, new keys make the store forget live ones (see `MemoryStore::with_max_keys`).
    pub max_keys: usize,
    /// Policies; empty uses the built-in defaults.
    pub policy: Vec<PolicyConfig>,
}

/// One `[[rate_limit.policy]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Name shown in headers and errors.
    pub name: String,
    /// Algorithm name.
    pub algorithm: String,
    /// Requests per window.
    pub limit: u64,
    /// Window length.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// `ip`, `user`, `api_key` or `client`.
    #[serde(default = "default_key")]
    pub key: String,
    /// `anonymous`, `authenticated` or `any`.
    #[serde(default = "default_principals")]
    pub principals: String,
    /// Route globs.
    #[serde(default = "default_routes")]
    pub routes: Vec<String>,
    /// Separate counters per route.
    #[serde(default)]
    pub per_route: bool,
}

fn default_key() -> String {
    "client".into()
}
fn default_principals() -> String {
    "any".into()
}
fn default_routes() -> Vec<String> {
    vec!["*".into()]
}

/// `[graphql]`: what one query may cost, checked before it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphqlConfig {
    /// Deepest nesting of selection sets (`QUERY_TOO_DEEP` beyond).
    pub max_depth: usize,
    /// Highest cost (`QUERY_TOO_COMPLEX` beyond): 1 per field, a list field's children times
    /// its `limit`.
    pub max_complexity: u64,
    /// How long a batch loader collects references before it runs its one statement: longer
    /// batches more under load, at that much latency per nesting level.
    #[serde(with = "humantime_serde")]
    pub batch_window: Duration,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self { max_depth: 10, max_complexity: 1000, batch_window: Duration::from_millis(2) }
    }
}

/// `[idempotency]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdempotencyConfig {
    /// `database`, `redis` or `memory`.
    pub backend: String,
    /// How long responses are kept.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Routes that require a key.
    pub required: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://agora.db".into(),
            redis_url: String::new(),
            log_format: LogFormat::Pretty,
            body_limit_bytes: 1024 * 1024,
            trusted_proxies: Vec::new(),
            db_max_connections: 16,
            db_acquire_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(20),
            max_connections: 2048,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            auth: AuthConfig::default(),
            rate_limit: RateLimitConfig::default(),
            idempotency: IdempotencyConfig::default(),
            graphql: GraphqlConfig::default(),
            lists: ListsConfig::default(),
        }
    }
}

impl AuthConfig {
    /// The password hasher this configuration describes.
    pub fn hasher(&self) -> Result<crate::password::Argon2Hasher, String> {
        let concurrency =
            if self.argon2_concurrency == 0 { crate::password::default_concurrency() } else { self.argon2_concurrency };
        crate::password::Argon2Hasher::gated(
            self.argon2_memory_kib,
            self.argon2_iterations,
            concurrency,
            self.argon2_queue_timeout,
        )
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: String::new(),
            jwt_private_key_file: String::new(),
            issuer: "agora".into(),
            audience: "agora-api".into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_concurrency: 0,
            argon2_queue_timeout: Duration::from_secs(5),
            bootstrap_admin_email: String::new(),
            bootstrap_admin_password: String::new(),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            backend: "memory".into(),
            on_backend_error: "allow".into(),
            redis_timeout: Duration::from_millis(250),
            max_keys: agora_ratelimit::DEFAULT_MAX_KEYS,
            policy: Vec::new(),
        }
    }
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            backend: "database".into(),
            ttl: Duration::from_secs(24 * 3600),
            required: vec!["POST /v*/charges".into(), "POST /v*/users/*/orders".into()],
        }
    }
}

/// Environment variables and the keys they set.
const ENV_KEYS: &[(&str, &str)] = &[
    ("AGORA_LISTEN", "listen"),
    ("AGORA_DATABASE_URL", "database_url"),
    ("AGORA_REDIS_URL", "redis_url"),
    ("AGORA_LOG_FORMAT", "log_format"),
    ("AGORA_BODY_LIMIT_BYTES", "body_limit_bytes"),
    ("AGORA_DB_MAX_CONNECTIONS", "db_max_connections"),
    ("AGORA_DB_ACQUIRE_TIMEOUT", "db_acquire_timeout"),
    ("AGORA_MAX_CONNECTIONS", "max_connections"),
    ("AGORA_JWT_SECRET", "auth.jwt_secret"),
    ("AGORA_JWT_PRIVATE_KEY_FILE", "auth.jwt_private_key_file"),
    ("AGORA_BOOTSTRAP_ADMIN_EMAIL", "auth.bootstrap_admin_email"),
    ("AGORA_BOOTSTRAP_ADMIN_PASSWORD", "auth.bootstrap_admin_password"),
    ("AGORA_RATE_LIMIT_ENABLED", "rate_limit.enabled"),
    ("AGORA_RATE_LIMIT_BACKEND", "rate_limit.backend"),
    ("AGORA_IDEMPOTENCY_BACKEND", "idempotency.backend"),
];

/// A configuration that cannot be used, with the offending key named.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then the file (if any), then the environment, and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!("config file {} does not exist", path.display())));
            }
            fig = fig.merge(Toml::file(path));
        }
        for (var, key) in ENV_KEYS {
            if std::env::var_os(var).is_some() {
                let only = *var;
                let key = *key;
                fig = fig.merge(Env::raw().only(&[only]).map(move |_| key.into()));
            }
        }
        let cfg: Config = fig.extract().map_err(|e| ConfigError(describe(e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values serde cannot: enumerations held as strings, ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |k: &str, m: &str| Err(ConfigError(format!("`{k}`: {m}")));
        if !(1..=100).contains(&self.graphql.max_depth) {
            return bad("graphql.max_depth", "must be between 1 and 100");
        }
        if !(1..=1_000_000_000).contains(&self.graphql.max_complexity) {
            return bad("graphql.max_complexity", "must be between 1 and 1000000000");
        }
        if self.lists.exact_total_up_to > 100_000_000 {
            return bad("lists.exact_total_up_to", "must be at most 100000000");
        }
        if self.lists.count_timeout < Duration::from_millis(1) || self.lists.count_timeout > Duration::from_secs(60) {
            return bad("lists.count_timeout", "must be between 1ms and 60s");
        }
        if self.graphql.batch_window > Duration::from_secs(1) {
            return bad("graphql.batch_window", "must be at most 1s");
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return bad("database_url", "must start with sqlite: or postgres://");
        }
        if !self.redis_url.is_empty()
            && !self.redis_url.starts_with("redis://")
            && !self.redis_url.starts_with("rediss://")
        {
            return bad("redis_url", "must be empty or start with redis://");
        }
        if self.body_limit_bytes == 0 {
            return bad("body_limit_bytes", "must be positive");
        }
        if self.db_max_connections == 0 {
            return bad("db_max_connections", "must be positive");
        }
        if self.max_connections == 0 {
            return bad("max_connections", "must be positive");
        }
        if self.db_acquire_timeout.is_zero() {
            return bad("db_acquire_timeout", "must be positive");
        }
        if self.header_read_timeout.is_zero() || self.request_timeout.is_zero() {
            let key = if self.request_timeout.is_zero() { "request_timeout" } else { "header_read_timeout" };
            return bad(key, "must be longer than zero");
        }
        if !["memory", "redis"].contains(&self.rate_limit.backend.as_str()) {
            return bad("rate_limit.backend", "must be memory or redis");
        }
        if !["allow", "deny"].contains(&self.rate_limit.on_backend_error.as_str()) {
            return bad("rate_limit.on_backend_error", "must be allow or deny");
        }
        if let Some(s) = self.trusted_proxies.iter().find(|s| parse_proxy(s).is_none()) {
            return bad("trusted_proxies", &format!("`{s}` is not an IP address or CIDR block"));
        }
        if self.rate_limit.max_keys == 0 {
            return bad("rate_limit.max_keys", "must be positive");
        }
        if self.rate_limit.redis_timeout.is_zero() {
            return bad("rate_limit.redis_timeout", "must be positive");
        }
        for (i, p) in self.rate_limit.policy.iter().enumerate() {
            let algos =
                ["fixed_window", "sliding_window_log", "sliding_window_counter", "token_bucket", "leaky_bucket"];
            if !algos.contains(&p.algorithm.as_str()) {
                return bad(
                    &format!("rate_limit.policy[{i}].algorithm"),
                    &format!("must be one of {}", algos.join(", ")),
                );
            }
            if !["ip", "user", "api_key", "client"].contains(&p.key.as_str()) {
                return bad(&format!("rate_limit.policy[{i}].key"), "must be ip, user, api_key or client");
            }
            if !["anonymous", "authenticated", "any"].contains(&p.principals.as_str()) {
                return bad(&format!("rate_limit.policy[{i}].principals"), "must be anonymous, authenticated or any");
            }
            if p.limit == 0 || p.window.is_zero() {
                return bad(&format!("rate_limit.policy[{i}]"), "limit and window must be positive");
            }
            // Everything else the limiter itself rejects (the name's characters, a window under
            // 1 ms, limit × window beyond exact arithmetic), reported against this key.
            let algorithm = p.algorithm.parse::<agora_ratelimit::Algorithm>();
            if let Err(e) = algorithm.and_then(|a| agora_ratelimit::Policy::new(p.name.clone(), a, p.limit, p.window)) {
                return bad(&format!("rate_limit.policy[{i}]"), &e.to_string());
            }
            // A name is the policy's identity: its counters (in memory and in Redis), its metric
            // labels and its header items. Two policies with one name would share (and, with
            // different algorithms, keep resetting) one counter.
            if let Some(j) = self.rate_limit.policy[..i].iter().position(|q| q.name == p.name) {
                return bad(
                    &format!("rate_limit.policy[{i}].name"),
                    &format!("`{}` is already the name of rate_limit.policy[{j}]; policy names must be unique", p.name),
                );
            }
        }
        if !["database", "redis", "memory"].contains(&self.idempotency.backend.as_str()) {
            return bad("idempotency.backend", "must be database, redis or memory");
        }
        if self.idempotency.backend == "redis" && self.redis_url.is_empty() {
            return bad("idempotency.backend", "\"redis\" needs `redis_url`");
        }
        if self.idempotency.ttl < Duration::from_secs(60) || self.idempotency.ttl > Duration::from_secs(30 * 24 * 3600)
        {
            return bad("idempotency.ttl", "must be between 1m and 30d");
        }
        crate::idempotency::validate_required(&self.idempotency.required).map_err(ConfigError)?;
        if self.auth.argon2_queue_timeout > Duration::from_secs(60) {
            return bad("auth.argon2_queue_timeout", "must be at most 60s");
        }
        if self.auth.argon2_memory_kib < 8 || self.auth.argon2_iterations == 0 {
            return bad("auth.argon2_memory_kib", "argon2 memory must be >= 8 KiB and iterations >= 1");
        }
        Ok(())
    }
}

fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let key = if e.path.is_empty() { String::new() } else { format!("`{}`: ", e.path.join(".")) };
            format!("{key}{}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One `trusted_proxies` entry: an address (a block of one) or a CIDR block. IPv4-mapped IPv6
/// addresses are taken as the IPv4 address they carry, as the client address is.
pub fn parse_proxy(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    match s.parse::<std::net::IpAddr>() {
        Ok(ip) => Some(ipnet::IpNet::from(ip.to_canonical())),
        Err(_) => s.parse::<ipnet::IpNet>().ok().map(|net| net.trunc()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn load_str(toml: &str) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("agora-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| ConfigError(e.to_string()))?;
        let path = dir.join("agora.toml");
        let mut f = std::fs::File::create(&path).map_err(|e| ConfigError(e.to_string()))?;
        f.write_all(toml.as_bytes()).map_err(|e| ConfigError(e.to_string()))?;
        let r = Config::load(Some(&path));
        let _ = std::fs::remove_dir_all(dir);
        r
    }

    #[test]
    fn defaults_are_embedded() {
        let c = Config::default();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://agora.db");
        assert!(c.validate().is_ok());
    }

    #[test]
    fn bad_policies_are_named() {
        let policy = |name: &str, limit: u64, window: &str| {
            format!(
                "[[rate_limit.policy]]\nname = \"{name}\"\nalgorithm = \"token_bucket\"\nlimit = {limit}\nwindow = \"{window}\"\n"
            )
        };
        let e =
            load_str(&(policy("a", 5, "1s") + &policy("b", 5, "1s") + &policy("a", 9, "1m"))).expect_err("must fail");
        assert!(e.to_string().contains("`rate_limit.policy[2].name`"), "{e}");
        assert!(e.to_string().contains("rate_limit.policy[0]"), "{e}");
        let e = load_str(&policy("a b", 5, "1s")).expect_err("must fail");
        assert!(e.to_string().contains("`rate_limit.policy[0]`: invalid policy name"), "{e}");
        let e = load_str(&policy("a", 1_000_000_000_000, "1h")).expect_err("must fail");
        assert!(e.to_string().contains("`rate_limit.policy[0]`"), "{e}");
        let e = load_str(&policy("a", 5, "500us")).expect_err("must fail");
        assert!(e.to_string().contains("`rate_limit.policy[0]`"), "{e}");
        assert!(load_str(&(policy("a", 5, "1s") + &policy("b", 5, "1s"))).is_ok());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        for ok in ["10.0.0.7", "10.0.0.0/8", "::1", "fd00::/8", "::ffff:10.0.0.7"] {
            assert!(parse_proxy(ok).is_some(), "{ok}");
        }
        assert_eq!(parse_proxy("::ffff:10.0.0.7"), parse_proxy("10.0.0.7"));
        assert_eq!(parse_proxy("10.1.2.3/8"), parse_proxy("10.0.0.0/8"));
        for bad in ["", "proxy.local", "10.0.0.0/33", "10.0.0", "fd00::/129"] {
            assert!(parse_proxy(bad).is_none(), "{bad}");
        }
        let e = load_str("trusted_proxies = [\"10.0.0.0/8\", \"lb\"]\n").expect_err("must fail");
        assert!(e.to_string().contains("`trusted_proxies`: `lb`"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = load_str("listen = \"127.0.0.1:9\"\nlistn = 3\n").expect_err("must fail");
        assert!(e.to_string().contains("listn"), "{e}");
        let e = load_str("[auth]\nissuer = \"x\"\nbogus = 1\n").expect_err("must fail");
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = load_str("[auth]\naccess_token_ttl = \"soon\"\n").expect_err("must fail");
        assert!(e.to_string().contains("access_token_ttl"), "{e}");
        let e = load_str("[rate_limit]\nbackend = \"disk\"\n").expect_err("must fail");
        assert!(e.to_string().contains("rate_limit.backend"), "{e}");
        let e = load_str("[rate_limit]\nmax_keys = 0\n").expect_err("must fail");
        assert!(e.to_string().contains("rate_limit.max_keys"), "{e}");
        let e = load_str("listen = \"nowhere\"\n").expect_err("must fail");
        assert!(e.to_string().contains("listen"), "{e}");
    }

    #[test]
    fn file_values_apply() {
        let c = load_str("listen = \"127.0.0.1:9999\"\n[[rate_limit.policy]]\nname = \"a\"\nalgorithm = \"token_bucket\"\nlimit = 5\nwindow = \"1s\"\n")
            .expect("valid");
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.rate_limit.policy[0].window, Duration::from_secs(1));
    }
}
