//! Argon2id password hashing, off the async executor and through a gate.
//!
//! Each hash takes its memory cost (19 MiB by default) and a core for tens of milliseconds.
//! Unbounded, a burst of sign-ups runs one hash per blocking thread: memory grows with the
//! burst and readers lose every core to hashing. The gate — a semaphore taken before
//! `spawn_blocking` — runs at most as many hashes as there are cores; the rest wait their
//! turn for a bounded time and then fail with 503 `SERVER_BUSY` rather than queue forever.

use std::sync::Arc;
use std::time::Duration;

use agora_core::DomainError;
use agora_core::auth::PasswordHasher;
use agora_core::error::DomainResult;
use agora_core::error::ErrorCode;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;

/// Argon2id with configured cost. Verification reads the cost from the stored hash, so raising
/// the cost later keeps old hashes valid.
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
    gate: Arc<Semaphore>,
    wait: Duration,
}

/// How many hashes run at once when the configuration names no figure: one per core.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

impl Argon2Hasher {
    /// Builds a hasher; memory in KiB, one lane; one hash per core at a time, each waiting at
    /// most 5 s for its turn.
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, String> {
        Self::gated(memory_kib, iterations, default_concurrency(), Duration::from_secs(5))
    }

    /// Builds a hasher that runs at most `concurrency` hashes at once; a hash that waits
    /// longer than `wait` for its turn fails with `SERVER_BUSY`.
    pub fn gated(memory_kib: u32, iterations: u32, concurrency: usize, wait: Duration) -> Result<Self, String> {
        let params = Params::new(memory_kib, iterations, 1, None).map_err(|e| e.to_string())?;
        Ok(Self { params, gate: Arc::new(Semaphore::new(concurrency.max(1))), wait })
    }

    /// Runs `work` on a blocking thread once the gate lets it in.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> DomainResult<T> + Send + 'static) -> DomainResult<T> {
        let permit = match tokio::time::timeout(self.wait, self.gate.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // The semaphore is never closed; treat it like a timeout all the same.
            Ok(Err(_)) | Err(_) => return Err(ErrorCode::ServerBusy.into()),
        };
        // The permit moves into the blocking task: it is released when the hash is done, even
        // if the request that asked for it has gone.
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| DomainError::internal(format!("hashing task failed: {e}")))?
    }

    /// Hashes synchronously (used by the seeder, which hashes one password for all demo users).
    pub fn hash_blocking(&self, plaintext: &str) -> DomainResult<String> {
        let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let salt = SaltString::generate(&mut OsRng);
        a.hash_password(plaintext.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::internal(format!("hashing failed: {e}")))
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, plaintext: String) -> DomainResult<String> {
        let me = self.clone();
        self.run(move || me.hash_blocking(&plaintext)).await
    }

    async fn verify(&self, plaintext: String, hash: String) -> DomainResult<bool> {
        self.run(move || {
            let parsed =
                PasswordHash::new(&hash).map_err(|e| DomainError::internal(format!("bad stored hash: {e}")))?;
            Ok(Argon2::default().verify_password(plaintext.as_bytes(), &parsed).is_ok())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_gate_runs_at_once() {
        let hasher = Argon2Hasher::gated(8, 1, 2, Duration::from_secs(30)).expect("params");
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (h, running, peak) = (hasher.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                h.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
                .await
            }));
        }
        for t in tasks {
            assert!(t.await.expect("task").is_ok());
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hash_that_waits_too_long_is_refused_as_busy() {
        let hasher = Argon2Hasher::gated(8, 1, 1, Duration::from_millis(20)).expect("params");
        let slow = hasher.clone();
        let first = tokio::spawn(async move {
            slow.run(|| {
                std::thread::sleep(Duration::from_millis(400));
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = hasher.run(|| Ok(())).await.expect_err("the gate is held");
        assert_eq!(refused.code, ErrorCode::ServerBusy);
        assert!(first.await.expect("task").is_ok());
        // Once the gate is free again, hashing works.
        assert!(hasher.hash("correct horse".into()).await.is_ok());
    }
}
