//! CONTRACT §5.1 follows: idempotent follow and unfollow, who may, counts exact under
//! concurrency, the followers and following lists with the list machinery.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::json;

use crate::common::*;

fn uid(user: &serde_json::Value) -> i64 {
    user["id"].as_i64().unwrap()
}

async fn counts(app: &TestApp, id: i64) -> (i64, i64) {
    let u = app.get(&format!("/v2/users/{id}")).send().await;
    u.assert_status(200);
    (u.data()["followers_count"].as_i64().unwrap(), u.data()["following_count"].as_i64().unwrap())
}

db_test!(follow_and_unfollow_are_idempotent, |app| async move {
    let (ada, ada_token) = app.signup_and_login(&unique_email("ada")).await;
    let (bob, _) = app.signup_and_login(&unique_email("bob")).await;
    let (ada, bob) = (uid(&ada), uid(&bob));
    let path = format!("/v2/users/{ada}/following/{bob}");
    for _ in 0..2 {
        app.put(&path).bearer(&ada_token).send().await.assert_status(204);
    }
    assert_eq!(counts(&app, ada).await, (0, 1));
    assert_eq!(counts(&app, bob).await, (1, 0));
    let followers = app.get(&format!("/v2/users/{bob}/followers")).send().await;
    followers.assert_status(200);
    assert_eq!(followers.ids(), vec![ada]);
    assert!(followers.items()[0].get("email").is_none(), "emails stay private in lists");
    assert_eq!(app.get(&format!("/v1/users/{ada}/following")).send().await.ids(), vec![bob]);
    for _ in 0..2 {
        app.delete(&path).bearer(&ada_token).send().await.assert_status(204);
    }
    assert_eq!(counts(&app, ada).await, (0, 0));
    assert_eq!(counts(&app, bob).await, (0, 0));
    assert!(app.get(&format!("/v2/users/{bob}/followers")).send().await.ids().is_empty());
});

db_test!(who_may_follow_and_what_is_refused, |app| async move {
    let (ada, ada_token) = app.signup_and_login(&unique_email("ada")).await;
    let (bob, bob_token) = app.signup_and_login(&unique_email("bob")).await;
    let (ada, bob) = (uid(&ada), uid(&bob));
    // Only the user itself, or an admin.
    app.put(&format!("/v2/users/{ada}/following/{bob}")).send().await.assert_status(401);
    app.put(&format!("/v2/users/{ada}/following/{bob}")).bearer(&bob_token).send().await.assert_error(403, "FORBIDDEN");
    let admin = app.admin_token().await;
    app.put(&format!("/v2/users/{ada}/following/{bob}")).bearer(&admin).send().await.assert_status(204);
    assert_eq!(counts(&app, bob).await, (1, 0));
    // Not itself; not a user that does not exist (either way).
    let res = app.put(&format!("/v2/users/{ada}/following/{ada}")).bearer(&ada_token).send().await;
    res.assert_validation(&["target_id"]);
    for path in [format!("/v2/users/{ada}/following/999999"), format!("/v2/users/999999/following/{ada}")] {
        app.put(&path).bearer(&admin).send().await.assert_error(404, "USER_NOT_FOUND");
        app.delete(&path).bearer(&admin).send().await.assert_error(404, "USER_NOT_FOUND");
    }
    app.get("/v2/users/999999/followers").send().await.assert_error(404, "USER_NOT_FOUND");
    app.get(&format!("/v2/users/{ada}/following/x")).send().await.assert_status(405);
    app.put(&format!("/v2/users/{ada}/following/x"))
        .bearer(&ada_token)
        .send()
        .await
        .assert_error(400, "INVALID_REQUEST");
});

