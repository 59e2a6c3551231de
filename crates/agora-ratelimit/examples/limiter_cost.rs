//! Measures the limiter on its own, without HTTP or a database in the way:
//!
//! - in-process: nanoseconds per decision (`RateLimiter::check` on a `MemoryStore`, one
//!   policy, rotating over 10,000 client keys, headers rendered as the server does);
//! - Redis: decisions per second with 64 concurrent callers sharing one `RedisStore`
//!   (one multiplexed connection), to compare with `redis-benchmark`'s EVALSHA rate of the
//!   same script.
//!
//! `cargo run --release -p agora-ratelimit --example limiter_cost [redis://127.0.0.1:6379]`
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agora_ratelimit::{Algorithm, Check, MemoryStore, Policy, RateLimiter, RedisConfig, RedisStore};

const KEYS: usize = 10_000;

fn checks(alg: Algorithm, name: &str) -> Vec<Vec<Check>> {
    let p = Policy::new(name, alg, 100_000_000, Duration::from_secs(60)).unwrap();
    (0..KEYS).map(|i| vec![Check::new(p.clone(), format!("ip:10.0.{}.{}", i / 256, i % 256))]).collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::args().nth(1);
    println!("{:<34} {:>14}", "in-process (one caller)", "ns/decision");
    for alg in [Algorithm::SlidingWindowLog, Algorithm::TokenBucket] {
        let limiter = RateLimiter::new(MemoryStore::default());
        let cs = checks(alg, "bench");
        let n = 200_000;
        let start = Instant::now();
        for i in 0..n {
            let o = limiter.check(&cs[i % KEYS]).await.unwrap();
            std::hint::black_box(o.headers());
        }
        let ns = start.elapsed().as_nanos() as f64 / n as f64;
        println!("{:<34} {:>14.0}", format!("{alg:?}"), ns);
    }
    let Some(url) = url else { return };
    println!("\n{:<34} {:>14}", "Redis (64 concurrent callers)", "decisions/s");
    for alg in [Algorithm::SlidingWindowLog, Algorithm::TokenBucket] {
        let store = RedisStore::connect(
            &url,
            RedisConfig { command_timeout: Duration::from_secs(5), ..RedisConfig::default() },
        )
        .await
        .unwrap();
        let limiter = RateLimiter::new(store);
        let name = format!("bench{}", std::process::id());
        let cs = Arc::new(checks(alg, &name));
        let done = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(3);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..64 {
            let (limiter, cs, done) = (limiter.clone(), cs.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = t * 131;
                while Instant::now() < deadline {
                    limiter.check(&cs[i % KEYS]).await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
        println!("{:<34} {:>14.0}", format!("{alg:?}"), rate);
    }
}
