//! CONTRACT §4: pagination (page, offset, cursor, after_id), `Link`, sorting, fields, search,
//! and the refusals (`INVALID_QUERY`) that go with them.
#![allow(clippy::unwrap_used)]

use std::cmp::Ordering;

use crate::common::*;
use serde_json::{Value, json};

/// Eight products `p1`..`p8` (ids ascending in that order).
async fn eight(app: &TestApp) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 1..=8 {
        ids.push(seed_product(app, &format!("p{i}"), "", "things", i * 100, i % 3).await.id);
    }
    ids
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    k.sort();
    k
}

fn query_of(href: &str) -> Vec<(String, String)> {
    let q = href.split_once('?').map(|(_, q)| q).unwrap_or("");
    serde_urlencoded::from_str(q).unwrap()
}

fn param(href: &str, name: &str) -> Option<String> {
    query_of(href).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}

db_test!(page_pagination, |app| async move {
    let ids = eight(&app).await;
    let res = app.get("/v2/products?page=2&per_page=3").send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[3..6]);
    let p = res.pagination();
    assert_eq!(
        keys(p),
        ["next_cursor", "page", "per_page", "prev_cursor", "total", "total_is_estimate", "total_pages"]
    );
    assert_eq!(p["total_is_estimate"], json!(false));
    assert_eq!((p["page"].clone(), p["per_page"].clone()), (json!(2), json!(3)));
    assert_eq!((p["total"].clone(), p["total_pages"].clone()), (json!(8), json!(3)));
    assert!(p["next_cursor"].is_string() && p["prev_cursor"].is_string());

    let first = res.link("first").expect("first link");
    let prev = res.link("prev").expect("prev link");
    let next = res.link("next").expect("next link");
    let last = res.link("last").expect("last link");
    assert!(first.starts_with("/v2/products?"), "{first}");
    assert_eq!((param(&first, "page"), param(&first, "per_page")), (Some("1".into()), Some("3".into())));
    assert_eq!(param(&prev, "page"), Some("1".into()));
    assert_eq!(param(&next, "page"), Some("3".into()));
    assert_eq!(param(&last, "page"), Some("3".into()));

    // Following `next` reaches the last page, which has no `next`.
    let res = app.get(&next).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[6..8]);
    assert_eq!(res.pagination()["page"], json!(3));
    assert_eq!(res.pagination()["next_cursor"], Value::Null);
    assert!(res.link("next").is_none());
    assert!(res.link("prev").is_some());

    // The first page has no `prev`; a page past the end is empty but still counts.
    let res = app.get("/v2/products?page=1&per_page=3").send().await;
    assert_eq!(res.ids(), ids[0..3]);
    assert!(res.link("prev").is_none());
    assert_eq!(res.pagination()["prev_cursor"], Value::Null);
    let res = app.get("/v2/products?page=9&per_page=3").send().await;
    res.assert_status(200);
    assert!(res.items().is_empty());
    assert_eq!(res.pagination()["total"], json!(8));

    // A page's next_cursor continues with keyset pagination from the same place.
    let res = app.get("/v2/products?page=2&per_page=3").send().await;
    let cursor = res.pagination()["next_cursor"].as_str().unwrap().to_string();
    let res = app.get(&format!("/v2/products?cursor={cursor}&limit=3")).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[6..8]);

    // Defaults: page 1, 20 per page.
    let res = app.get("/v2/products?page=1").send().await;
    assert_eq!(res.pagination()["per_page"], json!(20));
    assert_eq!(res.pagination()["total_pages"], json!(1));
    assert_eq!(res.ids(), ids);
});

