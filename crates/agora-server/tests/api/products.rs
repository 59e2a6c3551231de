//! CONTRACT §5 products: CRUD, validation bounds, derived `in_stock`, filters.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{Value, json};

fn full() -> Value {
    json!({
        "name": "Laptop",
        "description": "A portable computer",
        "category": "electronics",
        "price": 129_999,
        "currency": "usd",
        "stock": 3
    })
}

db_test!(create_get_put_patch_delete, |app| async move {
    let admin = app.admin_token().await;
    let res = app.post("/v2/products").bearer(&admin).json(&full()).send().await;
    res.assert_status(201);
    let p = res.data().clone();
    let pid = id(&p);
    assert_eq!(res.header("location"), Some(format!("/v2/products/{pid}").as_str()));
    assert!(res.header("etag").is_some_and(|t| t.starts_with('"')));
    for (k, v) in full().as_object().unwrap() {
        assert_eq!(&p[k], v, "field {k}");
    }
    assert_eq!(p["in_stock"], json!(true));

    let res = app.get(&format!("/v2/products/{pid}")).send().await;
    res.assert_status(200);
    assert_eq!(res.data(), &p);

    // PATCH: only what is sent; in_stock follows stock.
    let res = app.patch(&format!("/v2/products/{pid}")).bearer(&admin).json(&json!({"stock": 0})).send().await;
    res.assert_status(200);
    assert_eq!(res.data()["stock"], json!(0));
    assert_eq!(res.data()["in_stock"], json!(false));
    assert_eq!(res.data()["name"], json!("Laptop"));
    assert_eq!(res.data()["price"], json!(129_999));

    // PUT: replaces; absent optional fields go back to their defaults.
    let res = app
        .put(&format!("/v2/products/{pid}"))
        .bearer(&admin)
        .json(&json!({"name": "Desk", "category": "furniture", "price": 25_000}))
        .send()
        .await;
    res.assert_status(200);
    let d = res.data();
    assert_eq!(d["name"], json!("Desk"));
    assert_eq!(d["category"], json!("furniture"));
    assert_eq!(d["price"], json!(25_000));
    assert_eq!(d["description"], json!(""));
    assert_eq!(d["currency"], json!("usd"));
    assert_eq!(d["stock"], json!(0));
    assert_eq!(d["in_stock"], json!(false));
    assert_eq!(d["created_at"], p["created_at"]);

    let res = app.delete(&format!("/v2/products/{pid}")).bearer(&admin).send().await;
    res.assert_status(204);
    assert!(res.bytes.is_empty());
    app.get(&format!("/v2/products/{pid}")).send().await.assert_error(404, "PRODUCT_NOT_FOUND");
    app.delete(&format!("/v2/products/{pid}")).bearer(&admin).send().await.assert_error(404, "PRODUCT_NOT_FOUND");
    app.patch(&format!("/v2/products/{pid}"))
        .bearer(&admin)
        .json(&json!({"stock": 1}))
        .send()
        .await
        .assert_error(404, "PRODUCT_NOT_FOUND");
    app.put(&format!("/v2/products/{pid}"))
        .bearer(&admin)
        .json(&full())
        .send()
        .await
        .assert_error(404, "PRODUCT_NOT_FOUND");
});

db_test!(defaults_and_normalisation, |app| async move {
    let admin = app.admin_token().await;
    let res = app
        .post("/v2/products")
        .bearer(&admin)
        .json(&json!({"name": "Pen", "category": "Office", "price": 0, "currency": "EUR"}))
        .send()
        .await;
    res.assert_status(201);
    let d = res.data();
    assert_eq!(d["category"], json!("office"));
    assert_eq!(d["currency"], json!("eur"));
    assert_eq!(d["description"], json!(""));
    assert_eq!(d["stock"], json!(0));
    assert_eq!(d["in_stock"], json!(false));
    assert_eq!(d["price"], json!(0));
});

db_test!(validation_bounds, |app| async move {
    let admin = app.admin_token().await;
    let cases: Vec<(&str, Value)> = vec![
        ("price", json!(-1)),
        ("price", json!(1.5)),
        ("price", json!("100")),
        ("price", json!(null)),
        ("price", json!(1_000_000_000_001_i64)),
        ("stock", json!(-1)),
        ("stock", json!(2.5)),
        ("stock", json!("3")),
        ("category", json!("Not A Slug!")),
        ("category", json!("")),
        ("category", json!("a/b")),
        ("category", json!("x".repeat(51))),
        ("currency", json!("us")),
        ("currency", json!("usdd")),
        ("currency", json!("12a")),
        ("currency", json!(840)),
        ("name", json!("")),
        ("name", json!("x".repeat(201))),
        ("description", json!("x".repeat(5001))),
    ];
    for (field, value) in cases {
        let mut body = full();
        body[field] = value.clone();
        let res = app.post("/v2/products").bearer(&admin).json(&body).send().await;
        assert_eq!(res.status, 422, "{field}={value}: {}", res.describe());
        res.assert_validation(&[field]);
    }
    let res = app.post("/v2/products").bearer(&admin).json(&json!({})).send().await;
    res.assert_validation(&["name", "category", "price"]);
    let res = app
        .post("/v2/products")
        .bearer(&admin)
        .json(&json!({"name": "x", "category": "y", "price": -5, "stock": -5, "currency": "1"}))
        .send()
        .await;
    res.assert_validation(&["price", "stock", "currency"]);
    // Derived and read-only fields cannot be written.
    let mut body = full();
    body["in_stock"] = json!(false);
    app.post("/v2/products").bearer(&admin).json(&body).send().await.assert_validation(&["in_stock"]);
    let mut body = full();
    body["id"] = json!(5);
    let res = app.post("/v2/products").bearer(&admin).json(&body).send().await;
    res.assert_validation(&["id"]);
    assert_eq!(res.detail("id").unwrap()["code"], json!("read_only"));

    // Edges that are valid.
    let mut body = full();
    body["price"] = json!(0);
    body["stock"] = json!(0);
    body["category"] = json!("home-garden_2");
    body["name"] = json!("x".repeat(200));
    app.post("/v2/products").bearer(&admin).json(&body).send().await.assert_status(201);
    let res = app.get("/v2/products?include_total=true").send().await;
    assert_eq!(res.pagination()["total"], json!(1));
});

