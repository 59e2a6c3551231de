//! Demo data, inserted in large multi-row batches so that 100,000 users and 1,000,000 posts
//! load in seconds rather than minutes.

use agora_core::list::Value;
use chrono::{DateTime, Duration, Utc};
use sqlx::AssertSqlSafe;

use crate::{Db, DbError, bind_values};

/// Binds per statement: below SQLite's 32,766 and PostgreSQL's 65,535 limits.
const MAX_BINDS: usize = 30_000;

/// What `agora seed` inserted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Users inserted.
    pub users: u64,
    /// Posts inserted.
    pub posts: u64,
    /// Products inserted.
    pub products: u64,
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
pub async fn seed(db: &Db, users: u64, posts: u64, products: u64, password_hash: &str) -> Result<Seeded, DbError> {
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
    Ok(Seeded { users, posts, products })
}
