//! The five algorithms as pure state machines over integer microseconds.
//!
//! `scripts/check.lua` is a line-by-line mirror of this file; the Redis integration tests run
//! both against the same scripted clock and require identical decisions.
//!
//! Every operation follows the same protocol: [`State::normalize`] (roll windows, drop expired
//! log entries, refill the bucket — none of which changes what the state means), then
//! [`State::peek`] (would one more request be admitted, and what are remaining / reset / retry
//! right now), then, only if every policy of the request admits it, [`State::commit`].

use std::collections::VecDeque;

use crate::policy::{Algorithm, Policy};

/// The numbers an algorithm needs, in microseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    pub alg: Algorithm,
    /// Requests per window / bucket capacity.
    pub limit: u64,
    /// Window length (µs).
    pub window: u64,
    /// Buckets: emission interval `ceil(window / limit)` (µs).
    pub interval: u64,
}

impl Params {
    pub fn of(p: &Policy) -> Params {
        Params { alg: p.algorithm(), limit: p.limit(), window: p.window_us(), interval: p.interval_us() }
    }

    /// Bucket capacity in µs of credit: `limit × interval`.
    fn capacity(&self) -> u64 {
        self.limit.saturating_mul(self.interval)
    }
}

/// What a policy says about one more request, without consuming anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Peek {
    pub allowed: bool,
    /// Requests that could still be admitted now.
    pub remaining: u64,
    /// µs until `remaining == limit` if nothing more is admitted (0 if already so).
    pub reset_after: u64,
    /// µs until one more request would be admitted (0 if it is admitted now).
    pub retry_after: u64,
}

/// Per-key algorithm state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    Fixed { idx: u64, count: u64 },
    Log(VecDeque<u64>),
    Counter { idx: u64, curr: u64, prev: u64 },
    Token { level: u64, last: u64 },
    Gcra { tat: u64 },
}

impl State {
    /// The state of a key never seen (or expired).
    pub fn fresh(p: &Params, now: u64) -> State {
        match p.alg {
            Algorithm::FixedWindow => State::Fixed { idx: now / p.window, count: 0 },
            Algorithm::SlidingWindowLog => State::Log(VecDeque::new()),
            Algorithm::SlidingWindowCounter => State::Counter { idx: now / p.window, curr: 0, prev: 0 },
            Algorithm::TokenBucket => State::Token { level: p.capacity(), last: now },
            Algorithm::LeakyBucket => State::Gcra { tat: now },
        }
    }

