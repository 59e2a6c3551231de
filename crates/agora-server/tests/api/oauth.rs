//! CONTRACT §6 OAuth 2.0: client registration (admins), `client_credentials`,
//! `authorization_code` with PKCE S256 through the HTML authorize page, introspection
//! (RFC 7662) and authorization-server metadata (RFC 8414).
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::common::*;

const CB: &str = "https://app.example/cb";

struct Client {
    id: String,
    secret: String,
}

async fn register(app: &TestApp, body: Value) -> Client {
    let res = app.post("/v2/oauth/clients").bearer(&app.admin_token().await).json(&body).send().await;
    res.assert_status(201);
    Client {
        id: res.data()["client_id"].as_str().unwrap().to_string(),
        secret: res.data()["client_secret"].as_str().unwrap().to_string(),
    }
}

async fn standard_client(app: &TestApp) -> Client {
    register(
        app,
        json!({
            "name": "Example app",
            "redirect_uris": [CB, "https://app.example/other"],
            "grant_types": ["authorization_code", "client_credentials"],
            "scopes": ["read", "write"],
        }),
    )
    .await
}

fn authorize_query(client_id: &str, redirect_uri: &str, state: &str, challenge: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn url(path: &str, q: &[(String, String)]) -> String {
    format!("{path}?{}", serde_urlencoded::to_string(q).unwrap())
}

fn pairs(q: &[(String, String)]) -> Vec<(&str, &str)> {
    q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Submits the authorize form as `email`; returns the response.
async fn submit(app: &TestApp, q: &[(String, String)], email: &str, password: &str) -> TestResponse {
    let mut form = pairs(q);
    form.push(("email", email));
    form.push(("password", password));
    app.post("/oauth/authorize").form(&form).send().await
}

/// Runs the browser part of the code flow; returns the code.
async fn obtain_code(app: &TestApp, client: &Client, email: &str, challenge: &str) -> String {
    let q = authorize_query(&client.id, CB, "xyz", challenge);
    let res = submit(app, &q, email, PASSWORD).await;
    res.assert_status(302);
    let location = res.header("location").unwrap();
    query_param(location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

async fn exchange(app: &TestApp, client_id: &str, code: &str, redirect_uri: &str, verifier: &str) -> TestResponse {
    app.post("/v2/auth/token")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("code_verifier", verifier),
        ])
        .send()
        .await
}

#[track_caller]
fn assert_grant_refused(res: &TestResponse) {
    assert!(res.status == 400 || res.status == 401, "grant accepted: {}", res.describe());
    assert!(res.body.get("access_token").is_none() && res.body["data"].get("access_token").is_none());
}

db_test!(registering_clients_is_for_admins, |app| async move {
    let body = json!({"name": "App", "redirect_uris": [CB], "grant_types": ["authorization_code"], "scopes": ["read"]});
    let res = app.post("/v2/oauth/clients").bearer(&app.admin_token().await).json(&body).send().await;
    res.assert_status(201);
    let d = res.data();
    assert!(d["client_id"].as_str().unwrap().starts_with("cl_"));
    assert!(d["client_secret"].as_str().unwrap().starts_with("cs_"));
    assert!(d["client_secret"].as_str().unwrap().len() > 30);
    assert_eq!(d["redirect_uris"], json!([CB]));
    assert_eq!(d["grant_types"], json!(["authorization_code"]));
    assert_eq!(res.body["client_id"], d["client_id"], "top-level copy (RFC 7591 style)");

    let (_, user) = app.signup_and_login(&unique_email("ada")).await;
    app.post("/v2/oauth/clients").bearer(&user).json(&body).send().await.assert_error(403, "FORBIDDEN");
    app.post("/v2/oauth/clients").json(&body).send().await.assert_unauthenticated();
    // Versioned and unprefixed too.
    let admin = app.admin_token().await;
    app.post("/v1/oauth/clients").bearer(&admin).json(&body).send().await.assert_status(201);
    app.post("/oauth/clients").bearer(&admin).json(&body).send().await.assert_status(201);

    // Validation.
    for (field, bad) in [
        (
            "redirect_uris",
            json!({"name": "x", "redirect_uris": ["javascript:alert(1)"], "grant_types": ["authorization_code"]}),
        ),
        (
            "redirect_uris",
            json!({"name": "x", "redirect_uris": ["https://a.example/cb#frag"], "grant_types": ["authorization_code"]}),
        ),
        ("redirect_uris", json!({"name": "x", "redirect_uris": [], "grant_types": ["authorization_code"]})),
        ("grant_types", json!({"name": "x", "redirect_uris": [CB], "grant_types": ["implicit"]})),
        ("name", json!({"name": "", "redirect_uris": [CB], "grant_types": ["authorization_code"]})),
    ] {
        let res = app.post("/v2/oauth/clients").bearer(&admin).json(&bad).send().await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert!(res.detail_fields().iter().any(|f| f == field), "{}", res.describe());
    }
});

db_test!(client_credentials_grant, |app| async move {
    let client = standard_client(&app).await;

    // HTTP Basic.
    let res = app
        .post("/v2/auth/token")
        .basic(&client.id, &client.secret)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.data()["token_type"], json!("Bearer"));
    assert_eq!(res.data()["scope"], json!("read write"));
    assert!(res.data().get("refresh_token").is_none(), "client_credentials issues no refresh token");
    let access = res.data()["access_token"].as_str().unwrap().to_string();
    app.get("/v2/products").bearer(&access).send().await.assert_status(200);
    // A client is not a user.
    app.get("/v2/users/me").bearer(&access).send().await.assert_unauthenticated();
    let res = app.post("/v2/posts").bearer(&access).json(&json!({"title": "t", "content": "c"})).send().await;
    res.assert_error(403, "FORBIDDEN");

    // Credentials in the body; a narrower scope.
    let res = app
        .post("/v2/auth/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("scope", "read"),
        ])
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.data()["scope"], json!("read"));
    // Not beyond what it was registered with.
    let res = app
        .post("/v2/auth/token")
        .basic(&client.id, &client.secret)
        .form(&[("grant_type", "client_credentials"), ("scope", "read write admin")])
        .send()
        .await;
    res.assert_error(403, "FORBIDDEN");

    // Wrong secrets, unknown clients, no credentials: 401 with a challenge.
    for res in [
        app.post("/v2/auth/token")
            .basic(&client.id, "cs_wrong")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await,
        app.post("/v2/auth/token")
            .basic("cl_unknown", &client.secret)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await,
        app.post("/v2/auth/token")
            .form(&[("grant_type", "client_credentials"), ("client_id", &client.id), ("client_secret", "cs_wrong")])
            .send()
            .await,
        app.post("/v2/auth/token")
            .form(&[("grant_type", "client_credentials"), ("client_id", &client.id)])
            .send()
            .await,
        app.post("/v2/auth/token").form(&[("grant_type", "client_credentials")]).send().await,
    ] {
        res.assert_unauthenticated();
        assert!(res.body["data"].is_null(), "{}", res.describe());
    }

    // A client not registered for the grant.
    let code_only = register(
        &app,
        json!({"name": "Code only", "redirect_uris": [CB], "grant_types": ["authorization_code"], "scopes": ["read"]}),
    )
    .await;
    let res = app
        .post("/v2/auth/token")
        .basic(&code_only.id, &code_only.secret)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert_eq!(res.status, 400, "{}", res.describe());
    assert!(res.body["data"].is_null());
});

