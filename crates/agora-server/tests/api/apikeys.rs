//! CONTRACT §5/§6 API keys: created with the secret shown once, listed without it, used via
//! `X-API-Key` or `Authorization: ApiKey`, scoped (never beyond the creator), revocable.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::common::*;

async fn create_key(app: &TestApp, token: &str, body: Value) -> TestResponse {
    app.post("/v2/api-keys").bearer(token).json(&body).send().await
}

fn key_of(res: &TestResponse) -> String {
    res.data()["key"].as_str().unwrap_or_else(|| panic!("no key: {}", res.describe())).to_string()
}

db_test!(create_list_use_and_delete, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("ada")).await;
    let uid = id(&user);

    let res = create_key(&app, &token, json!({"name": "ci", "scopes": ["read", "write"]})).await;
    res.assert_status(201);
    let data = res.data().clone();
    let key = key_of(&res);
    let kid = id(&data);
    let prefix = data["prefix"].as_str().unwrap().to_string();
    assert!(key.starts_with(&format!("agora_{prefix}_")), "{key} does not carry its prefix {prefix}");
    assert!(key.len() >= 40, "a short key: {key}");
    assert_eq!(data["name"], json!("ci"));
    assert_eq!(data["scopes"], json!(["read", "write"]));
    assert_eq!(res.header("location"), Some(format!("/v2/api-keys/{kid}").as_str()));

    // Listed, without the secret.
    let res = app.get("/v2/api-keys").bearer(&token).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), [kid]);
    let item = &res.items()[0];
    assert_eq!(item["prefix"], json!(prefix));
    assert_eq!(item["name"], json!("ci"));
    assert!(item.get("key").is_none() && item.get("key_hash").is_none(), "{item}");
    assert!(!res.text().contains(&key), "the secret was shown again: {}", res.describe());
    // The whole secret after the prefix: it may itself contain `_` (base64url), so splitting
    // on the last `_` could leave a few characters that occur anywhere in the body.
    let secret_part = key.strip_prefix(&format!("agora_{prefix}_")).unwrap();
    assert!(secret_part.len() >= 20, "a short secret: {key}");
    assert!(!res.text().contains(secret_part), "the secret was shown again: {}", res.describe());

    // Used both ways; it acts as its owner.
    for res in [
        app.get("/v2/users/me").api_key(&key).send().await,
        app.get("/v2/users/me").header("authorization", &format!("ApiKey {key}")).send().await,
    ] {
        res.assert_status(200);
        assert_eq!(id(res.data()), uid);
        assert_eq!(res.data()["email"], user["email"]);
    }
    let res = app.post("/v2/posts").api_key(&key).json(&json!({"title": "From CI", "content": "c"})).send().await;
    res.assert_status(201);
    assert_eq!(res.data()["author_id"], json!(uid));
    let res = app
        .patch(&format!("/v2/users/{uid}"))
        .header("authorization", &format!("ApiKey {key}"))
        .json(&json!({"name": "Ada K."}))
        .send()
        .await;
    res.assert_status(200);
    // `last_used_at` is recorded.
    let res = app.get("/v2/api-keys").bearer(&token).send().await;
    assert!(res.items()[0]["last_used_at"].is_string(), "{}", res.describe());

    // Deleted: refused at once, with a challenge.
    app.delete(&format!("/v2/api-keys/{kid}")).bearer(&token).send().await.assert_status(204);
    app.get("/v2/users/me").api_key(&key).send().await.assert_unauthenticated();
    app.get("/v2/products").api_key(&key).send().await.assert_unauthenticated();
    app.get("/v2/users/me").header("authorization", &format!("ApiKey {key}")).send().await.assert_unauthenticated();
    app.delete(&format!("/v2/api-keys/{kid}")).bearer(&token).send().await.assert_error(404, "API_KEY_NOT_FOUND");
    let res = app.get("/v2/api-keys").bearer(&token).send().await;
    assert!(res.items().is_empty());
});

db_test!(read_scope_cannot_write, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("ada")).await;
    let uid = id(&user);
    let res = create_key(&app, &token, json!({"name": "reader", "scopes": ["read"]})).await;
    res.assert_status(201);
    assert_eq!(res.data()["scopes"], json!(["read"]));
    let key = key_of(&res);
    app.get("/v2/users/me").api_key(&key).send().await.assert_status(200);
    app.get("/v2/api-keys").api_key(&key).send().await.assert_status(200);
    let post = id(&create_post(&app, uid, "mine", "x").await);
    for res in [
        app.post("/v2/posts").api_key(&key).json(&json!({"title": "t", "content": "c"})).send().await,
        app.patch(&format!("/v2/posts/{post}")).api_key(&key).json(&json!({"title": "t"})).send().await,
        app.delete(&format!("/v2/posts/{post}")).api_key(&key).send().await,
        app.patch(&format!("/v2/users/{uid}")).api_key(&key).json(&json!({"name": "x"})).send().await,
        app.delete(&format!("/v2/users/{uid}")).api_key(&key).send().await,
        // Nor mint a stronger key for itself.
        app.post("/v2/api-keys").api_key(&key).json(&json!({"name": "x", "scopes": ["read", "write"]})).send().await,
        app.post("/v2/api-keys").api_key(&key).json(&json!({"name": "x", "scopes": ["read"]})).send().await,
    ] {
        res.assert_error(403, "FORBIDDEN");
    }
    app.get(&format!("/v2/posts/{post}")).send().await.assert_status(200);
    assert_eq!(app.get(&format!("/v2/users/{uid}")).send().await.data()["name"], user["name"]);
    // Default scope is read.
    let res = create_key(&app, &token, json!({"name": "default"})).await;
    res.assert_status(201);
    assert_eq!(res.data()["scopes"], json!(["read"]));
});

