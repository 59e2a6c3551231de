//! Fault points for crash tests.
//!
//! Built with the `fault-injection` feature (test builds only), [`point`] aborts the process
//! when the `AGORA_FAULT` environment variable names it, so a test can kill a server at an
//! exact step boundary and check what a retry finds. Without the feature it compiles to
//! nothing.

/// After the key is reserved, before the request runs.
pub const RESERVED: &str = "idempotency:reserved";
/// After the request ran (its writes made, uncommitted with the SQL store), before the record
/// is completed.
pub const EXECUTED: &str = "idempotency:executed";
/// After the record is completed (committed), before the response is sent.
pub const COMPLETED: &str = "idempotency:completed";

/// Aborts the process if `AGORA_FAULT` names `name` (with the `fault-injection` feature).
#[inline]
pub fn point(name: &str) {
    #[cfg(feature = "fault-injection")]
    if std::env::var("AGORA_FAULT").is_ok_and(|v| v == name) {
        eprintln!("fault injected at {name}: aborting");
        std::process::abort();
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = name;
}
