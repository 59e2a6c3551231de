//! Where records live.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::{Fingerprint, IdempotencyKey, StoredResponse};

/// A key within its scope: one caller's keys never meet another's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey {
    /// Who is calling, as the application names it (`user:42`, `anonymous`).
    pub scope: String,
    /// The client's key.
    pub key: IdempotencyKey,
}

impl RecordKey {
    /// A digest of scope and key, for stores that need one flat string (Redis): length-prefixed,
    /// so no scope/key split can collide with another.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update((self.scope.len() as u64).to_be_bytes());
        h.update(self.scope.as_bytes());
        h.update(self.key.as_str().as_bytes());
        hex::encode(h.finalize())
    }
}

/// A store's handle on the work of one request, put into the request's extensions while it
/// runs. The SQL store uses it to carry its transaction: the application's repositories find it
/// there and write through it, and [`Store::complete`] commits the record in the same
/// transaction. Stores that need none leave it out.
#[derive(Clone)]
pub struct Unit(pub Arc<dyn Any + Send + Sync>);

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unit")
    }
}

/// What a reservation asks for.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    /// The request the key is for.
    pub fingerprint: Fingerprint,
    /// How long the key is held while the request runs.
    pub lease: Duration,
    /// How long the record is kept.
    pub ttl: Duration,
}

/// A held key: proof that this request may run and must complete or release the record.
#[derive(Debug)]
pub struct Reservation {
    /// The key.
    pub key: RecordKey,
    /// This holder's token (the record's `token` while in progress).
    pub token: String,
    /// The store's handle on the request's work, if it has one.
    pub unit: Option<Unit>,
}

impl Reservation {
    /// A reservation with a fresh random token.
    pub fn new(key: RecordKey, unit: Option<Unit>) -> Self {
        Self { key, token: uuid::Uuid::new_v4().simple().to_string(), unit }
    }
}

/// The outcome of reserving a key.
#[derive(Debug)]
pub enum Reserve {
    /// The key is this request's: run it.
    Proceed(Reservation),
    /// Same request, finished: this is its response.
    Replay(StoredResponse),
    /// Same request, still running.
    InProgress {
        /// How long the client should wait.
        retry_after: Duration,
    },
    /// The key was used for another request.
    Mismatch,
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer (or answered nonsense); the request is refused with 503.
    #[error("idempotency store unavailable: {0}")]
    Unavailable(String),
    /// The reservation is no longer this request's (its lease lapsed and another request took
    /// the key over); whatever it wrote was rolled back where the store could.
    #[error("the reservation was lost")]
    Lost,
    /// The store is full (the in-memory store's bound).
    #[error("the idempotency store is full")]
    Full,
}

/// A place for records. Each step is atomic, so concurrent requests with one key agree on a
/// single holder.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reserves `key` on `terms`, or says why not, applying [`crate::record::judge`]
    /// atomically.
    async fn reserve(&self, key: &RecordKey, terms: &Terms) -> Result<Reserve, StoreError>;

    /// Stores the response and completes the record, kept for `ttl` (committing the
    /// reservation's unit of work with it, for stores that have one).
    async fn complete(&self, r: Reservation, response: &StoredResponse, ttl: Duration) -> Result<(), StoreError>;

    /// Frees the key (rolling back the reservation's unit of work, if any): the response is not
    /// kept and a retry runs again.
    async fn release(&self, r: Reservation) -> Result<(), StoreError>;

    /// Removes expired records; returns how many. Called in the background, never on a
    /// request's path.
    async fn purge_expired(&self) -> Result<u64, StoreError>;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Milliseconds in `d`, saturating.
pub fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
