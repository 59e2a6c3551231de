//! CONTRACT §5 users: sign-up, visibility of email, validation, conflicts, mass assignment,
//! PUT/PATCH semantics and deletion.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{Value, json};

fn signup(name: &str, email: &str) -> Value {
    json!({"name": name, "email": email, "password": "correct horse battery"})
}

db_test!(signup_returns_201_location_etag_and_no_password, |app| async move {
    let res = app.post("/v2/users").json(&signup("Ada Lovelace", "ada@example.com")).send().await;
    res.assert_status(201);
    let data = res.data();
    let uid = id(data);
    assert!(uid > 0);
    assert_eq!(res.header("location"), Some(format!("/v2/users/{uid}").as_str()));
    let etag = res.header("etag").unwrap_or_else(|| panic!("no ETag: {}", res.describe()));
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2, "not a strong ETag: {etag}");
    assert_eq!(data["name"], json!("Ada Lovelace"));
    assert_eq!(data["email"], json!("ada@example.com"));
    assert_eq!(data["role"], json!("user"));
    assert!(data["created_at"].as_str().is_some() && data["updated_at"].as_str().is_some());
    let text = res.text();
    assert!(data.get("password").is_none() && data.get("password_hash").is_none());
    assert!(!text.contains("correct horse battery") && !text.contains("argon2"), "{text}");

    // The Location resolves, and anonymous readers do not see the email.
    let res = app.get(&format!("/v2/users/{uid}")).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["name"], json!("Ada Lovelace"));
    assert!(res.data().get("email").is_none(), "email leaked to an anonymous GET: {}", res.describe());
    assert!(!res.text().contains("ada@example.com"));
    assert!(res.data().get("password_hash").is_none() && res.data().get("password").is_none());
});

db_test!(email_is_not_listed_to_anonymous_callers, |app| async move {
    create_user(&app, "Ada", "ada@example.com").await;
    create_user(&app, "Bob", "bob@example.com").await;
    let res = app.get("/v2/users").send().await;
    res.assert_status(200);
    assert_eq!(res.items().len(), 2);
    for u in res.items() {
        assert!(u.get("email").is_none(), "{u}");
        assert!(u.get("password_hash").is_none(), "{u}");
    }
    assert!(!res.text().contains("@example.com"));
    let res = app.get("/v1/users").send().await;
    assert!(!res.text().contains("@example.com"));
});

db_test!(email_is_normalised, |app| async move {
    let res = app.post("/v2/users").json(&signup("Ada", "  Ada@Example.COM ")).send().await;
    res.assert_status(201);
    assert_eq!(res.data()["email"], json!("ada@example.com"));
});

