//! Time sources. The in-process store and the fallback breaker read time only through [`Clock`],
//! so tests drive them with a [`ManualClock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of "now", as a duration since the Unix epoch (or any fixed origin, for tests).
///
/// Fixed windows are aligned to multiples of the window length since this origin.
pub trait Clock: Send + Sync + 'static {
    /// The current time since the origin.
    fn now(&self) -> Duration;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// Wall-clock time that never goes backwards: the system time read once at construction,
/// advanced by a monotonic [`Instant`].
#[derive(Debug, Clone)]
pub struct SystemClock {
    base_wall: Duration,
    base: Instant,
}

impl SystemClock {
    /// A clock anchored at the current system time.
    pub fn new() -> SystemClock {
        SystemClock {
            base_wall: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO),
            base: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.base_wall + self.base.elapsed()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    micros: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Duration) -> ManualClock {
        let clock = ManualClock::default();
        clock.set(start);
        clock
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.micros.fetch_add(micros(by), Ordering::SeqCst);
    }

    /// Sets the clock to `to` (which may be in the past: use with care).
    pub fn set(&self, to: Duration) {
        self.micros.store(micros(to), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Duration::from_secs(5));
        let c2 = c.clone();
        assert_eq!(c.now(), Duration::from_secs(5));
        c.advance(Duration::from_millis(1500));
        assert_eq!(c2.now(), Duration::from_micros(6_500_000));
        c2.set(Duration::ZERO);
        assert_eq!(c.now(), Duration::ZERO);
    }

    #[test]
    fn system_clock_is_monotonic_and_near_wall_time() {
        let c = SystemClock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(wall.abs_diff(a) < Duration::from_secs(60));
    }
}
