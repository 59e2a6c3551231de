//! CONTRACT §5 conditional requests: strong ETags, `If-None-Match` → 304, `If-Match` → 412.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::json;

#[track_caller]
fn strong_etag(res: &TestResponse) -> String {
    let tag = res.header("etag").unwrap_or_else(|| panic!("no ETag: {}", res.describe())).to_string();
    assert!(!tag.starts_with("W/"), "weak ETag {tag}");
    assert!(tag.len() > 2 && tag.starts_with('"') && tag.ends_with('"'), "malformed ETag {tag}");
    tag
}

db_test!(if_none_match_gives_304, |app| async move {
    let uid = id(&create_user(&app, "Ada", "ada@example.com").await);
    let path = format!("/v2/users/{uid}");
    let first = app.get(&path).send().await;
    first.assert_status(200);
    let tag = strong_etag(&first);
    // Stable across reads.
    assert_eq!(strong_etag(&app.get(&path).send().await), tag);

    let res = app.get(&path).header("if-none-match", &tag).header("x-request-id", "cond-1").send().await;
    res.assert_status(304);
    assert!(res.bytes.is_empty(), "304 with a body: {}", res.describe());
    assert_eq!(res.header("etag"), Some(tag.as_str()));
    assert_eq!(res.header("x-request-id"), Some("cond-1"));
    // Weak comparison, lists and `*`.
    app.get(&path).header("if-none-match", &format!("W/{tag}")).send().await.assert_status(304);
    app.get(&path).header("if-none-match", &format!("\"nope\", {tag}")).send().await.assert_status(304);
    app.get(&path).header("if-none-match", "*").send().await.assert_status(304);
    // A different tag is a normal 200.
    let res = app.get(&path).header("if-none-match", "\"something-else\"").send().await;
    res.assert_status(200);
    assert_eq!(res.data()["id"], json!(uid));

    // Posts and products too.
    let pid = id(&create_post(&app, uid, "t", "c").await);
    let res = app.get(&format!("/v2/posts/{pid}")).send().await;
    let tag = strong_etag(&res);
    app.get(&format!("/v2/posts/{pid}")).header("if-none-match", &tag).send().await.assert_status(304);
    let prod = id(&create_product(&app, "Desk", "furniture", 100, 1).await);
    let res = app.get(&format!("/v2/products/{prod}")).send().await;
    let tag = strong_etag(&res);
    app.get(&format!("/v2/products/{prod}")).header("if-none-match", &tag).send().await.assert_status(304);
});

db_test!(etag_changes_with_the_representation, |app| async move {
    let pid = id(&create_product(&app, "Desk", "furniture", 100, 1).await);
    let path = format!("/v2/products/{pid}");
    let tag = strong_etag(&app.get(&path).send().await);
    // A projection is a different representation.
    let projected = strong_etag(&app.get(&format!("{path}?fields=id,name")).send().await);
    assert_ne!(projected, tag);
    // So is another version.
    let v1 = strong_etag(&app.get(&format!("/v1/products/{pid}")).send().await);
    assert_ne!(v1, tag);
    // A write changes it, and the old tag no longer yields 304.
    app.patch(&path).bearer(&app.admin_token().await).json(&json!({"stock": 2})).send().await.assert_status(200);
    let res = app.get(&path).header("if-none-match", &tag).send().await;
    res.assert_status(200);
    assert_ne!(strong_etag(&res), tag);
});

db_test!(if_match_on_user_patch_and_put, |app| async move {
    let uid = id(&create_user(&app, "Ada", "ada@example.com").await);
    let path = format!("/v2/users/{uid}");
    let token = app.token_for(uid);
    let old = strong_etag(&app.get(&path).bearer(&token).send().await);

    // (The owner's view includes the email: another representation, another tag.)
    assert_ne!(strong_etag(&app.get(&path).send().await), old);

    // Current tag: applied, and the response carries the new tag, which GET agrees with.
    let res = app.patch(&path).bearer(&token).header("if-match", &old).json(&json!({"name": "Ada L."})).send().await;
    res.assert_status(200);
    let new = strong_etag(&res);
    assert_ne!(new, old);
    assert_eq!(strong_etag(&app.get(&path).bearer(&token).send().await), new);

    // Stale tag: 412 and nothing changes.
    let res =
        app.patch(&path).bearer(&token).header("if-match", &old).json(&json!({"name": "Lost update"})).send().await;
    res.assert_error(412, "PRECONDITION_FAILED");
    let res = app
        .put(&path)
        .bearer(&token)
        .header("if-match", &old)
        .json(&json!({"name": "Lost update", "email": "lost@example.com"}))
        .send()
        .await;
    res.assert_error(412, "PRECONDITION_FAILED");
    let res = app.get(&path).bearer(&token).send().await;
    assert_eq!(res.data()["name"], json!("Ada L."));
    assert_eq!(strong_etag(&res), new);

    // Weak tags never match If-Match (strong comparison).
    let res = app
        .patch(&path)
        .bearer(&token)
        .header("if-match", &format!("W/{new}"))
        .json(&json!({"name": "x"}))
        .send()
        .await;
    res.assert_error(412, "PRECONDITION_FAILED");

    // PUT with the current tag.
    let res = app
        .put(&path)
        .bearer(&token)
        .header("if-match", &new)
        .json(&json!({"name": "Augusta", "email": "augusta@example.com"}))
        .send()
        .await;
    res.assert_status(200);
    assert_ne!(strong_etag(&res), new);
    // `*` matches any current representation.
    app.patch(&path)
        .bearer(&token)
        .header("if-match", "*")
        .json(&json!({"name": "Star"}))
        .send()
        .await
        .assert_status(200);
});

db_test!(if_match_on_products_and_posts, |app| async move {
    let pid = id(&create_product(&app, "Desk", "furniture", 100, 1).await);
    let path = format!("/v2/products/{pid}");
    let admin = app.admin_token().await;
    let old = strong_etag(&app.get(&path).send().await);
    let res = app
        .put(&path)
        .bearer(&admin)
        .header("if-match", &old)
        .json(&json!({"name": "Desk", "category": "furniture", "price": 200}))
        .send()
        .await;
    res.assert_status(200);
    let new = strong_etag(&res);
    app.patch(&path)
        .bearer(&admin)
        .header("if-match", &old)
        .json(&json!({"price": 1}))
        .send()
        .await
        .assert_error(412, "PRECONDITION_FAILED");
    app.put(&path)
        .bearer(&admin)
        .header("if-match", &old)
        .json(&json!({"name": "x", "category": "y", "price": 1}))
        .send()
        .await
        .assert_error(412, "PRECONDITION_FAILED");
    let res = app.patch(&path).bearer(&admin).header("if-match", &new).json(&json!({"price": 300})).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["price"], json!(300));

    let uid = id(&create_user(&app, "Ada", "ada@example.com").await);
    let post = id(&create_post(&app, uid, "t", "c").await);
    let path = format!("/v2/posts/{post}");
    let token = app.token_for(uid);
    let old = strong_etag(&app.get(&path).send().await);
    app.patch(&path)
        .bearer(&token)
        .header("if-match", &old)
        .json(&json!({"title": "t2"}))
        .send()
        .await
        .assert_status(200);
    app.patch(&path)
        .bearer(&token)
        .header("if-match", &old)
        .json(&json!({"title": "t3"}))
        .send()
        .await
        .assert_error(412, "PRECONDITION_FAILED");
    assert_eq!(app.get(&path).send().await.data()["title"], json!("t2"));
});
