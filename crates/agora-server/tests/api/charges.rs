//! CONTRACT §5.1 charges: the sandbox tokens, declines recorded as failed, paying an order,
//! refunds, lists and filters, and replays that never charge twice — on both engines.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::orders::{KEY, key, order};
use crate::common::*;

async fn charge(app: &TestApp, token: &str, body: Value) -> TestResponse {
    app.post("/v2/charges").bearer(token).header(KEY, &key()).json(&body).send().await
}

fn card(amount: i64, source: &str) -> Value {
    json!({"amount": amount, "currency": "usd", "source": source, "description": "test"})
}

db_test!(cards_are_charged_or_declined, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("payer")).await;
    let res = charge(&app, &token, card(1999, "tok_visa")).await;
    res.assert_status(201);
    let c = res.data().clone();
    let cid = id(&c);
    assert_eq!(res.header("location"), Some(format!("/v2/charges/{cid}").as_str()));
    for (field, want) in [
        ("amount", json!(1999)),
        ("currency", json!("usd")),
        ("status", json!("succeeded")),
        ("amount_refunded", json!(0)),
        ("order_id", Value::Null),
        ("description", json!("test")),
        ("user_id", user["id"].clone()),
    ] {
        assert_eq!(c[field], want, "{field}");
    }
    assert!(c.get("reference").is_none(), "the provider's reference is never shown");
    // Declines: answered 402, recorded as failed.
    let res = charge(&app, &token, card(500, "tok_chargeDeclined")).await;
    res.assert_error(402, "CARD_DECLINED");
    assert_eq!(res.detail_fields(), vec!["source"]);
    charge(&app, &token, card(700, "tok_insufficientFunds")).await.assert_error(402, "INSUFFICIENT_FUNDS");
    let failed = app.get("/v2/charges?status=failed").bearer(&token).send().await;
    let mut got: Vec<(i64, String)> = failed
        .items()
        .iter()
        .map(|c| (c["amount"].as_i64().unwrap(), c["failure_code"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    assert_eq!(got, vec![(500, "card_declined".to_string()), (700, "insufficient_funds".to_string())]);
    // Bad input.
    charge(&app, &token, card(500, "tok_unknown")).await.assert_validation(&["source"]);
    charge(&app, &token, card(0, "tok_visa")).await.assert_validation(&["amount"]);
    charge(&app, &token, card(100_000_000, "tok_visa")).await.assert_validation(&["amount"]);
    charge(&app, &token, json!({"amount": 5, "currency": "dollars", "source": "tok_visa", "status": "refunded"}))
        .await
        .assert_validation(&["currency", "status"]);
    app.post("/v2/charges")
        .bearer(&token)
        .json(&card(5, "tok_visa"))
        .send()
        .await
        .assert_error(400, "MISSING_IDEMPOTENCY_KEY");
    app.post("/v2/charges").header(KEY, &key()).json(&card(5, "tok_visa")).send().await.assert_status(401);
    let all = app.get("/v2/charges").bearer(&token).send().await;
    assert_eq!(all.items().len(), 3, "unknown sources and invalid input record nothing");
    // Others' charges are not found; administrators see every charge.
    let (_, other) = app.signup_and_login(&unique_email("other")).await;
    app.get(&format!("/v2/charges/{cid}")).bearer(&other).send().await.assert_error(404, "CHARGE_NOT_FOUND");
    assert!(app.get("/v2/charges").bearer(&other).send().await.items().is_empty());
    let admin = app.admin_token().await;
    app.get(&format!("/v2/charges/{cid}")).bearer(&admin).send().await.assert_status(200);
    assert_eq!(app.get("/v2/charges").bearer(&admin).send().await.items().len(), 3);
    app.get("/v2/charges").send().await.assert_status(401);
    app.get("/v2/charges/999999").bearer(&token).send().await.assert_error(404, "CHARGE_NOT_FOUND");
});

db_test!(charges_filter_by_time, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("payer")).await;
    let first = charge(&app, &token, card(100, "tok_visa")).await.data()["created_at"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    charge(&app, &token, card(200, "tok_visa")).await.assert_status(201);
    let enc = |t: &str| t.replace('+', "%2B");
    let after = app.get(&format!("/v2/charges?created_after={}", enc(&first))).bearer(&token).send().await;
    assert_eq!(after.items().iter().map(|c| c["amount"].as_i64().unwrap()).collect::<Vec<_>>(), vec![200]);
    let before = app.get("/v2/charges?created_before=2000-01-01T00:00:00Z").bearer(&token).send().await;
    assert!(before.items().is_empty());
    let newest_first = app.get("/v2/charges").bearer(&token).send().await;
    assert_eq!(newest_first.items()[0]["amount"], json!(200));
    app.get("/v2/charges?created_after=yesterday").bearer(&token).send().await.assert_invalid_query("created_after");
    app.get("/v2/charges?status=pending").bearer(&token).send().await.assert_invalid_query("status");
});

