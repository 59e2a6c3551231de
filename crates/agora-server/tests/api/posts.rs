//! CONTRACT §5 posts: create/get/patch/delete, bounds, `/users/{id}/posts`, `author_id`
//! (always the caller).
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::json;

db_test!(create_get_patch_delete, |app| async move {
    let ada = create_user(&app, "Ada", "ada@example.com").await;
    let token = app.token_for(id(&ada));
    let res =
        app.post("/v2/posts").bearer(&token).json(&json!({"title": "Notes", "content": "On the engine"})).send().await;
    res.assert_status(201);
    let post = res.data().clone();
    let pid = id(&post);
    assert_eq!(res.header("location"), Some(format!("/v2/posts/{pid}").as_str()));
    assert!(res.header("etag").is_some_and(|t| t.starts_with('"')));
    assert_eq!(post["author_id"], ada["id"]);
    assert_eq!(post["title"], json!("Notes"));
    assert_eq!(post["content"], json!("On the engine"));
    assert_eq!(post["likes"], json!(0));
    assert_eq!(post["comments_count"], json!(0));
    assert!(post.get("comment_count").is_none(), "renamed in v2");
    let v1 = app.get(&format!("/v1/posts/{}", id(&post))).send().await;
    assert_eq!((v1.data()["comment_count"].clone(), v1.data().get("comments_count")), (json!(0), None));

    let res = app.get(&format!("/v2/posts/{pid}")).send().await;
    res.assert_status(200);
    assert_eq!(res.data(), &post);

    let res = app.patch(&format!("/v2/posts/{pid}")).bearer(&token).json(&json!({"title": "Sketch"})).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["title"], json!("Sketch"));
    assert_eq!(res.data()["content"], json!("On the engine"));
    assert_eq!(res.data()["created_at"], post["created_at"]);
    let res = app.patch(&format!("/v2/posts/{pid}")).bearer(&token).json(&json!({"content": "Revised"})).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["title"], json!("Sketch"));
    assert_eq!(res.data()["content"], json!("Revised"));

    let res = app.delete(&format!("/v2/posts/{pid}")).bearer(&token).send().await;
    res.assert_status(204);
    assert!(res.bytes.is_empty());
    app.get(&format!("/v2/posts/{pid}")).send().await.assert_error(404, "POST_NOT_FOUND");
    app.delete(&format!("/v2/posts/{pid}")).bearer(&token).send().await.assert_error(404, "POST_NOT_FOUND");
    app.patch(&format!("/v2/posts/{pid}"))
        .bearer(&token)
        .json(&json!({"title": "x"}))
        .send()
        .await
        .assert_error(404, "POST_NOT_FOUND");
});

