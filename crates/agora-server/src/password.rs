//! Argon2id password hashing, off the async executor.

use agora_core::DomainError;
use agora_core::auth::PasswordHasher;
use agora_core::error::DomainResult;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};
use async_trait::async_trait;

/// Argon2id with configured cost. Verification reads the cost from the stored hash, so raising
/// the cost later keeps old hashes valid.
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
}

impl Argon2Hasher {
    /// Builds a hasher; memory in KiB, one lane.
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, String> {
        let params = Params::new(memory_kib, iterations, 1, None).map_err(|e| e.to_string())?;
        Ok(Self { params })
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
        tokio::task::spawn_blocking(move || me.hash_blocking(&plaintext))
            .await
            .map_err(|e| DomainError::internal(format!("hashing task failed: {e}")))?
    }

    async fn verify(&self, plaintext: String, hash: String) -> DomainResult<bool> {
        tokio::task::spawn_blocking(move || {
            let parsed =
                PasswordHash::new(&hash).map_err(|e| DomainError::internal(format!("bad stored hash: {e}")))?;
            Ok(Argon2::default().verify_password(plaintext.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(|e| DomainError::internal(format!("verify task failed: {e}")))?
    }
}