db_test!(authorization_code_with_pkce, |app| async move {
    let client = standard_client(&app).await;
    let email = unique_email("ada");
    let user = create_user(&app, "Ada", &email).await;
    let (verifier, challenge) = pkce_pair();
    let q = authorize_query(&client.id, CB, "state-123", &challenge);

    // The login and consent page.
    let res = app.get(&url("/oauth/authorize", &q)).send().await;
    res.assert_status(200);
    assert!(res.header("content-type").unwrap_or("").starts_with("text/html"), "{:?}", res.header("content-type"));
    let html = res.text();
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains("name=\"email\""), "{html}");
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(html.contains("Example app"), "the page names the client: {html}");
    assert!(res.header("location").is_none());

    // A wrong password shows the form again: no redirect, no code.
    let res = submit(&app, &q, &email, "wrong password").await;
    assert!(res.header("location").is_none(), "{}", res.describe());
    assert!(res.text().contains("<form method=\"post\""));
    assert_ne!(res.status, 302);

    // Submitting answers 302 to the redirect URI with a code and the same state.
    let res = submit(&app, &q, &email, PASSWORD).await;
    res.assert_status(302);
    let location = res.header("location").unwrap().to_string();
    assert!(location.starts_with(&format!("{CB}?")), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("state-123"));
    let code = query_param(&location, "code").unwrap_or_else(|| panic!("no code: {location}"));
    assert!(code.len() >= 32);

    // Exchange with the right verifier.
    let res = exchange(&app, &client.id, &code, CB, &verifier).await;
    res.assert_status(200);
    let access = res.data()["access_token"].as_str().unwrap().to_string();
    assert!(res.data()["refresh_token"].as_str().is_some_and(|r| r.starts_with("rt_")));
    assert_eq!(res.data()["scope"], json!("read write"));
    let me = app.get("/v2/users/me").bearer(&access).send().await;
    me.assert_status(200);
    assert_eq!(id(me.data()), id(&user));
    app.post("/v2/posts").bearer(&access).json(&json!({"title": "t", "content": "c"})).send().await.assert_status(201);

    // A code works once.
    assert_grant_refused(&exchange(&app, &client.id, &code, CB, &verifier).await);

    // Wrong verifier, wrong redirect URI, another client, another challenge's verifier.
    let code = obtain_code(&app, &client, &email, &challenge).await;
    let (other_verifier, _) = pkce_pair();
    assert_grant_refused(&exchange(&app, &client.id, &code, CB, &other_verifier).await);
    let code = obtain_code(&app, &client, &email, &challenge).await;
    assert_grant_refused(&exchange(&app, &client.id, &code, "https://evil.example/cb", &verifier).await);
    let code = obtain_code(&app, &client, &email, &challenge).await;
    assert_grant_refused(&exchange(&app, &client.id, &code, "https://app.example/other", &verifier).await);
    let code = obtain_code(&app, &client, &email, &challenge).await;
    let other = standard_client(&app).await;
    assert_grant_refused(&exchange(&app, &other.id, &code, CB, &verifier).await);
    assert_grant_refused(&exchange(&app, &client.id, "made-up-code", CB, &verifier).await);

    // A confidential client may authenticate at the exchange; a wrong secret fails it.
    let code = obtain_code(&app, &client, &email, &challenge).await;
    let res = app
        .post("/v2/auth/token")
        .basic(&client.id, "cs_wrong")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &verifier),
        ])
        .send()
        .await;
    res.assert_unauthenticated();
    let code = obtain_code(&app, &client, &email, &challenge).await;
    let res = app
        .post("/v2/auth/token")
        .basic(&client.id, &client.secret)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &verifier),
        ])
        .send()
        .await;
    res.assert_status(200);
});