db_test!(author_is_the_caller, |app| async move {
    // No credential, no author: 401.
    let res = app.post("/v2/posts").json(&json!({"title": "t", "content": "c"})).send().await;
    res.assert_unauthenticated();
    // The author cannot be named in the body, not even as oneself.
    let ada = id(&create_user(&app, "Ada", "ada@example.com").await);
    let bob = id(&create_user(&app, "Bob", "bob@example.com").await);
    let token = app.token_for(ada);
    for author in [json!(bob), json!(ada), json!(987654), json!("1")] {
        let res = app
            .post("/v2/posts")
            .bearer(&token)
            .json(&json!({"author_id": author, "title": "t", "content": "c"}))
            .send()
            .await;
        res.assert_validation(&["author_id"]);
        assert_eq!(res.detail("author_id").unwrap()["code"], json!("unknown_field"));
    }
    let res = app.get("/v2/posts?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(0), "a refused post was created");
    // Without it, the caller is the author.
    let res = app.post("/v2/posts").bearer(&token).json(&json!({"title": "t", "content": "c"})).send().await;
    res.assert_status(201);
    assert_eq!(res.data()["author_id"], json!(ada));
});

db_test!(title_and_content_bounds, |app| async move {
    let a = id(&create_user(&app, "Ada", "ada@example.com").await);
    let token = app.token_for(a);
    let post = |title: String, content: String| json!({"title": title, "content": content});
    let cases = [
        (String::new(), "c".to_string(), vec!["title"]),
        ("   ".to_string(), "c".to_string(), vec!["title"]),
        ("x".repeat(201), "c".to_string(), vec!["title"]),
        ("t".to_string(), String::new(), vec!["content"]),
        ("t".to_string(), "c".repeat(20_001), vec!["content"]),
        (String::new(), String::new(), vec!["title", "content"]),
    ];
    for (title, content, bad) in cases {
        let res = app.post("/v2/posts").bearer(&token).json(&post(title, content)).send().await;
        res.assert_validation(&bad);
    }
    let res = app.post("/v2/posts").bearer(&token).json(&post("x".repeat(200), "c".repeat(20_000))).send().await;
    res.assert_status(201);
    app.post("/v2/posts").bearer(&token).json(&post("x".into(), "c".into())).send().await.assert_status(201);

    let pid = id(&create_post(&app, a, "ok", "ok").await);
    let patch = |body: serde_json::Value| app.patch(&format!("/v2/posts/{pid}")).bearer(&token).json(&body).send();
    patch(json!({"title": "x".repeat(201)})).await.assert_validation(&["title"]);
    patch(json!({"content": ""})).await.assert_validation(&["content"]);
    patch(json!({"likes": 100})).await.assert_validation(&["likes"]);
    patch(json!({"author_id": 1})).await.assert_validation(&["author_id"]);
    let res = app
        .patch(&format!("/v2/posts/{pid}"))
        .bearer(&token)
        .json(&json!({"id": 1, "created_at": "2020-01-01T00:00:00Z"}))
        .send()
        .await;
    res.assert_validation(&["id", "created_at"]);
    let res = app.get(&format!("/v2/posts/{pid}")).send().await;
    assert_eq!(res.data()["title"], json!("ok"));
    assert_eq!(res.data()["likes"], json!(0));
});

db_test!(posts_of_a_user, |app| async move {
    let ada = id(&create_user(&app, "Ada", "ada@example.com").await);
    let bob = id(&create_user(&app, "Bob", "bob@example.com").await);
    let lonely = id(&create_user(&app, "Lonely", "lonely@example.com").await);
    let a1 = id(&create_post(&app, ada, "a1", "x").await);
    let b1 = id(&create_post(&app, bob, "b1", "x").await);
    let a2 = id(&create_post(&app, ada, "a2", "x").await);

    let res = app.get(&format!("/v2/users/{ada}/posts")).send().await;
    res.assert_status(200);
    // Newest first by default.
    assert_eq!(res.ids(), [a2, a1]);
    let res = app.get(&format!("/v2/users/{bob}/posts")).send().await;
    assert_eq!(res.ids(), [b1]);
    let res = app.get(&format!("/v2/users/{lonely}/posts")).send().await;
    res.assert_status(200);
    assert!(res.items().is_empty());
    app.get("/v2/users/987654/posts").send().await.assert_error(404, "USER_NOT_FOUND");
    // Page style and sorts work on the nested collection too.
    let res = app.get(&format!("/v2/users/{ada}/posts?sort=title&page=1&per_page=1")).send().await;
    assert_eq!(res.ids(), [a1]);
    assert_eq!(res.pagination()["total"], json!(2));
    assert_eq!(res.pagination()["total_pages"], json!(2));
});

db_test!(author_id_filter, |app| async move {
    let ada = id(&create_user(&app, "Ada", "ada@example.com").await);
    let bob = id(&create_user(&app, "Bob", "bob@example.com").await);
    let a1 = id(&create_post(&app, ada, "a1", "x").await);
    create_post(&app, bob, "b1", "x").await;
    let a2 = id(&create_post(&app, ada, "a2", "x").await);
    let res = app.get(&format!("/v2/posts?author_id={ada}")).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), [a2, a1]);
    let res = app.get("/v2/posts?author_id=987654").send().await;
    res.assert_status(200);
    assert!(res.items().is_empty());
    for bad in ["abc", "-1", "1.5", "", "99999999999999999999"] {
        app.get(&format!("/v2/posts?author_id={bad}")).send().await.assert_invalid_query("author_id");
    }
    // Posts have no product filters.
    app.get("/v2/posts?category=x").send().await.assert_invalid_query("category");
});

