//! CONTRACT §11 GraphQL over the real router, on both engines: queries, mutations and their
//! errors (the REST codes in `extensions.code`), the GraphQL-over-HTTP rules, the limits, and
//! batched loading counted in SQL statements.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::common::*;

const GQL: &str = "application/graphql-response+json";

/// `POST /graphql` as `token` (if any), accepting the GraphQL response type.
async fn gql(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> TestResponse {
    let mut req = app.post("/graphql").header("Accept", GQL).json(&json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        req = req.bearer(t);
    }
    req.send().await
}

fn codes(res: &TestResponse) -> Vec<String> {
    res.body["errors"]
        .as_array()
        .map(|errs| errs.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

db_test!(queries_read_through_the_services, |app| async move {
    let (ada, token) = app.signup_and_login(&unique_email("ada")).await;
    let (bob, bob_token) = app.signup_and_login(&unique_email("bob")).await;
    let ada_id = id(&ada);
    let post = create_post(&app, ada_id, "Hello", "First").await;
    app.post(&format!("/v2/posts/{}/comments", id(&post)))
        .bearer(&bob_token)
        .json(&json!({"content": "Hi"}))
        .send()
        .await
        .assert_status(201);
    let q = "query($id: ID!) { user(id: $id) { id name email followersCount posts(limit: 5) { nodes { title commentsCount comments { nodes { content author { name } post { title } } } } pageInfo { hasNextPage endCursor } } } }";
    let own = gql(&app, Some(&token), q, json!({"id": ada_id.to_string()})).await;
    own.assert_status(200);
    assert_eq!(own.header("content-type"), Some(GQL));
    let user = &own.body["data"]["user"];
    assert_eq!(user["email"], ada["email"]);
    assert_eq!(user["posts"]["nodes"][0]["title"], "Hello");
    assert_eq!(user["posts"]["nodes"][0]["commentsCount"], json!(1));
    assert_eq!(user["posts"]["nodes"][0]["comments"]["nodes"][0]["author"]["name"], bob["name"]);
    assert_eq!(user["posts"]["nodes"][0]["comments"]["nodes"][0]["post"]["title"], "Hello");
    assert_eq!(user["posts"]["pageInfo"]["hasNextPage"], json!(false));
    // Email only to the user and admins.
    let other = gql(&app, Some(&bob_token), q, json!({"id": ada_id.to_string()})).await;
    assert_eq!(other.body["data"]["user"]["email"], Value::Null);
    let anon = gql(&app, None, "{ me { id } users(limit: 10) { name email } }", json!({})).await;
    assert_eq!(anon.body["data"]["me"], Value::Null);
    assert!(anon.body["data"]["users"].as_array().unwrap().iter().all(|u| u["email"].is_null()));
    // A missing object: null, and the REST code.
    let missing = gql(&app, Some(&token), "{ user(id: \"999999\") { id } }", json!({})).await;
    missing.assert_status(200);
    assert_eq!(missing.body["data"]["user"], Value::Null);
    assert_eq!(codes(&missing), vec!["USER_NOT_FOUND"]);
    let bad_id = gql(&app, Some(&token), "{ post(id: \"abc\") { id } }", json!({})).await;
    assert_eq!(codes(&bad_id), vec!["VALIDATION_ERROR"]);
    // Lists: posts by author, products with filters, a bad limit is the list machinery's error.
    let posts = gql(
        &app,
        None,
        "query($a: ID) { posts(authorId: $a) { nodes { author { id } } } }",
        json!({"a": ada_id.to_string()}),
    )
    .await;
    assert_eq!(posts.body["data"]["posts"]["nodes"].as_array().unwrap().len(), 1);
    create_product(&app, "Lamp", "home", 1999, 0).await;
    create_product(&app, "Desk", "home", 9999, 3).await;
    let products =
        gql(&app, None, "{ products(category: \"home\", inStock: true) { name price inStock } }", json!({})).await;
    assert_eq!(products.body["data"]["products"], json!([{"name": "Desk", "price": 9999, "inStock": true}]));
    let too_many = gql(&app, None, "{ posts(limit: 101) { nodes { id } } }", json!({})).await;
    assert_eq!(codes(&too_many), vec!["INVALID_QUERY"]);
    assert_eq!(too_many.body["errors"][0]["extensions"]["details"][0]["field"], "limit");
});

db_test!(mutations_share_the_rules_and_errors, |app| async move {
    let email = unique_email("gq");
    let created = gql(
        &app,
        None,
        "mutation($i: CreateUserInput!) { createUser(input: $i) { id name email } }",
        json!({"i": {"name": "Grace", "email": email, "password": "correct horse battery"}}),
    )
    .await;
    created.assert_status(200);
    assert_eq!(created.body["data"]["createUser"]["email"], Value::Null, "an anonymous caller sees no email");
    let uid: i64 = created.body["data"]["createUser"]["id"].as_str().unwrap().parse().unwrap();
    // The same validation as REST, with details.
    let bad = gql(
        &app,
        None,
        "mutation { createUser(input: {name: \"\", email: \"nope\", password: \"short\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(codes(&bad), vec!["VALIDATION_ERROR"]);
    let mut fields: Vec<&str> = bad.body["errors"][0]["extensions"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["email", "name", "password"]);
    let dup = gql(
        &app,
        None,
        "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
        json!({"i": {"name": "Again", "email": email, "password": "correct horse battery"}}),
    )
    .await;
    assert_eq!(codes(&dup), vec!["CONFLICT"]);
    // Writes need a credential.
    let anon =
        gql(&app, None, "mutation { createPost(input: {title: \"t\", content: \"c\"}) { id } }", json!({})).await;
    assert_eq!(codes(&anon), vec!["UNAUTHENTICATED"]);
    let token = app.token_for(uid);
    let post = gql(
        &app,
        Some(&token),
        "mutation { createPost(input: {title: \"T\", content: \"C\"}) { id author { id } likes } }",
        json!({}),
    )
    .await;
    let pid = post.body["data"]["createPost"]["id"].as_str().unwrap().to_string();
    assert_eq!(post.body["data"]["createPost"]["author"]["id"], json!(uid.to_string()));
    let liked =
        gql(&app, Some(&token), "mutation($p: ID!) { likePost(postId: $p) { likes } }", json!({"p": pid})).await;
    assert_eq!(liked.body["data"]["likePost"]["likes"], json!(1));
    let unliked =
        gql(&app, Some(&token), "mutation($p: ID!) { unlikePost(postId: $p) { likes } }", json!({"p": pid})).await;
    assert_eq!(unliked.body["data"]["unlikePost"]["likes"], json!(0));
    let comment = gql(
        &app,
        Some(&token),
        "mutation($p: ID!) { addComment(postId: $p, content: \"\") { id } }",
        json!({"p": pid}),
    )
    .await;
    assert_eq!(codes(&comment), vec!["VALIDATION_ERROR"]);
    let comment = gql(
        &app,
        Some(&token),
        "mutation($p: ID!) { addComment(postId: $p, content: \"Nice\") { content post { id } } }",
        json!({"p": pid}),
    )
    .await;
    assert_eq!(comment.body["data"]["addComment"]["post"]["id"], json!(pid));
    // Follows, and the feed they make.
    let (other, other_token) = app.signup_and_login(&unique_email("other")).await;
    let follow =
        gql(&app, Some(&other_token), "mutation($u: ID!) { follow(userId: $u) }", json!({"u": uid.to_string()})).await;
    assert_eq!(follow.body["data"]["follow"], json!(true));
    let feed = gql(&app, Some(&other_token), "{ feed { nodes { title } } }", json!({})).await;
    assert_eq!(feed.body["data"]["feed"]["nodes"], json!([{"title": "T"}]));
    let me =
        gql(&app, Some(&other_token), "mutation($u: ID!) { follow(userId: $u) }", json!({"u": id(&other).to_string()}))
            .await;
    assert_eq!(codes(&me), vec!["VALIDATION_ERROR"]);
    // Someone else's account.
    let update = gql(
        &app,
        Some(&other_token),
        "mutation($u: ID!) { updateUser(id: $u, input: {name: \"X\"}) { name } }",
        json!({"u": uid.to_string()}),
    )
    .await;
    assert_eq!(codes(&update), vec!["FORBIDDEN"]);
    let update = gql(
        &app,
        Some(&token),
        "mutation($u: ID!) { updateUser(id: $u, input: {name: \"Grace H\"}) { name } }",
        json!({"u": uid.to_string()}),
    )
    .await;
    assert_eq!(update.body["data"]["updateUser"]["name"], "Grace H");
    let deleted =
        gql(&app, Some(&token), "mutation($u: ID!) { deleteUser(id: $u) }", json!({"u": uid.to_string()})).await;
    assert_eq!(deleted.body["data"]["deleteUser"], json!(true));
});

db_test!(graphql_over_http, |app| async move {
    // GET for queries; a mutation over GET is 405.
    let q = serde_urlencoded::to_string([("query", "{ users(limit: 1) { id } }")]).unwrap();
    let got = app.get(&format!("/graphql?{q}")).send().await;
    got.assert_status(200);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert!(got.body["data"]["users"].is_array());
    let m = serde_urlencoded::to_string([("query", "mutation { deleteUser(id: \"1\") }")]).unwrap();
    let refused = app.get(&format!("/graphql?{m}")).header("Accept", GQL).send().await;
    refused.assert_status(405);
    assert_eq!(refused.header("allow"), Some("POST"));
    // Bad requests.
    app.post("/graphql").body("application/json", "{not json").send().await.assert_status(400);
    app.post("/graphql").json(&json!({"variables": {}})).send().await.assert_status(400);
    app.post("/graphql").body("text/plain", "{ me { id } }").send().await.assert_status(415);
    app.get("/graphql").header("Accept", GQL).send().await.assert_status(400);
    // A document that does not parse or validate: 400 in the GraphQL type, 200 in plain JSON.
    let unparsable = gql(&app, None, "{ me { ", json!({})).await;
    unparsable.assert_status(400);
    assert!(unparsable.body["errors"].is_array());
    let invalid = gql(&app, None, "{ nosuchfield }", json!({})).await;
    invalid.assert_status(400);
    let legacy = app.post("/graphql").json(&json!({"query": "{ nosuchfield }"})).send().await;
    legacy.assert_status(200);
    assert_eq!(legacy.header("content-type"), Some("application/json"));
    assert!(legacy.body["errors"][0]["message"].is_string());
});

db_test!(deep_and_costly_queries_are_refused_before_running, |app| async move {
    let deep =
        "{ me { posts { nodes { author { posts { nodes { author { posts { nodes { author { name } } } } } } } } } } }";
    let res = gql(&app, None, deep, json!({})).await;
    res.assert_status(400);
    assert_eq!(codes(&res), vec!["QUERY_TOO_DEEP"]);
    let wide = "{ posts(limit: 100) { nodes { author { followers(limit: 100) { nodes { name } } } } } }";
    let res = gql(&app, None, wide, json!({})).await;
    assert_eq!(codes(&res), vec!["QUERY_TOO_COMPLEX"]);
    let by_variable = gql(
        &app,
        None,
        "query($n: Int) { posts(limit: $n) { nodes { author { followers(limit: $n) { nodes { name } } } } } }",
        json!({"n": 100}),
    )
    .await;
    assert_eq!(codes(&by_variable), vec!["QUERY_TOO_COMPLEX"]);
    let introspection = include_str!("../../src/graphql/introspection.graphql");
    let res = gql(&app, None, introspection, json!({})).await;
    res.assert_status(200);
    assert!(res.body["data"]["__schema"]["types"].as_array().unwrap().len() > 10);
});

/// A query of `n` posts with their authors' follower counts and their comment counts.
/// The fewest of three runs: a background task (the idempotency purger) may run a statement
/// during one of them.
async fn statements_for(app: &TestApp, n: usize) -> u64 {
    let query =
        format!("{{ posts(limit: {n}) {{ nodes {{ title commentsCount author {{ name followersCount }} }} }} }}");
    let mut fewest = u64::MAX;
    for _ in 0..3 {
        let before = app.state.db.statements();
        let res = gql(app, None, &query, json!({})).await;
        let after = app.state.db.statements();
        res.assert_status(200);
        assert_eq!(res.body["data"]["posts"]["nodes"].as_array().unwrap().len(), n, "{}", res.describe());
        fewest = fewest.min(after - before);
    }
    fewest
}

db_test!(n_posts_with_authors_cost_a_constant_number_of_statements, |app| async move {
    let plan = agora_db::seed::Seeded { users: 60, posts: 60, ..Default::default() };
    agora_db::seed::seed(&app.state.db, plan, "x").await.unwrap();
    let five = statements_for(&app, 5).await;
    let fifty = statements_for(&app, 50).await;
    assert_eq!(five, fifty, "5 posts cost {five} statements, 50 cost {fifty}");
    assert!(fifty <= 3, "one page of posts and one batch of authors: {fifty}");
});

/// One policy for everyone: 3 requests a minute per client, on every route.
async fn tight_limit(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.policy = vec![agora_server::config::PolicyConfig {
            name: "tight".into(),
            algorithm: "fixed_window".into(),
            limit: 3,
            window: std::time::Duration::from_secs(60),
            key: "client".into(),
            principals: "any".into(),
            routes: vec!["*".into()],
            per_route: false,
        }];
    })
    .await
}

db_test!(graphql_spends_the_rest_budget_and_refuses_in_its_own_shape, with = tight_limit, |app| async move {
    app.get("/v2/products").send().await.assert_status(200);
    app.get("/v2/products").send().await.assert_status(200);
    let third = gql(&app, None, "{ products { name } }", json!({})).await;
    third.assert_status(200);
    assert!(third.header("x-ratelimit-remaining").is_some());
    let fourth = gql(&app, None, "{ products { name } }", json!({})).await;
    fourth.assert_status(429);
    assert!(fourth.header("retry-after").is_some());
    assert_eq!(codes(&fourth), vec!["RATE_LIMIT_EXCEEDED"]);
    assert!(fourth.body["errors"][0]["extensions"]["retryAfter"].as_u64().is_some_and(|s| s >= 1));
    // REST keeps its envelope.
    app.get("/v2/products").send().await.assert_error(429, "RATE_LIMIT_EXCEEDED");
});

db_test!(a_bad_credential_is_refused_in_graphql_shape, |app| async move {
    let res = gql(&app, Some("not-a-token"), "{ me { id } }", json!({})).await;
    res.assert_status(401);
    assert!(res.header("www-authenticate").is_some());
    assert_eq!(codes(&res), vec!["UNAUTHENTICATED"]);
});

db_test!(browsers_get_graphiql_served_from_the_binary, |app| async move {
    let page = app.get("/graphql").header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8").send().await;
    page.assert_status(200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let html = page.text();
    for asset in
        ["graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "start.js"]
    {
        assert!(html.contains(&format!("/graphql/assets/{asset}")), "{asset} in the page");
        let res = app.get(&format!("/graphql/assets/{asset}")).send().await;
        res.assert_status(200);
        assert!(res.bytes.len() > 100, "{asset} is served");
    }
    assert!(!html.contains("https://"), "nothing from a CDN");
    app.get("/graphql/assets/nope.js").send().await.assert_status(404);
});

db_test!(cookie_sessions_need_the_csrf_token_for_graphql_writes, |app| async move {
    let email = unique_email("cookie");
    let (user, _) = app.signup_and_login(&email).await;
    let res = app.post("/v2/auth/session").json(&json!({"email": email, "password": PASSWORD})).send().await;
    res.assert_status(201);
    let (sid, _) = res.set_cookie("agora_session").unwrap();
    let csrf = res.data()["csrf_token"].as_str().unwrap().to_string();
    let body =
        json!({"query": "mutation { createPost(input: {title: \"via cookie\", content: \"c\"}) { author { id } } }"});
    let refused = app.post("/graphql").cookie("agora_session", &sid).json(&body).send().await;
    refused.assert_status(403);
    assert_eq!(codes(&refused), vec!["CSRF_FAILED"]);
    let ok = app.post("/graphql").cookie("agora_session", &sid).header("x-csrf-token", &csrf).json(&body).send().await;
    ok.assert_status(200);
    assert_eq!(ok.body["data"]["createPost"]["author"]["id"], json!(id(&user).to_string()));
});

/// Users with their first posts and those posts' first comments.
async fn nested_statements(app: &TestApp, n: usize) -> u64 {
    let query = format!(
        "{{ users(limit: {n}) {{ name posts(limit: 3) {{ nodes {{ title comments(limit: 2) {{ nodes {{ content }} }} }} pageInfo {{ hasNextPage }} }} }} }}"
    );
    let mut fewest = u64::MAX;
    for _ in 0..3 {
        let before = app.state.db.statements();
        let res = gql(app, None, &query, json!({})).await;
        let after = app.state.db.statements();
        res.assert_status(200);
        assert_eq!(res.body["data"]["users"].as_array().unwrap().len(), n, "{}", res.describe());
        fewest = fewest.min(after - before);
    }
    fewest
}

db_test!(nested_lists_load_in_batches_and_their_cursors_continue, |app| async move {
    let plan = agora_db::seed::Seeded { users: 30, posts: 150, comments: 300, ..Default::default() };
    agora_db::seed::seed(&app.state.db, plan, "x").await.unwrap();
    let five = nested_statements(&app, 5).await;
    let twenty = nested_statements(&app, 20).await;
    assert_eq!(five, twenty, "5 users cost {five} statements, 20 cost {twenty}");
    assert!(twenty <= 4, "users, their posts, those posts' comments: {twenty}");
    // A batched first page is the page REST serves, and its cursor continues where REST's does.
    let uid = app.get("/v2/users?limit=1").send().await.ids()[0];
    let rest = app.get(&format!("/v2/users/{uid}/posts?limit=3")).send().await;
    let q = "query($u: ID!, $c: String) { user(id: $u) { posts(limit: 3, cursor: $c) { nodes { id } pageInfo { hasNextPage endCursor } } } }";
    let ids = |res: &TestResponse| -> Vec<i64> {
        res.body["data"]["user"]["posts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let first = gql(&app, None, q, json!({"u": uid.to_string()})).await;
    assert_eq!(ids(&first), rest.ids());
    assert_eq!(first.body["data"]["user"]["posts"]["pageInfo"]["hasNextPage"], json!(true));
    let cursor = first.body["data"]["user"]["posts"]["pageInfo"]["endCursor"].as_str().unwrap().to_string();
    let second = gql(&app, None, q, json!({"u": uid.to_string(), "c": cursor})).await;
    let rest_next = rest.pagination()["next_cursor"].as_str().unwrap().to_string();
    let rest_second = app.get(&format!("/v2/users/{uid}/posts?limit=3&cursor={rest_next}")).send().await;
    assert_eq!(ids(&second), rest_second.ids());
    // Comments too, oldest first.
    let posts = app.get("/v2/posts?limit=100").send().await;
    let busiest = posts.items().iter().max_by_key(|p| p["comments_count"].as_i64().unwrap()).unwrap();
    assert!(busiest["comments_count"].as_i64().unwrap() > 1);
    let pid = id(busiest);
    let rest = app.get(&format!("/v2/posts/{pid}/comments?limit=1")).send().await;
    let got = gql(
        &app,
        None,
        "query($p: ID!) { post(id: $p) { comments(limit: 1) { nodes { id } pageInfo { hasNextPage } } } }",
        json!({"p": pid.to_string()}),
    )
    .await;
    assert_eq!(got.body["data"]["post"]["comments"]["pageInfo"]["hasNextPage"], json!(true));
    let got: Vec<i64> = got.body["data"]["post"]["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(got, rest.ids());
});
