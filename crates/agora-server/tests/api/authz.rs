//! CONTRACT §6 authorization: object-level checks on every write endpoint (no IDOR), admin
//! rights (role *and* scope, re-read on every request), anonymous writes, mass assignment and
//! the visibility of `email`.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::common::*;

fn product() -> Value {
    json!({"name": "Desk", "category": "furniture", "price": 100, "stock": 1})
}

db_test!(users_change_only_their_own_resources, |app| async move {
    let (a, a_token) = app.signup_and_login(&unique_email("ada")).await;
    let (b, b_token) = app.signup_and_login(&unique_email("bob")).await;
    let (a_id, b_id) = (id(&a), id(&b));
    let b_post = id(&create_post(&app, b_id, "Bob's", "mine").await);
    let prod = id(&create_product(&app, "Desk", "furniture", 100, 1).await);
    let b_email = b["email"].as_str().unwrap().to_string();

    for prefix in ["/v2", "/v1"] {
        let user_b = format!("{prefix}/users/{b_id}");
        let post_b = format!("{prefix}/posts/{b_post}");
        let p = format!("{prefix}/products/{prod}");
        for res in [
            app.put(&user_b)
                .bearer(&a_token)
                .json(&json!({"name": "Pwned", "email": "pwned@example.com"}))
                .send()
                .await,
            app.patch(&user_b).bearer(&a_token).json(&json!({"name": "Pwned"})).send().await,
            app.patch(&user_b).bearer(&a_token).json(&json!({"password": "new password 123"})).send().await,
            app.delete(&user_b).bearer(&a_token).send().await,
            app.patch(&post_b).bearer(&a_token).json(&json!({"title": "Pwned"})).send().await,
            app.delete(&post_b).bearer(&a_token).send().await,
            app.post(&format!("{prefix}/products")).bearer(&a_token).json(&product()).send().await,
            app.put(&p).bearer(&a_token).json(&product()).send().await,
            app.patch(&p).bearer(&a_token).json(&json!({"price": 1})).send().await,
            app.delete(&p).bearer(&a_token).send().await,
        ] {
            res.assert_error(403, "FORBIDDEN");
        }
    }
    // Nothing changed: B can still log in with the old password, and everything is intact.
    app.login(&b_email, PASSWORD).await;
    let res = app.get(&format!("/v2/users/{b_id}")).bearer(&b_token).send().await;
    assert_eq!(res.data()["name"], b["name"]);
    assert_eq!(res.data()["email"], json!(b_email));
    assert_eq!(app.get(&format!("/v2/posts/{b_post}")).send().await.data()["title"], json!("Bob's"));
    let res = app.get(&format!("/v2/products/{prod}")).send().await;
    assert_eq!(res.data()["name"], json!("Desk"));
    assert_eq!(res.data()["price"], json!(100));

    // Their own things they may change.
    let res = app.patch(&format!("/v2/users/{a_id}")).bearer(&a_token).json(&json!({"name": "Ada L."})).send().await;
    res.assert_status(200);
    let a_post = id(&create_post(&app, a_id, "Ada's", "mine").await);
    let res = app.patch(&format!("/v2/posts/{a_post}")).bearer(&a_token).json(&json!({"title": "Edited"})).send().await;
    res.assert_status(200);
    // B may not delete A's post either; A may.
    let res = app.delete(&format!("/v2/posts/{a_post}")).bearer(&b_token).send().await;
    res.assert_error(403, "FORBIDDEN");
    app.delete(&format!("/v2/posts/{a_post}")).bearer(&a_token).send().await.assert_status(204);
});

