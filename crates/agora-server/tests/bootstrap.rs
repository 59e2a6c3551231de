//! CONTRACT §6 first administrator: `AGORA_BOOTSTRAP_ADMIN_EMAIL` +
//! `AGORA_BOOTSTRAP_ADMIN_PASSWORD` at start create the admin if absent; a restart with the same
//! environment neither fails nor duplicates it.
//!
//! Environment variables are process-wide, and setting them is `unsafe` in edition 2024 (which
//! this workspace forbids), so each test re-runs this test binary as a child process with the
//! variables set, for exactly one `#[ignore]`d child test that does the real work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use common::{Engine, PASSWORD, TestApp, unique_email};
use serde_json::json;

const CHILD_MARKER: &str = "AGORA_TEST_BOOTSTRAP_CHILD";

/// Runs the ignored test `name` of this binary in a child process with the bootstrap variables.
fn run_child(name: &str, email: &str) {
    let exe = std::env::current_exe().expect("current test binary");
    let out = std::process::Command::new(exe)
        .args([name, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_MARKER, "1")
        .env("AGORA_BOOTSTRAP_ADMIN_EMAIL", email)
        .env("AGORA_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD)
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child {name} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "child {name} did not run:\n{stdout}\n{stderr}");
}

/// The child's body: the app built with the variables set has the admin; a second build on
/// the same database (a restart) succeeds and does not add another.
async fn bootstrap_once(engine: Engine) {
    let email = std::env::var("AGORA_BOOTSTRAP_ADMIN_EMAIL").expect("set by the parent");
    let Some(app) = TestApp::plain(engine).await else { return };

    let tokens = app.login(&email, PASSWORD).await;
    assert_eq!(tokens["scope"], json!("read write admin"), "the bootstrap user is an administrator");
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let me = app.get("/v2/users/me").bearer(&token).send().await;
    me.assert_status(200);
    assert_eq!(me.data()["role"], json!("admin"));
    assert_eq!(me.data()["email"], json!(email));
    let admin_id = me.data()["id"].clone();
    // It administers.
    let res = app
        .post("/v2/products")
        .bearer(&token)
        .json(&json!({"name": "Desk", "category": "furniture", "price": 100}))
        .send()
        .await;
    res.assert_status(201);

    // Restart (twice) on the same database with the same environment.
    for _ in 0..2 {
        let again = app.another_instance().await;
        let res = again.get("/v2/users?include_total=true").bearer(&token).send().await;
        res.assert_status(200);
        assert_eq!(res.pagination()["total"], json!(1), "the admin was duplicated: {}", res.describe());
        assert_eq!(res.items()[0]["id"], admin_id);
        again.login(&email, PASSWORD).await;
    }
    // An existing account with that email is left as it is (not re-created, not reset).
    let res = app
        .patch(&format!("/v2/users/{admin_id}"))
        .bearer(&token)
        .json(&json!({"password": "a brand new password"}))
        .send()
        .await;
    res.assert_status(200);
    let again = app.another_instance().await;
    let res = again
        .post("/v2/auth/token")
        .json(&json!({"grant_type": "password", "email": email, "password": "a brand new password"}))
        .send()
        .await;
    res.assert_status(200);
    let res = again.get("/v2/users?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(1));
}

#[test]
fn bootstrap_admin_sqlite() {
    if std::env::var(CHILD_MARKER).is_ok() {
        return;
    }
    run_child("child_sqlite", &unique_email("root"));
}

#[test]
fn bootstrap_admin_postgres() {
    if std::env::var(CHILD_MARKER).is_ok() {
        return;
    }
    run_child("child_postgres", &unique_email("root"));
}

#[test]
fn without_the_variables_nobody_is_created() {
    if std::env::var(CHILD_MARKER).is_ok() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // This process never sets the variables (only the children have them).
        assert!(std::env::var("AGORA_BOOTSTRAP_ADMIN_EMAIL").is_err());
        let app = TestApp::sqlite().await;
        let res = app.get("/v2/users?include_total=true").send().await;
        assert_eq!(res.pagination()["total"], json!(0));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by bootstrap_admin_sqlite in a child process with the bootstrap variables set"]
async fn child_sqlite() {
    if std::env::var(CHILD_MARKER).is_err() {
        return;
    }
    bootstrap_once(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by bootstrap_admin_postgres in a child process with the bootstrap variables set"]
async fn child_postgres() {
    if std::env::var(CHILD_MARKER).is_err() {
        return;
    }
    bootstrap_once(Engine::Postgres).await;
}
