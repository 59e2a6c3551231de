//! CONTRACT §6 session cookies: `POST /auth/session` sets `agora_session` (HttpOnly, Secure,
//! SameSite=Lax, Path=/), safe methods work with the cookie alone, unsafe ones need the
//! session's `X-CSRF-Token` (403 `CSRF_FAILED` otherwise), and `DELETE /auth/session` logs out.
//! Run on the database store and on Redis.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::common::*;

const COOKIE: &str = "agora_session";

/// Signs in; returns (cookie value, CSRF token).
async fn sign_in(app: &TestApp, email: &str, uid: i64) -> (String, String) {
    let res = app.post("/v2/auth/session").json(&json!({"email": email, "password": PASSWORD})).send().await;
    res.assert_status(201);
    let (value, attrs) = res.set_cookie(COOKIE).unwrap_or_else(|| panic!("no {COOKIE} cookie: {}", res.describe()));
    assert!(value.len() >= 32, "guessable session id {value:?}");
    let attrs: Vec<String> = attrs.split(';').map(|a| a.trim().to_ascii_lowercase()).collect();
    for want in ["httponly", "secure", "samesite=lax", "path=/"] {
        assert!(attrs.iter().any(|a| a == want), "cookie lacks `{want}`: {attrs:?}");
    }
    assert!(attrs.iter().any(|a| a.starts_with("max-age=") && a != "max-age=0"), "{attrs:?}");
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let csrf = res.data()["csrf_token"].as_str().expect("csrf_token").to_string();
    assert!(csrf.len() >= 32 && csrf != value);
    assert_eq!(id(&res.data()["user"]), uid);
    assert!(res.data()["expires_at"].is_string());
    // The body never carries the session id itself.
    assert!(!res.text().contains(&value), "session id in the body: {}", res.describe());
    (value, csrf)
}

async fn session_flow(app: &TestApp) {
    let email = unique_email("ada");
    let user = create_user(app, "Ada", &email).await;
    let uid = id(&user);
    let (sid, csrf) = sign_in(app, &email, uid).await;

    // Safe methods: the cookie alone.
    let res = app.get("/v2/users/me").cookie(COOKIE, &sid).send().await;
    res.assert_status(200);
    assert_eq!(id(res.data()), uid);
    assert_eq!(res.data()["email"], json!(email));
    // The cookie among others.
    let res = app.get("/v2/users/me").header("cookie", &format!("theme=dark; {COOKIE}={sid}; lang=en")).send().await;
    res.assert_status(200);

    // Unsafe methods: no token, a wrong one, another session's → 403 CSRF_FAILED, nothing done.
    let (_, other_csrf) = sign_in(app, &email, uid).await;
    for token in [None, Some(""), Some("wrong"), Some(other_csrf.as_str()), Some(&csrf[..csrf.len() - 1])] {
        let mut req = app.post("/v2/posts").cookie(COOKIE, &sid);
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let res = req.json(&json!({"title": "t", "content": "c"})).send().await;
        res.assert_error(403, "CSRF_FAILED");
        let res = app.patch(&format!("/v2/users/{uid}")).cookie(COOKIE, &sid).json(&json!({"name": "x"})).send().await;
        res.assert_error(403, "CSRF_FAILED");
    }
    let res = app.delete(&format!("/v2/users/{uid}")).cookie(COOKIE, &sid).send().await;
    res.assert_error(403, "CSRF_FAILED");
    let res = app.get("/v2/posts?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(0));

    // The right token: success, as the session's user.
    let res = app
        .post("/v2/posts")
        .cookie(COOKIE, &sid)
        .header("x-csrf-token", &csrf)
        .json(&json!({"title": "From a browser", "content": "c"}))
        .send()
        .await;
    res.assert_status(201);
    assert_eq!(res.data()["author_id"], json!(uid));
    let res = app
        .patch(&format!("/v2/users/{uid}"))
        .cookie(COOKIE, &sid)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "Ada L."}))
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.data()["name"], json!("Ada L."));

    // Logout (itself an unsafe request: it needs the token too).
    app.delete("/v2/auth/session").cookie(COOKIE, &sid).send().await.assert_error(403, "CSRF_FAILED");
    let res = app.delete("/v2/auth/session").cookie(COOKIE, &sid).header("x-csrf-token", &csrf).send().await;
    res.assert_status(204);
    let (cleared, attrs) = res.set_cookie(COOKIE).expect("the cookie is cleared");
    assert!(cleared.is_empty(), "{cleared:?}");
    assert!(attrs.to_ascii_lowercase().contains("max-age=0"), "{attrs}");
    // The old cookie is dead everywhere, with a challenge.
    app.get("/v2/users/me").cookie(COOKIE, &sid).send().await.assert_unauthenticated();
    app.get("/v2/products").cookie(COOKIE, &sid).send().await.assert_unauthenticated();
    let res = app.post("/v2/posts").cookie(COOKIE, &sid).header("x-csrf-token", &csrf).json(&json!({})).send().await;
    res.assert_unauthenticated();
    // Made-up cookies too.
    app.get("/v2/users/me").cookie(COOKIE, "made-up").send().await.assert_unauthenticated();
    app.get("/v2/users/me").cookie(COOKIE, "").send().await.assert_unauthenticated();

    // Form-encoded sign-in works as well; wrong passwords set no cookie.
    let res = app.post("/v2/auth/session").form(&[("email", &email), ("password", PASSWORD)]).send().await;
    res.assert_status(201);
    assert!(res.set_cookie(COOKIE).is_some());
    let res = app.post("/v2/auth/session").json(&json!({"email": email, "password": "wrong password"})).send().await;
    res.assert_unauthenticated();
    assert!(res.set_cookie(COOKIE).is_none());

    // Deleting the user ends their sessions.
    let (sid, csrf) = sign_in(app, &email, uid).await;
    app.delete(&format!("/v2/users/{uid}"))
        .cookie(COOKIE, &sid)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .assert_status(204);
    app.get("/v2/users/me").cookie(COOKIE, &sid).send().await.assert_unauthenticated();
}

