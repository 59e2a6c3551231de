//! Shared by the PostgreSQL integration tests of this crate.

/// The test database, or `None` (the test skips) when `AGORA_TEST_DATABASE_URL` is unset.
/// In CI (`CI=true`) an unset URL is a failure, not a skip.
pub fn pg_url() -> Option<String> {
    match std::env::var("AGORA_TEST_DATABASE_URL") {
        Ok(u) => Some(u),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => panic!("AGORA_TEST_DATABASE_URL must be set in CI"),
        Err(_) => {
            println!("skipped: AGORA_TEST_DATABASE_URL not set");
            None
        }
    }
}
