//! The database goes away under load and comes back: requests fail cleanly and quickly (503
//! `NOT_READY`, never a 500 or a hang) while it is down, `/readyz` says so, and Agora recovers
//! by itself once it is back — on a PostgreSQL server this test owns (`pg_ctl`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agora_test_support::TestApp;
use agora_test_support::temp_pg::TempPostgres;

/// The longest any request may take while the database is down: the pool's acquire timeout
/// (2 s here) plus slack, never the client's patience.
const PROMPT: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load() {
    let Some(pg) = TempPostgres::start() else { return };
    let app = Arc::new(
        TestApp::postgres_at(&pg.url(), |c| {
            c.db_acquire_timeout = Duration::from_secs(2);
        })
        .await,
    );
    let token = app.admin_token().await;
    for i in 0..5 {
        let res = app
            .post("/v2/products")
            .bearer(&token)
            .json(&serde_json::json!({
                "name": format!("p{i}"), "price": 100, "currency": "usd", "stock": 1, "category": "c"
            }))
            .send()
            .await;
        res.assert_status(201);
    }
    app.get("/readyz").send().await.assert_status(200);

    // Load: readers until told to stop, each recording every status and the slowest answer.
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (app, stop) = (app.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut slowest = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let res = app.get("/v2/products?limit=5").send().await;
                slowest = slowest.max(started.elapsed());
                seen.push((res.status.as_u16(), res.body["error"]["code"].as_str().unwrap_or("").to_string()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (seen, slowest)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();

    // Down: every request answers, promptly, 503 NOT_READY.
    let started = Instant::now();
    let res = app.get("/v2/products").send().await;
    assert!(started.elapsed() < PROMPT, "a request hung for {:?}", started.elapsed());
    res.assert_error(503, "NOT_READY");
    let ready = app.get("/readyz").send().await;
    ready.assert_status(503);
    assert!(ready.text().contains("database"), "{}", ready.text());
    tokio::time::sleep(Duration::from_millis(500)).await;

    let pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .unwrap();

    // Back: Agora recovers by itself, without a restart.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = app.get("/v2/products?limit=5").send().await;
        if res.status.as_u16() == 200 {
            assert_eq!(res.items().len(), 5);
            break;
        }
        assert!(Instant::now() < deadline, "not recovered: {}", res.describe());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.get("/readyz").send().await.assert_status(200);

    stop.store(true, Ordering::Relaxed);
    let mut counts = std::collections::BTreeMap::new();
    for w in workers {
        let (seen, slowest) = w.await.unwrap();
        assert!(slowest < PROMPT, "a request under load took {slowest:?}");
        for (status, code) in seen {
            *counts.entry((status, code)).or_insert(0) += 1;
        }
    }
    eprintln!("outcomes under the restart: {counts:?}");
    for (status, code) in counts.keys() {
        assert!(
            *status == 200 || (*status == 503 && code == "NOT_READY"),
            "a request failed uncleanly: {status} {code} ({counts:?})"
        );
    }
    assert!(counts.keys().any(|(s, _)| *s == 503), "the load saw the outage: {counts:?}");
    drop(pg);
}
