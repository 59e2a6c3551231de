//! Shared helpers for the integration tests; Redis discovery and throw-away servers come from
//! `agora-test-support`.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agora_ratelimit::{Algorithm, Check, Policy};
pub use agora_test_support::redis::{RedisCluster, RedisServer, can_spawn_redis, free_port};
pub use agora_test_support::{redis_url, unique};

pub fn policy(name: &str, alg: Algorithm, limit: u64, window: Duration) -> Policy {
    Policy::new(name, alg, limit, window).unwrap()
}

pub fn check(p: &Policy, key: &str) -> Check {
    Check::new(p.clone(), key)
}
