//! CONTRACT §5.1 orders: placing (validation, prices, totals, all-or-nothing stock), reading
//! (others' orders are not found), the life cycle, and stock under concurrency — on both
//! engines.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::{Value, json};

use crate::common::*;

pub const KEY: &str = "Idempotency-Key";

/// A fresh idempotency key.
pub fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `POST /v2/users/{uid}/orders` with a fresh key.
pub async fn order(app: &TestApp, token: &str, uid: i64, items: Value) -> TestResponse {
    app.post(&format!("/v2/users/{uid}/orders"))
        .bearer(token)
        .header(KEY, &key())
        .json(&json!({"items": items}))
        .send()
        .await
}

/// A product's stock now.
pub async fn stock(app: &TestApp, product: i64) -> i64 {
    app.get(&format!("/v2/products/{product}")).send().await.data()["stock"].as_i64().unwrap()
}

/// Ids of `n` users made in one batch (no password hashing), after whatever exists.
async fn many_users(app: &TestApp, n: u64) -> Vec<i64> {
    let plan = agora_db::seed::Seeded { users: n, ..Default::default() };
    agora_db::seed::seed(&app.state.db, plan, "x").await.unwrap();
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/v2/users?limit=100&sort=-id".to_string(),
            Some(c) => format!("/v2/users?limit=100&sort=-id&cursor={c}"),
        };
        let page = app.get(&path).send().await;
        ids.extend(page.ids());
        match page.pagination()["next_cursor"].as_str() {
            Some(c) if ids.len() < n as usize => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    ids.truncate(n as usize);
    ids
}

db_test!(orders_are_placed_priced_and_read, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("buyer")).await;
    let uid = id(&user);
    let a = id(&create_product(&app, "Lamp", "home", 1999, 10).await);
    let b = id(&create_product(&app, "Bulb", "home", 500, 5).await);
    let res =
        order(&app, &token, uid, json!([{"product_id": b, "quantity": 1}, {"product_id": a, "quantity": 2}])).await;
    res.assert_status(201);
    let o = res.data().clone();
    let oid = id(&o);
    assert_eq!(res.header("location"), Some(format!("/v2/orders/{oid}").as_str()));
    assert_eq!(o["status"], "pending");
    assert_eq!(o["user_id"], json!(uid));
    assert_eq!(o["total"], json!(1999 * 2 + 500));
    assert_eq!(o["currency"], "usd");
    assert_eq!(
        o["items"],
        json!([{"product_id": a, "quantity": 2, "unit_price": 1999}, {"product_id": b, "quantity": 1, "unit_price": 500}])
    );
    assert_eq!((stock(&app, a).await, stock(&app, b).await), (8, 4));
    // A later price change does not touch the order.
    let admin = app.admin_token().await;
    app.patch(&format!("/v2/products/{a}")).bearer(&admin).json(&json!({"price": 1})).send().await.assert_status(200);
    let got = app.get(&format!("/v2/orders/{oid}")).bearer(&token).send().await;
    got.assert_status(200);
    assert_eq!(got.data()["total"], json!(4498));
    let etag = got.header("etag").unwrap().to_string();
    app.get(&format!("/v2/orders/{oid}")).bearer(&token).header("If-None-Match", &etag).send().await.assert_status(304);
    // Only its owner and administrators see it.
    let (other, other_token) = app.signup_and_login(&unique_email("other")).await;
    app.get(&format!("/v2/orders/{oid}")).bearer(&other_token).send().await.assert_error(404, "ORDER_NOT_FOUND");
    app.get(&format!("/v2/orders/{oid}")).bearer(&admin).send().await.assert_status(200);
    app.get(&format!("/v2/orders/{oid}")).send().await.assert_status(401);
    app.get("/v2/orders/999999").bearer(&token).send().await.assert_error(404, "ORDER_NOT_FOUND");
    // Lists, filtered by status.
    let list = app.get(&format!("/v2/users/{uid}/orders")).bearer(&token).send().await;
    list.assert_status(200);
    assert_eq!(list.ids(), vec![oid]);
    assert_eq!(list.items()[0]["items"].as_array().unwrap().len(), 2);
    let paid = app.get(&format!("/v1/users/{uid}/orders?status=paid")).bearer(&token).send().await;
    assert_eq!((paid.items().len(), paid.pagination()["total"].as_i64()), (0, Some(0)));
    app.get(&format!("/v2/users/{uid}/orders?status=shipped"))
        .bearer(&token)
        .send()
        .await
        .assert_invalid_query("status");
    app.get(&format!("/v2/users/{uid}/orders")).bearer(&other_token).send().await.assert_error(403, "FORBIDDEN");
    app.get(&format!("/v2/users/{uid}/orders")).bearer(&admin).send().await.assert_status(200);
    let fields = app.get(&format!("/v2/orders/{oid}?fields=id,total")).bearer(&token).send().await;
    assert_eq!(fields.data(), &json!({"id": oid, "total": 4498}));
    // Orders for someone else: only administrators.
    let one = json!([{"product_id": b, "quantity": 1}]);
    order(&app, &other_token, uid, one.clone()).await.assert_error(403, "FORBIDDEN");
    order(&app, &admin, id(&other), one.clone()).await.assert_status(201);
    order(&app, &admin, 999_999, one.clone()).await.assert_error(404, "USER_NOT_FOUND");
    // The key is required.
    app.post(&format!("/v2/users/{uid}/orders"))
        .bearer(&token)
        .json(&json!({"items": one}))
        .send()
        .await
        .assert_error(400, "MISSING_IDEMPOTENCY_KEY");
});

