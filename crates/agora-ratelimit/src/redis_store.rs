//! The Redis store: one atomic Lua script call per request.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Client, Cmd, ErrorKind, FromRedisValue, RedisResult, RedisWrite, Script, ServerErrorKind};
use smallvec::SmallVec;

use crate::clock::{Clock, micros};
use crate::decision::{Decision, Outcome};
use crate::limiter::{LimitError, Limiter};
use crate::metrics_names::BACKEND_ERRORS_TOTAL;
use crate::policy::Check;

const CHECK_LUA: &str = include_str!("scripts/check.lua");
const REFUND_LUA: &str = include_str!("scripts/refund.lua");
/// Values per policy in the check script's reply.
const PER_POLICY: usize = 7;

/// Where the Redis scripts read "now" from.
#[derive(Clone, Default)]
pub enum TimeSource {
    /// The Redis server's clock (`TIME` inside the script). Use this in production: every
    /// application server then agrees on time.
    #[default]
    Server,
    /// This clock, passed to the script as an argument. For deterministic tests only
    /// (e.g. with a [`ManualClock`](crate::ManualClock)).
    Client(Arc<dyn Clock>),
}

impl std::fmt::Debug for TimeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeSource::Server => f.write_str("Server"),
            TimeSource::Client(_) => f.write_str("Client(..)"),
        }
    }
}

/// Settings of a [`RedisStore`].
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// Prefix of every key: keys are `{prefix}:{<client key>}:<policy>:<algorithm code>`.
    /// Default `"rl"`.
    pub key_prefix: String,
    /// Upper bound on one rate-limit call, including (re)connecting. Default 250 ms.
    pub command_timeout: Duration,
    /// Timeout of one connection attempt. Default 250 ms.
    pub connect_timeout: Duration,
    /// Connection attempts per reconnect (single node; the `ConnectionManager` starts a new
    /// reconnect on the next call after these are exhausted). Default 2.
    pub reconnect_retries: usize,
    /// Treat the URL as a cluster seed even if it names a single node. (A comma-separated
    /// list of several URLs is always a cluster.) Default false.
    pub cluster: bool,
    /// Where "now" comes from. Default: the Redis server's clock.
    pub time_source: TimeSource,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            key_prefix: "rl".to_owned(),
            command_timeout: Duration::from_millis(250),
            connect_timeout: Duration::from_millis(250),
            reconnect_retries: 2,
            cluster: false,
            time_source: TimeSource::Server,
        }
    }
}

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Rate-limit state in Redis (a single server, or a Redis Cluster).
///
/// Each request is one `EVALSHA` (re-sent as `SCRIPT LOAD` + `EVALSHA` after `NOSCRIPT`) of a
/// Lua script that reads the server clock, evaluates every policy of the request, and commits
/// to all of them only if all admit it; keys expire on their own (`PEXPIRE`) once their state
/// is equivalent to a fresh one. Key names put the client key in a hash tag, so all the checks
/// of a request that share a client key land in one cluster slot. In a cluster, checks with
/// *different* client keys are run as one script call per client key, in key order; if a later
/// one denies, the earlier commits are refunded (so a rejected request still consumes
/// nothing, and the store never over-admits; concurrent requests may briefly see the
/// refunded quota as used).
///
/// The single-node connection is a [`ConnectionManager`], which reconnects by itself; the
/// cluster connection re-discovers slots and reconnects by itself too. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    cfg: Arc<RedisConfig>,
    check_script: Arc<Script>,
    refund_script: Arc<Script>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field(
                "mode",
                &match self.conn {
                    Conn::Single(_) => "single",
                    Conn::Cluster(_) => "cluster",
                },
            )
            .field("cfg", &self.cfg)
            .finish()
    }
}

