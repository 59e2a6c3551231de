//! The Redis store against a real Redis at AGORA_TEST_REDIS_URL.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use agora_ratelimit::{
    Algorithm, Check, Decision, Limiter, ManualClock, MemoryStore, RateLimiter, RedisConfig, RedisStore, TimeSource,
};
use common::{check, policy, redis_url, unique};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use redis::AsyncCommands;

fn config() -> RedisConfig {
    RedisConfig {
        key_prefix: unique("rltest"),
        command_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        ..RedisConfig::default()
    }
}

fn client_time(clock: &ManualClock) -> RedisConfig {
    RedisConfig { time_source: TimeSource::Client(Arc::new(clock.clone())), ..config() }
}

fn fields(d: &Decision) -> (bool, u64, Duration, Option<Duration>) {
    (d.allowed, d.remaining, d.reset_after, d.retry_after)
}

/// The Redis script and the in-process store make identical decisions (allowed, remaining,
/// reset_after, retry_after) on random request sequences over one or several policies, with
/// the same scripted clock. Together with tests/algorithms.rs (model + window properties of
/// the in-process store) this gives the same exactness guarantees through Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_matches_memory_exactly() {
    let Some(url) = redis_url() else { return };
    let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
    let store = RedisStore::connect(&url, client_time(&clock)).await.unwrap();
    let handle = tokio::runtime::Handle::current();

    let strategy = (
        prop::collection::vec(prop::sample::select(Algorithm::ALL.to_vec()), 1..4),
        prop::collection::vec(1u64..6, 3),
        prop::collection::vec(prop_oneof![Just(1u64), Just(10), Just(30)], 3),
        prop::collection::vec(prop_oneof![3 => Just(0u64), 4 => 0u64..2_000_000, 2 => 0u64..15_000_000], 1..60),
    );
    let mut runner = TestRunner::new(Config { cases: 48, ..Config::default() });
    let result = runner.run(&strategy, |(algs, limits, windows, gaps)| {
        // Fresh keys per case; a memory store on the same clock.
        let key = unique("client");
        let memory = MemoryStore::new(clock.clone());
        let checks: Vec<Check> = algs
            .iter()
            .enumerate()
            .map(|(i, &a)| check(&policy(&format!("p{i}"), a, limits[i], Duration::from_secs(windows[i])), &key))
            .collect();
        for &gap in &gaps {
            clock.advance(Duration::from_micros(gap));
            let want = memory.check_now(&checks);
            let got = tokio::task::block_in_place(|| handle.block_on(store.check(&checks))).unwrap();
            prop_assert_eq!(got.allowed(), want.allowed());
            for (g, w) in got.decisions.iter().zip(&want.decisions) {
                prop_assert_eq!(fields(g), fields(w), "policy {:?}", g.policy);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Scripted exact sequences through Redis (client time), one per algorithm.
#[tokio::test]
async fn redis_exact_scripted_sequences() {
    let Some(url) = redis_url() else { return };
    let s = 1_000_000u64;
    let base = 1_700_000_000 * s; // aligned to 10 s windows
    let clock = ManualClock::new(Duration::from_micros(base));
    let store = RedisStore::connect(&url, client_time(&clock)).await.unwrap();
    let at = |t: u64| clock.set(Duration::from_micros(base + t));
    let sec = |x: u64| Duration::from_micros(x);

    // Fixed window, 3 per 10 s.
    let c = [check(&policy("fw", Algorithm::FixedWindow, 3, Duration::from_secs(10)), "k")];
    at(2 * s);
    let d = &store.check(&c).await.unwrap().decisions[0];
    assert_eq!(fields(d), (true, 2, sec(8 * s), None));
    at(3 * s);
    store.check(&c).await.unwrap();
    store.check(&c).await.unwrap();
    let d = &store.check(&c).await.unwrap().decisions[0];
    assert_eq!(fields(d), (false, 0, sec(7 * s), Some(sec(7 * s))));
    at(10 * s);
    let d = &store.check(&c).await.unwrap().decisions[0];
    assert_eq!(fields(d), (true, 2, sec(10 * s), None));

    // Sliding log, 2 per 10 s.
    let c = [check(&policy("swl", Algorithm::SlidingWindowLog, 2, Duration::from_secs(10)), "k")];
    at(0);
    store.check(&c).await.unwrap();
    at(4 * s);
    let d = &store.check(&c).await.unwrap().decisions[0];
    assert_eq!(fields(d), (true, 0, sec(10 * s), None));
    at(9 * s);
    let d = &store.check(&c).await.unwrap().decisions[0];
    assert_eq!(fields(d), (false, 0, sec(5 * s), Some(sec(s))));
    at(10 * s);
    assert!(store.check(&c).await.unwrap().allowed());

    // Sliding counter, 10 per 10 s.
    let c = [check(&policy("swc", Algorithm::SlidingWindowCounter, 10, Duration::from_secs(10)), "k")];
    for i in 0..10 {
        at(i * 100_000);
        let d = &store.check(&c).await.unwrap().decisions[0];
        assert_eq!(d.remaining, 9 - i);
    }
    at(5 * s);
    let d = &store.check(&c).await.unwrap().decisions[0];
    assert_eq!(fields(d), (false, 0, sec(15 * s), Some(sec(6 * s))));
    at(12_500_000);
    assert_eq!(store.check(&c).await.unwrap().decisions[0].remaining, 1);
    assert!(store.check(&c).await.unwrap().allowed());
    let d = &store.check(&c).await.unwrap().decisions[0];
    assert_eq!(d.retry_after, Some(sec(500_000)));

    // Buckets, 5 per 10 s (one every 2 s).
    for alg in [Algorithm::TokenBucket, Algorithm::LeakyBucket] {
        let c = [check(&policy(alg.as_str(), alg, 5, Duration::from_secs(10)), "k")];
        at(0);
        for i in 0..5 {
            let d = &store.check(&c).await.unwrap().decisions[0];
            assert_eq!(fields(d), (true, 4 - i, sec((i + 1) * 2 * s), None), "{alg}");
        }
        at(s);
        let d = &store.check(&c).await.unwrap().decisions[0];
        assert_eq!(fields(d), (false, 0, sec(9 * s), Some(sec(s))), "{alg}");
        at(2 * s);
        let d = &store.check(&c).await.unwrap().decisions[0];
        assert_eq!(fields(d), (true, 0, sec(10 * s), None), "{alg}");
    }
}

/// A clock reading from before the stored window (the server clock stepped back, or a test's
/// client clock) keeps that window and its count, through Redis as in process.
#[tokio::test]
async fn redis_an_earlier_reading_does_not_reopen_a_window() {
    let Some(url) = redis_url() else { return };
    let boundary = Duration::from_secs(1_700_000_000); // a multiple of 10 s
    let clock = ManualClock::new(boundary);
    let store = RedisStore::connect(&url, client_time(&clock)).await.unwrap();
    for alg in Algorithm::ALL {
        let memory = MemoryStore::new(clock.clone());
        let c = [check(&policy(alg.as_str(), alg, 3, Duration::from_secs(10)), "k")];
        clock.set(boundary);
        for _ in 0..3 {
            assert!(store.check(&c).await.unwrap().allowed(), "{alg}");
            assert!(memory.check_now(&c).allowed(), "{alg}");
        }
        clock.set(boundary - Duration::from_micros(1));
        let got = store.check(&c).await.unwrap();
        let want = memory.check_now(&c);
        assert!(!got.allowed(), "{alg}: a reading from before the boundary was admitted");
        assert_eq!(fields(&got.decisions[0]), fields(&want.decisions[0]), "{alg}");
        clock.set(boundary + Duration::from_micros(1));
        assert!(!store.check(&c).await.unwrap().allowed(), "{alg}: the window's count was lost");
        assert!(!memory.check_now(&c).allowed(), "{alg}");
    }
}

/// With the server clock: limits hold, keys carry the hash tag and expire by themselves, and
/// the script is reloaded after SCRIPT FLUSH (NOSCRIPT).
#[tokio::test]
async fn redis_server_time_keys_expiry_and_noscript() {
    let Some(url) = redis_url() else { return };
    let cfg = config();
    let prefix = cfg.key_prefix.clone();
    let store = RedisStore::connect(&url, cfg).await.unwrap();
    let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    for alg in Algorithm::ALL {
        let p = policy(alg.as_str(), alg, 3, Duration::from_secs(60));
        let c = [check(&p, "203.0.113.9")];
        for i in 0..3 {
            let o = store.check(&c).await.unwrap();
            assert!(o.allowed(), "{alg}");
            assert_eq!(o.decisions[0].remaining, 2 - i);
            assert!(o.decisions[0].reset_after <= Duration::from_secs(120));
        }
        let o = store.check(&c).await.unwrap();
        assert!(!o.allowed(), "{alg}");
        let retry = o.decisions[0].retry_after.unwrap();
        assert!(retry > Duration::ZERO && retry <= Duration::from_secs(120), "{alg}: {retry:?}");

        let key = store.redis_key(&c[0]);
        assert!(key.starts_with(&format!("{prefix}:{{203.0.113.9}}:{}:", alg.as_str())), "{key}");
        let ttl: i64 = conn.pttl(&key).await.unwrap();
        assert!(ttl > 0 && ttl <= 120_000, "{alg}: ttl {ttl}");
    }
    // NOSCRIPT: flush the script cache; the next call reloads it transparently.
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut conn).await.unwrap();
    let p = policy("after-flush", Algorithm::FixedWindow, 1, Duration::from_secs(60));
    assert!(store.check(&[check(&p, "x")]).await.unwrap().allowed());
    assert!(!store.check(&[check(&p, "x")]).await.unwrap().allowed());
}

/// Multi-policy through Redis: a request denied by one policy consumes nothing from the others.
#[tokio::test]
async fn redis_rejected_requests_consume_nothing() {
    let Some(url) = redis_url() else { return };
    let store = RedisStore::connect(&url, config()).await.unwrap();
    let limiter = RateLimiter::new(store.clone());
    for (n, alg) in Algorithm::ALL.into_iter().enumerate() {
        let wide = policy(&format!("wide{n}"), alg, 10, Duration::from_secs(3600));
        let narrow = policy(&format!("narrow{n}"), Algorithm::FixedWindow, 2, Duration::from_secs(3600));
        let checks = [check(&wide, "user"), check(&narrow, "user")];
        let mut allowed = 0;
        for _ in 0..6 {
            let o = limiter.check(&checks).await.unwrap();
            if o.allowed() {
                allowed += 1;
            } else {
                assert_eq!(o.denied_by().unwrap().policy.name(), narrow.name());
                assert!(o.decisions[0].allowed, "{alg}: the wide policy would admit");
            }
        }
        assert_eq!(allowed, 2);
        let o = store.peek(&checks[..1]).await.unwrap();
        assert_eq!(o.decisions[0].remaining, 8, "{alg}: only the admitted requests count");
    }
}

/// Three stores (separate connections, like three app servers), 500 concurrent checks
/// against one limit of 100: exactly 100 admitted, for every algorithm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_stores_500_concurrent_checks_admit_exactly_100() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("rltest");
    let mut stores = Vec::new();
    for _ in 0..3 {
        let cfg = RedisConfig {
            key_prefix: prefix.clone(),
            command_timeout: Duration::from_secs(5),
            ..RedisConfig::default()
        };
        stores.push(RedisStore::connect(&url, cfg).await.unwrap());
    }
    // A 30-day window: no window boundary or refill falls inside the test.
    let window = Duration::from_secs(30 * 86_400);
    for alg in Algorithm::ALL {
        let p = policy(alg.as_str(), alg, 100, window);
        let mut tasks = Vec::new();
        for i in 0..500 {
            let store = stores[i % 3].clone();
            let c = vec![check(&p, "shared-client")];
            tasks.push(tokio::spawn(async move { store.check(&c).await.unwrap().allowed() }));
        }
        let mut allowed = 0;
        for t in tasks {
            if t.await.unwrap() {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 100, "{alg}");
    }
}
