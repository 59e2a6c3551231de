//! The [`Limiter`] trait implemented by every backend, and the [`RateLimiter`] façade.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use quanta::Instant;

use futures::future::BoxFuture;

use crate::decision::Outcome;
use crate::metrics_names::DECISION_SECONDS;
use crate::policy::{Check, CounterKind};

/// Why a check could not be decided. The HTTP layer answers 503 for all of them.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// The Redis call failed (connection refused/reset, cluster down, script error, ...).
    #[error("rate-limit backend error: {0}")]
    Backend(#[from] redis::RedisError),
    /// The Redis call did not answer in time.
    #[error("rate-limit backend did not answer within {0:?}")]
    Timeout(Duration),
    /// The backend answered something this crate does not understand.
    #[error("rate-limit backend returned an unexpected reply: {0}")]
    Protocol(String),
    /// The primary backend is failing and the [`FallbackLimiter`](crate::FallbackLimiter) is in
    /// [`OnBackendError::Deny`](crate::OnBackendError::Deny) mode.
    #[error("rate limiting unavailable: {0}")]
    Unavailable(String),
}

/// A rate-limit backend: checks all `checks` of one request atomically — each policy is
/// evaluated, and quota is consumed from all of them only if all admit the request.
///
/// Implementations: [`MemoryStore`](crate::MemoryStore), [`RedisStore`](crate::RedisStore),
/// [`FallbackLimiter`](crate::FallbackLimiter). Callers normally go through [`RateLimiter`],
/// which removes duplicate `(policy name, key)` pairs first (implementations may assume none).
pub trait Limiter: Send + Sync + 'static {
    /// Decides one request. `Outcome::decisions` has one entry per check, in order.
    fn check<'a>(&'a self, checks: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>>;

    /// Decides without waiting, for backends that never wait (the in-process store); `None`
    /// means "use [`Limiter::check`]". Lets the HTTP layer skip a boxed future per request.
    fn check_sync(&self, _checks: &[Check]) -> Option<Result<Outcome, LimitError>> {
        None
    }
}

impl<L: Limiter + ?Sized> Limiter for Arc<L> {
    fn check<'a>(&'a self, checks: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>> {
        (**self).check(checks)
    }

    fn check_sync(&self, checks: &[Check]) -> Option<Result<Outcome, LimitError>> {
        (**self).check_sync(checks)
    }
}

/// One synchronous decision in this many is timed for `agora_ratelimit_decision_seconds`.
///
/// An in-process decision takes a few hundred nanoseconds; reading the clock twice and
/// recording a histogram sample cost about as much again, so timing every one would double
/// what the metric measures. A 1-in-16 sample keeps the distribution and costs a sixteenth.
/// Decisions that wait on a backend (Redis) are all timed: there the timing is noise.
pub const SYNC_LATENCY_SAMPLE: u32 = 16;

thread_local! {
    /// Counts this thread's synchronous decisions, to pick which ones are timed.
    static SYNC_DECISIONS: Cell<u32> = const { Cell::new(0) };
}

/// The entry point: wraps any [`Limiter`], removes duplicate checks and records metrics
/// (`agora_ratelimit_decisions_total{policy,outcome}`, `agora_ratelimit_decision_seconds`).
/// Cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn Limiter>,
    /// The decision-latency histogram, resolved against the recorder on first use.
    latency: OnceLock<metrics::Histogram>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// Wraps a backend.
    pub fn new(limiter: impl Limiter) -> RateLimiter {
        RateLimiter::from_arc(Arc::new(limiter))
    }

    /// Wraps a shared backend.
    pub fn from_arc(limiter: Arc<dyn Limiter>) -> RateLimiter {
        RateLimiter { inner: Arc::new(Inner { backend: limiter, latency: OnceLock::new() }) }
    }

    /// Checks one request against all its policies. Returns `Ok` with `outcome.allowed()`
    /// false when rate-limited (nothing consumed), `Err` when the backend could not decide.
    ///
    /// Duplicate `(policy name, key)` pairs are checked once (the first occurrence is kept).
    /// An empty `checks` is allowed without touching the backend.
    pub async fn check(&self, checks: &[Check]) -> Result<Outcome, LimitError> {
        if checks.is_empty() {
            return Ok(Outcome::default());
        }
        let start = Instant::now();
        let deduped = dedup(checks);
        let checks = deduped.as_deref().unwrap_or(checks);
        let result = self.inner.backend.check(checks).await;
        self.record(checks, Some(start), &result);
        result
    }

    /// [`Self::check`] without waiting, when the backend can decide synchronously (the
    /// in-process store); `None` otherwise, and then nothing was consumed or recorded.
    /// One decision in [`SYNC_LATENCY_SAMPLE`] (per thread) is timed.
    pub fn check_sync(&self, checks: &[Check]) -> Option<Result<Outcome, LimitError>> {
        if checks.is_empty() {
            return Some(Ok(Outcome::default()));
        }
        let timed = SYNC_DECISIONS.with(|n| {
            let next = n.get().wrapping_add(1) % SYNC_LATENCY_SAMPLE;
            n.set(next);
            next == 0
        });
        let start = timed.then(Instant::now);
        let deduped = dedup(checks);
        let checks = deduped.as_deref().unwrap_or(checks);
        let result = self.inner.backend.check_sync(checks)?;
        self.record(checks, start, &result);
        Some(result)
    }

    /// Metrics for one decision: its latency (if it was timed), and one count per policy and
    /// outcome.
    fn record(&self, checks: &[Check], start: Option<Instant>, result: &Result<Outcome, LimitError>) {
        if let Some(start) = start {
            let latency = self.inner.latency.get_or_init(|| metrics::histogram!(DECISION_SECONDS));
            latency.record(start.elapsed().as_secs_f64());
        }
        match result {
            Ok(outcome) => {
                let all = outcome.allowed();
                for d in &outcome.decisions {
                    d.policy.count(match (all, d.allowed) {
                        (true, _) => CounterKind::Allowed,
                        (false, false) => CounterKind::Denied,
                        (false, true) => CounterKind::DeniedByOther,
                    });
                }
            }
            Err(_) => {
                for c in checks {
                    c.policy.count(CounterKind::Error);
                }
            }
        }
    }
}

/// `None` if there are no duplicates (the common case: no allocation). Inlined for the
/// single check of most requests; the search for duplicates is not.
#[inline]
fn dedup(checks: &[Check]) -> Option<Vec<Check>> {
    if checks.len() < 2 { None } else { dedup_several(checks) }
}

/// [`dedup`] for two checks or more.
fn dedup_several(checks: &[Check]) -> Option<Vec<Check>> {
    let mut seen = HashSet::with_capacity(checks.len());
    let mut dup = false;
    for c in checks {
        if !seen.insert((c.policy.name(), c.key.as_str())) {
            dup = true;
            break;
        }
    }
    if !dup {
        return None;
    }
    let mut seen = HashSet::with_capacity(checks.len());
    Some(checks.iter().filter(|c| seen.insert((c.policy.name(), c.key.as_str()))).cloned().collect())
}
