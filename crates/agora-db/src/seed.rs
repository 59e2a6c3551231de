//! Demo data, inserted in large multi-row batches so that 100,000 users and 1,000,000 posts
//! load in seconds rather than minutes.

use agora_core::list::Value;
use chrono::{DateTime, Duration, Utc};
use sqlx::AssertSqlSafe;

use crate::{Db, DbError, bind_values};

/// Binds per statement: below SQLite's 32,766 and PostgreSQL's 65,535 limits.
const MAX_BINDS: usize = 30_000;

/// What `agora seed` inserts (and, returned, what it inserted).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Users.
    pub users: u64,
    /// Posts, spread over all users.
    pub posts: u64,
    /// Products.
    pub products: u64,
    /// Follows *per user*: each user follows this many others (capped below the user count).
    pub follows: u64,
    /// Likes, spread over all users and posts.
    pub likes: u64,
    /// Comments, spread over all users and posts.
    pub comments: u64,
    /// Orders, spread over all users, of 1–3 products each, in every status; paid and
    /// fulfilled ones with the charge that paid them.
    pub orders: u64,
}

async fn insert_rows(db: &Db, table: &str, columns: &[&str], rows: &[Vec<Value>]) -> Result<(), DbError> {
    let per_row = columns.len();
    let chunk = (MAX_BINDS / per_row).max(1);
    for batch in rows.chunks(chunk) {
        let mut text = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, _) in batch.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push('(');
            for c in 0..per_row {
                if c > 0 {
                    text.push_str(", ");
                }
                n += 1;
                text.push_str(&format!("${n}"));
            }
            text.push(')');
        }
        let vals: Vec<&Value> = batch.iter().flatten().collect();
        // Table and column names are literals from this module; values are bound.
        match db {
            Db::Sqlite(p) => crate::with_conn!(p, c => {
                bind_values!(sqlite, sqlx::query(AssertSqlSafe(text)), vals.iter().copied()).execute(c).await.map(|_| ())
            }),
            Db::Postgres(p) => crate::with_conn!(p, c => {
                bind_values!(postgres, sqlx::query(AssertSqlSafe(text)), vals.iter().copied()).execute(c).await.map(|_| ())
            }),
        }
        .map_err(DbError::query)?;
    }
    Ok(())
}

async fn id_range(db: &Db, table: &str) -> Result<(i64, i64), DbError> {
    let text = format!("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM {table}");
    crate::on_pool!(db, p => sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(text)).fetch_one(p).await)
        .map_err(DbError::query)
}

const WORDS: &[&str] = &[
    "rust", "api", "laptop", "coffee", "garden", "music", "travel", "design", "cloud", "river", "mountain", "pixel",
    "orbit", "signal", "harbor", "lantern", "meadow", "quartz", "summit", "velvet",
];

