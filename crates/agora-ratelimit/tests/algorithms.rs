//! Property and exactness tests of the five algorithms on the in-process store, driven by a
//! ManualClock. Each property compares against an independent reference model written here.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use agora_ratelimit::{Algorithm, Check, Clock, Decision, ManualClock, MemoryStore, Policy};
use proptest::prelude::*;

const W: u64 = 10_000_000; // 10 s in µs

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

struct Step {
    t: u64,
    d: Decision,
}

/// Runs `gaps` against one policy; returns every step's time and decision.
fn run(alg: Algorithm, limit: u64, start: u64, gaps: &[u64]) -> Vec<Step> {
    let clock = ManualClock::new(Duration::from_micros(start));
    let store = MemoryStore::new(clock.clone());
    let p = Policy::new("p", alg, limit, Duration::from_micros(W)).unwrap();
    let c = [Check::new(p, "k")];
    gaps.iter()
        .map(|&g| {
            clock.advance(Duration::from_micros(g));
            let mut o = store.check_now(&c);
            Step { t: us(clock.now()), d: o.decisions.remove(0) }
        })
        .collect()
}

fn gaps() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(0u64),
            4 => 0u64..2_000_000,
            2 => 0u64..15_000_000,
            1 => 0u64..40_000_000,
        ],
        1..100,
    )
}

fn admitted(steps: &[Step]) -> Vec<u64> {
    steps.iter().filter(|s| s.d.allowed).map(|s| s.t).collect()
}

fn count_in(ts: &[u64], lo_excl: i128, hi_incl: u64) -> u64 {
    ts.iter().filter(|&&t| i128::from(t) > lo_excl && t <= hi_incl).count() as u64
}

fn basic_invariants(steps: &[Step], limit: u64) {
    for s in steps {
        assert!(s.d.remaining <= limit);
        assert_eq!(s.d.limit, limit);
        assert_eq!(s.d.allowed, s.d.retry_after.is_none());
        if let Some(r) = s.d.retry_after {
            assert!(r > Duration::ZERO, "a denial must ask to wait");
            assert_eq!(s.d.remaining, 0, "a denial means nothing remains");
        }
        assert!(us(s.d.reset_after) <= 2 * W + limit);
    }
}