    /// Whether this state belongs to algorithm `alg` (a policy renamed onto another algorithm
    /// gets fresh state).
    pub fn is_for(&self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (State::Fixed { .. }, Algorithm::FixedWindow)
                | (State::Log(_), Algorithm::SlidingWindowLog)
                | (State::Counter { .. }, Algorithm::SlidingWindowCounter)
                | (State::Token { .. }, Algorithm::TokenBucket)
                | (State::Gcra { .. }, Algorithm::LeakyBucket)
        )
    }

    /// Brings the state to `now` without changing its meaning.
    pub fn normalize(&mut self, p: &Params, now: u64) {
        match self {
            // A reading from before the state's window (taken by another thread before it got
            // the lock) keeps the newer window: going back would start a fresh count.
            State::Fixed { idx, count } => {
                let cur = now / p.window;
                if cur > *idx {
                    *idx = cur;
                    *count = 0;
                }
            }
            State::Log(entries) => {
                // Keep entries in (now - window, now].
                while entries.front().is_some_and(|&t| t.saturating_add(p.window) <= now) {
                    entries.pop_front();
                }
            }
            State::Counter { idx, curr, prev } => {
                let cur = now / p.window;
                if cur <= *idx {
                    // This window (or an earlier reading: keep the newer window, as above).
                } else if idx.saturating_add(1) == cur {
                    *prev = *curr;
                    *curr = 0;
                    *idx = cur;
                } else {
                    *prev = 0;
                    *curr = 0;
                    *idx = cur;
                }
            }
            State::Token { level, last } => {
                if now > *last {
                    *level = p.capacity().min(level.saturating_add(now - *last));
                    *last = now;
                }
            }
            State::Gcra { tat } => {
                *tat = (*tat).max(now);
            }
        }
    }

    /// The decision for one more request, on a normalized state.
    pub fn peek(&self, p: &Params, now: u64) -> Peek {
        let (l, w) = (p.limit, p.window);
        match self {
            State::Fixed { idx, count } => {
                let end = (idx + 1) * w - now;
                Peek {
                    allowed: *count < l,
                    remaining: l.saturating_sub(*count),
                    reset_after: if *count > 0 { end } else { 0 },
                    retry_after: if *count < l { 0 } else { end },
                }
            }
            State::Log(entries) => {
                let n = entries.len() as u64;
                let allowed = n < l;
                let reset_after = entries.back().map_or(0, |&t| t + w - now);
                let retry_after = if allowed {
                    0
                } else {
                    // The (n - limit)-th oldest entry must leave the window first.
                    entries.get(usize::try_from(n - l).unwrap_or(usize::MAX)).map_or(0, |&t| t + w - now)
                };
                Peek { allowed, remaining: l.saturating_sub(n), reset_after, retry_after }
            }
            State::Counter { idx, curr, prev } => {
                let (c, pr) = (u128::from(*curr), u128::from(*prev));
                let (l, w) = (u128::from(l), u128::from(w));
                // Elapsed in this window; 0 for a reading from before it (see `normalize`).
                let e = u128::from(now.saturating_sub(idx * p.window));
                let weighted_prev = pr * (w - e);
                let allowed = weighted_prev + (c + 1) * w <= l * w;
                let remaining = ((l * w).saturating_sub(weighted_prev) / w).saturating_sub(c);
                let reset_after = if c > 0 {
                    2 * w - e
                } else if pr > 0 {
                    w - e
                } else {
                    0
                };
                let retry_after = if allowed {
                    0
                } else if c < l {
                    // Wait inside this window until prev × (w - e') <= (l - c - 1) × w.
                    let e2 = w - ((l - c - 1) * w) / pr;
                    e2 - e
                } else {
                    // Wait for the next window, where this window's count is the previous one.
                    let e3 = w - ((l - 1) * w) / c;
                    (w - e) + e3
                };
                Peek {
                    allowed,
                    remaining: to_u64(remaining),
                    reset_after: to_u64(reset_after),
                    retry_after: to_u64(retry_after),
                }
            }
            State::Token { level, .. } => {
                let allowed = *level >= p.interval;
                Peek {
                    allowed,
                    remaining: level / p.interval,
                    reset_after: p.capacity() - level,
                    retry_after: if allowed { 0 } else { p.interval - level },
                }
            }
            State::Gcra { tat } => {
                let cap = p.capacity();
                let next = tat + p.interval;
                let allowed = next - now <= cap;
                Peek {
                    allowed,
                    remaining: cap.saturating_sub(tat - now) / p.interval,
                    reset_after: tat - now,
                    retry_after: if allowed { 0 } else { next - cap - now },
                }
            }
        }
    }

    /// Consumes one request (the caller has checked `peek(..).allowed`).
    pub fn commit(&mut self, p: &Params, now: u64) {
        match self {
            State::Fixed { count, .. } => *count += 1,
            State::Log(entries) => {
                let t = entries.back().map_or(now, |&b| b.max(now));
                entries.push_back(t);
            }
            State::Counter { curr, .. } => *curr += 1,
            State::Token { level, .. } => *level = level.saturating_sub(p.interval),
            State::Gcra { tat } => *tat += p.interval,
        }
    }

    /// When this state becomes equivalent to a fresh one, so it may be dropped.
    pub fn expires_at(&self, p: &Params, now: u64) -> u64 {
        match self {
            State::Fixed { idx, .. } => (idx + 1) * p.window,
            State::Log(entries) => entries.back().map_or(now, |&t| t + p.window),
            State::Counter { idx, .. } => (idx + 2) * p.window,
            State::Token { level, last } => last + (p.capacity() - level),
            State::Gcra { tat } => *tat,
        }
    }
}

