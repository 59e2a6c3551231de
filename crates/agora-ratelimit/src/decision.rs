//! What a check returns.

use std::time::Duration;

use crate::policy::Policy;

/// One policy's verdict on one request.
///
/// Field semantics (exact definitions per algorithm are in `docs/RATE-LIMITING.md`):
///
/// * `remaining` — how many more requests this policy would admit right now. If the request
///   was admitted (by *all* policies) it already counts this request; if the request was
///   rejected (by this or another policy) nothing was consumed and it is the current value.
/// * `reset_after` — time until this policy's quota is fully restored (`remaining == limit`)
///   if no further request is admitted; `0` if it already is.
///   Fixed window: end of the current window. Sliding log: when the newest logged request leaves
///   the window. Sliding counter: end of the *next* window if this window has requests, else
///   end of this window. Buckets: time until the bucket is full again.
/// * `retry_after` — `Some` only if this policy denied the request: time until it would admit
///   one more request (assuming nothing else is admitted meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The policy this decision is about.
    pub policy: Policy,
    /// Whether this policy admits the request (the request passes only if all do).
    pub allowed: bool,
    /// The policy's limit (same as `policy.limit()`).
    pub limit: u64,
    /// Requests still admissible now (see above).
    pub remaining: u64,
    /// Time until the quota is fully restored (see above).
    pub reset_after: Duration,
    /// `Some` iff this policy denied the request: time until it would admit one.
    pub retry_after: Option<Duration>,
}

/// The decisions of one request: inline for up to two policies (the common case), so that a
/// decision costs no allocation.
pub type Decisions = smallvec::SmallVec<[Decision; 2]>;

/// The verdict on one request across all its policies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// One decision per (deduplicated) check, in the order the checks were given.
    pub decisions: Decisions,
    /// True if the decisions came from the in-process fallback because the primary
    /// (Redis) backend failed.
    pub fallback: bool,
}

impl Outcome {
    /// True if every policy admitted the request (and so quota was consumed from all of them).
    /// An outcome with no decisions is allowed.
    pub fn allowed(&self) -> bool {
        self.decisions.iter().all(|d| d.allowed)
    }

    /// The denying decision with the longest `retry_after` (the one the client must wait for).
    pub fn denied_by(&self) -> Option<&Decision> {
        denied_by(&self.decisions)
    }

    /// How long the client must wait before the request could pass all denying policies.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.decisions)
    }

    /// The decision the `X-RateLimit-*` headers describe: the denying one with the longest
    /// wait if denied, else the policy closest to its limit (lowest `remaining / limit`; ties
    /// go to the longer `reset_after`).
    pub fn most_restrictive(&self) -> Option<&Decision> {
        most_restrictive(&self.decisions)
    }
}

/// [`Outcome::denied_by`] over a slice of decisions.
pub(crate) fn denied_by(decisions: &[Decision]) -> Option<&Decision> {
    decisions.iter().filter(|d| !d.allowed).max_by_key(|d| d.retry_after.unwrap_or_default())
}

/// [`Outcome::retry_after`] over a slice of decisions.
pub(crate) fn retry_after(decisions: &[Decision]) -> Option<Duration> {
    denied_by(decisions).map(|d| d.retry_after.unwrap_or(Duration::ZERO))
}

/// [`Outcome::most_restrictive`] over a slice of decisions.
pub(crate) fn most_restrictive(decisions: &[Decision]) -> Option<&Decision> {
    if let Some(d) = denied_by(decisions) {
        return Some(d);
    }
    decisions.iter().min_by(|a, b| {
        let ra = u128::from(a.remaining) * u128::from(b.limit.max(1));
        let rb = u128::from(b.remaining) * u128::from(a.limit.max(1));
        ra.cmp(&rb).then(b.reset_after.cmp(&a.reset_after))
    })
}
