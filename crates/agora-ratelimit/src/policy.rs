//! Policies: what is limited, how much, and with which algorithm.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use compact_str::CompactString;
use http::HeaderValue;

/// The largest `limit × window-in-microseconds` product a policy may have.
///
/// The Redis implementation does its arithmetic in Lua numbers (IEEE doubles), which are exact
/// integers only up to 2^53. Keeping every product below that bound keeps the in-process and the
/// Redis implementations bit-for-bit identical. (100 000 requests per day is about 8.6e15: fine.)
pub const MAX_LIMIT_TIMES_WINDOW_MICROS: u128 = 1 << 53;

/// The rate-limiting algorithm of a [`Policy`]. See `docs/RATE-LIMITING.md` for the trade-offs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// A counter per aligned window (`floor(now / window)`); resets at each window boundary.
    FixedWindow,
    /// One timestamp per admitted request; admits iff fewer than `limit` in the last `window`.
    SlidingWindowLog,
    /// Two counters (this window, previous window); the previous one is weighted by the
    /// fraction of it that still overlaps the sliding window.
    SlidingWindowCounter,
    /// A bucket of `limit` tokens refilled continuously at `limit / window`.
    TokenBucket,
    /// Leaky bucket as a meter, in GCRA form (one "theoretical arrival time" per key).
    LeakyBucket,
}

impl Algorithm {
    /// All five algorithms, in documentation order.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::FixedWindow,
        Algorithm::SlidingWindowLog,
        Algorithm::SlidingWindowCounter,
        Algorithm::TokenBucket,
        Algorithm::LeakyBucket,
    ];

    /// The snake_case name used in configuration and docs (`"fixed_window"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::FixedWindow => "fixed_window",
            Algorithm::SlidingWindowLog => "sliding_window_log",
            Algorithm::SlidingWindowCounter => "sliding_window_counter",
            Algorithm::TokenBucket => "token_bucket",
            Algorithm::LeakyBucket => "leaky_bucket",
        }
    }

    /// The short code passed to the Redis script.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Algorithm::FixedWindow => "fw",
            Algorithm::SlidingWindowLog => "swl",
            Algorithm::SlidingWindowCounter => "swc",
            Algorithm::TokenBucket => "tb",
            Algorithm::LeakyBucket => "lb",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| PolicyError::UnknownAlgorithm(s.to_owned()))
    }
}

/// Why a [`Policy`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The name is empty, longer than 64 bytes, or has a character outside `[A-Za-z0-9_.-]`.
    #[error("invalid policy name {0:?}: use 1-64 characters from [A-Za-z0-9_.-]")]
    InvalidName(String),
    /// `limit` was 0.
    #[error("policy {0:?}: limit must be at least 1")]
    ZeroLimit(String),
    /// `window` was shorter than one millisecond.
    #[error("policy {0:?}: window must be at least 1ms")]
    WindowTooShort(String),
    /// `limit × window` is too large for exact arithmetic (see [`MAX_LIMIT_TIMES_WINDOW_MICROS`]).
    #[error("policy {0:?}: limit × window (in µs) must not exceed 2^53")]
    TooLarge(String),
    /// An algorithm name that [`Algorithm::from_str`](std::str::FromStr) does not know.
    #[error(
        "unknown rate-limit algorithm {0:?} (expected fixed_window, sliding_window_log, \
         sliding_window_counter, token_bucket or leaky_bucket)"
    )]
    UnknownAlgorithm(String),
}

/// A named quota: at most `limit` requests per `window`, enforced with `algorithm`.
///
/// For the two buckets the capacity is `limit` and the refill rate is `limit` per `window`
/// (one unit every `window / limit`, rounded up to a whole microsecond).
///
/// Cloning is cheap (one reference count). Everything a request needs that depends only on
/// the policy — its `RateLimit-Policy` header item, its quoted name, its metric handles — is
/// computed once here rather than on every request.
#[derive(Clone)]
pub struct Policy {
    inner: Arc<Inner>,
}