db_test!(admins_may_moderate, |app| async move {
    let (b, b_token) = app.signup_and_login(&unique_email("bob")).await;
    let b_id = id(&b);
    let admin = app.admin_token().await;
    let kept = id(&create_post(&app, b_id, "kept", "x").await);
    let gone = id(&create_post(&app, b_id, "gone", "x").await);

    // Delete another user's post: yes. Edit it: no — only its author edits a post.
    let res = app.patch(&format!("/v2/posts/{kept}")).bearer(&admin).json(&json!({"title": "Rewritten"})).send().await;
    res.assert_error(403, "FORBIDDEN");
    app.delete(&format!("/v2/posts/{gone}")).bearer(&admin).send().await.assert_status(204);
    app.get(&format!("/v2/posts/{gone}")).send().await.assert_error(404, "POST_NOT_FOUND");
    assert_eq!(app.get(&format!("/v2/posts/{kept}")).send().await.data()["title"], json!("kept"));

    // Change another user's profile and role.
    let res = app.patch(&format!("/v2/users/{b_id}")).bearer(&admin).json(&json!({"role": "admin"})).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["role"], json!("admin"));
    assert_eq!(res.data()["email"], b["email"], "admins see emails");
    // B's existing token was issued for `read write`: promoted, B still needs a token with the
    // admin scope to act as one.
    let res = app.post("/v2/products").bearer(&b_token).json(&product()).send().await;
    res.assert_error(403, "FORBIDDEN");
    let fresh = app.login(b["email"].as_str().unwrap(), PASSWORD).await;
    assert_eq!(fresh["scope"], json!("read write admin"));
    let b_admin = fresh["access_token"].as_str().unwrap().to_string();
    app.post("/v2/products").bearer(&b_admin).json(&product()).send().await.assert_status(201);

    // Demoted: the admin token stops administering at once (the role is re-read every request).
    let res = app.patch(&format!("/v2/users/{b_id}")).bearer(&admin).json(&json!({"role": "user"})).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["role"], json!("user"));
    let res = app.post("/v2/products").bearer(&b_admin).json(&product()).send().await;
    res.assert_error(403, "FORBIDDEN");
    let res = app.delete(&format!("/v2/posts/{kept}")).bearer(&b_admin).send().await;
    res.assert_status(204); // still B's own post

    // Admins may also replace and delete other users.
    let res = app
        .put(&format!("/v2/users/{b_id}"))
        .bearer(&admin)
        .json(&json!({"name": "Robert", "email": unique_email("robert")}))
        .send()
        .await;
    res.assert_status(200);
    app.delete(&format!("/v2/users/{b_id}")).bearer(&admin).send().await.assert_status(204);
    app.get("/v2/users/me").bearer(&b_token).send().await.assert_invalid_token();
});

db_test!(anonymous_writes_are_401_with_a_challenge, |app| async move {
    let u = id(&create_user(&app, "Ada", &unique_email("ada")).await);
    let p = id(&create_post(&app, u, "t", "c").await);
    let prod = id(&create_product(&app, "Desk", "furniture", 100, 1).await);
    for res in [
        app.put(&format!("/v2/users/{u}")).json(&json!({"name": "x", "email": "x@example.com"})).send().await,
        app.patch(&format!("/v2/users/{u}")).json(&json!({"name": "x"})).send().await,
        app.delete(&format!("/v2/users/{u}")).send().await,
        app.post("/v2/posts").json(&json!({"title": "t", "content": "c"})).send().await,
        app.patch(&format!("/v2/posts/{p}")).json(&json!({"title": "x"})).send().await,
        app.delete(&format!("/v2/posts/{p}")).send().await,
        app.post("/v2/products").json(&product()).send().await,
        app.put(&format!("/v2/products/{prod}")).json(&product()).send().await,
        app.patch(&format!("/v2/products/{prod}")).json(&json!({"price": 1})).send().await,
        app.delete(&format!("/v2/products/{prod}")).send().await,
        app.post("/v1/products").json(&product()).send().await,
        app.post("/posts").json(&json!({"title": "t", "content": "c"})).send().await,
    ] {
        res.assert_unauthenticated();
        let challenge = res.header("www-authenticate").unwrap();
        assert!(challenge.to_ascii_lowercase().starts_with("bearer"), "{challenge}");
    }
    // Problem details keep the challenge.
    let res = app.post("/v2/posts").header("accept", "application/problem+json").json(&json!({})).send().await;
    assert_eq!(res.status, 401);
    assert!(res.header("www-authenticate").is_some());
    assert_eq!(res.body["code"], json!("UNAUTHENTICATED"));
    // An unknown scheme is refused, not ignored.
    let res = app.post("/v2/posts").header("authorization", "Digest abc").json(&json!({})).send().await;
    res.assert_unauthenticated();
    // Sign-up is the one public write.
    create_user(&app, "Bob", &unique_email("bob")).await;
    // Nothing changed.
    assert_eq!(app.get(&format!("/v2/users/{u}")).send().await.data()["name"], json!("Ada"));
    app.get(&format!("/v2/posts/{p}")).send().await.assert_status(200);
    app.get(&format!("/v2/products/{prod}")).send().await.assert_status(200);
});

