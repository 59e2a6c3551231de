//! The first administrator from `AGORA_BOOTSTRAP_ADMIN_EMAIL` / `_PASSWORD`, which the
//! configuration loader maps to `auth.bootstrap_admin_email` / `_password`: created once, never
//! duplicated or reset by restarts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use agora_server::Config;
use agora_test_support::{Engine, PASSWORD, TestApp, unique_email};
use serde_json::json;

fn with_bootstrap(email: String) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.auth.bootstrap_admin_email = email;
        c.auth.bootstrap_admin_password = PASSWORD.into();
    }
}

/// The app built with the bootstrap settings has the admin; a second build on the same
/// database (a restart) succeeds and does not add another.
async fn bootstrap_once(engine: Engine) {
    let email = unique_email("root");
    let Some(app) = TestApp::on(engine, with_bootstrap(email.clone())).await else { return };

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_admin_sqlite() {
    bootstrap_once(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_admin_postgres() {
    bootstrap_once(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_settings_nobody_is_created() {
    let app = TestApp::sqlite().await;
    let res = app.get("/v2/users?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(0));
}
