//! CONTRACT §6 password login and `GET /users/me`: the token endpoint (JSON and form bodies,
//! every version prefix), scopes asked for at login, and failures that do not reveal which
//! emails have accounts.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{Value, json};

#[track_caller]
fn assert_token_response(res: &TestResponse, scope: &str) {
    res.assert_status(200);
    let d = res.data();
    let access = d["access_token"].as_str().unwrap_or_else(|| panic!("no access_token: {}", res.describe()));
    assert_eq!(access.split('.').count(), 3, "not a JWS compact token: {access}");
    assert_eq!(d["token_type"], json!("Bearer"));
    assert_eq!(d["expires_in"], json!(900), "default access_token_ttl is 15m");
    assert!(d["refresh_token"].as_str().is_some_and(|r| r.starts_with("rt_") && r.len() > 20), "{}", res.describe());
    assert_eq!(d["scope"], json!(scope));
    // RFC 6749 clients read the fields at the top level.
    for k in ["access_token", "token_type", "expires_in", "refresh_token", "scope"] {
        assert_eq!(res.body[k], d[k], "top-level {k}: {}", res.describe());
    }
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

db_test!(password_login_json_and_form, |app| async move {
    let email = unique_email("ada");
    let user = create_user(&app, "Ada", &email).await;
    let uid = id(&user);

    let res = app
        .post("/v2/auth/token")
        .json(&json!({"grant_type": "password", "email": email, "password": PASSWORD}))
        .send()
        .await;
    assert_token_response(&res, "read write");
    let json_token = res.data()["access_token"].as_str().unwrap().to_string();

    let res = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "password"), ("email", &email), ("password", PASSWORD)])
        .send()
        .await;
    assert_token_response(&res, "read write");
    let form_token = res.data()["access_token"].as_str().unwrap().to_string();
    assert_ne!(json_token, form_token, "every login issues a new token");

    // OAuth's `username` works as the email; every version prefix and the unprefixed path serve it.
    for path in ["/v2/auth/token", "/v1/auth/token", "/auth/token"] {
        let res = app
            .post(path)
            .form(&[("grant_type", "password"), ("username", &email), ("password", PASSWORD)])
            .send()
            .await;
        assert_token_response(&res, "read write");
    }

    // Both tokens work.
    for token in [&json_token, &form_token] {
        let res = app.get("/v2/users/me").bearer(token).send().await;
        res.assert_status(200);
        assert_eq!(id(res.data()), uid);
    }
});

db_test!(users_me, |app| async move {
    let email = unique_email("ada");
    let (user, token) = app.signup_and_login(&email).await;
    for path in ["/v2/users/me", "/v1/users/me", "/users/me"] {
        let res = app.get(path).bearer(&token).send().await;
        res.assert_status(200);
        assert_eq!(id(res.data()), id(&user));
        assert_eq!(res.data()["email"], json!(email), "the caller sees their own email");
        assert_eq!(res.data()["role"], json!("user"));
        assert!(res.data().get("password_hash").is_none() && res.data().get("password").is_none());
        assert!(res.header("etag").is_some());
    }
    // Anonymous: there is no "me".
    app.get("/v2/users/me").send().await.assert_unauthenticated();
    // `me` is not mistaken for an id by the write routes either.
    let res = app.patch("/v2/users/me").bearer(&token).json(&json!({"name": "x"})).send().await;
    assert!(res.status.is_client_error() && res.status != 401, "{}", res.describe());
});

