//! Degraded operation when the primary (Redis) backend fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::clock::{Clock, SystemClock, micros};
use crate::decision::Outcome;
use crate::limiter::{LimitError, Limiter};
use crate::metrics_names::FALLBACK_TOTAL;
use crate::policy::Check;

/// What to do when the primary backend cannot decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBackendError {
    /// Decide with the in-process fallback limiter (limits then hold per server process, not
    /// globally). Availability over strictness.
    #[default]
    Allow,
    /// Fail the check with [`LimitError::Unavailable`]; the HTTP layer answers 503.
    Deny,
}

impl std::str::FromStr for OnBackendError {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(OnBackendError::Allow),
            "deny" => Ok(OnBackendError::Deny),
            other => Err(format!("unknown on-backend-error mode {other:?} (expected allow or deny)")),
        }
    }
}

/// Wraps a primary limiter (Redis) with a fallback (usually a [`MemoryStore`](crate::MemoryStore)).
///
/// When the primary fails, the failure is logged (`tracing::warn!` on the first failure of an
/// outage), counted (`agora_ratelimit_fallback_total`; the Redis store itself counts
/// `agora_ratelimit_backend_errors_total`), and the request is decided per [`OnBackendError`].
/// After a failure the primary is not tried again for `probe_interval` (default 1 s) so an
/// outage costs at most one slow call per interval; then the next request probes it, and the
/// first success ends the outage (logged at info). Reconnection itself is the Redis
/// connection's job.
pub struct FallbackLimiter {
    primary: Arc<dyn Limiter>,
    fallback: Arc<dyn Limiter>,
    mode: OnBackendError,
    clock: Arc<dyn Clock>,
    probe_interval_us: u64,
    /// µs (clock time) before which the primary is skipped.
    skip_until: AtomicU64,
    degraded: AtomicBool,
}

impl std::fmt::Debug for FallbackLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackLimiter")
            .field("mode", &self.mode)
            .field("probe_interval_us", &self.probe_interval_us)
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl FallbackLimiter {
    /// `primary` guarded by `fallback` in `mode`.
    pub fn new(primary: impl Limiter, fallback: impl Limiter, mode: OnBackendError) -> FallbackLimiter {
        FallbackLimiter {
            primary: Arc::new(primary),
            fallback: Arc::new(fallback),
            mode,
            clock: Arc::new(SystemClock::new()),
            probe_interval_us: 1_000_000,
            skip_until: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
        }
    }

    /// How long to skip the primary after it failed (0 = try it on every request).
    pub fn with_probe_interval(mut self, interval: Duration) -> FallbackLimiter {
        self.probe_interval_us = micros(interval);
        self
    }

    /// The clock used for the probe interval.
    pub fn with_clock(mut self, clock: impl Clock) -> FallbackLimiter {
        self.clock = Arc::new(clock);
        self
    }

    /// True while the primary is considered down.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    async fn degrade(&self, checks: &[Check], reason: String) -> Result<Outcome, LimitError> {
        metrics::counter!(FALLBACK_TOTAL, "mode" => match self.mode {
            OnBackendError::Allow => "allow",
            OnBackendError::Deny => "deny",
        })
        .increment(1);
        match self.mode {
            OnBackendError::Allow => {
                let mut outcome = self.fallback.check(checks).await?;
                outcome.fallback = true;
                Ok(outcome)
            }
            OnBackendError::Deny => Err(LimitError::Unavailable(reason)),
        }
    }

    async fn check_inner(&self, checks: &[Check]) -> Result<Outcome, LimitError> {
        let now = micros(self.clock.now());
        if now < self.skip_until.load(Ordering::Relaxed) {
            return self.degrade(checks, "rate-limit backend is down".to_owned()).await;
        }
        match self.primary.check(checks).await {
            Ok(outcome) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate-limit backend recovered");
                }
                Ok(outcome)
            }
            Err(e) => {
                let now = micros(self.clock.now());
                self.skip_until.store(now.saturating_add(self.probe_interval_us), Ordering::Relaxed);
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, mode = ?self.mode, "rate-limit backend failed; degrading");
                } else {
                    tracing::debug!(error = %e, "rate-limit backend still failing");
                }
                self.degrade(checks, e.to_string()).await
            }
        }
    }
}

impl Limiter for FallbackLimiter {
    fn check<'a>(&'a self, checks: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>> {
        Box::pin(self.check_inner(checks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::memory::MemoryStore;
    use crate::policy::{Algorithm, Policy};
    use std::sync::atomic::AtomicUsize;

    /// A primary that fails while `down` is set and counts its calls.
    struct Flaky {
        down: Arc<AtomicBool>,
        calls: Arc<AtomicUsize>,
        inner: MemoryStore,
    }

    impl Limiter for Flaky {
        fn check<'a>(&'a self, checks: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                Box::pin(async { Err(LimitError::Protocol("down".into())) })
            } else {
                self.inner.check(checks)
            }
        }
    }

    fn setup(mode: OnBackendError) -> (FallbackLimiter, Arc<AtomicBool>, Arc<AtomicUsize>, ManualClock) {
        let clock = ManualClock::new(Duration::from_secs(1000));
        let down = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let primary = Flaky { down: down.clone(), calls: calls.clone(), inner: MemoryStore::new(clock.clone()) };
        let f = FallbackLimiter::new(primary, MemoryStore::new(clock.clone()), mode)
            .with_clock(clock.clone())
            .with_probe_interval(Duration::from_secs(1));
        (f, down, calls, clock)
    }

    fn checks() -> Vec<Check> {
        let p = Policy::new("p", Algorithm::FixedWindow, 2, Duration::from_secs(60)).unwrap();
        vec![Check::new(p, "k")]
    }

    #[tokio::test]
    async fn allow_mode_falls_back_skips_primary_then_recovers() {
        let (f, down, calls, clock) = setup(OnBackendError::Allow);
        let c = checks();
        assert!(!f.check(&c).await.unwrap().fallback);
        down.store(true, Ordering::SeqCst);
        let o = f.check(&c).await.unwrap();
        assert!(o.fallback && o.allowed());
        assert!(f.is_degraded());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Within the probe interval the primary is not called; the fallback enforces limits.
        let o = f.check(&c).await.unwrap();
        assert!(o.fallback && o.allowed());
        let o = f.check(&c).await.unwrap();
        assert!(o.fallback && !o.allowed());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        down.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(1));
        let o = f.check(&c).await.unwrap();
        assert!(!o.fallback);
        assert!(!f.is_degraded());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn deny_mode_errors() {
        let (f, down, _, _) = setup(OnBackendError::Deny);
        down.store(true, Ordering::SeqCst);
        assert!(matches!(f.check(&checks()).await, Err(LimitError::Unavailable(_))));
        assert!(matches!(f.check(&checks()).await, Err(LimitError::Unavailable(_))));
    }
}