db_test!(offset_pagination, |app| async move {
    let ids = eight(&app).await;
    let res = app.get("/v2/products?offset=2&limit=3").send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[2..5]);
    assert_eq!(res.pagination(), &json!({"offset": 2, "limit": 3, "total": 8, "total_is_estimate": false}));
    let next = res.link("next").expect("next");
    assert_eq!((param(&next, "offset"), param(&next, "limit")), (Some("5".into()), Some("3".into())));
    assert_eq!(param(&res.link("prev").expect("prev"), "offset"), Some("0".into()));
    assert_eq!(param(&res.link("first").expect("first"), "offset"), Some("0".into()));
    let last = res.link("last").expect("last");
    assert_eq!(param(&last, "offset"), Some("6".into()));
    let res = app.get(&last).send().await;
    assert_eq!(res.ids(), ids[6..8]);
    assert!(res.link("next").is_none());

    let res = app.get("/v2/products?offset=0").send().await;
    assert_eq!(res.pagination(), &json!({"offset": 0, "limit": 20, "total": 8, "total_is_estimate": false}));
    assert!(res.link("prev").is_none());
    let res = app.get("/v2/products?offset=100&limit=5").send().await;
    assert!(res.items().is_empty());
    assert_eq!(res.pagination()["total"], json!(8));
});

db_test!(cursor_pagination, |app| async move {
    let ids = eight(&app).await;
    let res = app.get("/v2/products?limit=3").send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[0..3]);
    let p = res.pagination();
    assert_eq!(keys(p), ["has_more", "limit", "next_cursor", "prev_cursor"]);
    assert_eq!(p["limit"], json!(3));
    assert_eq!(p["has_more"], json!(true));
    assert_eq!(p["prev_cursor"], Value::Null);
    let cursor = p["next_cursor"].as_str().unwrap();
    assert!(
        cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)),
        "cursor is not URL-safe: {cursor}"
    );
    assert!(res.link("first").is_some());
    assert!(res.link("prev").is_none());

    // Walk by next_cursor, and check the `next` link leads to the same page.
    let mut seen = res.ids();
    let mut res = res;
    while let Some(c) = res.pagination()["next_cursor"].as_str().map(str::to_string) {
        let link = res.link("next").expect("next link while next_cursor is set");
        assert_eq!(param(&link, "cursor").as_deref(), Some(c.as_str()));
        let via_link = app.get(&link).send().await;
        res = app.get(&format!("/v2/products?limit=3&cursor={c}")).send().await;
        res.assert_status(200);
        assert_eq!(via_link.ids(), res.ids());
        assert_eq!(res.pagination()["has_more"], json!(res.pagination()["next_cursor"].is_string()));
        assert!(res.pagination()["prev_cursor"].is_string());
        seen.extend(res.ids());
    }
    assert_eq!(seen, ids);
    assert_eq!(res.pagination()["has_more"], json!(false));
    assert!(res.link("next").is_none());

    // Totals only on request.
    let res = app.get("/v2/products?limit=3&include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(8));
    assert_eq!(
        keys(res.pagination()),
        ["has_more", "limit", "next_cursor", "prev_cursor", "total", "total_is_estimate"]
    );
    let res = app.get("/v2/products?limit=3&include_total=false").send().await;
    assert!(res.pagination().get("total").is_none());
    app.get("/v2/products?include_total=perhaps").send().await.assert_invalid_query("include_total");

    // v2 default: cursor, 20 per page.
    let res = app.get("/v2/products").send().await;
    assert_eq!(res.pagination(), &json!({"limit": 20, "next_cursor": null, "prev_cursor": null, "has_more": false}));
    assert_eq!(res.ids(), ids);
});

db_test!(after_id, |app| async move {
    let ids = eight(&app).await;
    let res = app.get(&format!("/v2/products?after_id={}&limit=2", ids[2])).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[3..5]);
    assert_eq!(res.pagination()["has_more"], json!(true));
    // Its next_cursor and next link continue the walk.
    let next = res.link("next").expect("next link");
    let res = app.get(&next).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[5..7]);
    let res = app.get(&format!("/v2/products?after_id={}&limit=2", ids[7])).send().await;
    assert!(res.items().is_empty());
    assert_eq!(res.pagination()["has_more"], json!(false));
    let res = app.get("/v2/products?after_id=0&limit=3&include_total=true").send().await;
    assert_eq!(res.ids(), ids[0..3]);
    assert_eq!(res.pagination()["total"], json!(8));

    app.get("/v2/products?after_id=abc").send().await.assert_invalid_query("after_id");
    app.get("/v2/products?after_id=1&sort=-price").send().await.assert_invalid_query("after_id");
    app.get("/v2/products?after_id=1&sort=id").send().await.assert_status(200);
});

