//! Idempotency keys for HTTP APIs (the IETF `Idempotency-Key` header, draft 6): a client that
//! sends a key with an unsafe request can retry it, after a timeout, a dropped connection or a
//! crash, and get the first attempt's answer instead of a second effect.
//!
//! The pieces, usable separately:
//!
//! - [`IdempotencyKey`]: the header's value, 1–255 printable ASCII characters, bare or as the
//!   draft's quoted structured-field string.
//! - [`Fingerprint`]: what makes two requests "the same": method, target and a digest of the
//!   body.
//! - [`record`]: the record's states (in progress under a lease, then completed with the
//!   stored response) and [`record::judge`], the one decision every store makes when a key
//!   arrives.
//! - [`Store`]: where records live — [`MemoryStore`] (one process), [`RedisStore`] (shared
//!   by every instance, one round trip per step), or an application's own (a SQL store that
//!   commits the record in the same transaction as the business write hands the request a
//!   [`Unit`] to write through).
//! - [`IdempotencyLayer`]: a tower layer that replays, refuses or runs each request.
//!
//! It depends on `http` and `tower` only (plus `redis` for the Redis store), not on a web
//! framework: the application says which requests honour keys, what a caller's scope is, and
//! how a refusal looks on the wire.

pub mod fault;
mod fingerprint;
mod key;
mod layer;
mod memory;
pub mod metrics_names;
pub mod record;
#[cfg(feature = "redis")]
mod redis_store;
pub mod store;

pub use fingerprint::Fingerprint;
pub use key::{IdempotencyKey, KeyError, MAX_KEY_LEN};
pub use layer::{IdempotencyLayer, IdempotencyService, Refusal, Rule, RunFuture, Settings};
pub use memory::MemoryStore;
pub use record::{Record, RecordState, StoredResponse, Verdict};
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use store::{RecordKey, Reservation, Reserve, Store, StoreError, Terms, Unit};

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The response header that marks a replayed response.
pub const IDEMPOTENCY_REPLAY: &str = "idempotency-replay";