db_test!(authorize_refuses_unregistered_redirects_without_redirecting, |app| async move {
    let client = standard_client(&app).await;
    let email = unique_email("ada");
    create_user(&app, "Ada", &email).await;
    let (_, challenge) = pkce_pair();
    for (client_id, redirect_uri) in [
        (client.id.as_str(), "https://evil.example/cb"),
        (client.id.as_str(), "https://app.example/cb/"),
        (client.id.as_str(), "https://app.example/cb?x=1"),
        (client.id.as_str(), "https://app.example/cb/../evil"),
        (client.id.as_str(), "https://app.example/cbx"),
        (client.id.as_str(), "http://app.example/cb"),
        (client.id.as_str(), ""),
        ("cl_unknown", CB),
        ("", CB),
    ] {
        let q = authorize_query(client_id, redirect_uri, "s", &challenge);
        let res = app.get(&url("/oauth/authorize", &q)).send().await;
        assert_eq!(res.status, 400, "{client_id} {redirect_uri}: {}", res.describe());
        assert!(res.header("location").is_none(), "redirected to {:?}", res.header("location"));
        assert!(res.header("content-type").unwrap_or("").starts_with("text/html"));
        assert!(!res.text().contains("<form method=\"post\""), "a login form for a bad request");
        // Submitting the form directly is refused the same way, and issues nothing.
        let res = submit(&app, &q, &email, PASSWORD).await;
        assert_eq!(res.status, 400, "{client_id} {redirect_uri}: {}", res.describe());
        assert!(res.header("location").is_none(), "redirected to {:?}", res.header("location"));
    }
});