db_test!(after_id_walk_on_posts_is_followable, |app| async move {
    // Posts sort newest first by default; an after_id walk (ascending id) must still hand out a
    // next_cursor / next link that works.
    let a = id(&create_user(&app, "Ada", "ada@example.com").await);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(id(&create_post(&app, a, &format!("p{i}"), "x").await));
    }
    let res = app.get("/v2/posts?after_id=0&limit=2").send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[0..2]);
    let next = res.link("next").expect("next link");
    let res = app.get(&next).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[2..4]);
    let res = app.get(&format!("/v2/users/{a}/posts?after_id={}&limit=2", ids[1])).send().await;
    assert_eq!(res.ids(), ids[2..4]);
    let next = res.link("next").expect("next link");
    let res = app.get(&next).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), ids[4..5]);
});

db_test!(page_size_limits, |app| async move {
    eight(&app).await;
    for (q, param) in [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=1&per_page=1000", "per_page"),
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("offset=0&limit=101", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("offset=-1", "offset"),
        ("limit=ten", "limit"),
    ] {
        app.get(&format!("/v2/products?{q}")).send().await.assert_invalid_query(param);
        app.get(&format!("/v2/users?{q}")).send().await.assert_invalid_query(param);
    }
    let res = app.get("/v2/products?per_page=100").send().await;
    res.assert_status(200);
    assert_eq!(res.pagination()["per_page"], json!(100));
    app.get("/v2/products?limit=100").send().await.assert_status(200);
});

db_test!(mixing_pagination_styles_is_400, |app| async move {
    let res = app.get("/v2/products?limit=1").send().await;
    let c = res.pagination()["next_cursor"].as_str().unwrap_or("x").to_string();
    for q in [
        format!("page=1&cursor={c}"),
        "page=1&offset=0".to_string(),
        "per_page=5&offset=5".to_string(),
        "page=2&limit=5".to_string(),
        format!("offset=0&cursor={c}"),
        "offset=0&after_id=1".to_string(),
        "page=1&after_id=1".to_string(),
        format!("after_id=1&cursor={c}"),
    ] {
        let res = app.get(&format!("/v2/products?{q}")).send().await;
        res.assert_error(400, "INVALID_QUERY");
        assert!(!res.detail_fields().is_empty(), "details must name a parameter: {}", res.describe());
    }
    // Duplicated parameters are ambiguous too.
    app.get("/v2/products?limit=1&limit=2").send().await.assert_invalid_query("limit");
    // Unknown parameters are refused rather than ignored.
    app.get("/v2/products?pgae=2").send().await.assert_invalid_query("pgae");
});

db_test!(unknown_sort_field_lists_allowed_fields, |app| async move {
    let res = app.get("/v2/products?sort=bogus").send().await;
    res.assert_invalid_query("sort");
    let msg = res.detail("sort").unwrap()["message"].as_str().unwrap().to_string();
    for f in ["id", "name", "category", "price", "stock", "created_at"] {
        assert!(msg.contains(f), "allowed field {f} missing from {msg:?}");
    }
    for q in ["sort=-bogus", "sort=price,bogus", "sort=", "sort=price,", "sort=price,-price", "sort=description"] {
        app.get(&format!("/v2/products?{q}")).send().await.assert_invalid_query("sort");
    }
    for q in ["sort=email", "sort=password_hash", "sort=role"] {
        app.get(&format!("/v2/users?{q}")).send().await.assert_invalid_query("sort");
    }
    app.get("/v2/posts?sort=content").send().await.assert_invalid_query("sort");
    for q in ["sort=name", "sort=-created_at", "sort=id"] {
        app.get(&format!("/v2/users?{q}")).send().await.assert_status(200);
    }
});

type Row = (i64, String, String, i64);

fn cmp_category_desc_price(a: &Row, b: &Row) -> Ordering {
    // category ASC, price DESC, then the id tie-break in the direction of the last key (DESC).
    a.2.cmp(&b.2).then(b.3.cmp(&a.3)).then(b.0.cmp(&a.0))
}

async fn mixed_catalogue(app: &TestApp) -> Vec<Row> {
    let cats = ["books", "electronics", "garden"];
    let prices = [500, 1_000, 1_000, 2_500];
    let mut rows = Vec::new();
    for i in 0..30usize {
        let name = format!("item-{:02}", (i * 7) % 30);
        let cat = cats[(i * 5) % 3];
        let price = prices[(i * 3) % 4];
        let p = seed_product(app, &name, "", cat, price, 1).await;
        rows.push((p.id, name, cat.to_string(), price));
    }
    rows
}

fn row_of(v: &Value) -> Row {
    (id(v), v["name"].as_str().unwrap().into(), v["category"].as_str().unwrap().into(), v["price"].as_i64().unwrap())
}

db_test!(multi_field_sort_order, |app| async move {
    let rows = mixed_catalogue(&app).await;
    let get_all = |q: String| {
        let app = &app;
        async move {
            let res = app.get(&format!("/v2/products?per_page=100&{q}")).send().await;
            res.assert_status(200);
            res.items().iter().map(row_of).collect::<Vec<Row>>()
        }
    };

    let mut want = rows.clone();
    want.sort_by(cmp_category_desc_price);
    assert_eq!(get_all("sort=category,-price".to_string()).await, want);

    let mut want = rows.clone();
    want.sort_by(|a, b| a.3.cmp(&b.3).then(a.0.cmp(&b.0)));
    assert_eq!(get_all("sort=price".to_string()).await, want);

    let mut want = rows.clone();
    want.sort_by(|a, b| b.3.cmp(&a.3).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
    assert_eq!(get_all("sort=-price,name".to_string()).await, want);

    let mut want = rows.clone();
    want.sort_by_key(|r| std::cmp::Reverse(r.0));
    assert_eq!(get_all("sort=-id".to_string()).await, want);

    // The same orders hold when walked by cursor in small pages, forwards and backwards.
    for sort in ["category,-price", "-price,name", "price", "name", "-category,price,-id"] {
        let all = get_all(format!("sort={sort}")).await;
        let mut walked: Vec<Row> = Vec::new();
        let mut pages: Vec<Vec<Row>> = Vec::new();
        let mut res = app.get(&format!("/v2/products?sort={sort}&limit=4")).send().await;
        loop {
            res.assert_status(200);
            let page: Vec<Row> = res.items().iter().map(row_of).collect();
            walked.extend(page.clone());
            pages.push(page);
            match res.pagination()["next_cursor"].as_str() {
                Some(c) => res = app.get(&format!("/v2/products?sort={sort}&limit=4&cursor={c}")).send().await,
                None => break,
            }
        }
        assert_eq!(walked, all, "cursor walk under sort={sort}");
        // Back from the last page by prev_cursor.
        let mut back: Vec<Vec<Row>> = vec![res.items().iter().map(row_of).collect()];
        while let Some(c) = res.pagination()["prev_cursor"].as_str().map(str::to_string) {
            res = app.get(&format!("/v2/products?sort={sort}&limit=4&cursor={c}")).send().await;
            res.assert_status(200);
            back.push(res.items().iter().map(row_of).collect());
        }
        back.reverse();
        let back: Vec<Row> = back.into_iter().flatten().collect();
        assert_eq!(back, all, "backward walk under sort={sort}");
    }
});

db_test!(prev_cursor_walks_back_to_the_same_rows, |app| async move {
    let ids = eight(&app).await;
    let p1 = app.get("/v2/products?limit=3").send().await;
    let c = p1.pagination()["next_cursor"].as_str().unwrap().to_string();
    let p2 = app.get(&format!("/v2/products?limit=3&cursor={c}")).send().await;
    assert_eq!(p2.ids(), ids[3..6]);
    let c = p2.pagination()["next_cursor"].as_str().unwrap().to_string();
    let p3 = app.get(&format!("/v2/products?limit=3&cursor={c}")).send().await;
    assert_eq!(p3.ids(), ids[6..8]);

    let prev = p3.pagination()["prev_cursor"].as_str().unwrap().to_string();
    let back2 = app.get(&format!("/v2/products?limit=3&cursor={prev}")).send().await;
    back2.assert_status(200);
    assert_eq!(back2.ids(), p2.ids());
    let prev_link = p3.link("prev").expect("prev link");
    assert_eq!(app.get(&prev_link).send().await.ids(), p2.ids());

    let prev = back2.pagination()["prev_cursor"].as_str().unwrap().to_string();
    let back1 = app.get(&format!("/v2/products?limit=3&cursor={prev}")).send().await;
    assert_eq!(back1.ids(), p1.ids());
    assert_eq!(back1.pagination()["prev_cursor"], Value::Null, "nothing before the first page");
    assert_eq!(back1.pagination()["has_more"], json!(true));
    // And forward again from there.
    let next = back1.pagination()["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(app.get(&format!("/v2/products?limit=3&cursor={next}")).send().await.ids(), p2.ids());
});

db_test!(tampered_cursors_are_400, |app| async move {
    eight(&app).await;
    let res = app.get("/v2/products?limit=3&sort=-price").send().await;
    let cursor = res.pagination()["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/v2/products?limit=3&sort=-price&cursor={cursor}")).send().await.assert_status(200);
    let n = cursor.len();
    let dot = cursor.find('.').unwrap_or(n / 2);
    let mut positions = vec![0, 1, n / 3, dot.saturating_sub(1), dot + 1, n - 1];
    positions.sort();
    positions.dedup();
    for i in positions {
        let original = cursor.as_bytes()[i];
        for replacement in [b'A', b'x', b'0', b'_'] {
            if replacement == original {
                continue;
            }
            let mut edited = cursor.clone().into_bytes();
            edited[i] = replacement;
            let edited = String::from_utf8(edited).unwrap();
            let res = app.get(&format!("/v2/products?limit=3&sort=-price&cursor={}", enc(&edited))).send().await;
            res.assert_invalid_query("cursor");
        }
    }
    for garbage in ["garbage", "a.b", "", ".", "eyJzIjoiaWQifQ.AAAA"] {
        app.get(&format!("/v2/products?cursor={}", enc(garbage))).send().await.assert_invalid_query("cursor");
    }
    // Truncated and extended.
    app.get(&format!("/v2/products?limit=3&sort=-price&cursor={}", &cursor[..n - 1]))
        .send()
        .await
        .assert_invalid_query("cursor");
    app.get(&format!("/v2/products?limit=3&sort=-price&cursor={cursor}A")).send().await.assert_invalid_query("cursor");
});

db_test!(cursor_is_bound_to_its_sort_and_filters, |app| async move {
    eight(&app).await;
    let res = app.get("/v2/products?limit=2&sort=-price").send().await;
    let c = res.pagination()["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/v2/products?limit=2&sort=price&cursor={c}")).send().await.assert_invalid_query("cursor");
    app.get(&format!("/v2/products?limit=2&sort=-price,name&cursor={c}")).send().await.assert_invalid_query("cursor");
    app.get(&format!("/v2/products?limit=2&cursor={c}")).send().await.assert_invalid_query("cursor");
    app.get(&format!("/v2/products?limit=2&sort=-price&in_stock=true&cursor={c}"))
        .send()
        .await
        .assert_invalid_query("cursor");
    app.get(&format!("/v2/products?limit=2&sort=-price&q=p&cursor={c}")).send().await.assert_invalid_query("cursor");
    // Another collection's cursor.
    app.get(&format!("/v2/users?limit=2&sort=-price&cursor={c}")).send().await.assert_error(400, "INVALID_QUERY");
    // The limit may change between pages.
    app.get(&format!("/v2/products?limit=5&sort=-price&cursor={c}")).send().await.assert_status(200);

    let res = app.get("/v2/products?limit=1&category=things").send().await;
    let c = res.pagination()["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/v2/products?limit=1&category=other&cursor={c}")).send().await.assert_invalid_query("cursor");
    app.get(&format!("/v2/products?limit=1&category=things&cursor={c}")).send().await.assert_status(200);
});

