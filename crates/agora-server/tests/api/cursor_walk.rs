//! CONTRACT §4, the cursor property: walking a collection by cursor while rows are inserted
//! (before and after the current position, and concurrently) and the cursor's own row is
//! deleted never repeats or skips a row that existed at the start.
#![allow(clippy::unwrap_used)]

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use crate::common::*;
use serde_json::Value;

const CATEGORIES: [&str; 7] = ["audio", "books", "camera", "drones", "games", "kitchen", "tools"];
const SEED_ROWS: usize = 1_000;
const LIMIT: usize = 37;

/// `(category, price, id)`: the walk's sort key under `sort=category,-price` (id tie-break DESC).
type Key = (String, i64, i64);

fn cmp_key(a: &Key, b: &Key) -> Ordering {
    a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2))
}

fn key_of(v: &Value) -> Key {
    (v["category"].as_str().unwrap().to_string(), v["price"].as_i64().unwrap(), id(v))
}

/// A tiny deterministic generator (no need for real randomness).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

async fn seed(app: &Arc<TestApp>) -> HashSet<i64> {
    // Four writers in parallel; prices repeat a lot so ties on (category, price) are common.
    let mut tasks = Vec::new();
    for w in 0..4usize {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (w..SEED_ROWS).step_by(4) {
                let cat = CATEGORIES[(i * 13) % CATEGORIES.len()];
                let price = ((i * 37) % 23) as i64 * 100;
                ids.push(seed_product(&app, &format!("seed-{i}"), "", cat, price, (i % 5) as i64).await.id);
            }
            ids
        }));
    }
    let mut all = HashSet::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(all.len(), SEED_ROWS);
    all
}

db_test!(cursor_walk_survives_concurrent_writes, |app| async move {
    let app = Arc::new(app);
    let admin = app.admin_token().await;
    let start = seed(&app).await;

    // Background writer: keeps inserting rows anywhere in the order while the walk runs.
    let stop = Arc::new(AtomicBool::new(false));
    let background = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move {
            let mut rng = Lcg(7);
            let mut n = 0;
            while !stop.load(AtomicOrdering::Relaxed) && n < 300 {
                let cat = CATEGORIES[(rng.next() % 7) as usize];
                let price = (rng.next() % 23) as i64 * 100;
                seed_product(&app, &format!("bg-{n}"), "", cat, price, 1).await;
                n += 1;
                tokio::task::yield_now().await;
            }
            n
        })
    };

    let base = "/v2/products?sort=category,-price&limit=37";
    let mut url = base.to_string();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    let mut walk: Vec<Key> = Vec::new();
    let mut must_appear: HashSet<i64> = HashSet::new();
    let mut must_not_appear: HashSet<i64> = HashSet::new();
    let mut deleted: HashSet<i64> = HashSet::new();
    let mut pages: i64 = 0;
    loop {
        let res = app.get(&url).send().await;
        res.assert_status(200);
        pages += 1;
        assert!(pages < 200, "the walk does not terminate");
        for item in res.items() {
            *counts.entry(id(item)).or_default() += 1;
            walk.push(key_of(item));
        }
        let Some(next) = res.pagination()["next_cursor"].as_str().map(str::to_string) else {
            assert_eq!(res.pagination()["has_more"], Value::Bool(false));
            break;
        };
        assert_eq!(res.items().len(), LIMIT, "only the last page may be short");
        assert_eq!(res.pagination()["has_more"], Value::Bool(true));

        // Writes between pages, relative to the row the cursor was taken from.
        let (cat, price, last_id) = key_of(res.items().last().unwrap());
        // Before the position: these must never show up later in the walk.
        for (c, p) in [("aaa", 100), (cat.as_str(), price + 1), (cat.as_str(), price)] {
            // A new row with the same (category, price) gets a larger id, which sorts first
            // under the DESC tie-break: it is before the position too.
            must_not_appear.insert(seed_product(&app, "before", "", c, p, 1).await.id);
        }
        // After the position: these must show up.
        // (A falling price keeps each new "zzz" row after the earlier ones, even once the walk
        // is among them: equal prices would put the newer, larger id first.)
        must_appear.insert(seed_product(&app, "after", "", "zzz", 100_000 - pages, 1).await.id);
        if price > 0 {
            must_appear.insert(seed_product(&app, "after", "", &cat, price - 1, 1).await.id);
        }
        // Every third page, delete the row the cursor points at (it was already seen).
        if pages % 3 == 0 {
            app.delete(&format!("/v2/products/{last_id}")).bearer(&admin).send().await.assert_status(204);
            deleted.insert(last_id);
        }
        url = format!("{base}&cursor={next}");
    }
    stop.store(true, AtomicOrdering::Relaxed);
    let background_rows = background.await.unwrap();
    assert!(background_rows > 0);
    assert!(!deleted.is_empty());

    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "rows repeated: {repeated:?}");
    let skipped: Vec<_> = start.iter().filter(|i| !counts.contains_key(i)).collect();
    assert!(skipped.is_empty(), "{} starting rows skipped: {skipped:?}", skipped.len());
    let missing: Vec<i64> = must_appear.iter().filter(|i| !counts.contains_key(i)).copied().collect();
    if !missing.is_empty() {
        let mut report = String::new();
        for m in &missing {
            let res = app.get(&format!("/v2/products/{m}")).send().await;
            let key = if res.status == 200 { Some(key_of(res.data())) } else { None };
            let pos = key.as_ref().map(|k| walk.partition_point(|w| cmp_key(w, k) == Ordering::Less));
            let around = pos.map(|p| walk[p.saturating_sub(2)..(p + 2).min(walk.len())].to_vec());
            report.push_str(&format!("\n  {m}: {key:?} (status {}), walk around it: {around:?}", res.status));
        }
        panic!("rows inserted after the position were not reached:{report}");
    }
    let early: Vec<_> = must_not_appear.iter().filter(|i| counts.contains_key(i)).collect();
    assert!(early.is_empty(), "rows inserted before the position were returned: {early:?}");
    for pair in walk.windows(2) {
        assert_eq!(cmp_key(&pair[0], &pair[1]), Ordering::Less, "walk out of order at {pair:?}");
    }

    // Quiet now: a fresh walk forwards and one backwards agree on the whole collection.
    let total = app.get("/v2/products?limit=1&include_total=true&count=exact").send().await.pagination()["total"]
        .as_i64()
        .unwrap();
    let mut forward: Vec<i64> = Vec::new();
    let mut url = base.to_string();
    let last = loop {
        let res = app.get(&url).send().await;
        forward.extend(res.ids());
        match res.pagination()["next_cursor"].as_str() {
            Some(c) => url = format!("{base}&cursor={c}"),
            None => break res,
        }
    };
    assert_eq!(forward.len() as i64, total);
    let mut backward: Vec<Vec<i64>> = vec![last.ids()];
    let mut res = last;
    while let Some(c) = res.pagination()["prev_cursor"].as_str().map(str::to_string) {
        res = app.get(&format!("{base}&cursor={c}")).send().await;
        res.assert_status(200);
        backward.push(res.ids());
    }
    backward.reverse();
    assert_eq!(backward.into_iter().flatten().collect::<Vec<_>>(), forward);
});
