//! CONTRACT §5.1 feed: the posts of followed users, newest first, by cursor; stable while new
//! posts arrive; follows and unfollows take effect on the next page.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::json;

use crate::common::*;

async fn post(app: &TestApp, token: &str, title: &str) -> i64 {
    let res = app.post("/v2/posts").bearer(token).json(&json!({"title": title, "content": "c"})).send().await;
    res.assert_status(201);
    res.data()["id"].as_i64().unwrap()
}

async fn follow(app: &TestApp, token: &str, who: i64, whom: i64) {
    app.put(&format!("/v2/users/{who}/following/{whom}")).bearer(token).send().await.assert_status(204);
}

db_test!(the_feed_shows_followed_authors_newest_first, |app| async move {
    let (reader, reader_token) = app.signup_and_login(&unique_email("reader")).await;
    let (a, a_token) = app.signup_and_login(&unique_email("a")).await;
    let (b, b_token) = app.signup_and_login(&unique_email("b")).await;
    let (_, stranger) = app.signup_and_login(&unique_email("s")).await;
    let (reader, a, b) = (reader["id"].as_i64().unwrap(), a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let a1 = post(&app, &a_token, "a1").await;
    let b1 = post(&app, &b_token, "b1").await;
    post(&app, &stranger, "not followed").await;
    post(&app, &reader_token, "my own").await;
    let a2 = post(&app, &a_token, "a2").await;
    let feed = app.get("/v2/feed").bearer(&reader_token).send().await;
    feed.assert_status(200);
    assert!(feed.ids().is_empty(), "nobody followed yet");
    follow(&app, &reader_token, reader, a).await;
    follow(&app, &reader_token, reader, b).await;
    let feed = app.get("/v2/feed").bearer(&reader_token).send().await;
    assert_eq!(feed.ids(), vec![a2, b1, a1], "newest first");
    // v1 pages the feed by cursor too; page numbers and offsets are refused.
    assert_eq!(app.get("/v1/feed?limit=2").bearer(&reader_token).send().await.ids(), vec![a2, b1]);
    for bad in ["page=2", "per_page=5", "offset=1&limit=5"] {
        app.get(&format!("/v2/feed?{bad}")).bearer(&reader_token).send().await.assert_error(400, "INVALID_QUERY");
    }
    app.get("/v2/feed").send().await.assert_status(401);
    assert_eq!(app.get("/v2/feed?q=a2").bearer(&reader_token).send().await.ids(), vec![a2]);
});

db_test!(a_cursor_walk_sees_every_post_once_while_posts_arrive, |app| async move {
    let (reader, reader_token) = app.signup_and_login(&unique_email("reader")).await;
    let (author, author_token) = app.signup_and_login(&unique_email("author")).await;
    follow(&app, &reader_token, reader["id"].as_i64().unwrap(), author["id"].as_i64().unwrap()).await;
    let mut start = BTreeSet::new();
    for i in 0..25 {
        start.insert(post(&app, &author_token, &format!("p{i}")).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut added = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v2/feed?limit=4&cursor={c}"),
            None => "/v2/feed?limit=4".to_string(),
        };
        let page = app.get(&path).bearer(&reader_token).send().await;
        page.assert_status(200);
        seen.extend(page.ids());
        // New posts arrive between pages; they are newer than the walk and never repeat it.
        post(&app, &author_token, &format!("new{added}")).await;
        added += 1;
        match page.pagination()["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no post twice: {seen:?}");
    assert_eq!(unique, start, "every post of the starting set, and only those");
});

db_test!(an_unfollow_takes_effect_on_the_next_page, |app| async move {
    let (reader, reader_token) = app.signup_and_login(&unique_email("reader")).await;
    let (a, a_token) = app.signup_and_login(&unique_email("a")).await;
    let (b, b_token) = app.signup_and_login(&unique_email("b")).await;
    let (reader, a, b) = (reader["id"].as_i64().unwrap(), a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let mut a_posts = BTreeSet::new();
    for i in 0..6 {
        a_posts.insert(post(&app, &a_token, &format!("a{i}")).await);
        post(&app, &b_token, &format!("b{i}")).await;
    }
    follow(&app, &reader_token, reader, a).await;
    follow(&app, &reader_token, reader, b).await;
    let first = app.get("/v2/feed?limit=4").bearer(&reader_token).send().await;
    assert_eq!(first.ids().len(), 4);
    let next = first.pagination()["next_cursor"].as_str().unwrap().to_string();
    app.delete(&format!("/v2/users/{reader}/following/{a}")).bearer(&reader_token).send().await.assert_status(204);
    let second = app.get(&format!("/v2/feed?limit=100&cursor={next}")).bearer(&reader_token).send().await;
    second.assert_status(200);
    assert!(second.ids().iter().all(|id| !a_posts.contains(id)), "a's posts are gone at once");
    assert!(!second.ids().is_empty());
});

db_test!(posts_and_comments_publish_events, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("author")).await;
    let mut events = app.state.services.events().subscribe();
    let post_id = post(&app, &token, "evented").await;
    // With an idempotency key the post commits with its record, and only then is announced.
    let keyed = app
        .post("/v2/posts")
        .bearer(&token)
        .header("Idempotency-Key", &unique("k"))
        .json(&json!({"title": "keyed", "content": "c"}))
        .send()
        .await;
    keyed.assert_status(201);
    let comment =
        app.post(&format!("/v2/posts/{post_id}/comments")).bearer(&token).json(&json!({"content": "hi"})).send().await;
    comment.assert_status(201);
    use agora_core::events::DomainEvent;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = tokio::time::timeout(std::time::Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
        seen.push(match e {
            DomainEvent::PostCreated(p) => format!("post {}", p.id),
            DomainEvent::CommentAdded(c) => format!("comment {} on {}", c.id, c.post_id),
        });
    }
    let keyed_id = keyed.data()["id"].as_i64().unwrap();
    let comment_id = comment.data()["id"].as_i64().unwrap();
    assert_eq!(
        seen,
        [format!("post {post_id}"), format!("post {keyed_id}"), format!("comment {comment_id} on {post_id}")]
    );
});
