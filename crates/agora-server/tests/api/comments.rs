//! CONTRACT §5.1 comments: create, get, list oldest first, who may delete, counts, and what
//! goes with a deleted post or user (foreign keys with cascades, on both engines).
#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::common::*;

async fn new_post(app: &TestApp, token: &str) -> i64 {
    let res = app.post("/v2/posts").bearer(token).json(&json!({"title": "t", "content": "c"})).send().await;
    res.assert_status(201);
    res.data()["id"].as_i64().unwrap()
}

async fn comment(app: &TestApp, token: &str, post: i64, text: &str) -> TestResponse {
    app.post(&format!("/v2/posts/{post}/comments")).bearer(token).json(&json!({"content": text})).send().await
}

async fn comment_count(app: &TestApp, post: i64) -> i64 {
    app.get(&format!("/v2/posts/{post}")).send().await.data()["comments_count"].as_i64().unwrap()
}

db_test!(comments_are_created_read_and_listed_oldest_first, |app| async move {
    let (author, author_token) = app.signup_and_login(&unique_email("author")).await;
    let (_, reader) = app.signup_and_login(&unique_email("reader")).await;
    let post = new_post(&app, &author_token).await;
    let first = comment(&app, &reader, post, "first").await;
    first.assert_status(201);
    let id = first.data()["id"].as_i64().unwrap();
    assert_eq!(first.header("location"), Some(format!("/v2/comments/{id}").as_str()));
    assert_eq!(first.data()["post_id"], json!(post));
    assert_ne!(first.data()["author_id"], author["id"]);
    comment(&app, &author_token, post, "second").await.assert_status(201);
    comment(&app, &reader, post, "third").await.assert_status(201);
    let got = app.get(&format!("/v2/comments/{id}")).send().await;
    got.assert_status(200);
    assert_eq!(got.data()["content"], "first");
    let etag = got.header("etag").unwrap().to_string();
    app.get(&format!("/v2/comments/{id}")).header("If-None-Match", &etag).send().await.assert_status(304);
    let list = app.get(&format!("/v2/posts/{post}/comments")).send().await;
    list.assert_status(200);
    let texts: Vec<&str> = list.items().iter().map(|c| c["content"].as_str().unwrap()).collect();
    assert_eq!(texts, ["first", "second", "third"], "oldest first");
    let newest = app.get(&format!("/v1/posts/{post}/comments?sort=-created_at&per_page=2")).send().await;
    assert_eq!(newest.items()[0]["content"], "third");
    assert_eq!(newest.pagination()["total"], json!(3));
    assert_eq!(comment_count(&app, post).await, 3);
    // Rules on input.
    comment(&app, &reader, post, "").await.assert_validation(&["content"]);
    comment(&app, &reader, post, &"x".repeat(2001)).await.assert_validation(&["content"]);
    comment(&app, &reader, 999_999, "hi").await.assert_error(404, "POST_NOT_FOUND");
    app.post(&format!("/v2/posts/{post}/comments")).json(&json!({"content": "anon"})).send().await.assert_status(401);
    app.get("/v2/comments/999999").send().await.assert_error(404, "COMMENT_NOT_FOUND");
    app.get("/v2/posts/999999/comments").send().await.assert_error(404, "POST_NOT_FOUND");
});

db_test!(who_may_delete_a_comment, |app| async move {
    let (_, post_author) = app.signup_and_login(&unique_email("pa")).await;
    let (_, commenter) = app.signup_and_login(&unique_email("c")).await;
    let (_, stranger) = app.signup_and_login(&unique_email("s")).await;
    let admin = app.admin_token().await;
    let post = new_post(&app, &post_author).await;
    let ids: Vec<i64> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(comment(&app, &commenter, post, "c").await.data()["id"].as_i64().unwrap());
        }
        v
    };
    app.delete(&format!("/v2/comments/{}", ids[0])).bearer(&stranger).send().await.assert_error(403, "FORBIDDEN");
    app.delete(&format!("/v2/comments/{}", ids[0])).send().await.assert_status(401);
    for (id, who) in ids.iter().zip([&commenter, &post_author, &admin]) {
        app.delete(&format!("/v2/comments/{id}")).bearer(who).send().await.assert_status(204);
        app.get(&format!("/v2/comments/{id}")).send().await.assert_error(404, "COMMENT_NOT_FOUND");
    }
    assert_eq!(comment_count(&app, post).await, 0);
    app.delete(&format!("/v2/comments/{}", ids[0])).bearer(&admin).send().await.assert_error(404, "COMMENT_NOT_FOUND");
});

db_test!(deleting_a_post_or_a_user_removes_what_hangs_off_it, |app| async move {
    let (author, author_token) = app.signup_and_login(&unique_email("author")).await;
    let (fan, fan_token) = app.signup_and_login(&unique_email("fan")).await;
    let post = new_post(&app, &author_token).await;
    let kept = new_post(&app, &author_token).await;
    let on_post = comment(&app, &fan_token, post, "on the doomed post").await.data()["id"].as_i64().unwrap();
    app.put(&format!("/v2/posts/{post}/like")).bearer(&fan_token).send().await.assert_status(204);
    // The post goes: its comments and likes with it.
    app.delete(&format!("/v2/posts/{post}")).bearer(&author_token).send().await.assert_status(204);
    app.get(&format!("/v2/comments/{on_post}")).send().await.assert_error(404, "COMMENT_NOT_FOUND");
    // The fan goes: its comments, likes and follows with it, and the counts follow.
    let on_kept = comment(&app, &fan_token, kept, "on the kept post").await.data()["id"].as_i64().unwrap();
    app.put(&format!("/v2/posts/{kept}/like")).bearer(&fan_token).send().await.assert_status(204);
    let (fan_id, author_id) = (fan["id"].as_i64().unwrap(), author["id"].as_i64().unwrap());
    app.put(&format!("/v2/users/{fan_id}/following/{author_id}")).bearer(&fan_token).send().await.assert_status(204);
    let before = app.get(&format!("/v2/posts/{kept}")).send().await;
    assert_eq!((before.data()["likes"].as_i64(), before.data()["comments_count"].as_i64()), (Some(1), Some(1)));
    app.delete(&format!("/v2/users/{fan_id}")).bearer(&fan_token).send().await.assert_status(204);
    app.get(&format!("/v2/comments/{on_kept}")).send().await.assert_error(404, "COMMENT_NOT_FOUND");
    let after = app.get(&format!("/v2/posts/{kept}")).send().await;
    assert_eq!((after.data()["likes"].as_i64(), after.data()["comments_count"].as_i64()), (Some(0), Some(0)));
    let author_now = app.get(&format!("/v2/users/{author_id}")).send().await;
    assert_eq!(author_now.data()["followers_count"], json!(0));
});
