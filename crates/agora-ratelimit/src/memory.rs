//! The in-process store.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use compact_str::CompactString;
use futures::future::BoxFuture;
use hashbrown::HashTable;

use crate::algo::{Params, Peek, State};
use crate::clock::{Clock, SystemClock, micros};
use crate::decision::{Decision, Decisions, Outcome};
use crate::limiter::{LimitError, Limiter};
use crate::metrics_names::EVICTIONS_TOTAL;
use crate::policy::Check;

/// hashbrown's default hasher (a randomly seeded foldhash) rather than std's SipHash: the seed
/// keeps flooding impractical (keys are IPs and principal ids the server derives, never raw
/// client strings) at a fraction of the cost.
type RandomState = hashbrown::DefaultHashBuilder;

/// One `(policy, key)`'s state.
struct Slot {
    policy: Arc<str>,
    key: CompactString,
    entry: Entry,
}

struct Entry {
    state: State,
    /// µs at which `state` is equivalent to a fresh one and may be dropped.
    expires_at: u64,
}

/// One shard: a hash table of slots, looked up by a hash computed once per check (it also
/// picks the shard), so a decision hashes its key once and copies nothing unless the key is
/// new.
#[derive(Default)]
struct Shard {
    slots: HashTable<Slot>,
    last_sweep: u64,
}

/// Default of [`MemoryStore::with_max_keys`].
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

/// A full shard sweeps its expired entries at most this often (µs), so a flood of new keys
/// does not make every request scan the shard.
const FULL_SWEEP_INTERVAL_US: u64 = 1_000_000;

/// Rate-limit state kept in this process: a sharded map of `(policy name, key) → state`.
///
/// A request's checks are decided under the locks of all the shards they touch (taken in
/// index order), so check-all-then-commit is atomic. Memory stays bounded: each entry records
/// when it becomes equivalent to a fresh state, expired entries are treated as fresh on
/// access, and each shard drops its expired entries at most once per sweep interval (default
/// 10 s of clock time) when it is next locked. [`MemoryStore::sweep`] does it for all shards.
///
/// The number of keys is capped too ([`with_max_keys`](Self::with_max_keys)), because clients
/// choose their keys: one host with an IPv6 /48 has 65,536 /64 prefixes to rotate through.
/// Expiry alone bounds the store by the key rate × the window, not by any fixed size. A full
/// shard first drops its expired entries, then forgets one live key (which starts over with
/// a fresh quota) for each new one, and counts it in `agora_ratelimit_evictions_total`. The
/// other choices are worse: refusing new keys would let a flood lock out every new client,
/// and admitting them uncounted would let it switch limiting off.
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    sweep_interval_us: u64,
    max_keys: usize,
    /// `ceil(max_keys / shards)`.
    max_per_shard: usize,
    evictions: OnceLock<metrics::Counter>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("shards", &self.shards.len())
            .field("sweep_interval_us", &self.sweep_interval_us)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(SystemClock::new())
    }
}

impl MemoryStore {
    /// A store reading time from `clock` (use [`SystemClock`] in production,
    /// [`ManualClock`](crate::ManualClock) in tests), with 32 shards.
    pub fn new(clock: impl Clock) -> MemoryStore {
        MemoryStore {
            clock: Arc::new(clock),
            shards: (0..32).map(|_| Mutex::default()).collect(),
            hasher: RandomState::default(),
            sweep_interval_us: 10_000_000,
            max_keys: DEFAULT_MAX_KEYS,
            max_per_shard: DEFAULT_MAX_KEYS.div_ceil(32),
            evictions: OnceLock::new(),
        }
    }

    /// Sets the number of shards (at least 1).
    pub fn with_shards(mut self, shards: usize) -> MemoryStore {
        self.shards = (0..shards.max(1)).map(|_| Mutex::default()).collect();
        let max_keys = self.max_keys;
        self.with_max_keys(max_keys)
    }

    /// Caps the number of `(policy, key)` entries held (at least one per shard; default
    /// [`DEFAULT_MAX_KEYS`]). The cap is kept per shard, as `ceil(max_keys / shards)`; keys
    /// spread evenly over the shards, so the store holds about `max_keys` at most.
    pub fn with_max_keys(mut self, max_keys: usize) -> MemoryStore {
        self.max_keys = max_keys.max(1);
        self.max_per_shard = self.max_keys.div_ceil(self.shards.len()).max(1);
        self
    }

