//! What makes a retry "the same request".

use sha2::{Digest, Sha256};

/// SHA-256 over the method, the request target (path and query) and a SHA-256 of the body.
///
/// The query is part of it: a client that changes a parameter sent a different request. The
/// body is hashed byte for byte, not as parsed JSON; a client retries by sending the same
/// bytes again, and one that re-serialises its JSON differently has changed its request as far
/// as anyone can prove.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Fingerprints one request.
    pub fn of(method: &http::Method, target: &str, body: &[u8]) -> Self {
        let body_digest = Sha256::digest(body);
        let mut h = Sha256::new();
        // The method and target cannot contain a newline, so the parts cannot run together.
        h.update(method.as_str().as_bytes());
        h.update(b"\n");
        h.update(target.as_bytes());
        h.update(b"\n");
        h.update(body_digest);
        Self(h.finalize().into())
    }

    /// Lowercase hex, as stores keep it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses [`Fingerprint::to_hex`]'s output.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({})", &self.to_hex()[..12])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::Method;
    use proptest::prelude::*;

    #[test]
    fn every_part_counts() {
        let base = Fingerprint::of(&Method::POST, "/v2/posts", b"{\"a\":1}");
        assert_eq!(base, Fingerprint::of(&Method::POST, "/v2/posts", b"{\"a\":1}"));
        assert_ne!(base, Fingerprint::of(&Method::PATCH, "/v2/posts", b"{\"a\":1}"));
        assert_ne!(base, Fingerprint::of(&Method::POST, "/v1/posts", b"{\"a\":1}"));
        assert_ne!(base, Fingerprint::of(&Method::POST, "/v2/posts?x=1", b"{\"a\":1}"));
        assert_ne!(base, Fingerprint::of(&Method::POST, "/v2/posts", b"{\"a\":2}"));
        assert_ne!(base, Fingerprint::of(&Method::POST, "/v2/posts", b"{\"a\": 1}"));
    }

    proptest! {
        #[test]
        fn hex_round_trips(target in "/[a-z0-9/?=&]{0,40}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let f = Fingerprint::of(&Method::POST, &target, &body);
            prop_assert_eq!(Fingerprint::from_hex(&f.to_hex()), Some(f));
        }

        /// Moving bytes between the target and the body changes the fingerprint.
        #[test]
        fn parts_do_not_run_together(a in "/[a-z]{1,10}", b in "[a-z]{1,10}") {
            let joined = Fingerprint::of(&Method::POST, &format!("{a}{b}"), b"");
            let split = Fingerprint::of(&Method::POST, &a, b.as_bytes());
            prop_assert_ne!(joined, split);
        }
    }
}
