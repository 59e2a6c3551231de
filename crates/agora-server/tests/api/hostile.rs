//! Input a fuzzer sends: the same clean 4xx on both engines, never a 500.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::common::*;

db_test!(nul_characters_are_refused_cleanly_everywhere, |app| async move {
    // PostgreSQL cannot store or compare text with a NUL; it once answered these with 500.
    for path in ["/v2/products?q=%00", "/v2/users?q=a%00b", "/v2/posts?search=%00", "/v2/products?category=%00"] {
        app.get(path).send().await.assert_error(400, "INVALID_QUERY");
    }
    app.get("/oauth/authorize?client_id=%00&redirect_uri=x").send().await.assert_status(400);
    let admin = app.admin_token().await;
    let res =
        app.post("/v2/api-keys").bearer(&admin).json(&json!({"name": "a\u{0}b", "scopes": ["read"]})).send().await;
    res.assert_validation(&["name"]);
    let client =
        json!({"name": "app", "redirect_uris": ["https://a.example/\u{0}"], "grant_types": ["authorization_code"]});
    app.post("/v2/oauth/clients").bearer(&admin).json(&client).send().await.assert_validation(&["redirect_uris"]);
    let client = json!({"name": "a\u{0}", "grant_types": ["client_credentials"]});
    app.post("/v2/oauth/clients").bearer(&admin).json(&client).send().await.assert_validation(&["name"]);
    let res = app
        .post("/v2/auth/token")
        .form(&[("grant_type", "client_credentials"), ("client_id", "\u{0}"), ("client_secret", "x")])
        .send()
        .await;
    res.assert_validation(&["client_id"]);
    let res = app.post("/v2/auth/session").json(&json!({"email": "a@example.com", "password": "x\u{0}"})).send().await;
    res.assert_validation(&["password"]);
    let body = json!({"name": "Ada", "email": "ada@example.com", "password": "correct horse\u{0}"});
    app.post("/v2/users").json(&body).send().await.assert_validation(&["password"]);
    // A NUL in an unknown field's name is not echoed back.
    let body = json!({"name": "Ada", "email": "ada2@example.com", "password": "correct horse", "a\u{0}b": {}});
    let res = app.post("/v2/users").json(&body).send().await;
    res.assert_validation(&["a\u{FFFD}b"]);
    assert!(!res.text().contains("\\u0000"), "{}", res.text());
    // Nothing was stored, and the server is fine.
    app.get("/v2/products").send().await.assert_status(200);
});

db_test!(integral_numbers_are_integers, |app| async move {
    // JSON Schema's `integer` includes 24782563.0; so does every integer field.
    let product = json!({"name": "Desk", "category": "furniture", "price": 24782563.0, "stock": 2.0});
    let res = app.post("/v2/products").bearer(&app.admin_token().await).json(&product).send().await;
    res.assert_status(201);
    assert_eq!(res.data()["price"], json!(24782563));
    let res = app
        .post("/v2/products")
        .bearer(&app.admin_token().await)
        .json(&json!({"name": "x", "category": "y", "price": 1.5}))
        .send()
        .await;
    res.assert_validation(&["price"]);
});

db_test!(fields_are_capped_deduplicated_and_links_stay_bounded, |app| async move {
    for i in 0..3 {
        create_user(&app, &format!("U{i}"), &unique_email("u")).await;
    }
    // 10,000 repeated names once made a 100 KB Link header.
    let many = vec!["id"; 10_000].join(",");
    app.get(&format!("/v2/users?limit=1&fields={many}")).send().await.assert_invalid_query("fields");
    app.get(&format!("/v2/users/1?fields={many}")).send().await.assert_invalid_query("fields");
    let res = app.get("/v1/users?per_page=1&fields=id,name,id,name,id&version=1").send().await;
    res.assert_status(200);
    assert_eq!(res.items()[0].as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "name"]);
    let next = res.link("next").unwrap();
    assert_eq!(query_param(&next, "fields").as_deref(), Some("id,name"), "{next}");
    assert_eq!(query_param(&next, "version"), None, "{next}");
    for (_, target) in res.links() {
        assert!(target.len() < 300, "{target}");
    }
});

db_test!(oauth_parameters_are_strings_and_unknown_ones_are_ignored, |app| async move {
    // An unknown parameter is ignored even when it holds NUL; a known one may not.
    let res = app
        .post("/v2/auth/session")
        .form(&[("email", "nobody@example.com"), ("password", "wrong"), ("extra\0", "\0")])
        .send()
        .await;
    res.assert_status(401);
    let res =
        app.post("/v2/auth/session").form(&[("email", "nobody@example.com"), ("password", "wr\0ng")]).send().await;
    res.assert_status(422);
    // In JSON, a parameter is a string: a number is refused, not coerced.
    let res = app.post("/v2/auth/introspect").json(&json!({"token": "x", "token_type_hint": 5})).send().await;
    res.assert_status(400);
    let res =
        app.post("/v2/auth/session").json(&json!({"email": "nobody@example.com", "password": 12345678})).send().await;
    res.assert_status(400);
});

db_test!(a_code_exchange_without_a_client_is_a_client_authentication_failure, |app| async move {
    let res = app
        .post("/v2/auth/token")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "c"),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", "v"),
        ])
        .send()
        .await;
    res.assert_status(401);
});