db_test!(fields_projection, |app| async move {
    let ids = eight(&app).await;
    let res = app.get("/v2/products?fields=id,name&limit=3").send().await;
    res.assert_status(200);
    assert_eq!(res.items().len(), 3);
    for item in res.items() {
        assert_eq!(keys(item), ["id", "name"]);
    }
    // The projection survives into the next page.
    let next = res.link("next").unwrap();
    let res = app.get(&next).send().await;
    for item in res.items() {
        assert_eq!(keys(item), ["id", "name"]);
    }
    let res = app.get("/v2/products?fields=price,in_stock&page=1").send().await;
    for item in res.items() {
        assert_eq!(keys(item), ["in_stock", "price"]);
    }

    let res = app.get(&format!("/v2/products/{}?fields=price,id", ids[0])).send().await;
    res.assert_status(200);
    assert_eq!(res.data(), &json!({"id": ids[0], "price": 100}));

    app.get("/v2/products?fields=bogus").send().await.assert_invalid_query("fields");
    app.get("/v2/products?fields=id,,name").send().await.assert_invalid_query("fields");
    app.get("/v2/products?fields=").send().await.assert_invalid_query("fields");
    app.get(&format!("/v2/products/{}?fields=bogus", ids[0])).send().await.assert_invalid_query("fields");
    app.get("/v2/users?fields=password_hash").send().await.assert_invalid_query("fields");
    app.get("/v2/users?fields=password").send().await.assert_invalid_query("fields");

    let uid = id(&create_user(&app, "Ada", "ada@example.com").await);
    let res = app.get(&format!("/v2/users/{uid}?fields=name")).send().await;
    assert_eq!(res.data(), &json!({"name": "Ada"}));
    app.get(&format!("/v2/users/{uid}?fields=secret")).send().await.assert_invalid_query("fields");
    let pid = id(&create_post(&app, uid, "Title", "Body").await);
    let res = app.get(&format!("/v2/posts/{pid}?fields=title,author_id")).send().await;
    assert_eq!(res.data(), &json!({"title": "Title", "author_id": uid}));
    let res = app.get("/v2/posts?fields=title").send().await;
    assert_eq!(res.items(), &vec![json!({"title": "Title"})]);
});