struct Inner {
    name: Arc<str>,
    algorithm: Algorithm,
    limit: u64,
    window: Duration,
    /// `"name";r=`: the start of this policy's item of the `RateLimit` field (the name as an
    /// RFC 8941 string, then the `r` parameter).
    state_prefix: String,
    /// `"name";q=limit;w=window`: this policy's item of `RateLimit-Policy`.
    policy_item: HeaderValue,
    /// `limit`, as a header value (the `X-RateLimit-Limit` of this policy).
    limit_value: HeaderValue,
    /// `window` in µs and the buckets' emission interval, computed once (both divide).
    window_us: u64,
    interval_us: u64,
    /// `limit`, `window_us` and `interval_us` as the Redis check script takes them, rendered
    /// once rather than on every call.
    script_numbers: [String; 3],
    /// Decision counters (allowed, denied, denied_by_other, error), resolved against the
    /// metrics recorder on first use.
    counters: OnceLock<[metrics::Counter; 4]>,
}

impl PartialEq for Policy {
    fn eq(&self, other: &Policy) -> bool {
        let (a, b) = (&self.inner, &other.inner);
        a.name == b.name && a.algorithm == b.algorithm && a.limit == b.limit && a.window == b.window
    }
}

impl Eq for Policy {}

impl Hash for Policy {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let i = &self.inner;
        (&i.name, i.algorithm, i.limit, i.window).hash(state);
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        write!(f, "Policy({} {} {}/{:?})", i.name, i.algorithm, i.limit, i.window)
    }
}

/// Which decision counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CounterKind {
    Allowed = 0,
    Denied = 1,
    DeniedByOther = 2,
    Error = 3,
}