db_test!(mass_assignment_is_impossible, |app| async move {
    let email = unique_email("ada");
    let (me, token) = app.signup_and_login(&email).await;
    let uid = id(&me);
    let path = format!("/v2/users/{uid}");

    // `role` from a non-admin: 403, and nothing at all changes (not even the other fields).
    for body in [json!({"role": "admin"}), json!({"name": "Sneaky", "role": "admin"}), json!({"role": "user"})] {
        let res = app.patch(&path).bearer(&token).json(&body).send().await;
        res.assert_error(403, "FORBIDDEN");
    }
    let res =
        app.put(&path).bearer(&token).json(&json!({"name": "Sneaky", "email": email, "role": "admin"})).send().await;
    res.assert_error(403, "FORBIDDEN");
    let res = app.get(&path).bearer(&token).send().await;
    assert_eq!(res.data()["role"], json!("user"));
    assert_eq!(res.data()["name"], me["name"]);
    assert_eq!(res.data()["updated_at"], me["updated_at"]);
    // Still not an admin.
    app.post("/v2/products").bearer(&token).json(&product()).send().await.assert_error(403, "FORBIDDEN");

    // Server-owned fields: 422 read_only, each named, nothing changed.
    for (field, value) in [
        ("id", json!(uid + 1000)),
        ("created_at", json!("2000-01-01T00:00:00Z")),
        ("updated_at", json!("2000-01-01T00:00:00Z")),
        ("version", json!(99)),
    ] {
        let res = app.patch(&path).bearer(&token).json(&json!({"name": "Changed", field: value})).send().await;
        res.assert_validation(&[field]);
        assert_eq!(res.detail(field).unwrap()["code"], json!("read_only"), "{}", res.describe());
    }
    let res = app
        .patch(&path)
        .bearer(&token)
        .json(&json!({"id": 1, "created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z"}))
        .send()
        .await;
    res.assert_validation(&["id", "created_at", "updated_at"]);
    for f in ["id", "created_at", "updated_at"] {
        assert_eq!(res.detail(f).unwrap()["code"], json!("read_only"));
    }
    // Other names for private state are simply unknown.
    for field in ["password_hash", "is_admin", "admin", "scopes"] {
        let res = app.patch(&path).bearer(&token).json(&json!({field: true})).send().await;
        res.assert_validation(&[field]);
    }
    let res = app.get(&path).bearer(&token).send().await;
    assert_eq!(id(res.data()), uid);
    assert_eq!(res.data()["name"], me["name"]);
    assert_eq!(res.data()["created_at"], me["created_at"]);
    assert_eq!(res.data()["updated_at"], me["updated_at"]);

    // Posts: the author, likes and counts are the server's.
    let post = id(&create_post(&app, uid, "t", "c").await);
    for (field, value) in [
        ("author_id", json!(uid + 1)),
        ("likes", json!(1000)),
        ("comment_count", json!(5)),
        ("comments_count", json!(5)),
    ] {
        let res = app.patch(&format!("/v2/posts/{post}")).bearer(&token).json(&json!({field: value})).send().await;
        res.assert_validation(&[field]);
    }
    let res = app
        .patch(&format!("/v2/posts/{post}"))
        .bearer(&token)
        .json(&json!({"id": 1, "created_at": "2000-01-01T00:00:00Z"}))
        .send()
        .await;
    res.assert_validation(&["id", "created_at"]);

    // An admin may set roles — on sign-up of another user, and on an existing user.
    let admin = app.admin_token().await;
    let res = app.patch(&path).bearer(&admin).json(&json!({"role": "admin"})).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["role"], json!("admin"));
    let res = app.patch(&path).bearer(&admin).json(&json!({"role": "superuser"})).send().await;
    res.assert_validation(&["role"]);
    let res = app
        .post("/v2/users")
        .bearer(&admin)
        .json(&json!({"name": "Second admin", "email": unique_email("admin2"), "password": PASSWORD, "role": "admin"}))
        .send()
        .await;
    res.assert_status(201);
    assert_eq!(res.data()["role"], json!("admin"));
    // But not read-only fields.
    let res = app.patch(&path).bearer(&admin).json(&json!({"id": 7})).send().await;
    res.assert_validation(&["id"]);
});