db_test!(validation_reports_one_detail_per_bad_field, |app| async move {
    let res =
        app.post("/v2/users").json(&json!({"name": "", "email": "not-an-email", "password": "short"})).send().await;
    res.assert_validation(&["name", "email", "password"]);
    assert_eq!(res.detail("password").unwrap()["code"], json!("too_short"));
    assert_eq!(res.detail("email").unwrap()["code"], json!("invalid_format"));

    // Missing fields are each named.
    let res = app.post("/v2/users").json(&json!({})).send().await;
    res.assert_validation(&["name", "email", "password"]);
    for f in ["name", "email", "password"] {
        assert_eq!(res.detail(f).unwrap()["code"], json!("required"));
    }

    // Wrong types.
    let res = app.post("/v2/users").json(&json!({"name": 5, "email": ["a"], "password": null})).send().await;
    res.assert_validation(&["name", "email", "password"]);

    // Nothing was created along the way.
    let res = app.get("/v2/users?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(0));
});

db_test!(name_bounds, |app| async move {
    let res = app.post("/v2/users").json(&signup(&"x".repeat(101), "a@example.com")).send().await;
    res.assert_validation(&["name"]);
    assert_eq!(res.detail("name").unwrap()["code"], json!("too_long"));
    let res = app.post("/v2/users").json(&signup("   ", "a@example.com")).send().await;
    res.assert_validation(&["name"]);
    let res = app.post("/v2/users").json(&signup(&"x".repeat(100), "a@example.com")).send().await;
    res.assert_status(201);
    let res = app.post("/v2/users").json(&signup(&"é".repeat(100), "b@example.com")).send().await;
    res.assert_status(201);
    let res = app.post("/v2/users").json(&signup("B", "c@example.com")).send().await;
    res.assert_status(201);
});

db_test!(bad_emails_are_rejected, |app| async move {
    for email in ["plain", "a@b", "@example.com", "a@.com", "a b@example.com", "a@@example.com", "a@example..com"] {
        let res = app.post("/v2/users").json(&signup("Ada", email)).send().await;
        res.assert_validation(&["email"]);
    }
});

db_test!(password_bounds, |app| async move {
    let mut body = signup("Ada", "ada@example.com");
    body["password"] = json!("1234567");
    app.post("/v2/users").json(&body).send().await.assert_validation(&["password"]);
    body["password"] = json!("12345678");
    app.post("/v2/users").json(&body).send().await.assert_status(201);
});

db_test!(duplicate_email_is_409_conflict, |app| async move {
    create_user(&app, "Ada", "ada@example.com").await;
    let res = app.post("/v2/users").json(&signup("Other Ada", "ada@example.com")).send().await;
    res.assert_error(409, "CONFLICT");
    assert_eq!(res.detail_fields(), ["email"]);
    // Case-insensitive.
    let res = app.post("/v2/users").json(&signup("Shouty Ada", "ADA@EXAMPLE.com")).send().await;
    res.assert_error(409, "CONFLICT");
    assert_eq!(res.detail_fields(), ["email"]);
    let res = app.get("/v2/users?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(1));
});

db_test!(role_cannot_be_set_by_anonymous_callers, |app| async move {
    for role in ["admin", "user"] {
        let mut body = signup("Mallory", "mallory@example.com");
        body["role"] = json!(role);
        let res = app.post("/v2/users").json(&body).send().await;
        res.assert_error(403, "FORBIDDEN");
    }
    let res = app.get("/v2/users?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(0), "the refused sign-up must not create a user");

    let user = create_user(&app, "Mallory", "mallory@example.com").await;
    let uid = id(&user);
    // Anonymously: not even authenticated.
    let res = app.patch(&format!("/v2/users/{uid}")).json(&json!({"role": "admin"})).send().await;
    res.assert_unauthenticated();
    // As herself: authenticated, but only admins set roles.
    let token = app.token_for(uid);
    for role in ["admin", "user"] {
        let res = app.patch(&format!("/v2/users/{uid}")).bearer(&token).json(&json!({"role": role})).send().await;
        res.assert_error(403, "FORBIDDEN");
    }
    let res = app
        .put(&format!("/v2/users/{uid}"))
        .bearer(&token)
        .json(&json!({"name": "M", "email": "mallory@example.com", "role": "admin"}))
        .send()
        .await;
    res.assert_error(403, "FORBIDDEN");
    let res = app.get(&format!("/v2/users/{uid}")).send().await;
    assert_eq!(res.data()["role"], json!("user"));
    assert_eq!(res.data()["name"], json!("Mallory"));
});

db_test!(read_only_and_unknown_fields_are_422, |app| async move {
    for (field, value, code) in [
        ("id", json!(999), "read_only"),
        ("created_at", json!("2020-01-01T00:00:00Z"), "read_only"),
        ("updated_at", json!("2020-01-01T00:00:00Z"), "read_only"),
        ("nickname", json!("x"), "unknown_field"),
        ("password_hash", json!("x"), "unknown_field"),
    ] {
        let mut body = signup("Ada", "ada@example.com");
        body[field] = value.clone();
        let res = app.post("/v2/users").json(&body).send().await;
        res.assert_validation(&[field]);
        assert_eq!(res.detail(field).unwrap()["code"], json!(code), "{}", res.describe());
    }
    let user = create_user(&app, "Ada", "ada@example.com").await;
    let uid = id(&user);
    let token = app.token_for(uid);
    let res = app.patch(&format!("/v2/users/{uid}")).bearer(&token).json(&json!({"id": 5})).send().await;
    res.assert_validation(&["id"]);
    let res = app.patch(&format!("/v2/users/{uid}")).bearer(&token).json(&json!({"bogus": true})).send().await;
    res.assert_validation(&["bogus"]);
    let res = app.get(&format!("/v2/users/{uid}")).send().await;
    assert_eq!(id(res.data()), uid);
});

db_test!(put_requires_every_field, |app| async move {
    let user = create_user(&app, "Ada", "ada@example.com").await;
    let uid = id(&user);
    let token = app.token_for(uid);
    let res = app.put(&format!("/v2/users/{uid}")).bearer(&token).json(&json!({"name": "Only Name"})).send().await;
    res.assert_validation(&["email"]);
    assert_eq!(res.detail("email").unwrap()["code"], json!("required"));
    let res = app.put(&format!("/v2/users/{uid}")).bearer(&token).json(&json!({})).send().await;
    res.assert_validation(&["name", "email"]);
    // Unchanged.
    let res = app.get(&format!("/v2/users/{uid}")).send().await;
    assert_eq!(res.data()["name"], json!("Ada"));

    let res = app
        .put(&format!("/v2/users/{uid}"))
        .bearer(&token)
        .json(&json!({"name": "Augusta", "email": "augusta@example.com"}))
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.data()["name"], json!("Augusta"));
    // The old email is free again and the new one is taken.
    create_user(&app, "New Ada", "ada@example.com").await;
    let res = app.post("/v2/users").json(&signup("X", "augusta@example.com")).send().await;
    res.assert_error(409, "CONFLICT");
});

db_test!(patch_changes_only_sent_fields, |app| async move {
    let user = create_user(&app, "Ada", "ada@example.com").await;
    let uid = id(&user);
    let token = app.token_for(uid);
    let res = app.patch(&format!("/v2/users/{uid}")).bearer(&token).json(&json!({"name": "Countess"})).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["name"], json!("Countess"));
    assert_eq!(res.data()["created_at"], user["created_at"]);
    assert_eq!(res.data()["role"], json!("user"));
    // The email was not touched: it is still taken.
    let res = app.post("/v2/users").json(&signup("X", "ada@example.com")).send().await;
    res.assert_error(409, "CONFLICT");

    // Changing only the email leaves the name.
    let res = app
        .patch(&format!("/v2/users/{uid}"))
        .bearer(&token)
        .json(&json!({"email": "countess@example.com"}))
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.data()["name"], json!("Countess"));
    create_user(&app, "Other", "ada@example.com").await;

    // Explicit null is not "unchanged": it is invalid.
    let res = app.patch(&format!("/v2/users/{uid}")).bearer(&token).json(&json!({"name": null})).send().await;
    res.assert_validation(&["name"]);
    // A bad value is refused, and nothing changes.
    let res = app
        .patch(&format!("/v2/users/{uid}"))
        .bearer(&token)
        .json(&json!({"name": "ok", "password": "short"}))
        .send()
        .await;
    res.assert_validation(&["password"]);
    let res = app.get(&format!("/v2/users/{uid}")).send().await;
    assert_eq!(res.data()["name"], json!("Countess"));
    // Duplicate email on PATCH.
    let res =
        app.patch(&format!("/v2/users/{uid}")).bearer(&token).json(&json!({"email": "ADA@example.com"})).send().await;
    res.assert_error(409, "CONFLICT");
    assert_eq!(res.detail_fields(), ["email"]);
});