db_test!(search_products, |app| async move {
    let laptop = seed_product(&app, "Gaming Laptop", "fast", "electronics", 1, 1).await.id;
    let sleeve = seed_product(&app, "LAPTOP sleeve", "", "accessories", 1, 1).await.id;
    let bag = seed_product(&app, "Bag", "Fits a 15\" laptop", "accessories", 1, 1).await.id;
    seed_product(&app, "Desk", "wooden", "furniture", 1, 1).await;
    let pct = seed_product(&app, "Mug 50% off", "", "kitchen", 1, 1).await.id;
    let five_hundred = seed_product(&app, "Mug 500ml", "", "kitchen", 1, 1).await.id;
    let underscore = seed_product(&app, "snake_case mug", "", "kitchen", 1, 1).await.id;
    seed_product(&app, "snakeXcase mug", "", "kitchen", 1, 1).await;

    let search = |q: String| {
        let app = &app;
        async move {
            let res = app.get(&format!("/v2/products?per_page=100&{q}")).send().await;
            res.assert_status(200);
            let mut ids = res.ids();
            ids.sort();
            ids
        }
    };
    assert_eq!(search("q=laptop".into()).await, [laptop, sleeve, bag]);
    assert_eq!(search("q=LapTop".into()).await, [laptop, sleeve, bag]);
    assert_eq!(search("search=laptop".into()).await, [laptop, sleeve, bag]);
    assert_eq!(search("q=FAST".into()).await, [laptop]);
    assert_eq!(search(format!("q={}", enc("50%"))).await, [pct]);
    assert_eq!(search(format!("q={}", enc("%"))).await, [pct]);
    assert_eq!(search(format!("q={}", enc("500"))).await, [five_hundred]);
    assert_eq!(search(format!("q={}", enc("e_c"))).await, [underscore]);
    assert_eq!(search(format!("q={}", enc("_"))).await, [underscore]);
    assert_eq!(search("q=nothing-matches".into()).await, Vec::<i64>::new());
    assert_eq!(search("q=laptop&category=accessories".into()).await, [sleeve, bag]);
    // Search composes with cursors.
    let res = app.get("/v2/products?q=laptop&limit=2").send().await;
    let c = res.pagination()["next_cursor"].as_str().unwrap().to_string();
    let res = app.get(&format!("/v2/products?q=laptop&limit=2&cursor={c}")).send().await;
    res.assert_status(200);
    assert_eq!(res.ids(), [bag]);

    app.get("/v2/products?q=a&search=b").send().await.assert_invalid_query("search");
    app.get(&format!("/v2/products?q={}", "x".repeat(201))).send().await.assert_invalid_query("q");
});

