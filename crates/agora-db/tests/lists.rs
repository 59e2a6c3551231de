//! Lists at index speed, on real databases: search finds the same rows on both engines,
//! totals are exact below the threshold and estimates above it (and give way to an estimate
//! when an exact count runs out of time), and on PostgreSQL no allowed list query — any sort,
//! either direction, first page, deep page or keyset page, with or without search — scans a
//! large table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use agora_core::cursor::CursorKey;
use agora_core::follows::FollowRepo;
use agora_core::list::{
    Collection, CountMode, DefaultStyle, Filter, FilterOp, KeysetPosition, ListQuery, ListRequest, PageRequest,
    SortDir, SortKey, Value, ValueKind,
};
use agora_core::users::{NewUserRecord, User, UserRepo};
use agora_db::dialect::Dialect;
use agora_db::lists::LIST_SOURCES;
use agora_db::seed::{Seeded, seed};
use agora_db::sql::{ListSettings, render_list};
use agora_db::{Db, PoolSettings, SqlStore, on_pool};
use agora_test_support::pg_url;

/// A database of its own, removed on drop (an SQLite directory or a PostgreSQL schema).
struct Scratch {
    db: Db,
    cleanup: Option<(Db, String)>,
    dir: Option<PathBuf>,
}

impl Scratch {
    async fn sqlite() -> Scratch {
        let dir = std::env::temp_dir().join(format!("agora-lists-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db::connect(&format!("sqlite://{}/l.db", dir.display()), &PoolSettings::default()).await.unwrap();
        db.migrate().await.unwrap();
        Scratch { db, cleanup: None, dir: Some(dir) }
    }

    async fn postgres() -> Option<Scratch> {
        let url = pg_url()?;
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = Db::connect(&url, &PoolSettings::default()).await.unwrap();
        on_pool!(&admin, c => sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(c).await.map(|_| ()))
            .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let db = Db::connect(&format!("{url}{sep}options=-csearch_path%3D{schema}"), &PoolSettings::default())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        Some(Scratch { db, cleanup: Some((admin, schema)), dir: None })
    }

    async fn both() -> Vec<Scratch> {
        let mut out = vec![Scratch::sqlite().await];
        out.extend(Scratch::postgres().await);
        out
    }

    fn store(&self, settings: ListSettings) -> SqlStore {
        SqlStore::new(self.db.clone()).with_list_settings(settings)
    }

    async fn exec(&self, sql: &str) {
        on_pool!(&self.db, c => sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(c).await.map(|_| ()))
            .unwrap();
    }

    async fn ids(&self, sql: &str) -> Vec<i64> {
        on_pool!(&self.db, c => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(c).await)
            .unwrap()
    }

    async fn close(mut self) {
        self.db.close().await;
        if let Some((admin, schema)) = self.cleanup.take() {
            on_pool!(&admin, c => sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(c).await.map(|_| ()))
                .unwrap();
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    fn engine(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

fn key() -> CursorKey {
    CursorKey::new(b"lists-test-key".to_vec())
}

fn users_query(params: &[(&str, &str)]) -> ListQuery {
    let req = ListRequest {
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        style: DefaultStyle::Cursor,
    };
    req.parse(User::SPEC, Vec::new(), &key()).unwrap()
}

async fn add_user(store: &SqlStore, n: usize, name: &str) {
    let new = NewUserRecord {
        email: format!("search{n}@example.com"),
        name: name.to_string(),
        password_hash: "x".into(),
        role: agora_core::actor::Role::User,
        now: agora_core::now(),
    };
    store.create(new).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_the_same_rows_on_both_engines() {
    let names = [
        "Ada Lovelace",
        "ada byron",
        "ADAM",
        "a%b literal",
        "axb plain",
        "a_b under",
        "aXb upper",
        "50% off",
        "500 off",
        "Zoë Quinn",
        "back\\slash",
        "say \"hi\" twice",
        "Grace Hopper",
        "lovely day",
        "star*gazer",
    ];
    let terms = [
        "ada",
        "ADA",
        "love",
        "LACE",
        "a%b",
        "a_b",
        "%",
        "_",
        "50%",
        "zoë",
        "\\",
        "\"hi\"",
        "b",
        "off",
        "o",
        "xyz",
        "hopper",
        "r*g",
        "ada byron",
        "y d",
    ];
    let mut results: Vec<Vec<Vec<String>>> = Vec::new();
    for scratch in Scratch::both().await {
        let store = scratch.store(ListSettings::default());
        for (n, name) in names.iter().enumerate() {
            add_user(&store, n, name).await;
        }
        // An update and a delete reach the search index too.
        let all = store.list(&users_query(&[("limit", "100")])).await.unwrap().rows;
        let grace = all.iter().find(|u| u.name == "Grace Hopper").unwrap().id;
        let changes = agora_core::users::UserChanges { name: Some("Grace Brewster".into()), ..Default::default() };
        store.update(grace, None, changes, agora_core::now()).await.unwrap();
        let adam = all.iter().find(|u| u.name == "ADAM").unwrap().id;
        assert!(store.delete(adam).await.unwrap());
        let live: Vec<&str> = names
            .iter()
            .map(|n| if *n == "Grace Hopper" { "Grace Brewster" } else { n })
            .filter(|n| *n != "ADAM")
            .collect();

        let mut per_term = Vec::new();
        for term in terms {
            let q = users_query(&[("q", term), ("limit", "100"), ("sort", "name"), ("include_total", "true")]);
            let page = store.list(&q).await.unwrap();
            let found: Vec<String> = page.rows.iter().map(|u| u.name.clone()).collect();
            let mut expected: Vec<String> = live
                .iter()
                .filter(|n| n.to_lowercase().contains(&term.to_lowercase()))
                .map(|n| n.to_string())
                .collect();
            expected.sort();
            let mut sorted = found.clone();
            sorted.sort();
            assert_eq!(sorted, expected, "{}: q={term:?}", scratch.engine());
            let total = page.total.unwrap();
            assert_eq!(
                (total.rows, total.estimate),
                (expected.len() as i64, false),
                "{}: q={term:?}",
                scratch.engine()
            );
            per_term.push(found);
        }
        results.push(per_term);
        scratch.close().await;
    }
    if let [sqlite, postgres] = &results[..] {
        assert_eq!(sqlite, postgres, "the engines disagree");
    }
}

async fn seed_users(scratch: &Scratch, n: u64) {
    seed(&scratch.db, Seeded { users: n, ..Default::default() }, "x").await.unwrap();
    if matches!(scratch.db, Db::Postgres(_)) {
        scratch.exec("ANALYZE users").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_exact_up_to_the_threshold_and_estimated_above() {
    for scratch in Scratch::both().await {
        let engine = scratch.engine();
        seed_users(&scratch, 30_000).await;
        let store = scratch.store(ListSettings { exact_total_up_to: 1_000, count_timeout: Duration::from_secs(30) });

        // The whole table: above the threshold, an estimate near the truth.
        let page = store.list(&users_query(&[("limit", "20"), ("include_total", "true")])).await.unwrap();
        let total = page.total.unwrap();
        assert!(total.estimate, "{engine}: {total:?}");
        assert!((15_000..=60_000).contains(&total.rows), "{engine}: {total:?}");

        // Asked again within the estimate's lifetime, page 2 with its total is one statement:
        // the remembered estimate, far above the threshold, spares the capped count and the
        // plan.
        let page2 = users_query(&[("limit", "20"), ("include_total", "true")]);
        let page2 = ListQuery { page: PageRequest::Page { page: 2, per_page: 20 }, ..page2 };
        let first = store.list(&page2).await.unwrap().total.unwrap();
        let before = scratch.db.statements();
        let again = store.list(&page2).await.unwrap().total.unwrap();
        assert_eq!(scratch.db.statements() - before, 1, "{engine}");
        assert_eq!(again, first, "{engine}");
        assert!(again.estimate, "{engine}: {again:?}");

        // Exactly on request.
        let exact = users_query(&[("limit", "20"), ("include_total", "true"), ("count", "exact")]);
        let total = store.list(&exact).await.unwrap().total.unwrap();
        assert_eq!((total.rows, total.estimate), (30_000, false), "{engine}");

        // A search reads every match anyway, so it counts them exactly, above the threshold
        // too. "User 12" is user 12, 120–129, 1200–1299 and 12000–12999 (names are
        // `User {n} …`): 1,111 rows; "User 123" is 123, 1230–1239 and 12300–12399: 111.
        for (term, n) in [("User 123", 111), ("User 12", 1_111)] {
            for count in ["estimated", "exact"] {
                let q = users_query(&[("q", term), ("limit", "20"), ("include_total", "true"), ("count", count)]);
                let total = store.list(&q).await.unwrap().total.unwrap();
                assert_eq!((total.rows, total.estimate), (n, false), "{engine}: {term} {count}");
            }
        }
        // From a keyset position the page cannot count the rows before it: a search past the
        // first page counts like any list, capped at the threshold.
        let from_position = |term: &str, count: &str| {
            let q = users_query(&[("q", term), ("limit", "20"), ("include_total", "true"), ("count", count)]);
            let position = KeysetPosition { values: vec![Value::Int(0)], backward: false };
            ListQuery { page: PageRequest::Cursor { limit: 20, position: Some(position), include_total: true }, ..q }
        };
        let total = store.list(&from_position("User 123", "estimated")).await.unwrap().total.unwrap();
        assert_eq!((total.rows, total.estimate), (111, false), "{engine}");
        let total = store.list(&from_position("User 12", "estimated")).await.unwrap().total.unwrap();
        assert!(total.estimate && total.rows > 1_000, "{engine}: {total:?}");
        let total = store.list(&from_position("User 12", "exact")).await.unwrap().total.unwrap();
        assert_eq!((total.rows, total.estimate), (1_111, false), "{engine}");

        // A page that reaches the end states the total without counting, estimate or not.
        let q = users_query(&[("q", "User 12 "), ("limit", "20")]);
        let q = ListQuery { page: PageRequest::Offset { offset: 1_100, limit: 20 }, ..q };
        let page = store.list(&q).await.unwrap();
        let total = page.total.unwrap();
        assert_eq!((page.rows.len(), total.rows, total.estimate), (11, 1_111, false), "{engine}");

        // Deep pages go through the deferred join; they are exactly what a plain OFFSET reads,
        // on a table and on a join.
        for sort in ["id", "-created_at", "name"] {
            let order = match sort {
                "id" => "id",
                "-created_at" => "created_at DESC, id DESC",
                _ => "name, id",
            };
            for offset in [150u64, 5_000, 29_990] {
                let q = users_query(&[("sort", sort), ("limit", "20")]);
                let q = ListQuery { page: PageRequest::Offset { offset, limit: 20 }, ..q };
                let got: Vec<i64> = store.list(&q).await.unwrap().rows.iter().map(|u| u.id).collect();
                let want =
                    scratch.ids(&format!("SELECT id FROM users ORDER BY {order} LIMIT 20 OFFSET {offset}")).await;
                assert_eq!(got, want, "{engine}: sort={sort} offset={offset}");
            }
        }
        let star = scratch.ids("SELECT MIN(id) FROM users").await[0];
        scratch
            .exec(&format!(
                "INSERT INTO follows (follower_id, followee_id, followed_at) \
                 SELECT id, {star}, created_at FROM users WHERE id > {star} AND id <= {star} + 400"
            ))
            .await;
        let scope = vec![Filter { column: "followee_id", op: FilterOp::Eq, value: Value::Int(star) }];
        let req = ListRequest {
            params: vec![
                ("sort".into(), "name".into()),
                ("offset".into(), "150".into()),
                ("limit".into(), "20".into()),
            ],
            style: DefaultStyle::Cursor,
        };
        let q = req.parse(User::SPEC, scope, &key()).unwrap();
        let page = store.followers(&q).await.unwrap();
        let got: Vec<i64> = page.rows.iter().map(|u| u.id).collect();
        let want = scratch
            .ids(&format!(
                "SELECT users.id FROM users JOIN follows ON follows.follower_id = users.id \
                 WHERE followee_id = {star} ORDER BY name, users.id LIMIT 20 OFFSET 150"
            ))
            .await;
        assert_eq!(got, want, "{engine}: followers");
        assert_eq!(page.total.unwrap(), agora_core::list::Total::exact(400), "{engine}");

        // An exact count that runs out of time gives an estimate, flagged, never below what
        // the page proves.
        let hasty = scratch.store(ListSettings { exact_total_up_to: 1_000, count_timeout: Duration::from_micros(1) });
        let page = hasty.list(&from_position("e", "exact")).await.unwrap();
        let total = page.total.unwrap();
        assert!(total.estimate, "{engine}: the count should have run out of time: {total:?}");
        assert!(total.rows >= 21, "{engine}: {total:?}");
        // The connection is fine afterwards (no handler, no timeout left behind).
        let total = store.list(&exact).await.unwrap().total.unwrap();
        assert_eq!((total.rows, total.estimate), (30_000, false), "{engine}");
        scratch.close().await;
    }
}

/// A value of `kind` for a keyset position in the middle of the seeded data.
fn middle(kind: ValueKind) -> Value {
    match kind {
        ValueKind::Int => Value::Int(500),
        ValueKind::Text => Value::Text("m".into()),
        ValueKind::Time => Value::Time(agora_core::now()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_allowed_list_query_scans_a_large_table_on_postgres() {
    let Some(scratch) = Scratch::postgres().await else { return };
    let plan = Seeded {
        users: 20_000,
        posts: 60_000,
        products: 20_000,
        follows: 5,
        likes: 0,
        comments: 30_000,
        orders: 10_000,
    };
    seed(&scratch.db, plan, "x").await.unwrap();
    scratch.exec("VACUUM ANALYZE").await;
    let Db::Postgres(pool) = &scratch.db else { unreachable!() };
    let mut conn = agora_db::pool::get(pool).await.unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for source in LIST_SOURCES {
        let scope: Vec<Filter> = source
            .scope
            .map(|c| vec![Filter { column: c, op: FilterOp::Eq, value: Value::Int(1) }])
            .unwrap_or_default();
        for (column, kind) in source.spec.sortable {
            for dir in [SortDir::Asc, SortDir::Desc] {
                let mut sort = vec![SortKey { column, dir }];
                if *column != "id" {
                    sort.push(SortKey { column: "id", dir });
                }
                let values: Vec<Value> =
                    sort.iter().map(|k| if k.column == "id" { Value::Int(500) } else { middle(*kind) }).collect();
                let pages = [
                    ("first page", PageRequest::Cursor { limit: 20, position: None, include_total: false }),
                    ("page 50", PageRequest::Page { page: 50, per_page: 20 }),
                    (
                        "keyset page",
                        PageRequest::Cursor {
                            limit: 20,
                            position: Some(KeysetPosition { values, backward: false }),
                            include_total: false,
                        },
                    ),
                ];
                let searches: &[Option<&str>] =
                    if source.table.search.is_empty() { &[None] } else { &[None, Some("lantern 12")] };
                for (label, page) in pages {
                    for search in searches {
                        let q = ListQuery {
                            sort: sort.clone(),
                            filters: scope.clone(),
                            search: search.map(str::to_string),
                            page: page.clone(),
                            fields: None,
                            scope: String::new(),
                            count: CountMode::Estimated,
                        };
                        let sql = render_list(source.table, &q, Dialect::Postgres);
                        let text = format!("EXPLAIN {}", sql.text);
                        let plan: Vec<(String,)> =
                            agora_db::bind_values!(postgres, sqlx::query_as(sqlx::AssertSqlSafe(text)), &sql.params)
                                .fetch_all(&mut conn.raw)
                                .await
                                .unwrap();
                        let plan: Vec<String> = plan.into_iter().map(|r| r.0).collect();
                        checked += 1;
                        if plan.iter().any(|l| l.contains("Seq Scan")) {
                            failures.push(format!(
                                "{} sort={}{column} {label} search={search:?}:\n{}\n{}",
                                source.name,
                                if dir == SortDir::Desc { "-" } else { "" },
                                sql.text,
                                plan.join("\n")
                            ));
                        }
                    }
                }
            }
        }
    }
    drop(conn);
    scratch.close().await;
    assert!(checked > 100, "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} list queries scan a table:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