fn node_urls(url: &str) -> Vec<&str> {
    url.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

impl RedisStore {
    /// Connects now: fails if the server (or every cluster seed) is unreachable.
    ///
    /// `url` is `redis://host:port[/db]`, or a comma-separated list of cluster nodes
    /// (`"redis://127.0.0.1:7001,redis://127.0.0.1:7002"`), which selects cluster mode.
    pub async fn connect(url: &str, config: RedisConfig) -> Result<RedisStore, LimitError> {
        let nodes = node_urls(url);
        let conn = if nodes.len() > 1 || config.cluster {
            let client = cluster_client(&nodes, &config)?;
            let fut = client.get_async_connection_with_config(cluster_config(&config));
            Conn::Cluster(with_timeout(config.command_timeout.max(config.connect_timeout) * 4, fut).await?)
        } else {
            let client = Client::open(nodes.first().copied().unwrap_or(url))?;
            let fut = ConnectionManager::new_with_config(client, manager_config(&config));
            Conn::Single(with_timeout(config.command_timeout.max(config.connect_timeout) * 4, fut).await?)
        };
        Ok(RedisStore::from_conn(conn, config))
    }

    /// Builds the store without connecting: the first check connects. Use this to start even
    /// while Redis is down (with a [`FallbackLimiter`](crate::FallbackLimiter)). Must be called
    /// inside a Tokio runtime. Fails only on a malformed URL.
    pub fn connect_lazy(url: &str, config: RedisConfig) -> Result<RedisStore, LimitError> {
        let nodes = node_urls(url);
        let conn = if nodes.len() > 1 || config.cluster {
            let client = cluster_client(&nodes, &config)?;
            Conn::Cluster(client.get_pending_async_connection_with_config(cluster_config(&config)))
        } else {
            let client = Client::open(nodes.first().copied().unwrap_or(url))?;
            Conn::Single(ConnectionManager::new_lazy_with_config(client, manager_config(&config))?)
        };
        Ok(RedisStore::from_conn(conn, config))
    }

    fn from_conn(conn: Conn, cfg: RedisConfig) -> RedisStore {
        RedisStore {
            conn,
            cfg: Arc::new(cfg),
            check_script: Arc::new(Script::new(CHECK_LUA)),
            refund_script: Arc::new(Script::new(REFUND_LUA)),
        }
    }

    /// Whether this store talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    /// The Redis key holding the state of `check`:
    /// `{prefix}:{<escaped key>}:<policy>:<algorithm code>`. In the client key, `%`, `{` and
    /// `}` are percent-encoded so the whole key is the hash tag.
    pub fn redis_key(&self, check: &Check) -> String {
        let mut key = String::with_capacity(self.cfg.key_prefix.len() + check.key.len() + 80);
        self.key_pieces(check, |piece| key.push_str(piece));
        key
    }

    /// Appends the key of `check` to `cmd` as its next argument, written straight into the
    /// command's buffer: on every request's path, so without a `String` of its own.
    fn push_key(&self, cmd: &mut Cmd, check: &Check) {
        let mut arg = cmd.writer_for_next_arg();
        self.key_pieces(check, |piece| {
            // The writer only extends the command's `Vec`; it cannot fail.
            let _ = arg.write_all(piece.as_bytes());
        });
    }

    /// Calls `put` with the pieces of `check`'s key, in order (see [`Self::redis_key`]).
    fn key_pieces(&self, check: &Check, mut put: impl FnMut(&str)) {
        put(&self.cfg.key_prefix);
        put(":{");
        escape_tag(&check.key, &mut put);
        put("}:");
        put(check.policy.name());
        put(":");
        put(check.policy.algorithm().code());
    }

    /// Runs `cmd` (an `EVALSHA` of `source`), loading the script and retrying once if the
    /// server does not have it (`NOSCRIPT`, e.g. after a restart or `SCRIPT FLUSH`).
    async fn invoke<T: FromRedisValue>(&self, cmd: Cmd, source: &'static str) -> Result<T, LimitError> {
        let limit = self.cfg.command_timeout;
        let result = match &self.conn {
            Conn::Single(c) => {
                let mut c = c.clone();
                with_timeout(limit, async move { eval(&mut c, &cmd, source).await }).await
            }
            Conn::Cluster(c) => {
                let mut c = c.clone();
                with_timeout(limit, async move { eval(&mut c, &cmd, source).await }).await
            }
        };
        if result.is_err() {
            metrics::counter!(BACKEND_ERRORS_TOTAL).increment(1);
        }
        result
    }

    /// Runs the check script over `group` (indices into `checks`); `commit` false = peek.
    async fn run_check(&self, checks: &[Check], group: &[usize], commit: bool) -> Result<GroupReply, LimitError> {
        let mut cmd = evalsha(&self.check_script, group.len());
        for &i in group {
            self.push_key(&mut cmd, &checks[i]);
        }
        match &self.cfg.time_source {
            TimeSource::Server => cmd.arg(""),
            TimeSource::Client(clock) => cmd.arg(micros(clock.now())),
        };
        cmd.arg(if commit { "c" } else { "p" });
        for &i in group {
            let p = &checks[i].policy;
            let [limit, window, interval] = p.script_numbers();
            cmd.arg(p.algorithm().code()).arg(limit.as_str()).arg(window.as_str()).arg(interval.as_str());
        }
        let text: Vec<u8> = self.invoke(cmd, CHECK_LUA).await?;
        let reply = parse_integers(&text).filter(|r| r.len() == 2 + PER_POLICY * group.len());
        let Some(reply) = reply else {
            metrics::counter!(BACKEND_ERRORS_TOTAL).increment(1);
            return Err(LimitError::Protocol(format!(
                "check script returned {:?} for {} policies",
                String::from_utf8_lossy(&text[..text.len().min(200)]),
                group.len()
            )));
        };
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        let rows = reply[2..]
            .chunks_exact(PER_POLICY)
            .map(|r| Row {
                allowed: r[0] == 1,
                remaining: u(r[1]),
                reset: u(r[2]),
                retry: u(r[3]),
                remaining_post: u(r[4]),
                reset_post: u(r[5]),
                marker: r[6],
            })
            .collect();
        Ok(GroupReply { committed: reply[0] == 1, now: reply[1], rows })
    }

    async fn refund(&self, checks: &[Check], group: &[usize], reply: &GroupReply) {
        let mut cmd = evalsha(&self.refund_script, group.len());
        for &i in group {
            self.push_key(&mut cmd, &checks[i]);
        }
        cmd.arg(reply.now);
        for (&i, row) in group.iter().zip(&reply.rows) {
            let p = &checks[i].policy;
            let [limit, window, interval] = p.script_numbers();
            cmd.arg(p.algorithm().code())
                .arg(limit.as_str())
                .arg(window.as_str())
                .arg(interval.as_str())
                .arg(row.marker);
        }
        if let Err(e) = self.invoke::<i64>(cmd, REFUND_LUA).await {
            tracing::warn!(error = %e, "rate limit: could not refund a cross-slot commit");
        }
    }

    /// What a check would decide, without consuming anything (one script call per client key
    /// in a cluster, one in total otherwise).
    pub async fn peek(&self, checks: &[Check]) -> Result<Outcome, LimitError> {
        self.decide(checks, false).await
    }

    async fn check_inner(&self, checks: &[Check]) -> Result<Outcome, LimitError> {
        self.decide(checks, true).await
    }

    async fn decide(&self, checks: &[Check], commit: bool) -> Result<Outcome, LimitError> {
        if !self.is_cluster() {
            // One script call for every check: no grouping, no refunds.
            let all: SmallVec<[usize; 4]> = (0..checks.len()).collect();
            let reply = self.run_check(checks, &all, commit).await?;
            let uncommitted = !commit || !reply.committed;
            let decisions =
                all.iter().zip(&reply.rows).map(|(&i, row)| decision(&checks[i], row, uncommitted)).collect();
            return Ok(Outcome { decisions, fallback: false });
        }
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, c) in checks.iter().enumerate() {
            groups.entry(c.key.as_str()).or_default().push(i);
        }
        let mut replies: Vec<(Vec<usize>, GroupReply)> = Vec::with_capacity(groups.len());
        let mut uncommitted = !commit;
        for group in groups.into_values() {
            let reply = match self.run_check(checks, &group, !uncommitted).await {
                Ok(r) => r,
                Err(e) => {
                    if !uncommitted {
                        for (g, r) in &replies {
                            self.refund(checks, g, r).await;
                        }
                    }
                    return Err(e);
                }
            };
            if !uncommitted && !reply.committed {
                uncommitted = true;
                for (g, r) in &replies {
                    self.refund(checks, g, r).await;
                }
            }
            replies.push((group, reply));
        }
        let mut decisions: Vec<Option<Decision>> = vec![None; checks.len()];
        for (group, reply) in &replies {
            for (&i, row) in group.iter().zip(&reply.rows) {
                decisions[i] = Some(decision(&checks[i], row, uncommitted));
            }
        }
        Ok(Outcome { decisions: decisions.into_iter().flatten().collect(), fallback: false })
    }
}