fn words(seed: u64, n: usize) -> String {
    (0..n)
        .map(|i| WORDS[((seed.wrapping_mul(31).wrapping_add(i as u64 * 7)) % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Inserts demo users (all sharing `password_hash`, so one hash serves them all), posts spread
/// over those users, and products. Emails are `user{N}@example.com`, continuing after existing
/// rows so the command can be run repeatedly.
///
/// Follows, likes and comments go in after, between all users and posts (new and existing),
/// through the same triggers as the API's, so every count is right. Each user follows the next
/// `follows` users by id (so no one follows itself or anyone twice), and likes run over
/// consecutive posts per user, so no like repeats either.
pub async fn seed(db: &Db, plan: Seeded, password_hash: &str) -> Result<Seeded, DbError> {
    let Seeded { users, posts, products, .. } = plan;
    let now: DateTime<Utc> = agora_core::now();
    let (_, max_user) = id_range(db, "users").await?;
    let base = max_user as u64;
    let rows: Vec<Vec<Value>> = (0..users)
        .map(|i| {
            let n = base + i + 1;
            let t = now - Duration::seconds((users - i) as i64);
            vec![
                Value::Text(format!("user{n}@example.com")),
                Value::Text(format!("User {n} {}", words(n, 1))),
                Value::Text(password_hash.to_string()),
                Value::Time(t),
                Value::Time(t),
            ]
        })
        .collect();
    insert_rows(db, "users", &["email", "name", "password_hash", "created_at", "updated_at"], &rows).await?;
    drop(rows);

    let (min_user, max_user) = id_range(db, "users").await?;
    if posts > 0 && max_user > 0 {
        let span = (max_user - min_user + 1) as u64;
        // Build and insert posts in slices to bound memory.
        let slice = 100_000u64;
        let mut start = 0;
        while start < posts {
            let end = (start + slice).min(posts);
            let rows: Vec<Vec<Value>> = (start..end)
                .map(|i| {
                    let author = min_user + ((i.wrapping_mul(7919)) % span) as i64;
                    let t = now - Duration::milliseconds((posts - i) as i64);
                    vec![
                        Value::Int(author),
                        Value::Text(format!("Post {i}: {}", words(i, 3))),
                        Value::Text(format!("Thoughts on {}.", words(i + 3, 8))),
                        Value::Time(t),
                        Value::Time(t),
                    ]
                })
                .collect();
            insert_rows(db, "posts", &["author_id", "title", "content", "created_at", "updated_at"], &rows).await?;
            start = end;
        }
    }

    let categories = ["electronics", "books", "home", "garden", "toys", "sports"];
    let rows: Vec<Vec<Value>> = (0..products)
        .map(|i| {
            let t = now - Duration::seconds((products - i) as i64);
            vec![
                Value::Text(format!("{} {}", words(i, 2), i + 1)),
                Value::Text(format!("A {} for {}.", words(i + 1, 2), words(i + 2, 2))),
                Value::Text(categories[(i % categories.len() as u64) as usize].to_string()),
                Value::Int(((i * 137) % 100_000) as i64 + 99),
                Value::Text("usd".into()),
                Value::Int((i % 50) as i64),
                Value::Time(t),
                Value::Time(t),
            ]
        })
        .collect();
    insert_rows(
        db,
        "products",
        &["name", "description", "category", "price", "currency", "stock", "created_at", "updated_at"],
        &rows,
    )
    .await?;
    let graph = seed_graph(db, plan, now).await?;
    let orders = seed_orders(db, plan.orders, now).await?;
    Ok(Seeded { users, posts, products, orders, ..graph })
}

/// Orders over every user and the catalogue's `usd` products. They are history: they take no
/// stock (the catalogue's stock is what is left to sell).
async fn seed_orders(db: &Db, orders: u64, now: DateTime<Utc>) -> Result<u64, DbError> {
    const STATUSES: [&str; 4] = ["pending", "paid", "fulfilled", "cancelled"];
    let (min_user, max_user) = id_range(db, "users").await?;
    const CATALOGUE: &str = "SELECT id, price FROM products WHERE currency = 'usd' ORDER BY id LIMIT 10000";
    let catalogue: Vec<(i64, i64)> =
        crate::on_pool!(db, p => sqlx::query_as(CATALOGUE).fetch_all(p).await).map_err(DbError::query)?;
    if orders == 0 || max_user == 0 || catalogue.is_empty() {
        return Ok(0);
    }
    let user_span = (max_user - min_user + 1) as u64;
    let (_, max_order) = id_range(db, "orders").await?;
    const SLICE: u64 = 20_000;
    let mut start = 0;
    while start < orders {
        let end = (start + SLICE).min(orders);
        let (mut order_rows, mut item_rows, mut charge_rows) = (Vec::new(), Vec::new(), Vec::new());
        for i in start..end {
            let id = max_order + 1 + i as i64;
            let user = min_user + (i.wrapping_mul(7919) % user_span) as i64;
            let status = STATUSES[(i % 4) as usize];
            let t = now - Duration::seconds((orders - i) as i64);
            let lines = 1 + (i % 3) as usize;
            let mut total = 0;
            let first = (i.wrapping_mul(104_729) % catalogue.len() as u64) as usize;
            for k in 0..lines.min(catalogue.len()) {
                let (product, price) = catalogue[(first + k) % catalogue.len()];
                let quantity = 1 + ((i + k as u64) % 3) as i64;
                total += price * quantity;
                item_rows.push(vec![Value::Int(id), Value::Int(product), Value::Int(quantity), Value::Int(price)]);
            }
            order_rows.push(vec![
                Value::Int(id),
                Value::Int(user),
                Value::Text(status.into()),
                Value::Int(total),
                Value::Text("usd".into()),
                Value::Time(t),
                Value::Time(t),
            ]);
            if matches!(status, "paid" | "fulfilled") {
                charge_rows.push(vec![
                    Value::Int(user),
                    Value::Int(id),
                    Value::Int(total),
                    Value::Text("usd".into()),
                    Value::Text("succeeded".into()),
                    Value::Text(format!("ch_sandbox_seed{id}")),
                    Value::Time(t),
                    Value::Time(t),
                ]);
            }
        }
        let columns = ["id", "user_id", "status", "total", "currency", "created_at", "updated_at"];
        insert_rows(db, "orders", &columns, &order_rows).await?;
        insert_rows(db, "order_items", &["order_id", "product_id", "quantity", "unit_price"], &item_rows).await?;
        let columns = ["user_id", "order_id", "amount", "currency", "status", "reference", "created_at", "updated_at"];
        insert_rows(db, "charges", &columns, &charge_rows).await?;
        start = end;
    }
    // Ids were given explicitly: PostgreSQL's identity sequence must continue after them
    // (SQLite's AUTOINCREMENT follows by itself).
    if let Db::Postgres(p) = db {
        const RESYNC: &str = "SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT MAX(id) FROM orders))";
        crate::with_conn!(p, c => sqlx::query(RESYNC).execute(c).await.map(|_| ())).map_err(DbError::query)?;
    }
    Ok(orders)
}

/// Follows, likes and comments over every user and post.
async fn seed_graph(db: &Db, plan: Seeded, now: DateTime<Utc>) -> Result<Seeded, DbError> {
    let (min_user, max_user) = id_range(db, "users").await?;
    let (min_post, max_post) = id_range(db, "posts").await?;
    let user_span = if max_user > 0 { (max_user - min_user + 1) as u64 } else { 0 };
    let post_span = if max_post > 0 { (max_post - min_post + 1) as u64 } else { 0 };
    let mut done = Seeded::default();
    // Rows go in slices to bound memory.
    const SLICE: u64 = 100_000;

    let per_user = plan.follows.min(user_span.saturating_sub(1));
    let total = per_user * user_span;
    let mut start = 0;
    while start < total {
        let end = (start + SLICE).min(total);
        let rows: Vec<Vec<Value>> = (start..end)
            .map(|i| {
                let (u, k) = (i / per_user, i % per_user + 1);
                let followee = min_user + ((u + k) % user_span) as i64;
                vec![Value::Int(min_user + u as i64), Value::Int(followee), Value::Time(now)]
            })
            .collect();
        insert_rows(db, "follows", &["follower_id", "followee_id", "followed_at"], &rows).await?;
        start = end;
    }
    done.follows = total;

    if user_span > 0 && post_span > 0 {
        let per_user = plan.likes.div_ceil(user_span).min(post_span);
        let total = plan.likes.min(per_user * user_span);
        let mut start = 0;
        while start < total {
            let end = (start + SLICE).min(total);
            let rows: Vec<Vec<Value>> = (start..end)
                .map(|i| {
                    let (u, k) = (i % user_span, i / user_span);
                    let post = min_post + ((u.wrapping_mul(7919) + k) % post_span) as i64;
                    vec![Value::Int(post), Value::Int(min_user + u as i64), Value::Time(now)]
                })
                .collect();
            insert_rows(db, "post_likes", &["post_id", "user_id", "created_at"], &rows).await?;
            start = end;
        }
        done.likes = total;

        let mut start = 0;
        while start < plan.comments {
            let end = (start + SLICE).min(plan.comments);
            let rows: Vec<Vec<Value>> = (start..end)
                .map(|i| {
                    let post = min_post + (i.wrapping_mul(104_729) % post_span) as i64;
                    let author = min_user + (i.wrapping_mul(7919) % user_span) as i64;
                    let t = now - Duration::milliseconds((plan.comments - i) as i64);
                    vec![
                        Value::Int(post),
                        Value::Int(author),
                        Value::Text(format!("Re: {}", words(i, 4))),
                        Value::Time(t),
                    ]
                })
                .collect();
            insert_rows(db, "comments", &["post_id", "author_id", "content", "created_at"], &rows).await?;
            start = end;
        }
        done.comments = plan.comments;
    }
    Ok(done)
}