db_test!(authorize_requires_pkce_s256, |app| async move {
    let client = standard_client(&app).await;
    let email = unique_email("ada");
    create_user(&app, "Ada", &email).await;
    let (_, challenge) = pkce_pair();
    let base = authorize_query(&client.id, CB, "st", &challenge);
    let without = |names: &[&str]| -> Vec<(String, String)> {
        base.iter().filter(|(k, _)| !names.contains(&k.as_str())).cloned().collect()
    };
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        base.iter().map(|(k, v)| (k.clone(), if k == name { value.to_string() } else { v.clone() })).collect()
    };
    for q in [
        without(&["code_challenge", "code_challenge_method"]),
        without(&["code_challenge"]),
        without(&["code_challenge_method"]),
        with("code_challenge_method", "plain"),
        with("code_challenge", "short"),
    ] {
        for res in [app.get(&url("/oauth/authorize", &q)).send().await, submit(&app, &q, &email, PASSWORD).await] {
            res.assert_status(302);
            let location = res.header("location").unwrap();
            assert!(location.starts_with(&format!("{CB}?")), "{location}");
            assert_eq!(query_param(location, "error").as_deref(), Some("invalid_request"), "{location}");
            assert_eq!(query_param(location, "state").as_deref(), Some("st"));
            assert!(query_param(location, "code").is_none(), "a code without PKCE: {location}");
        }
    }
    // Only response_type=code.
    let q = with("response_type", "token");
    let res = app.get(&url("/oauth/authorize", &q)).send().await;
    res.assert_status(302);
    assert_eq!(query_param(res.header("location").unwrap(), "error").as_deref(), Some("unsupported_response_type"));
});

db_test!(authorize_page_escapes_what_it_echoes, |app| async move {
    let client = standard_client(&app).await;
    let (_, challenge) = pkce_pair();
    let evil = "\"><script>alert(1)</script>";
    let q = authorize_query(&client.id, CB, evil, &challenge);
    let res = app.get(&url("/oauth/authorize", &q)).send().await;
    res.assert_status(200);
    assert!(!res.text().contains("<script>"), "{}", res.text());
});

db_test!(introspection, |app| async move {
    let client = standard_client(&app).await;
    let email = unique_email("ada");
    let user = create_user(&app, "Ada", &email).await;
    let tokens = app.login(&email, PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let introspect = |token: &str| {
        app.post("/v2/auth/introspect").basic(&client.id, &client.secret).form(&[("token", token)]).send()
    };

    let res = introspect(&access).await;
    res.assert_status(200);
    let d = res.data();
    assert_eq!(d["active"], json!(true), "{}", res.describe());
    assert_eq!(d["sub"], json!(format!("user:{}", id(&user))));
    assert_eq!(d["scope"], json!("read write"));
    assert!(d["exp"].as_i64().is_some_and(|e| e > chrono::Utc::now().timestamp()));
    assert_eq!(res.body["active"], json!(true), "RFC 7662 top-level field");
    // Client credentials in the body work too.
    let res = app
        .post("/v2/auth/introspect")
        .form(&[("token", &access), ("client_id", &client.id), ("client_secret", &client.secret)])
        .send()
        .await;
    assert_eq!(res.data()["active"], json!(true));

    // Garbage, refresh tokens, revoked tokens: inactive, and nothing else said.
    for token in ["garbage", "a.b.c", tokens["refresh_token"].as_str().unwrap()] {
        let res = introspect(token).await;
        res.assert_status(200);
        assert_eq!(res.data(), &json!({"active": false}), "{}", res.describe());
    }
    app.post("/v2/auth/revoke").form(&[("token", &access)]).send().await.assert_status(200);
    let res = introspect(&access).await;
    assert_eq!(res.data(), &json!({"active": false}), "{}", res.describe());
    assert_eq!(res.body["active"], json!(false));

    // The token of a user who has since been deleted is inactive.
    let (gone, gone_token) = app.signup_and_login(&unique_email("gone")).await;
    assert_eq!(introspect(&gone_token).await.data()["active"], json!(true));
    app.delete(&format!("/v2/users/{}", id(&gone))).bearer(&gone_token).send().await.assert_status(204);
    assert_eq!(introspect(&gone_token).await.data(), &json!({"active": false}));

    // A client_credentials token introspects as the client.
    let res = app
        .post("/v2/auth/token")
        .basic(&client.id, &client.secret)
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await;
    let cc = res.data()["access_token"].as_str().unwrap().to_string();
    let res = introspect(&cc).await;
    assert_eq!(res.data()["active"], json!(true));
    assert_eq!(res.data()["sub"], json!(format!("client:{}", client.id)));
    assert_eq!(res.data()["scope"], json!("read"));

    // Client authentication is required.
    let fresh = app.login(&email, PASSWORD).await["access_token"].as_str().unwrap().to_string();
    for res in [
        app.post("/v2/auth/introspect").form(&[("token", &fresh)]).send().await,
        app.post("/v2/auth/introspect").basic(&client.id, "cs_wrong").form(&[("token", &fresh)]).send().await,
        app.post("/v2/auth/introspect").basic("cl_unknown", &client.secret).form(&[("token", &fresh)]).send().await,
        // A user's bearer token is not client authentication.
        app.post("/v2/auth/introspect").bearer(&fresh).form(&[("token", &fresh)]).send().await,
    ] {
        res.assert_unauthenticated();
        assert!(res.body.get("active").is_none() && res.body["data"].is_null(), "{}", res.describe());
    }
});

db_test!(authorization_server_metadata, |app| async move {
    let res = app.get("/.well-known/oauth-authorization-server").header("host", "api.example").send().await;
    res.assert_status(200);
    let m = &res.body;
    assert_eq!(m["issuer"], json!("agora"));
    let endpoint = |k: &str| m[k].as_str().unwrap_or_else(|| panic!("no {k}: {m}")).to_string();
    assert!(endpoint("authorization_endpoint").ends_with("/oauth/authorize"));
    assert!(endpoint("token_endpoint").ends_with("/auth/token"));
    assert!(endpoint("introspection_endpoint").ends_with("/auth/introspect"));
    assert!(endpoint("revocation_endpoint").ends_with("/auth/revoke"));
    assert!(endpoint("jwks_uri").ends_with("/.well-known/jwks.json"));
    for k in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
        assert!(endpoint(k).starts_with("http"), "{k} is not absolute: {m}");
    }
    let has = |k: &str, v: &str| m[k].as_array().is_some_and(|a| a.contains(&json!(v)));
    assert!(has("response_types_supported", "code"), "{m}");
    assert!(has("code_challenge_methods_supported", "S256"), "{m}");
    assert!(!has("code_challenge_methods_supported", "plain"), "{m}");
    for g in ["authorization_code", "client_credentials", "refresh_token"] {
        assert!(has("grant_types_supported", g), "{g}: {m}");
    }
    assert!(has("token_endpoint_auth_methods_supported", "client_secret_basic"), "{m}");
    for s in ["read", "write", "admin"] {
        assert!(has("scopes_supported", s), "{m}");
    }
    // The advertised endpoints exist.
    let path = |k: &str| {
        let u = endpoint(k);
        u.split_once("://").map(|(_, rest)| rest[rest.find('/').unwrap_or(rest.len())..].to_string()).unwrap()
    };
    app.get(&path("jwks_uri")).send().await.assert_status(200);
    let res = app.post(&path("token_endpoint")).form(&[("grant_type", "client_credentials")]).send().await;
    res.assert_unauthenticated();
});