/// The decision for `check` from its row of the script's reply: the state before the request
/// if nothing was committed, after it otherwise.
fn decision(check: &Check, row: &Row, uncommitted: bool) -> Decision {
    let (remaining, reset) =
        if uncommitted { (row.remaining, row.reset) } else { (row.remaining_post, row.reset_post) };
    Decision {
        policy: check.policy.clone(),
        allowed: row.allowed,
        limit: check.policy.limit(),
        remaining,
        reset_after: Duration::from_micros(reset),
        retry_after: (!row.allowed).then(|| Duration::from_micros(row.retry)),
    }
}

struct Row {
    allowed: bool,
    remaining: u64,
    reset: u64,
    retry: u64,
    remaining_post: u64,
    reset_post: u64,
    marker: i64,
}

struct GroupReply {
    committed: bool,
    now: i64,
    rows: SmallVec<[Row; 2]>,
}

impl Limiter for RedisStore {
    fn check<'a>(&'a self, checks: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>> {
        Box::pin(self.check_inner(checks))
    }
}

/// Passes `key` to `put` with `%`, `{` and `}` percent-encoded, in as few pieces as it can.
fn escape_tag(key: &str, put: &mut impl FnMut(&str)) {
    let mut rest = key;
    while let Some(at) = rest.find(['%', '{', '}']) {
        put(&rest[..at]);
        put(match rest.as_bytes()[at] {
            b'%' => "%25",
            b'{' => "%7B",
            _ => "%7D",
        });
        rest = &rest[at + 1..];
    }
    put(rest);
}

