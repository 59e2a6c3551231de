//! The [`Limiter`] trait implemented by every backend, and the [`RateLimiter`] façade.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::decision::Outcome;
use crate::metrics_names::{DECISION_SECONDS, DECISIONS_TOTAL};
use crate::policy::Check;

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
}

impl<L: Limiter + ?Sized> Limiter for Arc<L> {
    fn check<'a>(&'a self, checks: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>> {
        (**self).check(checks)
    }
}

/// The entry point: wraps any [`Limiter`], removes duplicate checks and records metrics
/// (`agora_ratelimit_decisions_total{policy,outcome}`, `agora_ratelimit_decision_seconds`).
/// Cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<dyn Limiter>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// Wraps a backend.
    pub fn new(limiter: impl Limiter) -> RateLimiter {
        RateLimiter { inner: Arc::new(limiter) }
    }

    /// Wraps a shared backend.
    pub fn from_arc(limiter: Arc<dyn Limiter>) -> RateLimiter {
        RateLimiter { inner: limiter }
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
        let result = self.inner.check(checks).await;
        metrics::histogram!(DECISION_SECONDS).record(start.elapsed().as_secs_f64());
        match &result {
            Ok(outcome) => {
                let all = outcome.allowed();
                for d in &outcome.decisions {
                    let label = match (all, d.allowed) {
                        (true, _) => "allowed",
                        (false, false) => "denied",
                        (false, true) => "denied_by_other",
                    };
                    metrics::counter!(DECISIONS_TOTAL, "policy" => d.policy.name().to_owned(), "outcome" => label)
                        .increment(1);
                }
            }
            Err(_) => {
                for c in checks {
                    metrics::counter!(DECISIONS_TOTAL, "policy" => c.policy.name().to_owned(), "outcome" => "error")
                        .increment(1);
                }
            }
        }
        result
    }
}

/// `None` if there are no duplicates (the common case: no allocation).
fn dedup(checks: &[Check]) -> Option<Vec<Check>> {
    if checks.len() < 2 {
        return None;
    }
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