db_test!(session_cookie_flow, |app| async move {
    session_flow(&app).await;
});

db_test!(session_cookie_flow_on_redis, with = TestApp::redis, |app| async move {
    session_flow(&app).await;
});

db_test!(sessions_are_shared_across_instances_through_redis, with = TestApp::redis, |a| async move {
    let b = a.another_instance().await;
    let email = unique_email("ada");
    let uid = id(&create_user(&a, "Ada", &email).await);
    let (sid, csrf) = sign_in(&a, &email, uid).await;
    let res = b.get("/v2/users/me").cookie(COOKIE, &sid).send().await;
    res.assert_status(200);
    assert_eq!(id(res.data()), uid);
    b.post("/v2/posts")
        .cookie(COOKIE, &sid)
        .header("x-csrf-token", &csrf)
        .json(&json!({"title": "t", "content": "c"}))
        .send()
        .await
        .assert_status(201);
    // Logged out on B: A refuses the cookie at once.
    b.delete("/v2/auth/session").cookie(COOKIE, &sid).header("x-csrf-token", &csrf).send().await.assert_status(204);
    a.get("/v2/users/me").cookie(COOKIE, &sid).send().await.assert_unauthenticated();
    drop(b);
});

db_test!(bearer_and_api_key_writes_need_no_csrf_token, |app| async move {
    // CSRF protection is for ambient credentials (cookies) only.
    let (_, token) = app.signup_and_login(&unique_email("ada")).await;
    let res = app.post("/v2/posts").bearer(&token).json(&json!({"title": "t", "content": "c"})).send().await;
    res.assert_status(201);
    let res =
        app.post("/v2/api-keys").bearer(&token).json(&json!({"name": "k", "scopes": ["read", "write"]})).send().await;
    let key = res.data()["key"].as_str().unwrap().to_string();
    let res = app.post("/v2/posts").api_key(&key).json(&json!({"title": "t", "content": "c"})).send().await;
    res.assert_status(201);
});

db_test!(a_session_cookie_does_not_get_in_the_way_of_signing_in, |app| async move {
    let email = unique_email("ada");
    let uid = id(&create_user(&app, "Ada", &email).await);
    let (sid, csrf) = sign_in(&app, &email, uid).await;
    // A stale cookie (the session ended server-side, e.g. logged out elsewhere).
    app.delete("/v2/auth/session").cookie(COOKIE, &sid).header("x-csrf-token", &csrf).send().await.assert_status(204);
    let (live_sid, _) = sign_in(&app, &email, uid).await;

    for cookie in [sid.as_str(), live_sid.as_str()] {
        // Signing in again: the cookie is not the credential here, so neither its staleness
        // nor a missing CSRF token (a plain HTML form cannot send one) may block it.
        let res = app
            .post("/v2/auth/session")
            .cookie(COOKIE, cookie)
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await;
        res.assert_status(201);
        let res = app
            .post("/v2/auth/token")
            .cookie(COOKIE, cookie)
            .form(&[("grant_type", "password"), ("email", &email), ("password", PASSWORD)])
            .send()
            .await;
        res.assert_status(200);
    }
});

db_test!(a_session_cookie_does_not_break_the_oauth_authorize_form, |app| async move {
    // A user signed in to Agora in the same browser goes through an OAuth flow: the browser
    // sends the session cookie with the authorize page's form, which carries no CSRF header.
    let email = unique_email("ada");
    let uid = id(&create_user(&app, "Ada", &email).await);
    let admin = app.admin_token().await;
    let res = app
        .post("/v2/oauth/clients")
        .bearer(&admin)
        .json(
            &json!({"name": "App", "redirect_uris": ["https://app.example/cb"], "grant_types": ["authorization_code"]}),
        )
        .send()
        .await;
    res.assert_status(201);
    let client_id = res.data()["client_id"].as_str().unwrap().to_string();
    let (_, challenge) = pkce_pair();
    let (live_sid, csrf) = sign_in(&app, &email, uid).await;
    let (stale_sid, stale_csrf) = sign_in(&app, &email, uid).await;
    app.delete("/v2/auth/session")
        .cookie(COOKIE, &stale_sid)
        .header("x-csrf-token", &stale_csrf)
        .send()
        .await
        .assert_status(204);
    let _ = csrf;
    let q = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", "https://app.example/cb"),
        ("state", "s1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = format!("/oauth/authorize?{}", serde_urlencoded::to_string(q).unwrap());
    for cookie in [live_sid.as_str(), stale_sid.as_str()] {
        let res = app.get(&url).cookie(COOKIE, cookie).send().await;
        res.assert_status(200);
        assert!(res.text().contains("<form method=\"post\""));
        let mut form: Vec<(&str, &str)> = q.to_vec();
        form.push(("email", &email));
        form.push(("password", PASSWORD));
        let res = app.post("/oauth/authorize").cookie(COOKIE, cookie).form(&form).send().await;
        res.assert_status(302);
        assert!(query_param(res.header("location").unwrap(), "code").is_some());
    }
});