db_test!(delete_then_404, |app| async move {
    let user = create_user(&app, "Ada", "ada@example.com").await;
    let uid = id(&user);
    let token = app.token_for(uid);
    let res = app.delete(&format!("/v2/users/{uid}")).bearer(&token).send().await;
    res.assert_status(204);
    assert!(res.bytes.is_empty());
    app.get(&format!("/v2/users/{uid}")).send().await.assert_error(404, "USER_NOT_FOUND");
    // The deleted user's own token is dead; an administrator sees the user is gone.
    app.delete(&format!("/v2/users/{uid}")).bearer(&token).send().await.assert_invalid_token();
    let admin = app.admin_token().await;
    app.delete(&format!("/v2/users/{uid}")).bearer(&admin).send().await.assert_error(404, "USER_NOT_FOUND");
    app.patch(&format!("/v2/users/{uid}"))
        .bearer(&admin)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .assert_error(404, "USER_NOT_FOUND");
    app.put(&format!("/v2/users/{uid}"))
        .bearer(&admin)
        .json(&json!({"name": "x", "email": "x@example.com"}))
        .send()
        .await
        .assert_error(404, "USER_NOT_FOUND");
    // The email is free again.
    create_user(&app, "Ada again", "ada@example.com").await;
});

db_test!(deleting_a_user_deletes_their_posts, |app| async move {
    let ada = create_user(&app, "Ada", "ada@example.com").await;
    let bob = create_user(&app, "Bob", "bob@example.com").await;
    let p1 = create_post(&app, id(&ada), "one", "first").await;
    let p2 = create_post(&app, id(&ada), "two", "second").await;
    let keep = create_post(&app, id(&bob), "bob's", "stays").await;
    app.delete(&format!("/v2/users/{}", id(&ada))).bearer(&app.token_for(id(&ada))).send().await.assert_status(204);
    for p in [&p1, &p2] {
        app.get(&format!("/v2/posts/{}", id(p))).send().await.assert_error(404, "POST_NOT_FOUND");
    }
    app.get(&format!("/v2/users/{}/posts", id(&ada))).send().await.assert_error(404, "USER_NOT_FOUND");
    let res = app.get("/v2/posts").send().await;
    assert_eq!(res.ids(), [id(&keep)]);
});