db_test!(fifty_concurrent_follows_count_exactly, |app| async move {
    let (star, _) = app.signup_and_login(&unique_email("star")).await;
    let star = uid(&star);
    let mut fans = Vec::new();
    for i in 0..50 {
        let (u, t) = app.signup_and_login(&unique_email(&format!("fan{i}"))).await;
        fans.push((uid(&u), t));
    }
    let app = Arc::new(app);
    let run = |method: &'static str, who: Vec<(i64, String)>| {
        let app = app.clone();
        async move {
            let mut tasks = Vec::new();
            for (id, t) in who {
                let app = app.clone();
                tasks.push(tokio::spawn(async move {
                    let path = format!("/v2/users/{id}/following/{star}");
                    let req = if method == "PUT" { app.put(&path) } else { app.delete(&path) };
                    req.bearer(&t).send().await.status
                }));
            }
            for t in tasks {
                assert_eq!(t.await.unwrap(), 204);
            }
        }
    };
    // Everyone follows twice at once, then half unfollow at once.
    run("PUT", fans.iter().chain(fans.iter()).cloned().collect()).await;
    assert_eq!(counts(&app, star).await, (50, 0));
    run("DELETE", fans.iter().take(25).cloned().collect()).await;
    assert_eq!(counts(&app, star).await, (25, 0));
    for (id, _) in fans.iter().skip(25).take(3) {
        assert_eq!(counts(&app, *id).await, (0, 1));
    }
    // The list machinery: pages, sorts, search.
    let page = app.get(&format!("/v2/users/{star}/followers?limit=10&sort=-id")).send().await;
    page.assert_status(200);
    let ids = page.ids();
    assert_eq!(ids.len(), 10);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let next = page.pagination()["next_cursor"].as_str().unwrap().to_string();
    let second = app.get(&format!("/v2/users/{star}/followers?limit=10&sort=-id&cursor={next}")).send().await;
    assert!(second.ids().iter().all(|id| *id < ids[9]));
    let total = app.get(&format!("/v1/users/{star}/followers?per_page=100")).send().await;
    assert_eq!(total.pagination()["total"], json!(25));
    // A follower's account goes, and its follow with it.
    let (gone, token) = fans[30].clone();
    app.delete(&format!("/v2/users/{gone}")).bearer(&token).send().await.assert_status(204);
    assert_eq!(counts(&app, star).await, (24, 0));
});

db_test!(the_seeded_graph_keeps_every_count_right, |app| async move {
    let plan =
        agora_db::seed::Seeded { users: 10, posts: 20, products: 0, follows: 3, likes: 25, comments: 9, orders: 0 };
    let done = agora_db::seed::seed(&app.state.db, plan, "x").await.unwrap();
    assert_eq!((done.follows, done.likes, done.comments), (30, 25, 9));
    let users = app.get("/v1/users?per_page=100").send().await;
    let sum = |items: &Vec<serde_json::Value>, f: &str| items.iter().map(|u| u[f].as_i64().unwrap()).sum::<i64>();
    assert_eq!(users.items().len(), 10);
    assert!(users.items().iter().all(|u| u["following_count"] == json!(3)));
    assert_eq!(sum(users.items(), "followers_count"), 30);
    let posts = app.get("/v1/posts?per_page=100").send().await;
    assert_eq!(sum(posts.items(), "likes"), 25);
    assert_eq!(sum(posts.items(), "comment_count"), 9);
});

db_test!(deep_pages_of_followers_and_following_match_the_walk, |app| async move {
    // Joined lists take the deferred join past the first page: the inner walk picks the
    // page's ids through the join, the outer reads those users.
    let (star, _) = app.signup_and_login(&unique_email("star")).await;
    let star = uid(&star);
    let mut fans = Vec::new();
    for i in 0..5 {
        let (fan, token) = app.signup_and_login(&unique_email(&format!("fan{i}"))).await;
        app.put(&format!("/v2/users/{}/following/{star}", uid(&fan))).bearer(&token).send().await.assert_status(204);
        fans.push(uid(&fan));
    }
    for sort in ["id", "-id", "name", "-created_at"] {
        let all = app.get(&format!("/v1/users/{star}/followers?per_page=100&sort={sort}")).send().await.ids();
        assert_eq!(all.len(), 5, "sort={sort}");
        let page2 = app.get(&format!("/v1/users/{star}/followers?page=2&per_page=2&sort={sort}")).send().await;
        assert_eq!(page2.ids(), all[2..4], "sort={sort}");
        assert_eq!(page2.pagination()["total"], json!(5));
        let tail = app.get(&format!("/v1/users/{star}/followers?offset=3&limit=10&sort={sort}")).send().await;
        assert_eq!(tail.ids(), all[3..], "sort={sort}");
    }
    let following = app.get(&format!("/v1/users/{}/following?page=2&per_page=1", fans[0])).send().await;
    assert!(following.ids().is_empty());
    assert_eq!(following.pagination()["total"], json!(1));
});