impl Policy {
    /// Validates and builds a policy. The name is used in Redis keys, metric labels and the
    /// `RateLimit`/`RateLimit-Policy` headers, so it is restricted to `[A-Za-z0-9_.-]{1,64}`.
    pub fn new(
        name: impl Into<String>,
        algorithm: Algorithm,
        limit: u64,
        window: Duration,
    ) -> Result<Policy, PolicyError> {
        let name: String = name.into();
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid_name {
            return Err(PolicyError::InvalidName(name));
        }
        if limit == 0 {
            return Err(PolicyError::ZeroLimit(name));
        }
        if window < Duration::from_millis(1) {
            return Err(PolicyError::WindowTooShort(name));
        }
        let window_us = window.as_micros();
        if window_us.saturating_mul(u128::from(limit)) > MAX_LIMIT_TIMES_WINDOW_MICROS {
            return Err(PolicyError::TooLarge(name));
        }
        // The name is validated to plain ASCII above, so it needs no escaping to be quoted.
        let quoted = format!("\"{name}\"");
        let item = format!("{quoted};q={limit};w={}", crate::headers::ceil_secs(window).max(1));
        let policy_item = HeaderValue::try_from(item).map_err(|_| PolicyError::InvalidName(name.clone()))?;
        let limit_value = crate::headers::number(limit);
        let window_us_u64 = u64::try_from(window_us).unwrap_or(u64::MAX);
        let interval_us = window_us_u64.div_ceil(limit);
        Ok(Policy {
            inner: Arc::new(Inner {
                name: name.into(),
                algorithm,
                limit,
                window,
                state_prefix: format!("{quoted};r="),
                policy_item,
                limit_value,
                window_us: window_us_u64,
                interval_us,
                script_numbers: [limit.to_string(), window_us_u64.to_string(), interval_us.to_string()],
                counters: OnceLock::new(),
            }),
        })
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The name as a shared string (cheap to clone).
    pub fn name_arc(&self) -> &Arc<str> {
        &self.inner.name
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// Requests admitted per window (bucket capacity for the buckets).
    pub fn limit(&self) -> u64 {
        self.inner.limit
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.inner.window
    }

    /// `"name";r=`: how this policy's item of the `RateLimit` field starts.
    pub(crate) fn state_prefix(&self) -> &str {
        &self.inner.state_prefix
    }

    /// This policy's `RateLimit-Policy` item, ready to send.
    pub(crate) fn policy_item(&self) -> &HeaderValue {
        &self.inner.policy_item
    }

    /// `limit` as a header value.
    pub(crate) fn limit_value(&self) -> &HeaderValue {
        &self.inner.limit_value
    }

    /// `[limit, window_us, interval_us]` in decimal, as the Redis check script takes them.
    pub(crate) fn script_numbers(&self) -> &[String; 3] {
        &self.inner.script_numbers
    }

    /// Counts one decision under `agora_ratelimit_decisions_total{policy, outcome}`.
    pub(crate) fn count(&self, kind: CounterKind) {
        let counters = self.inner.counters.get_or_init(|| {
            let name = crate::metrics_names::DECISIONS_TOTAL;
            let policy = self.inner.name.to_string();
            [
                metrics::counter!(name, "policy" => policy.clone(), "outcome" => "allowed"),
                metrics::counter!(name, "policy" => policy.clone(), "outcome" => "denied"),
                metrics::counter!(name, "policy" => policy.clone(), "outcome" => "denied_by_other"),
                metrics::counter!(name, "policy" => policy, "outcome" => "error"),
            ]
        });
        counters[kind as usize].increment(1);
    }

    /// The window in whole microseconds (validated to fit comfortably in a `u64`).
    pub(crate) fn window_us(&self) -> u64 {
        self.inner.window_us
    }

    /// The buckets' emission interval: `ceil(window / limit)` microseconds.
    pub(crate) fn interval_us(&self) -> u64 {
        self.inner.interval_us
    }
}

/// One quota to charge for a request: a policy and the client key it is counted against
/// (an IP address, a principal id, `"global"`, ...). Keys are opaque strings.
///
/// The key is a [`CompactString`]: keys up to 24 bytes (`ip:` and any IPv4 address) are kept
/// inline, so building a check for a request allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Check {
    /// The policy.
    pub policy: Policy,
    /// Whose quota: requests with the same (policy name, key) share one counter.
    pub key: CompactString,
}

impl Check {
    /// A check of `key` against `policy`.
    pub fn new(policy: Policy, key: impl Into<CompactString>) -> Check {
        Check { policy, key: key.into() }
    }
}

/// The checks of one request: inline for up to two policies (the common case), so that
/// building them costs no allocation.
pub type Checks = smallvec::SmallVec<[Check; 2]>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_policies() {
        let w = Duration::from_secs(1);
        assert!(Policy::new("burst", Algorithm::FixedWindow, 5, w).is_ok());
        assert!(matches!(Policy::new("", Algorithm::FixedWindow, 5, w), Err(PolicyError::InvalidName(_))));
        assert!(matches!(Policy::new("a b", Algorithm::FixedWindow, 5, w), Err(PolicyError::InvalidName(_))));
        assert!(matches!(Policy::new("a:b", Algorithm::FixedWindow, 5, w), Err(PolicyError::InvalidName(_))));
        assert!(matches!(Policy::new("a", Algorithm::FixedWindow, 0, w), Err(PolicyError::ZeroLimit(_))));
        assert!(matches!(
            Policy::new("a", Algorithm::FixedWindow, 1, Duration::from_micros(999)),
            Err(PolicyError::WindowTooShort(_))
        ));
        assert!(matches!(Policy::new("a", Algorithm::FixedWindow, u64::MAX, w), Err(PolicyError::TooLarge(_))));
        assert!(Policy::new("day", Algorithm::SlidingWindowCounter, 100_000, Duration::from_secs(86_400)).is_ok());
    }

    #[test]
    fn algorithm_names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(a.as_str().parse::<Algorithm>(), Ok(a));
        }
        assert!("nope".parse::<Algorithm>().is_err());
    }

    #[test]
    fn interval_rounds_up() {
        let p = Policy::new("p", Algorithm::TokenBucket, 3, Duration::from_secs(1)).unwrap();
        assert_eq!(p.interval_us(), 333_334);
        let p = Policy::new("p", Algorithm::TokenBucket, 10, Duration::from_secs(10)).unwrap();
        assert_eq!(p.interval_us(), 1_000_000);
    }
}