db_test!(v1_signup_location_is_versioned, |app| async move {
    let res = app.post("/v1/users").json(&signup("Ada", "ada@example.com")).send().await;
    res.assert_status(201);
    let uid = id(res.data());
    assert_eq!(res.header("location"), Some(format!("/v1/users/{uid}").as_str()));
    app.get(&format!("/v1/users/{uid}")).send().await.assert_status(200);
});

/// One password hash at a time, and a sign-up waits at most 1 ms for its turn: a burst of
/// sign-ups gets 201s for those that got in and 503 `SERVER_BUSY` with `Retry-After` for the
/// rest — nothing queues without bound, and nothing is half-created.
async fn one_hash_at_a_time(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| {
        c.auth.argon2_memory_kib = 8 * 1024;
        c.auth.argon2_iterations = 2;
        c.auth.argon2_concurrency = 1;
        c.auth.argon2_queue_timeout = std::time::Duration::from_millis(1);
    })
    .await
}

db_test!(a_burst_of_signups_beyond_the_hashing_gate_gets_503, with = one_hash_at_a_time, |app| async move {
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.post("/v2/users").json(&signup("Burst", &format!("burst{i}@example.com"))).send().await
        }));
    }
    let (mut created, mut busy) = (0, 0);
    for t in tasks {
        let res = t.await.unwrap();
        match res.status.as_u16() {
            201 => created += 1,
            503 => {
                assert_eq!(res.code(), "SERVER_BUSY", "{}", res.describe());
                assert_eq!(res.header("retry-after"), Some("1"));
                busy += 1;
            }
            other => panic!("unexpected {other}: {}", res.describe()),
        }
    }
    assert!(created >= 1 && busy >= 1, "created {created}, busy {busy}");
    // Exactly the created ones exist.
    let res = app.get("/v1/users?q=Burst").send().await;
    res.assert_status(200);
    assert_eq!(res.pagination()["total"], json!(created));
});
