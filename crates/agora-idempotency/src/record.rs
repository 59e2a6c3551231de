//! The record a key leaves behind, and the one decision every store makes about it.
//!
//! A record is created **in progress** when a request reserves its key, with a *lease*: the
//! time by which its holder must finish. It becomes **completed** with the stored response,
//! or is deleted when the response is not worth keeping (a 5xx, a 409, a 429) so the key can be
//! retried. A crashed holder never completes or deletes it; its lease runs out and the next
//! retry takes the key over. A completed record lives until its expiry (the store's TTL).

use std::time::Duration;

use bytes::Bytes;

use crate::Fingerprint;

/// A response as stored, replayed byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The status code.
    pub status: u16,
    /// The headers worth replaying (content type, `Location`, `ETag`, …), in order.
    pub headers: Vec<(String, String)>,
    /// The body, exactly.
    pub body: Bytes,
}

impl StoredResponse {
    /// The headers as one string (a JSON array of pairs), for stores that keep text.
    pub fn headers_to_json(&self) -> String {
        serde_json::to_string(&self.headers).unwrap_or_else(|_| "[]".into())
    }

    /// Parses [`StoredResponse::headers_to_json`]'s output; `None` if it is not that.
    pub fn headers_from_json(s: &str) -> Option<Vec<(String, String)>> {
        serde_json::from_str(s).ok()
    }

    /// Whether a response with this status is kept: every final answer below 500 except 409
    /// (a conflict, often with this very key) and 429 (rate limited): those, like a 5xx, say
    /// "try again", and a stored copy would make a retry hopeless.
    pub fn is_storable(status: u16) -> bool {
        status < 500 && status != 409 && status != 429
    }
}

/// Where a record stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordState {
    /// A request holds the key until `lease_until` (unix milliseconds).
    InProgress {
        /// Identifies the holder, so only it completes or releases the record.
        token: String,
        /// When the lease runs out.
        lease_until_ms: u64,
    },
    /// The request finished with this response.
    Completed(StoredResponse),
}

/// A key's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The request that reserved the key.
    pub fingerprint: Fingerprint,
    /// Its state.
    pub state: RecordState,
    /// When the record is forgotten (unix milliseconds).
    pub expires_at_ms: u64,
}

/// What to do with a request whose key has `existing` for a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The key is free (no record, an expired one, or a lapsed lease): reserve it and run.
    Proceed,
    /// Same request, finished: send the stored response.
    Replay(StoredResponse),
    /// Same request, still running: refuse, retry after this long.
    InProgress(Duration),
    /// Another request used this key: refuse.
    Mismatch,
}

/// How long a client is told to wait while a request holds its key: the typical request
/// finishes well within a second.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The decision, in one place: every store applies it (the Redis store mirrors it in Lua).
pub fn judge(existing: Option<&Record>, fingerprint: &Fingerprint, now_ms: u64) -> Verdict {
    let Some(r) = existing else { return Verdict::Proceed };
    if r.expires_at_ms <= now_ms {
        return Verdict::Proceed;
    }
    if let RecordState::InProgress { lease_until_ms, .. } = r.state
        && lease_until_ms <= now_ms
    {
        return Verdict::Proceed;
    }
    if r.fingerprint != *fingerprint {
        return Verdict::Mismatch;
    }
    match &r.state {
        RecordState::InProgress { .. } => Verdict::InProgress(RETRY_AFTER),
        RecordState::Completed(resp) => Verdict::Replay(resp.clone()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fp(n: u8) -> Fingerprint {
        Fingerprint::of(&http::Method::POST, "/x", &[n])
    }

    fn resp() -> StoredResponse {
        StoredResponse { status: 201, headers: vec![("location".into(), "/v2/posts/1".into())], body: "{}".into() }
    }

    fn in_progress(f: Fingerprint, lease: u64, expires: u64) -> Record {
        Record {
            fingerprint: f,
            state: RecordState::InProgress { token: "t".into(), lease_until_ms: lease },
            expires_at_ms: expires,
        }
    }

    #[test]
    fn the_state_machine() {
        let done = Record { fingerprint: fp(1), state: RecordState::Completed(resp()), expires_at_ms: 1_000 };
        assert_eq!(judge(None, &fp(1), 10), Verdict::Proceed);
        assert_eq!(judge(Some(&done), &fp(1), 10), Verdict::Replay(resp()));
        assert_eq!(judge(Some(&done), &fp(2), 10), Verdict::Mismatch);
        assert_eq!(judge(Some(&done), &fp(2), 1_000), Verdict::Proceed, "expired");
        let running = in_progress(fp(1), 100, 1_000);
        assert_eq!(judge(Some(&running), &fp(1), 10), Verdict::InProgress(RETRY_AFTER));
        assert_eq!(judge(Some(&running), &fp(2), 10), Verdict::Mismatch);
        assert_eq!(judge(Some(&running), &fp(1), 100), Verdict::Proceed, "lapsed lease");
        assert_eq!(judge(Some(&running), &fp(2), 100), Verdict::Proceed, "a crashed holder frees the key");
    }

    #[test]
    fn what_is_stored() {
        for s in [200, 201, 204, 304, 400, 401, 403, 404, 412, 422] {
            assert!(StoredResponse::is_storable(s), "{s}");
        }
        for s in [409, 429, 500, 502, 503] {
            assert!(!StoredResponse::is_storable(s), "{s}");
        }
    }

    #[test]
    fn headers_round_trip() {
        let r = resp();
        assert_eq!(StoredResponse::headers_from_json(&r.headers_to_json()), Some(r.headers));
        assert_eq!(StoredResponse::headers_from_json("nope"), None);
    }

    proptest! {
        /// A record never replays for another request, and never blocks past its lease or
        /// expiry.
        #[test]
        fn judged_consistently(a in 0u8..4, b in 0u8..4, lease in 0u64..100, expires in 0u64..100, now in 0u64..100, done in any::<bool>()) {
            let rec = if done {
                Record { fingerprint: fp(a), state: RecordState::Completed(resp()), expires_at_ms: expires }
            } else {
                in_progress(fp(a), lease, expires)
            };
            let v = judge(Some(&rec), &fp(b), now);
            let live = now < expires && (done || now < lease);
            match v {
                Verdict::Proceed => prop_assert!(!live),
                Verdict::Replay(_) => prop_assert!(live && a == b && done),
                Verdict::InProgress(_) => prop_assert!(live && a == b && !done),
                Verdict::Mismatch => prop_assert!(live && a != b),
            }
        }
    }
}