db_test!(paying_an_order_checks_it_and_marks_it_paid, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("payer")).await;
    let uid = id(&user);
    let p = id(&create_product(&app, "Desk", "home", 12_000, 3).await);
    let oid = id(order(&app, &token, uid, json!([{"product_id": p, "quantity": 2}])).await.data());
    let pay = |amount: i64, currency: &str, source: &str, order: i64| json!({"amount": amount, "currency": currency, "source": source, "order_id": order});
    charge(&app, &token, pay(100, "eur", "tok_visa", oid)).await.assert_validation(&["amount", "currency"]);
    let (_, other) = app.signup_and_login(&unique_email("other")).await;
    charge(&app, &other, pay(24_000, "usd", "tok_visa", oid)).await.assert_error(404, "ORDER_NOT_FOUND");
    charge(&app, &token, pay(24_000, "usd", "tok_visa", 999_999)).await.assert_error(404, "ORDER_NOT_FOUND");
    // A declined card leaves the order pending.
    charge(&app, &token, pay(24_000, "usd", "tok_chargeDeclined", oid)).await.assert_error(402, "CARD_DECLINED");
    let o = app.get(&format!("/v2/orders/{oid}")).bearer(&token).send().await;
    assert_eq!(o.data()["status"], "pending");
    let res = charge(&app, &token, pay(24_000, "usd", "tok_visa", oid)).await;
    res.assert_status(201);
    assert_eq!(res.data()["order_id"], json!(oid));
    let o = app.get(&format!("/v2/orders/{oid}")).bearer(&token).send().await;
    assert_eq!(o.data()["status"], "paid");
    charge(&app, &token, pay(24_000, "usd", "tok_visa", oid)).await.assert_error(409, "INVALID_ORDER_STATE");
    let paid = app.get("/v2/charges?status=succeeded").bearer(&token).send().await;
    assert_eq!(paid.items().len(), 1, "one charge paid the order");
});

db_test!(refunds_never_exceed_what_is_left, |app| async move {
    let (_, token) = app.signup_and_login(&unique_email("payer")).await;
    let cid = id(charge(&app, &token, card(1000, "tok_visa")).await.data());
    let refund = |body: Option<Value>, who: String| {
        let req = app.post(&format!("/v2/charges/{cid}/refund")).bearer(&who).header(KEY, &key());
        async move {
            match body {
                Some(b) => req.json(&b).send().await,
                None => req.send().await,
            }
        }
    };
    let res = refund(Some(json!({"amount": 300})), token.clone()).await;
    res.assert_status(200);
    assert_eq!((res.data()["amount_refunded"].as_i64(), res.data()["status"].as_str()), (Some(300), Some("succeeded")));
    refund(Some(json!({"amount": 701})), token.clone()).await.assert_validation(&["amount"]);
    refund(Some(json!({"amount": 0})), token.clone()).await.assert_validation(&["amount"]);
    let (_, other) = app.signup_and_login(&unique_email("other")).await;
    refund(None, other).await.assert_error(404, "CHARGE_NOT_FOUND");
    // No body: all that is left.
    let res = refund(None, token.clone()).await;
    res.assert_status(200);
    assert_eq!((res.data()["amount_refunded"].as_i64(), res.data()["status"].as_str()), (Some(1000), Some("refunded")));
    refund(Some(json!({})), token.clone()).await.assert_validation(&["amount"]);
    refund(Some(Value::Null), token.clone()).await.assert_validation(&["amount"]);
    refund(Some(json!([])), token.clone()).await.assert_error(400, "INVALID_REQUEST");
    // A failed charge took nothing to give back.
    let declined = charge(&app, &token, card(50, "tok_chargeDeclined")).await;
    declined.assert_status(402);
    let failed = app.get("/v2/charges?status=failed").bearer(&token).send().await;
    let fid = id(&failed.items()[0]);
    app.post(&format!("/v2/charges/{fid}/refund"))
        .bearer(&token)
        .header(KEY, &key())
        .send()
        .await
        .assert_validation(&["amount"]);
});

db_test!(a_replayed_charge_is_not_charged_again, |app| async move { replayed_charges(app).await });

// With the Redis store the request's unit of work is its own (`Atomic`): the declined charge
// still commits with its 402, and the replay comes from Redis.
db_test!(a_replayed_charge_is_not_charged_again_with_redis_keys, with = redis_keys, |app| async move {
    replayed_charges(app).await
});

async fn redis_keys(engine: Engine) -> Option<TestApp> {
    let url = redis_url()?;
    TestApp::on(engine, |c| {
        c.redis_url = url;
        c.idempotency.backend = "redis".into();
    })
    .await
}

async fn replayed_charges(app: TestApp) {
    let (_, token) = app.signup_and_login(&unique_email("payer")).await;
    let k = key();
    let send = || app.post("/v2/charges").bearer(&token).header(KEY, &k).json(&card(4200, "tok_visa")).send();
    let first = send().await;
    first.assert_status(201);
    let again = send().await;
    again.assert_status(201);
    assert_eq!(again.header("idempotency-replay"), Some("true"));
    assert_eq!(again.text(), first.text());
    // A declined charge's answer is replayed too, and recorded once.
    let k2 = key();
    let declined =
        || app.post("/v2/charges").bearer(&token).header(KEY, &k2).json(&card(10, "tok_chargeDeclined")).send();
    declined().await.assert_error(402, "CARD_DECLINED");
    let replay = declined().await;
    replay.assert_error(402, "CARD_DECLINED");
    assert_eq!(replay.header("idempotency-replay"), Some("true"));
    let all = app.get("/v2/charges").bearer(&token).send().await;
    assert_eq!(all.items().len(), 2);
}
