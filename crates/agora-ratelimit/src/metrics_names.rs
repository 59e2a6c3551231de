//! Metric names (recorded through the `metrics` facade; install any exporter).

/// Counter, labels `policy` and `outcome` (`allowed`, `denied`, `denied_by_other`, `error`):
/// one increment per policy per checked request.
pub const DECISIONS_TOTAL: &str = "agora_ratelimit_decisions_total";
/// Counter: failed calls to the Redis backend (errors and timeouts).
pub const BACKEND_ERRORS_TOTAL: &str = "agora_ratelimit_backend_errors_total";
/// Histogram: seconds spent deciding one request (all its policies, one backend call).
pub const DECISION_SECONDS: &str = "agora_ratelimit_decision_seconds";
/// Counter: keys the in-process store forgot before they expired, to stay within its key
/// limit (see `MemoryStore::with_max_keys`).
pub const EVICTIONS_TOTAL: &str = "agora_ratelimit_evictions_total";
/// Counter: requests decided by the in-process fallback because the backend failed.
pub const FALLBACK_TOTAL: &str = "agora_ratelimit_fallback_total";

/// Registers each metric's `# HELP` text with the installed recorder (call once, after
/// installing it; before, the calls are no-ops).
pub fn describe() {
    use metrics::{describe_counter, describe_histogram};
    describe_counter!(
        DECISIONS_TOTAL,
        "Rate-limit decisions, per policy and outcome (allowed, denied, denied_by_other, error)."
    );
    describe_counter!(BACKEND_ERRORS_TOTAL, "Failed calls to the rate limiter's Redis backend (errors and timeouts).");
    describe_histogram!(DECISION_SECONDS, metrics::Unit::Seconds, "Time spent deciding one request's rate limits.");
    describe_counter!(
        EVICTIONS_TOTAL,
        "Keys the in-process rate-limit store forgot early to stay within its key limit."
    );
    describe_counter!(FALLBACK_TOTAL, "Requests decided by the in-process fallback while the backend failed.");
}