db_test!(code_flow_tokens_are_limited_to_the_client_scopes, |app| async move {
    let client = register(
        &app,
        json!({"name": "Reader", "redirect_uris": [CB], "grant_types": ["authorization_code"], "scopes": ["read"]}),
    )
    .await;
    let email = unique_email("ada");
    let uid = id(&create_user(&app, "Ada", &email).await);
    let (verifier, challenge) = pkce_pair();
    // Asking the page for more than the client may have is refused (to the redirect URI).
    let mut q = authorize_query(&client.id, CB, "s", &challenge);
    q.push(("scope".into(), "read write".into()));
    let res = app.get(&url("/oauth/authorize", &q)).send().await;
    res.assert_status(302);
    assert_eq!(query_param(res.header("location").unwrap(), "error").as_deref(), Some("invalid_scope"));
    // Within its scopes, the user's token carries only `read`.
    let code = obtain_code(&app, &client, &email, &challenge).await;
    let res = exchange(&app, &client.id, &code, CB, &verifier).await;
    res.assert_status(200);
    assert_eq!(res.data()["scope"], json!("read"));
    let access = res.data()["access_token"].as_str().unwrap().to_string();
    app.get("/v2/users/me").bearer(&access).send().await.assert_status(200);
    let res = app.patch(&format!("/v2/users/{uid}")).bearer(&access).json(&json!({"name": "x"})).send().await;
    res.assert_error(403, "FORBIDDEN");
    // Its refresh token keeps the limit.
    let refresh =
        refresh_grant(&app, &code_flow_refresh_token(&app, &client, &email, &challenge, &verifier).await).await;
    assert_eq!(refresh["scope"], json!("read"));
});

async fn code_flow_refresh_token(
    app: &TestApp,
    client: &Client,
    email: &str,
    challenge: &str,
    verifier: &str,
) -> String {
    let code = obtain_code(app, client, email, challenge).await;
    let res = exchange(app, &client.id, &code, CB, verifier).await;
    res.assert_status(200);
    res.data()["refresh_token"].as_str().unwrap().to_string()
}

async fn refresh_grant(app: &TestApp, refresh_token: &str) -> Value {
    let res = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        .send()
        .await;
    res.assert_status(200);
    res.data().clone()
}