/// An `EVALSHA` of `script` with `keys` keys, built as a plain command: the caller appends
/// keys and arguments straight into it. (redis-rs's `ScriptInvocation` first collects each
/// key and argument into an allocation of its own and then copies them all into a command.)
fn evalsha(script: &Script, keys: usize) -> Cmd {
    // Sized for the hash, the keys and five arguments per policy, so that appending does not
    // reallocate.
    let mut cmd = Cmd::with_capacity(3 + keys * 6 + 2, 64 + keys * 96);
    cmd.arg("EVALSHA").arg(script.get_hash()).arg(keys);
    cmd
}

/// The check script's reply: integers separated by single spaces, or `None` if it is not
/// exactly that. Parsed by hand because it is on every request's path and the format is
/// this crate's own (see the script's header).
fn parse_integers(text: &[u8]) -> Option<SmallVec<[i64; 16]>> {
    let mut out = SmallVec::new();
    let (mut n, mut digits, mut negative) = (0i64, 0u32, false);
    for &b in text {
        match b {
            // At most 18 digits: `n` cannot overflow.
            b'0'..=b'9' if digits < 18 => {
                n = n * 10 + i64::from(b - b'0');
                digits += 1;
            }
            b'-' if digits == 0 && !negative => negative = true,
            b' ' if digits > 0 => {
                out.push(if negative { -n } else { n });
                (n, digits, negative) = (0, 0, false);
            }
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    out.push(if negative { -n } else { n });
    Some(out)
}

/// `cmd`, after loading `source` if the server answers `NOSCRIPT`.
async fn eval<C: ConnectionLike, T: FromRedisValue>(con: &mut C, cmd: &Cmd, source: &str) -> RedisResult<T> {
    match cmd.query_async(con).await {
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            let _: String = redis::cmd("SCRIPT").arg("LOAD").arg(source).query_async(con).await?;
            cmd.query_async(con).await
        }
        other => other,
    }
}

fn manager_config(cfg: &RedisConfig) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(cfg.connect_timeout))
        // No timer of its own per command: `invoke` bounds every call (reload included) with
        // `command_timeout` already, and a second timer per request is measurable.
        .set_response_timeout(None)
        .set_number_of_retries(cfg.reconnect_retries)
        .set_min_delay(Duration::from_millis(20))
        .set_max_delay(Duration::from_millis(500))
}