db_test!(bad_orders_are_refused_naming_each_line, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("buyer")).await;
    let uid = id(&user);
    let usd = id(&create_product(&app, "Pen", "office", 100, 10).await);
    let eur = id(&create_product_with(
        &app,
        &json!({"name": "Stift", "category": "office", "price": 90, "currency": "eur", "stock": 10}),
    )
    .await);
    order(&app, &token, uid, json!([])).await.assert_validation(&["items"]);
    order(&app, &token, uid, json!([{"product_id": usd, "quantity": 0}, {"product_id": usd, "quantity": 101}]))
        .await
        .assert_validation(&["items[0].quantity", "items[1].quantity"]);
    order(&app, &token, uid, json!([{"product_id": usd, "quantity": 1}, {"product_id": usd, "quantity": 2}]))
        .await
        .assert_validation(&["items[1].product_id"]);
    order(&app, &token, uid, json!([{"product_id": usd, "quantity": 1}, {"product_id": 999_999, "quantity": 1}]))
        .await
        .assert_validation(&["items[1].product_id"]);
    order(&app, &token, uid, json!([{"product_id": usd, "quantity": 1}, {"product_id": eur, "quantity": 1}]))
        .await
        .assert_validation(&["items"]);
    order(&app, &token, uid, json!([{"product_id": usd, "quantity": 1, "unit_price": 1}]))
        .await
        .assert_validation(&["items[0].unit_price"]);
    let res = app
        .post(&format!("/v2/users/{uid}/orders"))
        .bearer(&token)
        .header(KEY, &key())
        .json(&json!({"items": [{"product_id": usd, "quantity": 1}], "total": 1}))
        .send()
        .await;
    res.assert_validation(&["total"]);
    assert_eq!((stock(&app, usd).await, stock(&app, eur).await), (10, 10), "nothing was taken");
});

