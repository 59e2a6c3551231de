//! Rate limiting for Agora: five algorithms over an in-process and a Redis store, a fallback
//! wrapper for backend failures, `RateLimit` header rendering, route globs and a tower layer.
//!
//! See `docs/RATE-LIMITING.md` in the repository for the algorithms and the Redis design.
//!
//! ```
//! # use std::time::Duration;
//! # use agora_ratelimit::*;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let burst = Policy::new("burst", Algorithm::TokenBucket, 5, Duration::from_secs(1)).unwrap();
//! let limiter = RateLimiter::new(MemoryStore::default());
//! let outcome = limiter.check(&[Check::new(burst, "203.0.113.7")]).await.unwrap();
//! assert!(outcome.allowed());
//! assert_eq!(outcome.decisions[0].remaining, 4);
//! # });
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod algo;
mod clock;
mod decision;
mod fallback;
pub mod headers;
mod layer;
mod limiter;
mod memory;
pub mod metrics_names;
mod policy;
mod redis_store;
pub mod route;

pub use clock::{Clock, ManualClock, SystemClock};
/// The inline string type of [`Check::key`] (for its `format_compact!` macro).
pub use compact_str;
pub use decision::{Decision, Decisions, Outcome};
pub use fallback::{FallbackLimiter, OnBackendError};
pub use headers::{insert_rate_limit_headers, rate_limit_headers, rate_limit_headers_at};
pub use layer::{RateLimitLayer, RateLimitService};
pub use limiter::{LimitError, Limiter, RateLimiter, SYNC_LATENCY_SAMPLE};
pub use memory::{DEFAULT_MAX_KEYS, MemoryStore};
pub use policy::{Algorithm, Check, Checks, MAX_LIMIT_TIMES_WINDOW_MICROS, Policy, PolicyError};
pub use redis_store::{RedisConfig, RedisStore, TimeSource};
pub use route::{RouteTable, glob_match, route_matches};
/// The small-vector crate behind [`Checks`] and [`Decisions`] (for its `smallvec!` macro).
pub use smallvec;