db_test!(role_needs_the_admin_scope_too, |app| async move {
    // An admin's credential without the `admin` scope cannot set roles.
    let admin_email = unique_email("admin");
    app.create_admin(&admin_email).await;
    let res = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "password"), ("email", &admin_email), ("password", PASSWORD), ("scope", "read write")])
        .send()
        .await;
    let rw = res.data()["access_token"].as_str().unwrap().to_string();
    let (b, _) = app.signup_and_login(&unique_email("bob")).await;
    let res = app.patch(&format!("/v2/users/{}", id(&b))).bearer(&rw).json(&json!({"role": "admin"})).send().await;
    res.assert_error(403, "FORBIDDEN");
    let (c, c_token) = app.signup_and_login(&unique_email("carol")).await;
    let res = app
        .post("/v2/users")
        .bearer(&c_token)
        .json(&json!({"name": "Minion", "email": unique_email("minion"), "password": PASSWORD, "role": "admin"}))
        .send()
        .await;
    res.assert_error(403, "FORBIDDEN");
    assert_eq!(app.get(&format!("/v2/users/{}", id(&c))).send().await.data()["role"], json!("user"));
});

db_test!(email_is_visible_to_self_and_admins_only, |app| async move {
    let (a, a_token) = app.signup_and_login(&unique_email("ada")).await;
    let (b, b_token) = app.signup_and_login(&unique_email("bob")).await;
    let admin = app.admin_token().await;
    let (a_id, b_id) = (id(&a), id(&b));
    let a_email = a["email"].as_str().unwrap().to_string();
    let b_email = b["email"].as_str().unwrap().to_string();

    // Single GETs.
    let get = |uid: i64, token: Option<&str>| {
        let mut req = app.get(&format!("/v2/users/{uid}"));
        if let Some(t) = token {
            req = req.bearer(t);
        }
        req.send()
    };
    assert_eq!(get(a_id, Some(&a_token)).await.data()["email"], json!(a_email));
    assert_eq!(get(a_id, Some(&admin)).await.data()["email"], json!(a_email));
    for res in [get(a_id, Some(&b_token)).await, get(a_id, None).await] {
        res.assert_status(200);
        assert!(res.data().get("email").is_none(), "{}", res.describe());
        assert!(!res.text().contains(&a_email));
    }
    // `fields=email` does not get around it.
    let res = app.get(&format!("/v2/users/{a_id}?fields=id,email")).bearer(&b_token).send().await;
    assert!(!res.text().contains(&a_email), "{}", res.describe());

    // Lists: each caller sees their own email only; admins see all.
    let res = app.get("/v2/users?limit=100").bearer(&a_token).send().await;
    res.assert_status(200);
    for u in res.items() {
        if id(u) == a_id {
            assert_eq!(u["email"], json!(a_email));
        } else {
            assert!(u.get("email").is_none(), "{u}");
        }
    }
    assert!(!res.text().contains(&b_email));
    let res = app.get("/v2/users?limit=100").bearer(&admin).send().await;
    let emails: Vec<&Value> = res.items().iter().map(|u| &u["email"]).collect();
    assert!(emails.contains(&&json!(a_email)) && emails.contains(&&json!(b_email)), "{}", res.describe());
    // The write responses follow the same rule.
    let res = app.patch(&format!("/v2/users/{b_id}")).bearer(&admin).json(&json!({"name": "Bobby"})).send().await;
    assert_eq!(res.data()["email"], json!(b_email));
});

db_test!(writes_authenticate_before_looking_anything_up, |app| async move {
    // An existence oracle otherwise: a missing id answered 404 where an existing one was 401.
    let u = id(&create_user(&app, "Ada", &unique_email("ada")).await);
    let p = id(&create_post(&app, u, "t", "c").await);
    let reader = app.token_with_scopes(u, agora_core::actor::Scopes::READ);
    for path in ["/v2/posts/999999", "/v2/users/999999", "/v2/products/999999", "/v2/api-keys/999999"] {
        app.delete(path).send().await.assert_unauthenticated();
        app.delete(path).bearer(&reader).send().await.assert_error(403, "FORBIDDEN");
    }
    app.delete(&format!("/v2/posts/{p}")).send().await.assert_unauthenticated();
    // Nor does If-Match answer before the credential or the body are checked.
    for path in ["/v2/posts/999999".to_string(), format!("/v2/posts/{p}")] {
        let res = app.patch(&path).header("if-match", "\"stale\"").json(&json!({"title": "x"})).send().await;
        res.assert_unauthenticated();
        let res = app
            .patch(&path)
            .bearer(&app.token_for(u))
            .header("if-match", "\"stale\"")
            .json(&json!({"title": ""}))
            .send()
            .await;
        res.assert_validation(&["title"]);
    }
});