    /// Sets how often (in clock time) a shard drops expired entries when locked.
    pub fn with_sweep_interval(mut self, interval: Duration) -> MemoryStore {
        self.sweep_interval_us = micros(interval);
        self
    }

    /// Number of keys currently held (including expired ones not yet swept).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).slots.len()).sum()
    }

    /// True if no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired entry now.
    pub fn sweep(&self) {
        let now = micros(self.clock.now());
        for s in self.shards.iter() {
            let mut s = lock(s);
            sweep_shard(&mut s, now);
        }
    }

    fn hash_of(&self, policy: &str, key: &str) -> u64 {
        self.hasher.hash_one((policy, key))
    }

    /// The shard for a hash. The table inside the shard uses the hash's low bits (bucket) and
    /// top 7 bits (tag), so the shard is picked from bits in between: otherwise every key of a
    /// shard would share its low bits and crowd into a fraction of the buckets.
    fn shard_for(&self, hash: u64) -> usize {
        ((hash >> 32) % self.shards.len() as u64) as usize
    }

    /// Decides synchronously (the `Limiter` impl just wraps this).
    pub fn check_now(&self, checks: &[Check]) -> Outcome {
        self.decide(checks, true)
    }

    /// What [`check_now`](Self::check_now) would decide, without consuming anything.
    pub fn peek(&self, checks: &[Check]) -> Outcome {
        self.decide(checks, false)
    }

    fn decide(&self, checks: &[Check], commit: bool) -> Outcome {
        if let [only] = checks {
            return self.decide_one(only, commit);
        }
        let hashes: Vec<u64> = checks.iter().map(|c| self.hash_of(c.policy.name(), &c.key)).collect();
        let shard_idx: Vec<usize> = hashes.iter().map(|&h| self.shard_for(h)).collect();
        let mut order = shard_idx.clone();
        order.sort_unstable();
        order.dedup();
        // Lock in ascending index order: no deadlock between concurrent requests.
        let mut guards: Vec<(usize, MutexGuard<'_, Shard>)> =
            order.iter().map(|&i| (i, lock(&self.shards[i]))).collect();
        // Read under the locks: the requests a key sees are then stamped in the order they
        // reach it (see `decide_one`).
        let now = micros(self.clock.now());
        for (_, g) in guards.iter_mut() {
            if now >= g.last_sweep.saturating_add(self.sweep_interval_us) {
                sweep_shard(g, now);
            }
        }

        // Phase 1: normalize and peek every policy.
        let mut peeks: Vec<(Params, Peek)> = Vec::with_capacity(checks.len());
        for (i, c) in checks.iter().enumerate() {
            let p = Params::of(&c.policy);
            let entry = self.current_entry(shard_mut(&mut guards, shard_idx[i]), hashes[i], c, checks, &p, now);
            peeks.push((p, entry.state.peek(&p, now)));
        }
        let all = commit && peeks.iter().all(|(_, pk)| pk.allowed);

        // Phase 2: commit only if every policy admits the request.
        let mut decisions = Decisions::with_capacity(checks.len());
        for (i, c) in checks.iter().enumerate() {
            let (p, pk) = peeks[i];
            let view = if all {
                let shard = shard_mut(&mut guards, shard_idx[i]);
                match shard.slots.find_mut(hashes[i], |s| is_slot_of(s, c)) {
                    Some(slot) => slot.entry.commit(&p, now),
                    None => pk,
                }
            } else {
                pk
            };
            decisions.push(to_decision(c, &view, pk.allowed));
        }
        Outcome { decisions, fallback: false }
    }
}

impl MemoryStore {
    /// [`Self::decide`] for the common case of one policy: one shard, no bookkeeping vectors.
    fn decide_one(&self, c: &Check, commit: bool) -> Outcome {
        let p = Params::of(&c.policy);
        let hash = self.hash_of(c.policy.name(), &c.key);
        let mut shard = lock(&self.shards[self.shard_for(hash)]);
        // The clock is read under the lock, so that a key's requests are stamped in the order
        // they reach it. (Read before, a request could wait for the lock behind one stamped
        // later; the algorithms tolerate that, but it would stamp the log out of order.)
        let now = micros(self.clock.now());
        if now >= shard.last_sweep.saturating_add(self.sweep_interval_us) {
            sweep_shard(&mut shard, now);
        }
        let entry = self.current_entry(&mut shard, hash, c, std::slice::from_ref(c), &p, now);
        let pk = entry.state.peek(&p, now);
        let view = if commit && pk.allowed { entry.commit(&p, now) } else { pk };
        Outcome { decisions: smallvec::smallvec![to_decision(c, &view, pk.allowed)], fallback: false }
    }
}