db_test!(an_order_short_of_stock_takes_nothing, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("buyer")).await;
    let uid = id(&user);
    let plenty = id(&create_product(&app, "Plenty", "misc", 100, 5).await);
    let scarce = id(&create_product(&app, "Scarce", "misc", 100, 1).await);
    // Fails on its second product: the first one's units come back.
    let res =
        order(&app, &token, uid, json!([{"product_id": plenty, "quantity": 2}, {"product_id": scarce, "quantity": 2}]))
            .await;
    res.assert_error(409, "OUT_OF_STOCK");
    assert_eq!(res.detail_fields(), vec!["items[1].product_id"]);
    // Fails on its first product (in the lock order): the second is never touched.
    let res =
        order(&app, &token, uid, json!([{"product_id": scarce, "quantity": 1}, {"product_id": plenty, "quantity": 6}]))
            .await;
    res.assert_error(409, "OUT_OF_STOCK");
    assert_eq!(res.detail_fields(), vec!["items[1].product_id"]);
    assert_eq!((stock(&app, plenty).await, stock(&app, scarce).await), (5, 1));
    let none = app.get(&format!("/v2/users/{uid}/orders")).bearer(&token).send().await;
    assert!(none.items().is_empty());
    order(&app, &token, uid, json!([{"product_id": plenty, "quantity": 5}, {"product_id": scarce, "quantity": 1}]))
        .await
        .assert_status(201);
    assert_eq!((stock(&app, plenty).await, stock(&app, scarce).await), (0, 0));
});

db_test!(cancel_and_fulfil_follow_the_life_cycle, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("buyer")).await;
    let uid = id(&user);
    let admin = app.admin_token().await;
    let p = id(&create_product(&app, "Chair", "home", 2500, 10).await);
    let place = |n: i64| order(&app, &token, uid, json!([{"product_id": p, "quantity": n}]));
    let cancel =
        |oid: i64, who: &str| app.post(&format!("/v2/orders/{oid}/cancel")).bearer(who).header(KEY, &key()).send();
    let fulfil =
        |oid: i64, who: &str| app.post(&format!("/v2/orders/{oid}/fulfill")).bearer(who).header(KEY, &key()).send();
    // pending → cancelled: stock back.
    let first = id(place(3).await.data());
    assert_eq!(stock(&app, p).await, 7);
    let (_, stranger) = app.signup_and_login(&unique_email("stranger")).await;
    cancel(first, &stranger).await.assert_error(404, "ORDER_NOT_FOUND");
    let res = cancel(first, &token).await;
    res.assert_status(200);
    assert_eq!(res.data()["status"], "cancelled");
    assert_eq!(stock(&app, p).await, 10);
    let res = cancel(first, &token).await;
    res.assert_error(409, "INVALID_ORDER_STATE");
    assert_eq!(res.detail_fields(), vec!["status"]);
    fulfil(first, &admin).await.assert_error(409, "INVALID_ORDER_STATE");
    // pending cannot be fulfilled; paid can, by an administrator only.
    let second = id(place(2).await.data());
    fulfil(second, &admin).await.assert_error(409, "INVALID_ORDER_STATE");
    let pay = app
        .post("/v2/charges")
        .bearer(&token)
        .header(KEY, &key())
        .json(&json!({"amount": 5000, "currency": "usd", "source": "tok_visa", "order_id": second}))
        .send()
        .await;
    pay.assert_status(201);
    fulfil(second, &token).await.assert_error(403, "FORBIDDEN");
    let res = fulfil(second, &admin).await;
    res.assert_status(200);
    assert_eq!(res.data()["status"], "fulfilled");
    cancel(second, &token).await.assert_error(409, "INVALID_ORDER_STATE");
    assert_eq!(stock(&app, p).await, 8, "a fulfilled order keeps its stock");
    // paid → cancelled: stock back and the charge refunded in full.
    let third = id(place(4).await.data());
    let charge = app
        .post("/v2/charges")
        .bearer(&token)
        .header(KEY, &key())
        .json(&json!({"amount": 10000, "currency": "usd", "source": "tok_visa", "order_id": third}))
        .send()
        .await;
    charge.assert_status(201);
    let res = cancel(third, &admin).await;
    res.assert_status(200);
    assert_eq!(res.data()["status"], "cancelled");
    assert_eq!(stock(&app, p).await, 8);
    let refunded = app.get(&format!("/v2/charges/{}", id(charge.data()))).bearer(&token).send().await;
    assert_eq!(refunded.data()["status"], "refunded");
    assert_eq!(refunded.data()["amount_refunded"], json!(10000));
    // Cancelling works without a key too (the key is only required to place orders).
    let fourth = id(place(1).await.data());
    app.post(&format!("/v2/orders/{fourth}/cancel")).bearer(&token).send().await.assert_status(200);
    // Metrics count orders by status.
    let metrics = app.get("/metrics").send().await.text();
    for line in [
        r#"agora_orders{status="cancelled"} 3"#,
        r#"agora_orders{status="fulfilled"} 1"#,
        r#"agora_charges{status="refunded"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
});

