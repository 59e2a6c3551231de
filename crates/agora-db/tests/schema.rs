//! The two migration trees must produce the same tables, columns and indexes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use agora_db::{Db, PoolSettings, on_pool};

use agora_test_support::pg_url;

async fn sqlite_shape() -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let dir = std::env::temp_dir().join(format!("agora-schema-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::connect(&format!("sqlite://{}/s.db", dir.display()), &PoolSettings::default()).await.unwrap();
    db.migrate().await.unwrap();
    let Db::Sqlite(pool) = &db else { unreachable!() };
    let mut conn = agora_db::pool::get(pool).await.unwrap();
    let p = &mut conn.raw;
    let cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut *p)
    .await
    .unwrap();
    let idx: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(p)
            .await
            .unwrap();
    drop(conn);
    db.close().await;
    let _ = std::fs::remove_dir_all(dir);
    (cols.into_iter().collect(), idx.into_iter().map(|r| r.0).collect())
}

async fn pg_shape(url: &str) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Db::connect(url, &PoolSettings::default()).await.unwrap();
    on_pool!(&admin, c => sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(c).await.map(|_| ())).unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let db =
        Db::connect(&format!("{url}{sep}options=-csearch_path%3D{schema}"), &PoolSettings::default()).await.unwrap();
    db.migrate().await.unwrap();
    let Db::Postgres(pool) = &db else { unreachable!() };
    let mut conn = agora_db::pool::get(pool).await.unwrap();
    let p = &mut conn.raw;
    let cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name NOT LIKE '_sqlx%'",
    )
    .bind(&schema)
    .fetch_all(&mut *p)
    .await
    .unwrap();
    let idx: Vec<(String,)> = sqlx::query_as(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND indexname NOT LIKE '%_pkey' \
         AND indexname NOT LIKE '_sqlx%'",
    )
    .bind(&schema)
    .fetch_all(p)
    .await
    .unwrap();
    drop(conn);
    db.close().await;
    on_pool!(&admin, c => sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(c).await.map(|_| ())).unwrap();
    (cols.into_iter().collect(), idx.into_iter().map(|r| r.0).collect())
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(url) = pg_url() else { return };
    let (s_cols, s_idx) = sqlite_shape().await;
    let (p_cols, p_idx) = pg_shape(&url).await;
    assert!(s_cols.len() > 20, "{s_cols:?}");
    // Search is indexed differently: FTS5 trigram tables `<table>_search` (and their shadow
    // tables) on SQLite, trigram GIN indexes `<table>_<column>_trgm` on PostgreSQL. Each side
    // indexes the same columns.
    let s_search: BTreeSet<(String, String)> = s_cols
        .iter()
        .filter(|(t, _)| t.ends_with("_search"))
        .map(|(t, c)| (t.trim_end_matches("_search").to_string(), c.clone()))
        .collect();
    let p_search: BTreeSet<(String, String)> = p_idx
        .iter()
        .filter_map(|i| i.strip_suffix("_trgm"))
        .filter_map(|i| {
            ["users", "posts", "products", "comments"]
                .iter()
                .find_map(|t| i.strip_prefix(&format!("{t}_")).map(|c| (t.to_string(), c.to_string())))
        })
        .collect();
    assert!(s_search.len() >= 6, "{s_search:?}");
    assert_eq!(s_search, p_search);
    let s_cols: BTreeSet<(String, String)> = s_cols.into_iter().filter(|(t, _)| !t.contains("_search")).collect();
    assert_eq!(s_cols, p_cols);
    // SQLite names the implicit index of a UNIQUE constraint `sqlite_autoindex_*` (filtered
    // out above); PostgreSQL names it after the constraint.
    let p_idx: BTreeSet<String> = p_idx.into_iter().filter(|i| !i.ends_with("_key") && !i.ends_with("_trgm")).collect();
    assert_eq!(s_idx, p_idx);
}