impl Entry {
    /// Consumes one unit of quota and returns the state as it now stands.
    fn commit(&mut self, p: &Params, now: u64) -> Peek {
        self.state.commit(p, now);
        self.expires_at = self.state.expires_at(p, now);
        self.state.peek(p, now)
    }
}

impl MemoryStore {
    /// The entry for `c` (whose hash is `hash`), created or restarted if it is missing, expired
    /// or of another algorithm, and brought up to `now`. Making room for a new key never
    /// evicts the entry of one of `request` (the checks of the request being decided).
    fn current_entry<'s>(
        &self,
        shard: &'s mut Shard,
        hash: u64,
        c: &Check,
        request: &[Check],
        p: &Params,
        now: u64,
    ) -> &'s mut Entry {
        if shard.slots.len() >= self.max_per_shard && shard.slots.find(hash, |s| is_slot_of(s, c)).is_none() {
            self.make_room(shard, request, now);
        }
        let slot = shard
            .slots
            .entry(hash, |s| is_slot_of(s, c), |s| self.hash_of(&s.policy, &s.key))
            .or_insert_with(|| Slot {
                policy: c.policy.name_arc().clone(),
                key: c.key.clone(),
                entry: Entry { state: State::fresh(p, now), expires_at: 0 },
            })
            .into_mut();
        let entry = &mut slot.entry;
        if entry.expires_at <= now || !entry.state.is_for(p.alg) {
            entry.state = State::fresh(p, now);
            entry.expires_at = entry.state.expires_at(p, now);
        }
        // `normalize` does not change what the state means, so the expiry stays as it was
        // (a commit recomputes it).
        entry.state.normalize(p, now);
        entry
    }
}

impl MemoryStore {
    /// Brings a full shard below its cap: drops the expired entries (at most once per
    /// [`FULL_SWEEP_INTERVAL_US`]), and if that is not enough, one live entry that belongs to
    /// none of `request`'s checks. Which one does not matter (any forgotten key just starts
    /// over), so it is the first in table order: a scan of the control bytes, 16 buckets at a
    /// step, that stops at the first occupied one.
    fn make_room(&self, shard: &mut Shard, request: &[Check], now: u64) {
        if now >= shard.last_sweep.saturating_add(FULL_SWEEP_INTERVAL_US) {
            sweep_shard(shard, now);
        }
        while shard.slots.len() >= self.max_per_shard {
            let victim = shard
                .slots
                .iter()
                .find(|s| !request.iter().any(|c| is_slot_of(s, c)))
                .map(|s| (s.policy.clone(), s.key.clone()));
            let Some((policy, key)) = victim else { return };
            let hash = self.hash_of(&policy, &key);
            if let Ok(found) = shard.slots.find_entry(hash, |s| *s.policy == *policy && s.key == key) {
                found.remove();
                self.evictions.get_or_init(|| metrics::counter!(EVICTIONS_TOTAL)).increment(1);
            } else {
                return;
            }
        }
    }
}

fn is_slot_of(slot: &Slot, c: &Check) -> bool {
    slot.key == c.key && *slot.policy == *c.policy.name()
}

pub(crate) fn to_decision(c: &Check, view: &Peek, allowed: bool) -> Decision {
    Decision {
        policy: c.policy.clone(),
        allowed,
        limit: c.policy.limit(),
        remaining: view.remaining,
        reset_after: Duration::from_micros(view.reset_after),
        retry_after: (!allowed).then(|| Duration::from_micros(view.retry_after)),
    }
}

/// Drops expired entries.
fn sweep_shard(shard: &mut Shard, now: u64) {
    shard.slots.retain(|s| s.entry.expires_at > now);
    shard.last_sweep = now;
}