db_test!(concurrent_orders_never_oversell, |app| async move {
    let app = Arc::new(app);
    let p = id(&create_product(&app, "Hot", "misc", 1000, 50).await);
    let users = many_users(&app, 200).await;
    let mut tasks = Vec::new();
    for uid in users {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let token = app.token_for(uid);
            order(&app, &token, uid, json!([{"product_id": p, "quantity": 1}])).await
        }));
    }
    let (mut created, mut out_of_stock) = (0, 0);
    for t in tasks {
        let res = t.await.unwrap();
        match res.status.as_u16() {
            201 => created += 1,
            409 if res.code() == "OUT_OF_STOCK" => out_of_stock += 1,
            _ => panic!("unexpected: {}", res.describe()),
        }
    }
    assert_eq!((created, out_of_stock), (50, 150));
    assert_eq!(stock(&app, p).await, 0);
});

/// Without `Idempotency-Key` (when the configuration does not require it) an order is still
/// one unit of work of its own.
async fn keys_optional(engine: Engine) -> Option<TestApp> {
    TestApp::on(engine, |c| c.idempotency.required = vec![]).await
}

db_test!(opposite_orders_never_deadlock, with = keys_optional, |app| async move {
    let app = Arc::new(app);
    let a = id(&create_product(&app, "A", "misc", 100, 10_000).await);
    let b = id(&create_product(&app, "B", "misc", 100, 10_000).await);
    let users = many_users(&app, 2).await;
    let mut tasks = Vec::new();
    for round in 0..30 {
        for (i, uid) in users.iter().copied().enumerate() {
            let app = app.clone();
            let items = if (round + i) % 2 == 0 {
                json!([{"product_id": a, "quantity": 1}, {"product_id": b, "quantity": 1}])
            } else {
                json!([{"product_id": b, "quantity": 1}, {"product_id": a, "quantity": 1}])
            };
            tasks.push(tokio::spawn(async move {
                let token = app.token_for(uid);
                app.post(&format!("/v2/users/{uid}/orders")).bearer(&token).json(&json!({"items": items})).send().await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().assert_status(201);
    }
    assert_eq!((stock(&app, a).await, stock(&app, b).await), (10_000 - 60, 10_000 - 60));
});

db_test!(seeded_orders_are_consistent, |app| async move {
    let plan = agora_db::seed::Seeded { users: 5, products: 4, orders: 8, ..Default::default() };
    let done = agora_db::seed::seed(&app.state.db, plan, "x").await.unwrap();
    assert_eq!(done.orders, 8);
    let admin = app.admin_token().await;
    let users = app.get("/v1/users?per_page=100").send().await.ids();
    let mut seen = Vec::new();
    for uid in users {
        let list = app.get(&format!("/v1/users/{uid}/orders?per_page=100")).bearer(&admin).send().await;
        for o in list.items() {
            let sum: i64 = o["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["unit_price"].as_i64().unwrap() * l["quantity"].as_i64().unwrap())
                .sum();
            assert_eq!(o["total"].as_i64(), Some(sum));
            seen.push(o["status"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.len(), 8);
    let charges = app.get("/v1/charges?per_page=100").bearer(&admin).send().await;
    assert_eq!(charges.items().len(), 4, "paid and fulfilled orders have their charge");
    // New orders continue after the seeded ids.
    let (user, token) = app.signup_and_login(&unique_email("after")).await;
    let p = id(&create_product(&app, "New", "misc", 100, 1).await);
    order(&app, &token, id(&user), json!([{"product_id": p, "quantity": 1}])).await.assert_status(201);
});