db_test!(wrong_password_and_unknown_email_look_the_same, |app| async move {
    let email = unique_email("ada");
    create_user(&app, "Ada", &email).await;
    let unknown = unique_email("nobody");

    let strip = |res: &TestResponse| -> (u16, Value, Option<String>, Option<String>) {
        let mut body = res.body.clone();
        if let Value::Object(m) = &mut body {
            m.remove("meta");
        }
        (
            res.status.as_u16(),
            body,
            res.header("www-authenticate").map(str::to_string),
            res.header("content-type").map(str::to_string),
        )
    };

    let json_body = |e: &str, p: &str| json!({"grant_type": "password", "email": e, "password": p});
    let wrong = app.post("/v2/auth/token").json(&json_body(&email, "wrong password")).send().await;
    wrong.assert_unauthenticated();
    let missing = app.post("/v2/auth/token").json(&json_body(&unknown, PASSWORD)).send().await;
    missing.assert_unauthenticated();
    assert_eq!(strip(&wrong), strip(&missing), "\n{}\n{}", wrong.describe(), missing.describe());
    // Not a syntactically valid email: still the same answer.
    let malformed = app.post("/v2/auth/token").json(&json_body("not-an-email", PASSWORD)).send().await;
    assert_eq!(strip(&wrong), strip(&malformed), "{}", malformed.describe());
    // Another user's password does not open this account.
    let other = unique_email("bob");
    create_user(&app, "Bob", &other).await;
    let res = app.post("/v2/auth/token").json(&json_body(&email, "another password")).send().await;
    assert_eq!(strip(&wrong), strip(&res));

    // Form-encoded, and on the session endpoint: the same rule.
    let form = |e: &str| {
        app.post("/v2/auth/token")
            .form(&[("grant_type", "password"), ("email", e), ("password", "wrong password")])
            .send()
    };
    assert_eq!(strip(&form(&email).await), strip(&form(&unknown).await));
    let session = |e: &str| app.post("/v2/auth/session").json(&json!({"email": e, "password": "nope-nope"})).send();
    let (a, b) = (session(&email).await, session(&unknown).await);
    a.assert_unauthenticated();
    assert_eq!(strip(&a), strip(&b));
    assert!(a.header("set-cookie").is_none() && b.header("set-cookie").is_none());

    // Nothing in the failure names the account.
    for res in [&wrong, &missing] {
        assert!(!res.text().contains(&email) && !res.text().contains(&unknown), "{}", res.describe());
        assert!(res.body["data"].is_null() && res.body.get("access_token").is_none());
    }
});

db_test!(token_endpoint_rejects_bad_requests, |app| async move {
    let email = unique_email("ada");
    create_user(&app, "Ada", &email).await;
    let res = app.post("/v2/auth/token").json(&json!({"email": email, "password": PASSWORD})).send().await;
    res.assert_validation(&["grant_type"]);
    let res = app.post("/v2/auth/token").form(&[("grant_type", "implicit")]).send().await;
    res.assert_error(400, "UNSUPPORTED_GRANT_TYPE");
    let res = app.post("/v2/auth/token").form(&[("grant_type", "password"), ("email", &email)]).send().await;
    res.assert_validation(&["password"]);
    let res = app.post("/v2/auth/token").body("text/plain", "grant_type=password").send().await;
    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let res = app.post("/v2/auth/token").body("application/json", "{").send().await;
    res.assert_error(400, "INVALID_REQUEST");
});

db_test!(login_can_ask_for_fewer_scopes_but_not_more, |app| async move {
    let email = unique_email("ada");
    let user = create_user(&app, "Ada", &email).await;
    let uid = id(&user);
    let login = |scope: &str| {
        app.post("/v2/auth/token")
            .form(&[("grant_type", "password"), ("email", &email), ("password", PASSWORD), ("scope", scope)])
            .send()
    };
    let res = login("read").await;
    assert_token_response(&res, "read");
    let read_only = res.data()["access_token"].as_str().unwrap().to_string();
    app.get("/v2/users/me").bearer(&read_only).send().await.assert_status(200);
    let res = app.patch(&format!("/v2/users/{uid}")).bearer(&read_only).json(&json!({"name": "x"})).send().await;
    res.assert_error(403, "FORBIDDEN");
    let res = app.post("/v2/posts").bearer(&read_only).json(&json!({"title": "t", "content": "c"})).send().await;
    res.assert_error(403, "FORBIDDEN");
    assert_eq!(app.get(&format!("/v2/users/{uid}")).send().await.data()["name"], json!("Ada"));

    // A user cannot obtain the admin scope; unknown scopes are invalid.
    login("read write admin").await.assert_error(403, "FORBIDDEN");
    login("admin").await.assert_error(403, "FORBIDDEN");
    login("root").await.assert_validation(&["scope"]);

    // An administrator's login carries `admin`, and can drop it.
    let admin_email = unique_email("admin");
    app.create_admin(&admin_email).await;
    let res = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "password"), ("email", &admin_email), ("password", PASSWORD)])
        .send()
        .await;
    assert_token_response(&res, "read write admin");
    let res = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "password"), ("email", &admin_email), ("password", PASSWORD), ("scope", "read write")])
        .send()
        .await;
    assert_token_response(&res, "read write");
    // Without the admin scope an administrator is not an administrator.
    let token = res.data()["access_token"].as_str().unwrap().to_string();
    let res =
        app.post("/v2/products").bearer(&token).json(&json!({"name": "x", "category": "y", "price": 1})).send().await;
    res.assert_error(403, "FORBIDDEN");
});