db_test!(put_requires_every_required_field, |app| async move {
    let admin = app.admin_token().await;
    let pid = id(&create_product_with(&app, &full()).await);
    let res = app.put(&format!("/v2/products/{pid}")).bearer(&admin).json(&json!({"name": "Only"})).send().await;
    res.assert_validation(&["category", "price"]);
    let res = app
        .put(&format!("/v2/products/{pid}"))
        .bearer(&admin)
        .json(&json!({"price": -1, "name": "x", "category": "y"}))
        .send()
        .await;
    res.assert_validation(&["price"]);
    let res = app.patch(&format!("/v2/products/{pid}")).bearer(&admin).json(&json!({"price": -1})).send().await;
    res.assert_validation(&["price"]);
    let res = app.patch(&format!("/v2/products/{pid}")).bearer(&admin).json(&json!({"sku": "x"})).send().await;
    res.assert_validation(&["sku"]);
    let res = app.get(&format!("/v2/products/{pid}")).send().await;
    assert_eq!(res.data()["name"], json!("Laptop"));
    assert_eq!(res.data()["price"], json!(129_999));
});

async fn catalogue(app: &TestApp) -> Vec<(i64, &'static str, i64, i64)> {
    let rows = [
        ("Laptop", "electronics", 100_000, 5),
        ("Phone", "electronics", 50_000, 0),
        ("Cable", "electronics", 500, 100),
        ("Desk", "furniture", 30_000, 2),
        ("Chair", "furniture", 15_000, 0),
        ("Novel", "books", 1_500, 7),
    ];
    let mut out = Vec::new();
    for (name, category, price, stock) in rows {
        let p = create_product(app, name, category, price, stock).await;
        assert_eq!(p["in_stock"], json!(stock > 0));
        out.push((id(&p), category, price, stock));
    }
    out
}

fn expect(all: &[(i64, &str, i64, i64)], f: impl Fn(&(i64, &str, i64, i64)) -> bool) -> Vec<i64> {
    all.iter().filter(|r| f(r)).map(|r| r.0).collect()
}

db_test!(filters, |app| async move {
    let all = catalogue(&app).await;
    let get = |q: &str| {
        let q = q.to_string();
        let app = &app;
        async move {
            let res = app.get(&format!("/v2/products?per_page=100&{q}")).send().await;
            res.assert_status(200);
            res.ids()
        }
    };
    assert_eq!(get("category=electronics").await, expect(&all, |r| r.1 == "electronics"));
    assert_eq!(get("category=Furniture").await, expect(&all, |r| r.1 == "furniture"));
    assert_eq!(get("category=garden").await, Vec::<i64>::new());
    assert_eq!(get("price_min=15000").await, expect(&all, |r| r.2 >= 15_000));
    assert_eq!(get("price_max=15000").await, expect(&all, |r| r.2 <= 15_000));
    assert_eq!(get("price_min=1500&price_max=30000").await, expect(&all, |r| (1_500..=30_000).contains(&r.2)));
    assert_eq!(get("in_stock=true").await, expect(&all, |r| r.3 > 0));
    assert_eq!(get("in_stock=false").await, expect(&all, |r| r.3 == 0));
    assert_eq!(
        get("category=electronics&price_min=1000&in_stock=true").await,
        expect(&all, |r| r.1 == "electronics" && r.2 >= 1_000 && r.3 > 0)
    );
    let res = app.get("/v2/products?category=electronics&in_stock=true&per_page=10").send().await;
    assert_eq!(res.pagination()["total"], json!(2));
    for item in res.items() {
        assert_eq!(item["in_stock"], json!(true));
        assert_eq!(item["category"], json!("electronics"));
    }
});

db_test!(bad_filter_values_are_400, |app| async move {
    for (param, value) in [
        ("price_min", "abc"),
        ("price_min", "-5"),
        ("price_min", "1.5"),
        ("price_max", "lots"),
        ("price_max", "99999999999999999999"),
        ("in_stock", "maybe"),
        ("in_stock", "yes"),
        ("category", "bad%20slug!"),
        ("category", ""),
        ("colour", "red"),
        ("author_id", "1"),
    ] {
        let res = app.get(&format!("/v2/products?{param}={value}")).send().await;
        res.assert_invalid_query(param);
    }
});
