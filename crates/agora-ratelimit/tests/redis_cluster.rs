//! A 3-master Redis Cluster started by the test: limits still hold exactly.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use agora_ratelimit::{Algorithm, Limiter, RateLimiter, RedisConfig, RedisStore};
use common::{RedisCluster, can_spawn_redis, check, policy, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_limits_hold_exactly() {
    if !can_spawn_redis() {
        return;
    }
    let cluster = tokio::task::spawn_blocking(RedisCluster::start).await.unwrap();
    let prefix = unique("rltest");
    let mut stores = Vec::new();
    for _ in 0..3 {
        let cfg = RedisConfig {
            key_prefix: prefix.clone(),
            command_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            ..RedisConfig::default()
        };
        let store = RedisStore::connect(&cluster.url(), cfg).await.unwrap();
        assert!(store.is_cluster());
        stores.push(store);
    }
    let window = Duration::from_secs(30 * 86_400);

    // Per algorithm: 3 client keys (spread over slots), 150 concurrent checks each, limit 50.
    for alg in Algorithm::ALL {
        let p = policy(alg.as_str(), alg, 50, window);
        let mut tasks = Vec::new();
        for i in 0..450 {
            let store = stores[i % 3].clone();
            let c = vec![check(&p, &format!("client-{}", i % 3))];
            tasks.push(tokio::spawn(async move { (i % 3, store.check(&c).await.unwrap().allowed()) }));
        }
        let mut allowed = [0; 3];
        for t in tasks {
            let (k, ok) = t.await.unwrap();
            if ok {
                allowed[k] += 1;
            }
        }
        assert_eq!(allowed, [50, 50, 50], "{alg}");
    }

    // Policies on different client keys (different slots: one script call per key, with
    // refunds): a request rejected by the per-IP policy consumes nothing from the per-user one.
    let limiter = RateLimiter::new(stores[0].clone());
    for alg in Algorithm::ALL {
        let user = policy(&format!("user-{}", alg.as_str()), alg, 10, window);
        let ip = policy(&format!("ip-{}", alg.as_str()), Algorithm::FixedWindow, 3, window);
        // "a-user" sorts before "b-ip": the user policy is committed first, then refunded.
        let checks = [check(&user, "a-user"), check(&ip, "b-ip")];
        let mut allowed = 0;
        for _ in 0..8 {
            let o = limiter.check(&checks).await.unwrap();
            if o.allowed() {
                allowed += 1;
            } else {
                assert_eq!(o.denied_by().unwrap().policy.name(), ip.name());
            }
        }
        assert_eq!(allowed, 3, "{alg}");
        let o = stores[1].peek(&checks[..1]).await.unwrap();
        assert_eq!(o.decisions[0].remaining, 7, "{alg}: refunds restore the user quota");
    }
    drop(cluster);
}
