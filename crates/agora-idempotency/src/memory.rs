//! Records in this process: for a single instance, and for tests.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::record::{RecordState, Verdict, judge};
use crate::store::{ms, now_ms};
use crate::{Record, RecordKey, Reservation, Reserve, Store, StoreError, StoredResponse, Terms};

/// Records in a map under one lock (every step is a few map operations, never held across an
/// await). Lost when the process ends, so it promises nothing across a restart or between
/// instances.
///
/// Bounded: at `max_records` live records a new key is refused ([`StoreError::Full`]) rather
/// than forgetting a key some client is relying on. Expired records are found through a queue
/// in expiry order, so purging touches only what it removes.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    max_records: usize,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<RecordKey, Record>,
    /// `(expires_at_ms, key)` in push order; entries made stale by a later update are skipped.
    expiry: VecDeque<(u64, RecordKey)>,
}

/// The default bound on live records.
pub const DEFAULT_MAX_RECORDS: usize = 1_000_000;

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_max_records(DEFAULT_MAX_RECORDS)
    }
}

impl MemoryStore {
    /// A store that holds at most `max` live records.
    pub fn with_max_records(max: usize) -> Self {
        Self { inner: Mutex::new(Inner::default()), max_records: max.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the map consistent (every step is a single
        // insert or remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn purge(&mut self, now: u64) -> u64 {
        let mut removed = 0;
        while let Some((at, _)) = self.expiry.front() {
            // The queue is in push order and every push is now + the same TTL, so it is
            // (nearly) in expiry order; a stale entry past its time is skipped either way.
            if *at > now {
                break;
            }
            let Some((_, key)) = self.expiry.pop_front() else { break };
            if self.records.get(&key).is_some_and(|r| r.expires_at_ms <= now) {
                self.records.remove(&key);
                removed += 1;
            }
        }
        removed
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn reserve(&self, key: &RecordKey, terms: &Terms) -> Result<Reserve, StoreError> {
        let Terms { fingerprint, lease, ttl } = terms;
        let (lease, ttl) = (*lease, *ttl);
        let now = now_ms();
        let mut g = self.lock();
        match judge(g.records.get(key), fingerprint, now) {
            Verdict::Proceed => {
                if !g.records.contains_key(key) && g.records.len() >= self.max_records {
                    g.purge(now);
                    if g.records.len() >= self.max_records {
                        return Err(StoreError::Full);
                    }
                }
                let r = Reservation::new(key.clone(), None);
                let expires = now.saturating_add(ms(ttl));
                g.records.insert(
                    key.clone(),
                    Record {
                        fingerprint: *fingerprint,
                        state: RecordState::InProgress {
                            token: r.token.clone(),
                            lease_until_ms: now.saturating_add(ms(lease)),
                        },
                        expires_at_ms: expires,
                    },
                );
                g.expiry.push_back((expires, key.clone()));
                Ok(Reserve::Proceed(r))
            }
            Verdict::Replay(resp) => Ok(Reserve::Replay(resp)),
            Verdict::InProgress(retry_after) => Ok(Reserve::InProgress { retry_after }),
            Verdict::Mismatch => Ok(Reserve::Mismatch),
        }
    }

    async fn complete(&self, r: Reservation, response: &StoredResponse, ttl: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        let mut g = self.lock();
        let Some(rec) = g.records.get_mut(&r.key) else { return Err(StoreError::Lost) };
        if !matches!(&rec.state, RecordState::InProgress { token, .. } if *token == r.token) {
            return Err(StoreError::Lost);
        }
        let expires = now.saturating_add(ms(ttl));
        rec.state = RecordState::Completed(response.clone());
        rec.expires_at_ms = expires;
        g.expiry.push_back((expires, r.key));
        Ok(())
    }

    async fn release(&self, r: Reservation) -> Result<(), StoreError> {
        let mut g = self.lock();
        if g.records
            .get(&r.key)
            .is_some_and(|rec| matches!(&rec.state, RecordState::InProgress { token, .. } if *token == r.token))
        {
            g.records.remove(&r.key);
        }
        Ok(())
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(self.lock().purge(now_ms()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Fingerprint, IdempotencyKey};

    fn key(k: &str) -> RecordKey {
        RecordKey { scope: "user:1".into(), key: IdempotencyKey::parse(k.as_bytes()).unwrap() }
    }

    fn fp(n: u8) -> Fingerprint {
        Fingerprint::of(&http::Method::POST, "/x", &[n])
    }

    fn resp() -> StoredResponse {
        StoredResponse { status: 201, headers: vec![], body: "{}".into() }
    }

    const LEASE: Duration = Duration::from_secs(30);
    const TTL: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn reserve_complete_replay_release() {
        let s = MemoryStore::default();
        let Reserve::Proceed(r) =
            s.reserve(&key("a"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap()
        else {
            panic!()
        };
        assert!(matches!(
            s.reserve(&key("a"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap(),
            Reserve::InProgress { .. }
        ));
        assert!(matches!(
            s.reserve(&key("a"), &Terms { fingerprint: fp(2), lease: LEASE, ttl: TTL }).await.unwrap(),
            Reserve::Mismatch
        ));
        s.complete(r, &resp(), TTL).await.unwrap();
        assert!(
            matches!(s.reserve(&key("a"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap(), Reserve::Replay(x) if x == resp())
        );
        // Another scope does not see it.
        let other = RecordKey { scope: "user:2".into(), ..key("a") };
        assert!(matches!(
            s.reserve(&other, &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap(),
            Reserve::Proceed(_)
        ));
        // A released key is free again.
        let Reserve::Proceed(r) =
            s.reserve(&key("b"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap()
        else {
            panic!()
        };
        s.release(r).await.unwrap();
        assert!(matches!(
            s.reserve(&key("b"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap(),
            Reserve::Proceed(_)
        ));
    }

    #[tokio::test]
    async fn a_lapsed_lease_is_taken_over_and_the_old_holder_loses() {
        let s = MemoryStore::default();
        let Reserve::Proceed(old) =
            s.reserve(&key("a"), &Terms { fingerprint: fp(1), lease: Duration::ZERO, ttl: TTL }).await.unwrap()
        else {
            panic!()
        };
        let Reserve::Proceed(new) =
            s.reserve(&key("a"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap()
        else {
            panic!()
        };
        assert!(matches!(s.complete(old, &resp(), TTL).await, Err(StoreError::Lost)));
        s.complete(new, &resp(), TTL).await.unwrap();
    }

    #[tokio::test]
    async fn bounded_and_purged() {
        let s = MemoryStore::with_max_records(2);
        for k in ["a", "b"] {
            assert!(matches!(
                s.reserve(&key(k), &Terms { fingerprint: fp(1), lease: LEASE, ttl: Duration::ZERO }).await.unwrap(),
                Reserve::Proceed(_)
            ));
        }
        // Full of expired records: the reservation purges them and succeeds.
        assert!(matches!(
            s.reserve(&key("c"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap(),
            Reserve::Proceed(_)
        ));
        assert!(matches!(
            s.reserve(&key("d"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await.unwrap(),
            Reserve::Proceed(_)
        ));
        assert!(matches!(
            s.reserve(&key("e"), &Terms { fingerprint: fp(1), lease: LEASE, ttl: TTL }).await,
            Err(StoreError::Full)
        ));
        assert_eq!(s.purge_expired().await.unwrap(), 0);
    }
}