fn to_u64(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const S: u64 = 1_000_000;

    fn params(alg: Algorithm, limit: u64, window_s: u64) -> Params {
        Params::of(&Policy::new("t", alg, limit, Duration::from_secs(window_s)).unwrap())
    }

    /// Runs one request at `now` on `state`, committing if allowed; returns the peek after.
    fn hit(state: &mut Option<State>, p: &Params, now: u64) -> (bool, Peek) {
        let s = state.get_or_insert_with(|| State::fresh(p, now));
        s.normalize(p, now);
        let pk = s.peek(p, now);
        if pk.allowed {
            s.commit(p, now);
            (true, s.peek(p, now))
        } else {
            (false, pk)
        }
    }

    /// A request may be stamped a little before the previous one to reach the state (another
    /// thread read the clock first but took the lock second). Near a window boundary that
    /// reading belongs to the previous window; it must neither bring back that window (and
    /// with it a fresh count) nor underflow.
    #[test]
    fn an_earlier_reading_does_not_reopen_a_window() {
        for alg in Algorithm::ALL {
            let p = params(alg, 3, 10);
            let boundary = 100 * 10 * S;
            let mut state = None;
            let mut admitted = 0;
            for i in 0..5 {
                admitted += u32::from(hit(&mut state, &p, boundary + i).0);
            }
            assert_eq!(admitted, 3, "{alg:?}");
            let (allowed, _) = hit(&mut state, &p, boundary - 1);
            assert!(!allowed, "{alg:?}: a reading from before the boundary was admitted");
            let (allowed, _) = hit(&mut state, &p, boundary + 5);
            assert!(!allowed, "{alg:?}: the window's count was lost");
        }
    }

    #[test]
    fn fixed_window_exact() {
        let p = params(Algorithm::FixedWindow, 3, 10);
        let mut s = None;
        let (ok, pk) = hit(&mut s, &p, 12 * S);
        assert!(ok);
        assert_eq!((pk.remaining, pk.reset_after), (2, 8 * S));
        hit(&mut s, &p, 13 * S);
        let (ok, pk) = hit(&mut s, &p, 14 * S);
        assert!(ok);
        assert_eq!((pk.remaining, pk.reset_after), (0, 6 * S));
        let (ok, pk) = hit(&mut s, &p, 15 * S);
        assert!(!ok);
        assert_eq!((pk.remaining, pk.retry_after), (0, 5 * S));
        let (ok, pk) = hit(&mut s, &p, 20 * S);
        assert!(ok);
        assert_eq!((pk.remaining, pk.reset_after), (2, 10 * S));
    }

    #[test]
    fn sliding_log_exact() {
        let p = params(Algorithm::SlidingWindowLog, 2, 10);
        let mut s = None;
        assert!(hit(&mut s, &p, 0).0);
        let (ok, pk) = hit(&mut s, &p, 4 * S);
        assert!(ok);
        assert_eq!((pk.remaining, pk.reset_after), (0, 10 * S));
        let (ok, pk) = hit(&mut s, &p, 9 * S);
        assert!(!ok);
        assert_eq!(pk.retry_after, S); // the entry at 0 leaves at 10
        assert_eq!(pk.reset_after, 5 * S);
        let (ok, pk) = hit(&mut s, &p, 10 * S);
        assert!(ok);
        assert_eq!((pk.remaining, pk.reset_after), (0, 10 * S));
    }

    #[test]
    fn sliding_counter_exact() {
        let p = params(Algorithm::SlidingWindowCounter, 10, 10);
        let mut s = None;
        for i in 0..10 {
            let (ok, pk) = hit(&mut s, &p, i * 100_000);
            assert!(ok);
            assert_eq!(pk.remaining, 9 - i);
        }
        let (ok, pk) = hit(&mut s, &p, 5 * S);
        assert!(!ok);
        // Next window: prev=10, need 10 × (10 - e) <= 9 × 10 → e >= 1s; so 5s + 1s.
        assert_eq!(pk.retry_after, 6 * S);
        assert_eq!(pk.reset_after, 15 * S);
        // At t = 12.5s: weight of prev = 10 × 7.5/10 = 7.5 → 2 more fit (7.5 + 2 <= 10).
        let (ok, pk) = hit(&mut s, &p, 12_500_000);
        assert!(ok);
        assert_eq!(pk.remaining, 1);
        let (ok, _) = hit(&mut s, &p, 12_500_000);
        assert!(ok);
        let (ok, pk) = hit(&mut s, &p, 12_500_000);
        assert!(!ok);
        // curr=2: need 10 × (10 - e') <= 7 × 10 → e' >= 3s; we are at e = 2.5s.
        assert_eq!(pk.retry_after, 500_000);
    }

    #[test]
    fn buckets_exact() {
        for alg in [Algorithm::TokenBucket, Algorithm::LeakyBucket] {
            let p = params(alg, 5, 10); // one token every 2s
            let mut s = None;
            for i in 0..5 {
                let (ok, pk) = hit(&mut s, &p, 0);
                assert!(ok, "{alg}");
                assert_eq!(pk.remaining, 4 - i);
                assert_eq!(pk.reset_after, (i + 1) * 2 * S);
            }
            let (ok, pk) = hit(&mut s, &p, S);
            assert!(!ok);
            assert_eq!(pk.retry_after, S);
            assert_eq!(pk.reset_after, 9 * S);
            let (ok, pk) = hit(&mut s, &p, 2 * S);
            assert!(ok);
            assert_eq!((pk.remaining, pk.reset_after), (0, 10 * S));
        }
    }

    #[test]
    fn expiry_is_equivalent_to_fresh() {
        for alg in Algorithm::ALL {
            let p = params(alg, 3, 10);
            let mut s = None;
            for t in [0, S, 2 * S, 5 * S] {
                hit(&mut s, &p, t);
            }
            let mut st = s.unwrap();
            let exp = st.expires_at(&p, 5 * S);
            st.normalize(&p, exp);
            let fresh = State::fresh(&p, exp);
            assert_eq!(st.peek(&p, exp), fresh.peek(&p, exp), "{alg}");
        }
    }
}