db_test!(default_order_is_newest_first, |app| async move {
    let ada = id(&create_user(&app, "Ada", "ada@example.com").await);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(id(&create_post(&app, ada, &format!("p{i}"), "x").await));
    }
    ids.reverse();
    let res = app.get("/v2/posts").send().await;
    assert_eq!(res.ids(), ids);
    let res = app.get("/v1/posts").send().await;
    assert_eq!(res.ids(), ids);
});

async fn likes(app: &TestApp, id: i64) -> i64 {
    app.get(&format!("/v2/posts/{id}")).send().await.data()["likes"].as_i64().unwrap()
}

db_test!(likes_are_idempotent_and_count_each_user_once, |app| async move {
    let (_, author) = app.signup_and_login(&unique_email("author")).await;
    let post = app.post("/v2/posts").bearer(&author).json(&json!({"title": "t", "content": "c"})).send().await;
    let id = post.data()["id"].as_i64().unwrap();
    let etag = post.header("etag").unwrap().to_string();
    for _ in 0..2 {
        app.put(&format!("/v2/posts/{id}/like")).bearer(&author).send().await.assert_status(204);
    }
    assert_eq!(likes(&app, id).await, 1);
    // The representation changed, so its ETag did.
    assert_ne!(app.get(&format!("/v2/posts/{id}")).send().await.header("etag"), Some(etag.as_str()));
    for _ in 0..2 {
        app.delete(&format!("/v2/posts/{id}/like")).bearer(&author).send().await.assert_status(204);
    }
    assert_eq!(likes(&app, id).await, 0);
    // Rules: a credential with `write`, a post that exists.
    app.put(&format!("/v2/posts/{id}/like")).send().await.assert_status(401);
    app.put("/v2/posts/999999/like").bearer(&author).send().await.assert_error(404, "POST_NOT_FOUND");
    app.delete("/v2/posts/999999/like").bearer(&author).send().await.assert_error(404, "POST_NOT_FOUND");
    app.put("/v1/posts/999999/like").send().await.assert_status(401);
});

db_test!(fifty_concurrent_likes_count_exactly, |app| async move {
    let (_, author) = app.signup_and_login(&unique_email("author")).await;
    let post = app.post("/v2/posts").bearer(&author).json(&json!({"title": "t", "content": "c"})).send().await;
    let id = post.data()["id"].as_i64().unwrap();
    let mut tokens = Vec::new();
    for i in 0..50 {
        tokens.push(app.signup_and_login(&unique_email(&format!("fan{i}"))).await.1);
    }
    let app = std::sync::Arc::new(app);
    // Everyone likes at once, twice; then half unlike at once.
    let mut tasks = Vec::new();
    for t in tokens.iter().chain(tokens.iter()) {
        let (app, t) = (app.clone(), t.clone());
        tasks
            .push(tokio::spawn(async move { app.put(&format!("/v2/posts/{id}/like")).bearer(&t).send().await.status }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 204);
    }
    assert_eq!(likes(&app, id).await, 50);
    let mut tasks = Vec::new();
    for t in tokens.iter().take(25) {
        let (app, t) = (app.clone(), t.clone());
        tasks.push(tokio::spawn(
            async move { app.delete(&format!("/v2/posts/{id}/like")).bearer(&t).send().await.status },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 204);
    }
    assert_eq!(likes(&app, id).await, 25);
    // A liker's account goes, and its like with it.
    let (fan, fan_token) = app.signup_and_login(&unique_email("leaver")).await;
    app.put(&format!("/v2/posts/{id}/like")).bearer(&fan_token).send().await.assert_status(204);
    assert_eq!(likes(&app, id).await, 26);
    let fan_id = fan["id"].as_i64().unwrap();
    app.delete(&format!("/v2/users/{fan_id}")).bearer(&fan_token).send().await.assert_status(204);
    assert_eq!(likes(&app, id).await, 25);
});