db_test!(search_users_and_posts, |app| async move {
    let ada = id(&create_user(&app, "Ada Lovelace", "ada@example.com").await);
    let bob = id(&create_user(&app, "Bob 100% Real", "bob@example.com").await);
    id(&create_user(&app, "Bob 1000", "bob2@example.com").await);
    let res = app.get("/v2/users?q=LOVELACE").send().await;
    assert_eq!(res.ids(), [ada]);
    let res = app.get(&format!("/v2/users?search={}", enc("100%"))).send().await;
    assert_eq!(res.ids(), [bob]);
    // Users are searched by name only.
    let res = app.get("/v2/users?q=example.com").send().await;
    assert!(res.items().is_empty());

    let p1 = id(&create_post(&app, ada, "Engines", "notes on the analytical ENGINE").await);
    let p2 = id(&create_post(&app, ada, "Poetry", "of science").await);
    let p3 = id(&create_post(&app, bob, "Looms", "Jacquard").await);
    let res = app.get("/v2/posts?q=engine").send().await;
    assert_eq!(res.ids(), [p1]);
    let res = app.get("/v2/posts?q=SCIENCE").send().await;
    assert_eq!(res.ids(), [p2]);
    let res = app.get("/v2/posts?search=o").send().await;
    assert_eq!(res.ids(), [p3, p2, p1]);
    let res = app.get(&format!("/v2/users/{ada}/posts?q=poetry")).send().await;
    assert_eq!(res.ids(), [p2]);
});