fn cluster_client(nodes: &[&str], cfg: &RedisConfig) -> RedisResult<ClusterClient> {
    ClusterClient::builder(nodes.iter().map(|s| s.to_string()))
        .connection_timeout(cfg.connect_timeout)
        .response_timeout(cfg.command_timeout)
        .retries(2)
        .min_retry_wait(10)
        .max_retry_wait(100)
        .build()
}

fn cluster_config(cfg: &RedisConfig) -> ClusterConfig {
    ClusterConfig::new().set_connection_timeout(cfg.connect_timeout).set_response_timeout(cfg.command_timeout)
}

async fn with_timeout<T>(limit: Duration, fut: impl Future<Output = RedisResult<T>>) -> Result<T, LimitError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(LimitError::Backend(e)),
        Err(_) => Err(LimitError::Timeout(limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_escaped() {
        let escaped = |k: &str| {
            let mut out = String::new();
            escape_tag(k, &mut |piece| out.push_str(piece));
            out
        };
        assert_eq!(escaped("1.2.3.4"), "1.2.3.4");
        assert_eq!(escaped("a{b}%"), "a%7Bb%7D%25");
        assert_eq!(escaped("{}%"), "%7B%7D%25");
        assert_eq!(escaped("é{ü}"), "é%7Bü%7D");
        assert_eq!(escaped(""), "");
    }

    /// The key written into a command piece by piece is the key `redis_key` names.
    #[tokio::test]
    async fn a_key_written_into_a_command_is_the_key() {
        let store = RedisStore::connect_lazy("redis://127.0.0.1:1", RedisConfig::default()).unwrap();
        let policy = crate::Policy::new("p-1", crate::Algorithm::TokenBucket, 5, Duration::from_secs(1)).unwrap();
        for key in ["ip:1.2.3.4", "user:{7}", "client:%x", ""] {
            let check = Check::new(policy.clone(), key);
            let mut written = Cmd::new();
            store.push_key(&mut written, &check);
            let mut named = Cmd::new();
            named.arg(store.redis_key(&check));
            assert_eq!(written.get_packed_command(), named.get_packed_command(), "{key}");
        }
        assert_eq!(store.redis_key(&Check::new(policy, "a{b}")), "rl:{a%7Bb%7D}:p-1:tb");
    }

    #[test]
    fn script_replies_parse() {
        assert_eq!(parse_integers(b"1 1795600783123456 0 -7").as_deref(), Some(&[1, 1795600783123456, 0, -7][..]));
        assert_eq!(parse_integers(b"42").as_deref(), Some(&[42][..]));
        for bad in [&b""[..], b" ", b"1  2", b"1 ", b" 1", b"1,2", b"-", b"1 x", b"1234567890123456789", b"+1"] {
            assert_eq!(parse_integers(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest::proptest! {
        /// Whatever the script can print (integers below 2^53 in magnitude, `%d`), parses back.
        #[test]
        fn script_replies_round_trip(values in proptest::collection::vec(-(1i64 << 53)..(1i64 << 53), 1..40)) {
            let text = values.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(parse_integers(text.as_bytes()).map(|v| v.to_vec()), Some(values));
        }
    }

    #[test]
    fn urls_split() {
        assert_eq!(node_urls("redis://a:1"), ["redis://a:1"]);
        assert_eq!(node_urls("redis://a:1, redis://b:2,"), ["redis://a:1", "redis://b:2"]);
    }
}
