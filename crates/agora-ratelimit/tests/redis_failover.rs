//! Redis stops mid-run: allow-mode falls back to the in-process limiter, deny-mode errors, and
//! both recover by themselves when Redis comes back on the same port.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use agora_ratelimit::{
    Algorithm, FallbackLimiter, LimitError, MemoryStore, OnBackendError, RateLimiter, RedisConfig, RedisStore,
};
use common::{RedisServer, can_spawn_redis, check, free_port, policy, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_or_denies_while_redis_is_down_and_recovers() {
    if !can_spawn_redis() {
        return;
    }
    let port = free_port();
    let mut server = RedisServer::start(port);
    let cfg = RedisConfig {
        key_prefix: unique("rltest"),
        command_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(200),
        reconnect_retries: 1,
        ..RedisConfig::default()
    };
    let store = RedisStore::connect(&server.url(), cfg).await.unwrap();
    let allow = RateLimiter::new(
        FallbackLimiter::new(store.clone(), MemoryStore::default(), OnBackendError::Allow)
            .with_probe_interval(Duration::ZERO),
    );
    let deny = RateLimiter::new(
        FallbackLimiter::new(store.clone(), MemoryStore::default(), OnBackendError::Deny)
            .with_probe_interval(Duration::ZERO),
    );
    let p = policy("p", Algorithm::FixedWindow, 3, Duration::from_secs(3600));
    let c = [check(&p, "client")];

    // Redis up: decided by Redis.
    let o = allow.check(&c).await.unwrap();
    assert!(o.allowed() && !o.fallback);
    assert!(!deny.check(&c).await.unwrap().fallback);

    // Redis down.
    server.kill();
    for _ in 0..3 {
        let o = allow.check(&c).await.unwrap();
        assert!(o.fallback, "allow mode must answer from the fallback");
        assert!(o.allowed());
    }
    // The fallback enforces the same policies (per process): 3 admitted, then denied.
    let o = allow.check(&c).await.unwrap();
    assert!(o.fallback && !o.allowed());
    match deny.check(&c).await {
        Err(LimitError::Unavailable(_)) => {}
        other => panic!("deny mode must fail while Redis is down, got {other:?}"),
    }

    // Redis back on the same port (empty: it was started without persistence).
    let _server = RedisServer::start(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match allow.check(&c).await {
            Ok(o) if !o.fallback => break,
            _ => {}
        }
        assert!(Instant::now() < deadline, "did not recover from the outage");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let o = deny.check(&c).await.unwrap();
    assert!(!o.fallback);
    // Back on Redis: one admitted by the recovery probe above, one now.
    assert_eq!(o.decisions[0].remaining, 1);
}
