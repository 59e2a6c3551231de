//! The in-process store.

use hashbrown::HashMap;
use std::hash::BuildHasher;

/// hashbrown with its default hasher (a randomly seeded foldhash) rather than std's SipHash:
/// keys are hashed several times per request, and the seed keeps flooding impractical (keys
/// are IPs and principal ids the server derives, never raw client strings) at a fraction of
/// the cost. Its `entry_ref` also looks up by `&str` and copies the key only on insert.
type RandomState = hashbrown::DefaultHashBuilder;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::algo::{Params, Peek, State};
use crate::clock::{Clock, SystemClock, micros};
use crate::decision::{Decision, Decisions, Outcome};
use crate::limiter::{LimitError, Limiter};
use crate::policy::Check;

struct Entry {
    state: State,
    /// µs at which `state` is equivalent to a fresh one and may be dropped.
    expires_at: u64,
}

#[derive(Default)]
struct Shard {
    /// Policy name → client key → state. Nested (rather than keyed by a pair) so that a
    /// lookup borrows the request's strings instead of cloning them.
    map: HashMap<Arc<str>, HashMap<String, Entry>>,
    last_sweep: u64,
}

/// Rate-limit state kept in this process: a sharded map of `(policy name, key) → state`.
///
/// A request's checks are decided under the locks of all the shards they touch (taken in
/// index order), so check-all-then-commit is atomic. Memory stays bounded: each entry records
/// when it becomes equivalent to a fresh state, expired entries are treated as fresh on
/// access, and each shard drops its expired entries at most once per sweep interval (default
/// 10 s of clock time) when it is next locked. [`MemoryStore::sweep`] does it for all shards.
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    sweep_interval_us: u64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("shards", &self.shards.len())
            .field("sweep_interval_us", &self.sweep_interval_us)
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
        }
    }

    /// Sets the number of shards (at least 1).
    pub fn with_shards(mut self, shards: usize) -> MemoryStore {
        self.shards = (0..shards.max(1)).map(|_| Mutex::default()).collect();
        self
    }

    /// Sets how often (in clock time) a shard drops expired entries when locked.
    pub fn with_sweep_interval(mut self, interval: Duration) -> MemoryStore {
        self.sweep_interval_us = micros(interval);
        self
    }

    /// Number of keys currently held (including expired ones not yet swept).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).map.values().map(HashMap::len).sum::<usize>()).sum()
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

    fn shard_of(&self, c: &Check) -> usize {
        let h = self.hasher.hash_one((c.policy.name(), c.key.as_str()));
        (h % self.shards.len() as u64) as usize
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
        let now = micros(self.clock.now());
        let shard_idx: Vec<usize> = checks.iter().map(|c| self.shard_of(c)).collect();
        let mut order = shard_idx.clone();
        order.sort_unstable();
        order.dedup();
        // Lock in ascending index order: no deadlock between concurrent requests.
        let mut guards: Vec<(usize, MutexGuard<'_, Shard>)> =
            order.iter().map(|&i| (i, lock(&self.shards[i]))).collect();
        for (_, g) in guards.iter_mut() {
            if now >= g.last_sweep.saturating_add(self.sweep_interval_us) {
                sweep_shard(g, now);
            }
        }

        // Phase 1: normalize and peek every policy.
        let mut peeks: Vec<(Params, Peek)> = Vec::with_capacity(checks.len());
        for (i, c) in checks.iter().enumerate() {
            let p = Params::of(&c.policy);
            let entry = current_entry(shard_mut(&mut guards, shard_idx[i]), c, &p, now);
            peeks.push((p, entry.state.peek(&p, now)));
        }
        let all = commit && peeks.iter().all(|(_, pk)| pk.allowed);

        // Phase 2: commit only if every policy admits the request.
        let mut decisions = Decisions::with_capacity(checks.len());
        for (i, c) in checks.iter().enumerate() {
            let (p, pk) = peeks[i];
            let view = if all {
                let shard = shard_mut(&mut guards, shard_idx[i]);
                match shard.map.get_mut(c.policy.name()).and_then(|keys| keys.get_mut(c.key.as_str())) {
                    Some(entry) => entry.commit(&p, now),
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
        let now = micros(self.clock.now());
        let p = Params::of(&c.policy);
        let mut shard = lock(&self.shards[self.shard_of(c)]);
        if now >= shard.last_sweep.saturating_add(self.sweep_interval_us) {
            sweep_shard(&mut shard, now);
        }
        let entry = current_entry(&mut shard, c, &p, now);
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

/// The entry for `c`, created or restarted if it is missing, expired or of another algorithm,
/// and brought up to `now`.
fn current_entry<'s>(shard: &'s mut Shard, c: &Check, p: &Params, now: u64) -> &'s mut Entry {
    let keys = shard.map.entry_ref(c.policy.name()).or_default();
    let entry = keys.entry_ref(c.key.as_str()).or_insert_with(|| Entry { state: State::fresh(p, now), expires_at: 0 });
    if entry.expires_at <= now || !entry.state.is_for(p.alg) {
        entry.state = State::fresh(p, now);
    }
    entry.state.normalize(p, now);
    entry.expires_at = entry.state.expires_at(p, now);
    entry
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

/// Drops expired entries, and policies left with none.
fn sweep_shard(shard: &mut Shard, now: u64) {
    shard.map.retain(|_, keys| {
        keys.retain(|_, e| e.expires_at > now);
        !keys.is_empty()
    });
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