db_test!(lists_of_every_collection_support_every_style, |app| async move {
    let a = id(&create_user(&app, "A", "a@example.com").await);
    let b = id(&create_user(&app, "B", "b@example.com").await);
    let c = id(&create_user(&app, "C", "c@example.com").await);
    for (path, want) in [("/v2/users", vec![a, b, c])] {
        let res = app.get(&format!("{path}?page=2&per_page=2")).send().await;
        assert_eq!(res.ids(), want[2..]);
        let res = app.get(&format!("{path}?offset=1&limit=1")).send().await;
        assert_eq!(res.ids(), want[1..2]);
        let res = app.get(&format!("{path}?limit=2")).send().await;
        assert_eq!(res.ids(), want[..2]);
        let res = app.get(&format!("{path}?after_id={a}")).send().await;
        assert_eq!(res.ids(), want[1..]);
        let res = app.get(&format!("{path}?sort=-name&fields=name")).send().await;
        assert_eq!(res.items(), &vec![json!({"name": "C"}), json!({"name": "B"}), json!({"name": "A"})]);
    }
    let p1 = id(&create_post(&app, a, "t1", "x").await);
    let p2 = id(&create_post(&app, a, "t2", "x").await);
    let res = app.get("/v2/posts?page=1&per_page=1").send().await;
    assert_eq!(res.ids(), [p2]);
    assert_eq!(res.pagination()["total"], json!(2));
    let res = app.get("/v2/posts?offset=1&limit=1").send().await;
    assert_eq!(res.ids(), [p1]);
    let res = app.get("/v2/posts?sort=title&limit=1").send().await;
    assert_eq!(res.ids(), [p1]);
    let c = res.pagination()["next_cursor"].as_str().unwrap().to_string();
    let res = app.get(&format!("/v2/posts?sort=title&limit=1&cursor={c}")).send().await;
    assert_eq!(res.ids(), [p2]);
});

/// Totals above 5 rows are estimates here (the default threshold is 1,000).
async fn small_threshold(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| c.lists.exact_total_up_to = 5).await
}