db_test!(a_key_cannot_exceed_its_creator, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("ada")).await;
    for scopes in [json!(["admin"]), json!(["read", "write", "admin"]), json!("read admin")] {
        let res = create_key(&app, &token, json!({"name": "root", "scopes": scopes})).await;
        res.assert_error(403, "FORBIDDEN");
    }
    // A read-only login cannot create keys at all (creating is a write).
    let email = unique_email("bob");
    create_user(&app, "Bob", &email).await;
    let res = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "password"), ("email", &email), ("password", PASSWORD), ("scope", "read")])
        .send()
        .await;
    let read_only = res.data()["access_token"].as_str().unwrap().to_string();
    create_key(&app, &read_only, json!({"name": "x", "scopes": ["read"]})).await.assert_error(403, "FORBIDDEN");
    assert!(app.get("/v2/api-keys").bearer(&token).send().await.items().is_empty());

    // An administrator may create an admin key, and it administers.
    let admin = app.admin_token().await;
    let res = create_key(&app, &admin, json!({"name": "ops", "scopes": ["read", "write", "admin"]})).await;
    res.assert_status(201);
    let key = key_of(&res);
    let res =
        app.post("/v2/products").api_key(&key).json(&json!({"name": "x", "category": "y", "price": 1})).send().await;
    res.assert_status(201);
    // An admin's key without the admin scope is not an admin credential.
    let res = create_key(&app, &admin, json!({"name": "rw", "scopes": ["read", "write"]})).await;
    let key = key_of(&res);
    let res =
        app.post("/v2/products").api_key(&key).json(&json!({"name": "x", "category": "y", "price": 1})).send().await;
    res.assert_error(403, "FORBIDDEN");
});

db_test!(keys_are_private_to_their_owner, |app| async move {
    let (_, ada) = app.signup_and_login(&unique_email("ada")).await;
    let (_, bob) = app.signup_and_login(&unique_email("bob")).await;
    let res = create_key(&app, &ada, json!({"name": "ada's", "scopes": ["read"]})).await;
    let kid = id(res.data());
    let key = key_of(&res);
    // Bob sees none of Ada's keys and cannot delete them.
    assert!(app.get("/v2/api-keys").bearer(&bob).send().await.items().is_empty());
    app.delete(&format!("/v2/api-keys/{kid}")).bearer(&bob).send().await.assert_error(404, "API_KEY_NOT_FOUND");
    app.get("/v2/users/me").api_key(&key).send().await.assert_status(200);
    // Anonymous callers get nothing.
    app.get("/v2/api-keys").send().await.assert_unauthenticated();
    app.post("/v2/api-keys").json(&json!({"name": "x"})).send().await.assert_unauthenticated();
    app.delete(&format!("/v2/api-keys/{kid}")).send().await.assert_unauthenticated();
});

db_test!(bad_keys_and_bad_requests, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("ada")).await;
    let key = key_of(&create_key(&app, &token, json!({"name": "k", "scopes": ["read"]})).await);
    let mut tampered = key.clone();
    let last = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., last);
    let (prefix_part, _) = key.rsplit_once('_').unwrap();
    for bad in [
        tampered.as_str(),
        &format!("{prefix_part}_"),
        "agora_nope_nope",
        "agora_",
        "garbage",
        "",
        &key[..key.len() - 1],
        &format!("{key}x"),
    ] {
        let res = app.get("/v2/users/me").api_key(bad).send().await;
        assert_eq!(res.status, 401, "key {bad:?} accepted: {}", res.describe());
        res.assert_unauthenticated();
    }
    // Validation.
    create_key(&app, &token, json!({"name": "", "scopes": ["read"]})).await.assert_validation(&["name"]);
    create_key(&app, &token, json!({"name": "x".repeat(101), "scopes": ["read"]})).await.assert_validation(&["name"]);
    create_key(&app, &token, json!({"name": "x", "scopes": []})).await.assert_validation(&["scopes"]);
    create_key(&app, &token, json!({"name": "x", "scopes": ["root"]})).await.assert_validation(&["scopes"]);
    assert_eq!(app.get("/v2/api-keys").bearer(&token).send().await.items().len(), 1);
});

db_test!(keys_of_a_deleted_user_stop_working, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("ada")).await;
    let res = create_key(&app, &token, json!({"name": "k", "scopes": ["read", "write"]})).await;
    let key = key_of(&res);
    app.get("/v2/users/me").api_key(&key).send().await.assert_status(200);
    app.delete(&format!("/v2/users/{}", id(&user))).api_key(&key).send().await.assert_status(204);
    app.get("/v2/users/me").api_key(&key).send().await.assert_unauthenticated();
    app.get("/v2/products").api_key(&key).send().await.assert_unauthenticated();
});

db_test!(a_user_holds_at_most_a_page_of_keys, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("many")).await;
    for i in 0..agora_core::auth::MAX_API_KEYS {
        create_key(&app, &token, json!({"name": format!("k{i}")})).await.assert_status(201);
    }
    create_key(&app, &token, json!({"name": "one more"})).await.assert_error(409, "LIMIT_REACHED");
    let list = app.get("/v2/api-keys").bearer(&token).send().await;
    list.assert_status(200);
    assert_eq!(list.data().as_array().map(Vec::len), Some(agora_core::auth::MAX_API_KEYS));
    assert_eq!(list.body["pagination"]["limit"], json!(agora_core::auth::MAX_API_KEYS));
});