fn shard_mut<'g>(guards: &'g mut [(usize, MutexGuard<'_, Shard>)], shard: usize) -> &'g mut Shard {
    // `guards` holds every shard the request touches; the fallback index is never used.
    let pos = guards.iter().position(|(s, _)| *s == shard).unwrap_or(0);
    &mut guards[pos].1
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Limiter for MemoryStore {
    fn check<'a>(&'a self, checks: &'a [Check]) -> BoxFuture<'a, Result<Outcome, LimitError>> {
        let outcome = self.check_now(checks);
        Box::pin(async move { Ok(outcome) })
    }

    fn check_sync(&self, checks: &[Check]) -> Option<Result<Outcome, LimitError>> {
        Some(Ok(self.check_now(checks)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::policy::{Algorithm, Policy};

    fn check(policy: &Policy, key: &str) -> Check {
        Check::new(policy.clone(), key)
    }

    fn remaining(store: &MemoryStore, checks: &[Check]) -> Vec<u64> {
        store.check_now(checks).decisions.iter().map(|d| d.remaining).collect()
    }

    #[test]
    fn the_key_count_stays_within_the_cap() {
        let clock = ManualClock::new(Duration::from_secs(1_000));
        let store = MemoryStore::new(clock.clone()).with_shards(4).with_max_keys(8);
        let p = Policy::new("p", Algorithm::FixedWindow, 10, Duration::from_secs(60)).unwrap();
        for i in 0..1_000 {
            store.check_now(&[check(&p, &format!("ip:{i}"))]);
            assert!(store.len() <= 8, "{} keys after {i}", store.len());
        }
        // Each shard holds at most ceil(8 / 4) = 2.
        assert!(store.shards.iter().all(|s| lock(s).slots.len() <= 2));
    }

    #[test]
    fn expired_keys_make_room_before_live_ones_are_forgotten() {
        let clock = ManualClock::new(Duration::from_secs(1_000));
        let store = MemoryStore::new(clock.clone()).with_shards(1).with_max_keys(2);
        let short = Policy::new("short", Algorithm::FixedWindow, 10, Duration::from_secs(1)).unwrap();
        let long = Policy::new("long", Algorithm::FixedWindow, 10, Duration::from_secs(3_600)).unwrap();
        assert_eq!(remaining(&store, &[check(&long, "a")]), [9]);
        assert_eq!(remaining(&store, &[check(&short, "b")]), [9]);
        clock.advance(Duration::from_secs(2));
        // "b" has expired: it goes, and "a" keeps its count.
        assert_eq!(remaining(&store, &[check(&long, "c")]), [9]);
        assert_eq!(remaining(&store, &[check(&long, "a")]), [8]);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn a_forgotten_key_starts_over_and_known_keys_keep_counting() {
        let clock = ManualClock::new(Duration::from_secs(1_000));
        let store = MemoryStore::new(clock.clone()).with_shards(1).with_max_keys(1);
        let p = Policy::new("p", Algorithm::SlidingWindowLog, 3, Duration::from_secs(60)).unwrap();
        assert_eq!(remaining(&store, &[check(&p, "a")]), [2]);
        assert_eq!(remaining(&store, &[check(&p, "a")]), [1]);
        // A new key takes the only place: "a" is forgotten.
        assert_eq!(remaining(&store, &[check(&p, "b")]), [2]);
        assert_eq!(remaining(&store, &[check(&p, "a")]), [2]);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn making_room_never_evicts_the_request_own_checks() {
        let clock = ManualClock::new(Duration::from_secs(1_000));
        // Two checks of one request, in one shard that holds two keys: the second new key
        // must evict the older third key, not the first check's fresh entry.
        let store = MemoryStore::new(clock.clone()).with_shards(1).with_max_keys(2);
        let a = Policy::new("a", Algorithm::TokenBucket, 5, Duration::from_secs(60)).unwrap();
        let b = Policy::new("b", Algorithm::TokenBucket, 5, Duration::from_secs(60)).unwrap();
        assert_eq!(remaining(&store, &[check(&a, "other")]), [4]);
        assert_eq!(remaining(&store, &[check(&a, "x"), check(&b, "x")]), [4, 4]);
        assert_eq!(remaining(&store, &[check(&a, "x"), check(&b, "x")]), [3, 3], "both committed and kept");
        // With a cap of one, a two-check request cannot keep both; it still decides both.
        let tiny = MemoryStore::new(clock.clone()).with_shards(1).with_max_keys(1);
        assert_eq!(remaining(&tiny, &[check(&a, "x"), check(&b, "x")]), [4, 4]);
        // ...and keeps both (the cap gives way to the request): the next one counts on.
        assert_eq!(remaining(&tiny, &[check(&a, "x"), check(&b, "x")]), [3, 3]);
    }
}