db_test!(totals_above_the_threshold_are_estimates_and_say_so, with = small_threshold, |app| async move {
    eight(&app).await;
    // Page style: an estimate, never below what is proven (threshold + 1); `total_pages`
    // follows it; `next` comes from the page itself and `last` is not named.
    let res = app.get("/v1/products?page=1&per_page=2").send().await;
    res.assert_status(200);
    let p = res.pagination();
    assert_eq!(p["total_is_estimate"], json!(true), "{}", res.describe());
    let total = p["total"].as_u64().unwrap();
    assert!(total >= 6, "{p}");
    assert_eq!(p["total_pages"].as_u64().unwrap(), total.div_ceil(2));
    assert!(res.link("next").is_some() && res.link("first").is_some());
    assert_eq!(res.link("last"), None, "{:?}", res.links());

    // Exactly, on request: total, pages and `last` are exact, and links keep `count`.
    let res = app.get("/v1/products?page=1&per_page=2&count=exact").send().await;
    let p = res.pagination();
    assert_eq!(
        (p["total"].clone(), p["total_is_estimate"].clone(), p["total_pages"].clone()),
        (json!(8), json!(false), json!(4))
    );
    let last = res.link("last").expect("last link");
    assert_eq!((param(&last, "page"), param(&last, "count")), (Some("4".into()), Some("exact".into())));

    // A page that reaches the end proves the total: exact, with `last`, without a count.
    let res = app.get("/v1/products?page=4&per_page=2").send().await;
    let p = res.pagination();
    assert_eq!((p["total"].clone(), p["total_is_estimate"].clone()), (json!(8), json!(false)));
    assert_eq!(res.link("next"), None);
    assert!(res.link("last").is_some());

    // Below the threshold after filtering: exact.
    let res = app.get("/v1/products?page=1&per_page=2&q=p1").send().await;
    assert_eq!(
        (res.pagination()["total"].clone(), res.pagination()["total_is_estimate"].clone()),
        (json!(1), json!(false))
    );
    let res = app.get("/v1/products?page=1&per_page=2&price_min=500").send().await;
    let p = res.pagination();
    assert_eq!((p["total"].clone(), p["total_is_estimate"].clone()), (json!(4), json!(false)));

    // Offset style.
    let res = app.get("/v1/products?offset=2&limit=2").send().await;
    let p = res.pagination();
    assert_eq!(p["total_is_estimate"], json!(true));
    assert!(p["total"].as_u64().unwrap() >= 6);
    assert!(res.link("next").is_some() && res.link("last").is_none());
    let res = app.get("/v1/products?offset=2&limit=2&count=exact").send().await;
    assert_eq!(res.pagination(), &json!({"offset": 2, "limit": 2, "total": 8, "total_is_estimate": false}));

    // Cursor style: only with `include_total`, flagged the same way.
    let res = app.get("/v2/products?limit=2").send().await;
    assert!(res.pagination().get("total").is_none() && res.pagination().get("total_is_estimate").is_none());
    let res = app.get("/v2/products?limit=2&include_total=true").send().await;
    assert_eq!(res.pagination()["total_is_estimate"], json!(true));
    let res = app.get("/v2/products?limit=2&include_total=true&count=exact").send().await;
    let p = res.pagination();
    assert_eq!((p["total"].clone(), p["total_is_estimate"].clone()), (json!(8), json!(false)));

    // Anything else is refused.
    let res = app.get("/v1/products?count=approximate").send().await;
    res.assert_status(400);
    assert_eq!(res.code(), "INVALID_QUERY");
    assert_eq!(res.detail_fields(), ["count"]);
});

db_test!(deep_pages_match_the_walk, |app| async move {
    // Pages past the first go through the deferred join; they must be exactly the slices of
    // the whole ordered walk, for every sort direction and on joined lists too.
    let ids = eight(&app).await;
    for sort in ["price", "-price", "name", "-created_at"] {
        let all = app.get(&format!("/v1/products?per_page=100&sort={sort}")).send().await.ids();
        assert_eq!(all.len(), ids.len());
        for page in 1..=3 {
            let res = app.get(&format!("/v1/products?page={page}&per_page=3&sort={sort}")).send().await;
            let from = (page - 1) * 3;
            assert_eq!(res.ids(), all[from..(from + 3).min(all.len())], "sort={sort} page={page}");
            let res = app.get(&format!("/v1/products?offset={}&limit=3&sort={sort}", from + 1)).send().await;
            assert_eq!(res.ids(), all[(from + 1).min(all.len())..(from + 4).min(all.len())], "sort={sort} offset");
        }
    }
    let res = app.get("/v1/products?page=2&per_page=3&category=things&q=p&price_max=700").send().await;
    assert_eq!(res.ids(), ids[3..6]);
});
