//! Metric names (recorded through the `metrics` facade; install any exporter).

/// Counter, label `outcome`: `executed` (ran and stored), `replayed`, `in_progress` (409),
/// `key_reused` (422), `missing_key` (400), `invalid_key` (400), `not_stored` (ran, answer not
/// kept: a 5xx, 409 or 429, so the key is free again), `unavailable` (the store failed).
pub const REQUESTS_TOTAL: &str = "agora_idempotency_requests_total";
/// Counter: expired records removed by [`crate::Store::purge_expired`].
pub const PURGED_TOTAL: &str = "agora_idempotency_purged_total";

/// Registers each metric's `# HELP` text with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "Requests that carried an Idempotency-Key, by outcome (executed, replayed, in_progress, key_reused, \
         missing_key, invalid_key, not_stored, unavailable)."
    );
    metrics::describe_counter!(PURGED_TOTAL, "Expired idempotency records removed.");
}
