//! Rendering decisions as response headers.
//!
//! * `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix seconds),
//!   `X-RateLimit-Reset-After` (seconds): for one policy — the denying one with the longest
//!   wait if the request was denied, else the one closest to its limit (lowest
//!   `remaining / limit`), see [`Outcome::most_restrictive`].
//! * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-09/10, Structured
//!   Field lists) for every policy: `RateLimit-Policy: "burst";q=5;w=1, "sustained";q=100;w=60`
//!   and `RateLimit: "burst";r=4;t=1, "sustained";r=99;t=60`.
//! * `Retry-After` (seconds, at least 1) when denied.
//!
//! Durations are rounded *up* to whole seconds (a client that waits the advertised time is
//! never early); `w` for a sub-second window is therefore 1.

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::decision::{Decision, Outcome, most_restrictive, retry_after};

/// `X-RateLimit-Limit`.
pub static X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`.
pub static X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Reset` (Unix seconds).
pub static X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
/// `X-RateLimit-Reset-After` (seconds).
pub static X_RATELIMIT_RESET_AFTER: HeaderName = HeaderName::from_static("x-ratelimit-reset-after");
/// `RateLimit-Policy`.
pub static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`.
pub static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Numbers below this are served from a table of static header values.
const SMALL_NUMBERS: u64 = 1024;

/// `n` as a header value. `X-RateLimit-Remaining` and `X-RateLimit-Reset-After` are small for
/// typical policies (a default policy allows 100 or 1000 a minute), and a static value is
/// cloned without allocating, where `HeaderValue::from(u64)` allocates every time.
pub(crate) fn number(n: u64) -> HeaderValue {
    static TABLE: OnceLock<Box<[HeaderValue]>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        // Rendered once per process and kept for its lifetime (about 4 KiB of digits).
        let digits: &'static str = Box::leak((0..SMALL_NUMBERS).map(|n| n.to_string()).collect::<String>().into());
        let mut table = Vec::with_capacity(SMALL_NUMBERS as usize);
        let mut at = 0;
        for n in 0..SMALL_NUMBERS {
            let len = itoa::Buffer::new().format(n).len();
            table.push(HeaderValue::from_static(&digits[at..at + len]));
            at += len;
        }
        table.into()
    });
    match usize::try_from(n).ok().and_then(|i| table.get(i)) {
        Some(v) => v.clone(),
        None => rendered(n),
    }
}

/// `n` as a new header value, in one exact-size allocation. (`HeaderValue::from(u64)` makes
/// two: a 20-byte buffer, then, because the digits do not fill it, a shared header for it.)
fn rendered(n: u64) -> HeaderValue {
    let mut digits = itoa::Buffer::new();
    exact(digits.format(n).as_bytes()).unwrap_or_else(|| HeaderValue::from(n))
}

/// A header value holding a copy of `bytes` in an allocation of exactly their size, or `None`
/// if they are not a valid header value.
fn exact(bytes: &[u8]) -> Option<HeaderValue> {
    HeaderValue::from_bytes(bytes).ok()
}

/// A buffer for a header value that is built per request: on the stack unless a request has
/// many policies, and then copied once into a value of its exact size.
type ValueBuf = smallvec::SmallVec<[u8; 128]>;

thread_local! {
    /// This thread's reading of the Unix time in whole seconds, and the (monotonic) instant
    /// until which that reading holds.
    static UNIX_SECS: Cell<(u64, Option<quanta::Instant>)> = const { Cell::new((0, None)) };
    /// The last `X-RateLimit-Reset` value rendered on this thread.
    static RESET: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
}

/// The current Unix time in whole seconds, as the `X-RateLimit-Reset` header needs it.
///
/// Every admitted request renders that header, and `SystemTime::now()` was a visible share of
/// the limiter's cost. So each thread reads the system clock once per second: it remembers the
/// second it read and the instant, on the CPU's cycle counter (`quanta`), at which the next one
/// begins; until then a cycle-counter read and a comparison answer. The answer changes within
/// microseconds of the system clock's second boundary, and follows the system clock within a
/// second when that is stepped.
pub fn unix_seconds() -> u64 {
    let now = quanta::Instant::now();
    UNIX_SECS.with(|cell| match cell.get() {
        (secs, Some(until)) if now < until => secs,
        _ => {
            let unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
            let next = Duration::from_secs(1) - Duration::from_nanos(u64::from(unix.subsec_nanos()));
            cell.set((unix.as_secs(), Some(now + next)));
            unix.as_secs()
        }
    })
}

/// `X-RateLimit-Reset` for `at` (Unix seconds). It changes once a second while thousands of
/// responses a second carry it, so the last rendered value is kept per thread and shared (a
/// reference count) rather than formatted and allocated again.
fn reset_value(at: u64) -> HeaderValue {
    RESET.with(|cell| {
        let mut last = cell.borrow_mut();
        match &*last {
            Some((secs, value)) if *secs == at => value.clone(),
            _ => {
                let value = rendered(at);
                *last = Some((at, value.clone()));
                value
            }
        }
    })
}

/// Whole seconds, rounded up.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The `Retry-After` value for a wait: whole seconds rounded up, at least 1.
pub fn retry_after_secs(d: Duration) -> u64 {
    ceil_secs(d).max(1)
}

/// Renders the headers for all the decisions of one request, with `X-RateLimit-Reset`
/// computed from the current system time.
pub fn rate_limit_headers(decisions: &[Decision]) -> HeaderMap {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    rate_limit_headers_at(decisions, now)
}

/// [`rate_limit_headers`] at a given time (for tests).
pub fn rate_limit_headers_at(decisions: &[Decision], now_unix: Duration) -> HeaderMap {
    let mut h = HeaderMap::new();
    insert_rate_limit_headers(&mut h, decisions, now_unix);
    h
}

/// Adds the headers for `decisions` to `into` (replacing any of the same names), computed for
/// the time `now_unix`. This is the per-request path, so it avoids intermediate maps and
/// strings: each policy's `RateLimit-Policy` item is rendered once when the policy is built.
pub fn insert_rate_limit_headers(into: &mut HeaderMap, decisions: &[Decision], now_unix: Duration) {
    let Some(d) = most_restrictive(decisions) else {
        return;
    };
    into.reserve(7);
    let reset_after = ceil_secs(d.reset_after);
    let limit = if d.limit == d.policy.limit() { d.policy.limit_value().clone() } else { number(d.limit) };
    let (state, remaining) = match decisions {
        [only] => state_and_remaining(only, reset_after),
        _ => (state_value(decisions), number(d.remaining)),
    };
    into.insert(&RATELIMIT_POLICY, policy_value(decisions));
    into.insert(&RATELIMIT, state);
    into.insert(&X_RATELIMIT_LIMIT, limit);
    into.insert(&X_RATELIMIT_REMAINING, remaining);
    into.insert(&X_RATELIMIT_RESET, reset_value(now_unix.as_secs().saturating_add(reset_after)));
    into.insert(&X_RATELIMIT_RESET_AFTER, number(reset_after));
    if let Some(wait) = retry_after(decisions) {
        into.insert(RETRY_AFTER, number(retry_after_secs(wait)));
    }
}

/// Room for one policy's `RateLimit` item: the quoted name (at most 64 bytes, see
/// [`Policy::new`]) with `;r=` around it, two numbers of at most 20 digits, and `;t=`.
const STATE_ITEM_MAX: usize = 2 + 64 + 3 + 20 + 3 + 20;

/// One policy's `RateLimit` item, written in place; [`bytes::Bytes::from_owner`] moves it into
/// the single allocation that both header values share.
struct StateItem {
    len: u8,
    buf: [u8; STATE_ITEM_MAX],
}

impl AsRef<[u8]> for StateItem {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// `RateLimit` and `X-RateLimit-Remaining` for a request under one policy.
///
/// The `RateLimit` item already holds the remaining count's digits, so when that count is
/// too large for the static table of [`number`], `X-RateLimit-Remaining` is a slice of the
/// same buffer: one allocation and one rendering for the two values instead of two of each.
fn state_and_remaining(d: &Decision, reset_after: u64) -> (HeaderValue, HeaderValue) {
    let (mut r, mut t) = (itoa::Buffer::new(), itoa::Buffer::new());
    let prefix = d.policy.state_prefix().as_bytes();
    let digits = r.format(d.remaining).as_bytes();
    let reset = t.format(reset_after).as_bytes();
    let len = prefix.len() + digits.len() + 3 + reset.len();
    let (Ok(len_u8), true) = (u8::try_from(len), len <= STATE_ITEM_MAX) else {
        // Cannot happen for a validated policy name; the general path covers it anyway.
        return (state_value(std::slice::from_ref(d)), number(d.remaining));
    };
    let mut item = StateItem { len: len_u8, buf: [0; STATE_ITEM_MAX] };
    let at = prefix.len();
    item.buf[..at].copy_from_slice(prefix);
    item.buf[at..at + digits.len()].copy_from_slice(digits);
    let end = at + digits.len();
    item.buf[end..end + 3].copy_from_slice(b";t=");
    item.buf[end + 3..len].copy_from_slice(reset);
    let bytes = bytes::Bytes::from_owner(item);
    let remaining = if d.remaining < SMALL_NUMBERS {
        number(d.remaining)
    } else {
        HeaderValue::from_maybe_shared(bytes.slice(at..end)).unwrap_or_else(|_| number(d.remaining))
    };
    let state = HeaderValue::from_maybe_shared(bytes).unwrap_or_else(|_| state_value(std::slice::from_ref(d)));
    (state, remaining)
}

/// `RateLimit-Policy`: every policy's item (rendered when the policy was built), in order.
fn policy_value(decisions: &[Decision]) -> HeaderValue {
    if let [only] = decisions {
        return only.policy.policy_item().clone();
    }
    let mut policy = ValueBuf::new();
    for (i, d) in decisions.iter().enumerate() {
        if i > 0 {
            policy.extend_from_slice(b", ");
        }
        policy.extend_from_slice(d.policy.policy_item().as_bytes());
    }
    // Each item is a valid value and so is ", ": the join is one too.
    exact(&policy).unwrap_or_else(|| HeaderValue::from_static(""))
}

/// `RateLimit`: `"name";r=remaining;t=reset` for every policy, built without the formatting
/// machinery, for requests under several policies. One policy (the usual case) goes through
/// [`state_and_remaining`].
fn state_value(decisions: &[Decision]) -> HeaderValue {
    let (mut r, mut t) = (itoa::Buffer::new(), itoa::Buffer::new());
    let mut state = ValueBuf::new();
    for (i, d) in decisions.iter().enumerate() {
        if i > 0 {
            state.extend_from_slice(b", ");
        }
        state.extend_from_slice(d.policy.state_prefix().as_bytes());
        state.extend_from_slice(r.format(d.remaining).as_bytes());
        state.extend_from_slice(b";t=");
        state.extend_from_slice(t.format(ceil_secs(d.reset_after)).as_bytes());
    }
    exact(&state).unwrap_or_else(|| HeaderValue::from_static(""))
}

impl Outcome {
    /// [`rate_limit_headers`] for this outcome's decisions.
    pub fn headers(&self) -> HeaderMap {
        rate_limit_headers(&self.decisions)
    }
}

/// An RFC 8941 sf-string.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Algorithm, Policy};

    fn d(name: &str, limit: u64, window_s: u64, remaining: u64, reset_ms: u64) -> Decision {
        Decision {
            policy: Policy::new(name, Algorithm::FixedWindow, limit, Duration::from_secs(window_s)).unwrap(),
            allowed: true,
            limit,
            remaining,
            reset_after: Duration::from_millis(reset_ms),
            retry_after: None,
        }
    }

    fn get<'a>(h: &'a HeaderMap, n: &str) -> &'a str {
        h.get(n).unwrap().to_str().unwrap()
    }

    #[test]
    fn renders_most_restrictive_and_all_policies() {
        let ds = [d("burst", 5, 1, 4, 200), d("sustained", 100, 60, 10, 59_000)];
        let h = rate_limit_headers_at(&ds, Duration::from_secs(1_000));
        // 10/100 < 4/5: "sustained" is closest to its limit.
        assert_eq!(get(&h, "x-ratelimit-limit"), "100");
        assert_eq!(get(&h, "x-ratelimit-remaining"), "10");
        assert_eq!(get(&h, "x-ratelimit-reset-after"), "59");
        assert_eq!(get(&h, "x-ratelimit-reset"), "1059");
        assert_eq!(get(&h, "ratelimit-policy"), r#""burst";q=5;w=1, "sustained";q=100;w=60"#);
        assert_eq!(get(&h, "ratelimit"), r#""burst";r=4;t=1, "sustained";r=10;t=59"#);
        assert!(h.get("retry-after").is_none());
    }

    #[test]
    fn renders_one_policy() {
        let h = rate_limit_headers_at(&[d("anonymous", 100, 60, 99, 59_400)], Duration::from_secs(1_000));
        assert_eq!(get(&h, "x-ratelimit-limit"), "100");
        assert_eq!(get(&h, "x-ratelimit-remaining"), "99");
        assert_eq!(get(&h, "x-ratelimit-reset-after"), "60");
        assert_eq!(get(&h, "x-ratelimit-reset"), "1060");
        assert_eq!(get(&h, "ratelimit-policy"), r#""anonymous";q=100;w=60"#);
        assert_eq!(get(&h, "ratelimit"), r#""anonymous";r=99;t=60"#);
        let big = d("big", 100_000_000, 60, 99_999_999, 1);
        let h = rate_limit_headers_at(&[big], Duration::ZERO);
        assert_eq!(get(&h, "ratelimit"), r#""big";r=99999999;t=1"#);
        assert_eq!(get(&h, "x-ratelimit-remaining"), "99999999");
    }

    #[test]
    fn denied_renders_retry_after_of_longest_wait() {
        let mut a = d("burst", 5, 1, 0, 300);
        a.allowed = false;
        a.retry_after = Some(Duration::from_millis(300));
        let mut b = d("hourly", 50, 3600, 0, 1_800_000);
        b.allowed = false;
        b.retry_after = Some(Duration::from_millis(1_500_001));
        let c = d("sustained", 100, 60, 3, 5_000);
        let h = rate_limit_headers_at(&[a, b, c], Duration::from_secs(10));
        assert_eq!(get(&h, "retry-after"), "1501");
        assert_eq!(get(&h, "x-ratelimit-limit"), "50");
        assert_eq!(get(&h, "x-ratelimit-remaining"), "0");
        assert_eq!(get(&h, "x-ratelimit-reset-after"), "1800");
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let mut a = d("burst", 5, 1, 0, 0);
        a.allowed = false;
        a.retry_after = Some(Duration::ZERO);
        let h = rate_limit_headers_at(&[a], Duration::ZERO);
        assert_eq!(get(&h, "retry-after"), "1");
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(ceil_secs(Duration::from_secs(3)), 3);
    }

    #[test]
    fn numbers_render_the_same_from_the_table_and_beyond_it() {
        for n in [0, 1, 9, 10, 99, 100, 999, 1000, 1023, 1024, 1025, 65_536, u64::MAX] {
            assert_eq!(number(n).to_str().unwrap(), n.to_string());
        }
    }

    #[test]
    fn unix_seconds_follow_the_system_clock() {
        for _ in 0..3 {
            let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
            let secs = unix_seconds();
            let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
            assert!(before <= secs && secs <= after, "{before} <= {secs} <= {after}");
            std::thread::sleep(Duration::from_millis(400));
        }
    }

    #[test]
    fn reset_values_are_reused_only_for_the_same_second() {
        assert_eq!(reset_value(1_000).to_str().unwrap(), "1000");
        assert_eq!(reset_value(1_000).to_str().unwrap(), "1000");
        assert_eq!(reset_value(1_001).to_str().unwrap(), "1001");
        assert_eq!(reset_value(1_000).to_str().unwrap(), "1000");
    }

    /// The longest `RateLimit` item a policy can have (a 64-byte name, two 20-digit numbers)
    /// fits the buffer both values share, and the shared `X-RateLimit-Remaining` is exactly
    /// the remaining count.
    #[test]
    fn longest_state_item_is_rendered_whole() {
        let name = "n".repeat(64);
        // Decisions are plain data: the numbers may exceed what a policy's limit allows.
        let mut d = d(&name, 1_000, 60, 0, 0);
        d.remaining = u64::MAX - 1;
        d.reset_after = Duration::from_secs(u64::MAX - 1);
        let now = Duration::from_secs(1_700_000_000);
        let h = rate_limit_headers_at(std::slice::from_ref(&d), now);
        assert_eq!(get(&h, "x-ratelimit-remaining"), (u64::MAX - 1).to_string());
        assert_eq!(get(&h, "ratelimit"), format!("\"{name}\";r={};t={}", u64::MAX - 1, u64::MAX - 1));
        assert_eq!(get(&h, "ratelimit").len(), STATE_ITEM_MAX);
        // The reset time saturates rather than overflowing.
        assert_eq!(get(&h, "x-ratelimit-reset"), u64::MAX.to_string());
    }

    #[test]
    fn no_decisions_no_headers() {
        assert!(rate_limit_headers(&[]).is_empty());
    }
}