/// A denial's `retry_after` is exact: replaying the history, one µs earlier is still denied and
/// at `retry_after` one more request is admitted.
fn retry_after_is_exact(alg: Algorithm, limit: u64, start: u64, gaps: &[u64], max_checks: usize) {
    let steps = run(alg, limit, start, gaps);
    let mut checked = 0;
    for (k, s) in steps.iter().enumerate() {
        let Some(r) = s.d.retry_after else { continue };
        if checked == max_checks {
            break;
        }
        checked += 1;
        for (offset, expect) in [(us(r) - 1, false), (us(r), true)] {
            let mut g = gaps[..k].to_vec();
            g.push(gaps[k] + offset);
            let replay = run(alg, limit, start, &g);
            assert_eq!(
                replay[k].d.allowed,
                expect,
                "{alg}: at retry_after{} after step {k}",
                if expect { "" } else { " - 1µs" }
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn fixed_window_matches_model(limit in 1u64..8, start in 0u64..100_000_000, g in gaps()) {
        let steps = run(Algorithm::FixedWindow, limit, start, &g);
        basic_invariants(&steps, limit);
        let mut adm: Vec<u64> = Vec::new();
        for s in &steps {
            let idx = s.t / W;
            let c = adm.iter().filter(|&&t| t / W == idx).count() as u64;
            prop_assert_eq!(s.d.allowed, c < limit);
            let c2 = if s.d.allowed { c + 1 } else { c };
            prop_assert_eq!(s.d.remaining, limit - c2);
            let end = (idx + 1) * W - s.t;
            prop_assert_eq!(us(s.d.reset_after), if c2 > 0 { end } else { 0 });
            if !s.d.allowed {
                prop_assert_eq!(s.d.retry_after, Some(Duration::from_micros(end)));
            }
            if s.d.allowed { adm.push(s.t); }
        }
        // Never more than `limit` per aligned window.
        for &t in &adm {
            prop_assert!(adm.iter().filter(|&&u| u / W == t / W).count() as u64 <= limit);
        }
    }

    #[test]
    fn sliding_log_matches_model(limit in 1u64..8, start in 0u64..100_000_000, g in gaps()) {
        let steps = run(Algorithm::SlidingWindowLog, limit, start, &g);
        basic_invariants(&steps, limit);
        let mut adm: Vec<u64> = Vec::new();
        for s in &steps {
            let live: Vec<u64> = adm.iter().copied().filter(|&t| t + W > s.t).collect();
            let n = live.len() as u64;
            prop_assert_eq!(s.d.allowed, n < limit);
            if s.d.allowed {
                prop_assert_eq!(s.d.remaining, limit - n - 1);
                prop_assert_eq!(us(s.d.reset_after), W);
                adm.push(s.t);
            } else {
                prop_assert_eq!(s.d.remaining, 0);
                prop_assert_eq!(us(s.d.reset_after), live[live.len() - 1] + W - s.t);
                let oldest_blocking = live[(n - limit) as usize];
                prop_assert_eq!(s.d.retry_after, Some(Duration::from_micros(oldest_blocking + W - s.t)));
            }
        }
        // In ANY window-length interval (t - W, t], at most `limit` admitted.
        let a = admitted(&steps);
        for &t in &a {
            prop_assert!(count_in(&a, i128::from(t) - i128::from(W), t) <= limit);
        }
    }

    #[test]
    fn sliding_counter_matches_model(limit in 1u64..8, start in 0u64..100_000_000, g in gaps()) {
        let steps = run(Algorithm::SlidingWindowCounter, limit, start, &g);
        basic_invariants(&steps, limit);
        let mut adm: Vec<u64> = Vec::new();
        for s in &steps {
            let idx = s.t / W;
            let c = adm.iter().filter(|&&t| t / W == idx).count() as u64;
            let p = adm.iter().filter(|&&t| t / W + 1 == idx).count() as u64;
            let e = s.t - idx * W;
            let wp = p * (W - e);
            let ok = wp + (c + 1) * W <= limit * W;
            prop_assert_eq!(s.d.allowed, ok);
            let c2 = if ok { c + 1 } else { c };
            prop_assert_eq!(s.d.remaining, ((limit * W - wp) / W).saturating_sub(c2));
            if ok { adm.push(s.t); }
        }
        let a = admitted(&steps);
        for &t in &a {
            // Per aligned window: at most `limit`; any sliding window: at most 2 × limit.
            prop_assert!(a.iter().filter(|&&u| u / W == t / W).count() as u64 <= limit);
            prop_assert!(count_in(&a, i128::from(t) - i128::from(W), t) <= 2 * limit);
        }
    }

    #[test]
    fn buckets_bound_burst_and_rate_and_agree(limit in 1u64..8, start in 0u64..100_000_000, g in gaps()) {
        let tb = run(Algorithm::TokenBucket, limit, start, &g);
        let lb = run(Algorithm::LeakyBucket, limit, start, &g);
        basic_invariants(&tb, limit);
        let interval = W.div_ceil(limit);
        let cap = limit * interval;
        // Reference: GCRA virtual scheduling.
        let mut tat = 0u64;
        for (a, b) in tb.iter().zip(&lb) {
            // Token bucket and GCRA are the same meter: identical decisions.
            prop_assert_eq!(
                (a.d.allowed, a.d.remaining, a.d.reset_after, a.d.retry_after),
                (b.d.allowed, b.d.remaining, b.d.reset_after, b.d.retry_after)
            );
            let t = a.t;
            let base = tat.max(t);
            let ok = base + interval - t <= cap;
            prop_assert_eq!(a.d.allowed, ok);
            if ok { tat = base + interval; }
            let cur = if ok { tat } else { base };
            prop_assert_eq!(a.d.remaining, (cap - (cur - t)) / interval);
            prop_assert_eq!(us(a.d.reset_after), cur - t);
        }
        // Burst <= capacity; long-run rate <= limit / window: in every interval [t_i, t_j],
        // admitted <= limit + (t_j - t_i) / interval.
        let a = admitted(&tb);
        for i in 0..a.len() {
            for j in i..a.len() {
                let n = (j - i + 1) as u64;
                prop_assert!(n <= limit + (a[j] - a[i]) / interval);
            }
        }
    }

    #[test]
    fn retry_after_is_exact_for_every_algorithm(
        limit in 1u64..6,
        start in 0u64..100_000_000,
        g in prop::collection::vec(prop_oneof![Just(0u64), 0u64..3_000_000], 1..40),
    ) {
        for alg in Algorithm::ALL {
            retry_after_is_exact(alg, limit, start, &g, 2);
        }
    }

    /// Several policies on one request: the request passes iff every policy (fed only the
    /// requests that passed) admits it, and rejected requests consume nothing.
    #[test]
    fn multi_policy_is_all_or_nothing(
        algs in prop::collection::vec(prop::sample::select(Algorithm::ALL.to_vec()), 2..4),
        limits in prop::collection::vec(1u64..6, 3),
        windows in prop::collection::vec(1u64..30, 3),
        g in gaps(),
    ) {
        let clock = ManualClock::new(Duration::from_secs(1_000));
        let multi = MemoryStore::new(clock.clone());
        let policies: Vec<Policy> = algs.iter().enumerate().map(|(i, &a)| {
            Policy::new(format!("p{i}"), a, limits[i], Duration::from_secs(windows[i])).unwrap()
        }).collect();
        let shadows: Vec<MemoryStore> = policies.iter().map(|_| MemoryStore::new(clock.clone())).collect();
        let checks: Vec<Check> = policies.iter().map(|p| Check::new(p.clone(), "k")).collect();
        for &gap in &g {
            clock.advance(Duration::from_micros(gap));
            let want: Vec<Decision> = checks.iter().zip(&shadows)
                .map(|(c, s)| s.peek(std::slice::from_ref(c)).decisions.remove(0))
                .collect();
            let all = want.iter().all(|d| d.allowed);
            let got = multi.check_now(&checks);
            prop_assert_eq!(got.allowed(), all);
            for (i, d) in got.decisions.iter().enumerate() {
                prop_assert_eq!(d.allowed, want[i].allowed);
                if all {
                    let committed = shadows[i].check_now(std::slice::from_ref(&checks[i]));
                    prop_assert_eq!(d, &committed.decisions[0]);
                } else {
                    prop_assert_eq!(d, &want[i]);
                }
            }
        }
    }
}

#[test]
fn idle_keys_are_swept() {
    let clock = ManualClock::new(Duration::from_secs(1_000));
    let store = MemoryStore::new(clock.clone()).with_sweep_interval(Duration::from_secs(1));
    for alg in Algorithm::ALL {
        let p = Policy::new(alg.as_str(), alg, 5, Duration::from_secs(10)).unwrap();
        for i in 0..200 {
            store.check_now(&[Check::new(p.clone(), format!("client-{i}"))]);
        }
    }
    assert_eq!(store.len(), 1_000);
    // Still live (buckets refill one token in 2 s): a sweep removes nothing.
    clock.advance(Duration::from_secs(1));
    store.sweep();
    assert_eq!(store.len(), 1_000);
    // After two windows every state is equivalent to a fresh one.
    clock.advance(Duration::from_secs(20));
    store.sweep();
    assert_eq!(store.len(), 0);
    // Lazy sweeping: new traffic drops expired keys of the shards it touches.
    let p = Policy::new("lazy", Algorithm::FixedWindow, 5, Duration::from_secs(1)).unwrap();
    let store = MemoryStore::new(clock.clone()).with_shards(1).with_sweep_interval(Duration::from_secs(1));
    for i in 0..100 {
        store.check_now(&[Check::new(p.clone(), format!("c{i}"))]);
    }
    assert_eq!(store.len(), 100);
    clock.advance(Duration::from_secs(2));
    store.check_now(&[Check::new(p.clone(), "new")]);
    assert_eq!(store.len(), 1);
}

#[test]
fn denied_requests_do_not_create_unbounded_state() {
    let clock = ManualClock::new(Duration::from_secs(1_000));
    let store = MemoryStore::new(clock.clone());
    let p = Policy::new("log", Algorithm::SlidingWindowLog, 3, Duration::from_secs(10)).unwrap();
    let c = [Check::new(p, "k")];
    for _ in 0..10_000 {
        store.check_now(&c);
    }
    assert_eq!(store.len(), 1);
    let o = store.peek(&c);
    assert_eq!(o.decisions[0].remaining, 0);
}

#[test]
fn every_policy_and_key_keeps_its_own_state_as_the_store_grows() {
    let clock = ManualClock::new(Duration::from_secs(1_000));
    let store = MemoryStore::new(clock);
    let a = Policy::new("a", Algorithm::FixedWindow, 2, Duration::from_secs(60)).unwrap();
    let b = Policy::new("b", Algorithm::FixedWindow, 2, Duration::from_secs(60)).unwrap();
    let keys: Vec<String> = (0..5_000).map(|i| format!("ip:10.{}.{}.{}", i / 65_536, i / 256 % 256, i % 256)).collect();
    // Three passes over every key under both policies: the tables grow (and rehash) during
    // the first, and each (policy, key) must still find its own count.
    for pass in 0..3 {
        for k in &keys {
            for p in [&a, &b] {
                let o = store.check_now(&[Check::new(p.clone(), k.as_str())]);
                assert_eq!(o.allowed(), pass < 2, "pass {pass}, policy {}, key {k}", p.name());
                assert_eq!(o.decisions[0].remaining, if pass < 2 { 1 - pass } else { 0 });
            }
        }
    }
    assert_eq!(store.len(), 10_000);
    // Names and keys are compared separately: ("ab", "c") is not ("a", "bc").
    let ab = Policy::new("ab", Algorithm::FixedWindow, 1, Duration::from_secs(60)).unwrap();
    let a1 = Policy::new("a", Algorithm::FixedWindow, 1, Duration::from_secs(60)).unwrap();
    assert!(store.check_now(&[Check::new(ab, "c")]).allowed());
    assert!(store.check_now(&[Check::new(a1, "bc")]).allowed());
}
