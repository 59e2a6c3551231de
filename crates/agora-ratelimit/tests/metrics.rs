//! Metrics are recorded through the `metrics` facade.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use agora_ratelimit::metrics_names::{
    BACKEND_ERRORS_TOTAL, DECISION_SECONDS, DECISIONS_TOTAL, EVICTIONS_TOTAL, FALLBACK_TOTAL,
};
use agora_ratelimit::{
    Algorithm, Check, FallbackLimiter, ManualClock, MemoryStore, OnBackendError, Policy, RateLimiter, RedisConfig,
    RedisStore, SYNC_LATENCY_SAMPLE,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

type Sample = (String, Vec<(String, String)>, DebugValue);

fn counter(snapshot: &[Sample], name: &str, labels: &[(&str, &str)]) -> u64 {
    snapshot
        .iter()
        .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.iter().any(|(a, b)| a == k && b == v)))
        .map(|(_, _, v)| match v {
            DebugValue::Counter(c) => *c,
            _ => 0,
        })
        .sum()
}

fn snapshot_of(snapshotter: &metrics_util::debugging::Snapshotter) -> Vec<Sample> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
            (key.name().to_owned(), labels, value)
        })
        .collect()
}

fn latency_samples(snapshot: &[Sample]) -> usize {
    snapshot
        .iter()
        .filter(|(n, _, _)| n == DECISION_SECONDS)
        .map(|(_, _, v)| match v {
            DebugValue::Histogram(h) => h.len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn synchronous_decisions_are_counted_all_and_timed_one_in_sixteen() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rounds = 3 * SYNC_LATENCY_SAMPLE as usize;
    metrics::with_local_recorder(&recorder, || {
        let p = Policy::new("sampled", Algorithm::TokenBucket, 1_000, Duration::from_secs(60)).unwrap();
        let limiter = RateLimiter::new(MemoryStore::default());
        let checks = [Check::new(p, "k")];
        for _ in 0..rounds {
            assert!(limiter.check_sync(&checks).unwrap().unwrap().allowed());
        }
    });
    let snapshot = snapshot_of(&snapshotter);
    assert_eq!(counter(&snapshot, DECISIONS_TOTAL, &[("policy", "sampled"), ("outcome", "allowed")]), rounds as u64);
    // Whatever this thread counted before, any run of 3 × SAMPLE decisions holds exactly 3
    // sampled ones.
    assert_eq!(latency_samples(&snapshot), 3);
}

#[test]
fn decisions_errors_and_latency_are_recorded() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let clock = ManualClock::new(Duration::from_secs(100));
            let a = Policy::new("a", Algorithm::FixedWindow, 1, Duration::from_secs(60)).unwrap();
            let b = Policy::new("b", Algorithm::FixedWindow, 5, Duration::from_secs(60)).unwrap();
            let limiter = RateLimiter::new(MemoryStore::new(clock.clone()));
            let checks = [Check::new(a, "k"), Check::new(b, "k")];
            assert!(limiter.check(&checks).await.unwrap().allowed());
            assert!(!limiter.check(&checks).await.unwrap().allowed());

            // A Redis store pointed at a closed port, behind an allow-mode fallback.
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let cfg = RedisConfig { reconnect_retries: 0, ..RedisConfig::default() };
            let store = RedisStore::connect_lazy(&format!("redis://127.0.0.1:{port}"), cfg).unwrap();
            let fallback = RateLimiter::new(
                FallbackLimiter::new(store, MemoryStore::new(clock), OnBackendError::Allow)
                    .with_probe_interval(Duration::ZERO),
            );
            let o = fallback.check(&checks[1..]).await.unwrap();
            assert!(o.fallback && o.allowed());
        });
    });
    let snapshot = snapshot_of(&snapshotter);
    assert_eq!(counter(&snapshot, DECISIONS_TOTAL, &[("policy", "a"), ("outcome", "allowed")]), 1);
    assert_eq!(counter(&snapshot, DECISIONS_TOTAL, &[("policy", "a"), ("outcome", "denied")]), 1);
    assert_eq!(counter(&snapshot, DECISIONS_TOTAL, &[("policy", "b"), ("outcome", "denied_by_other")]), 1);
    assert_eq!(counter(&snapshot, DECISIONS_TOTAL, &[("policy", "b"), ("outcome", "allowed")]), 2);
    assert!(counter(&snapshot, BACKEND_ERRORS_TOTAL, &[]) >= 1);
    assert_eq!(counter(&snapshot, FALLBACK_TOTAL, &[("mode", "allow")]), 1);
    // `check` (the asynchronous path) times every decision.
    assert_eq!(latency_samples(&snapshot), 3);
}

#[test]
fn keys_forgotten_to_stay_within_the_cap_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let p = Policy::new("capped", Algorithm::FixedWindow, 10, Duration::from_secs(60)).unwrap();
        let store = MemoryStore::new(ManualClock::new(Duration::from_secs(100))).with_shards(1).with_max_keys(2);
        for i in 0..10 {
            store.check_now(&[Check::new(p.clone(), format!("ip:{i}"))]);
        }
        assert_eq!(store.len(), 2);
    });
    assert_eq!(counter(&snapshot_of(&snapshotter), EVICTIONS_TOTAL, &[]), 8);
}
