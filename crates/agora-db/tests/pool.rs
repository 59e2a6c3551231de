//! The pool recovers from connections the server has closed: a connection that failed is
//! replaced instead of reused, and an idle connection is checked before it is handed out.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use agora_db::{Db, PoolSettings, on_pool, pool};

use agora_test_support::pg_url;

async fn one_connection_pool(url: &str) -> Db {
    Db::connect(url, &PoolSettings { max_connections: 1, acquire_timeout: Duration::from_secs(5) }).await.unwrap()
}

async fn backend_pid(db: &Db) -> Result<i32, sqlx::Error> {
    on_pool!(db, c => sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").fetch_one(c).await)
}

/// Kills the pool's one server process from a separate connection.
async fn terminate(url: &str, pid: i32) {
    let admin = Db::connect(url, &PoolSettings::default()).await.unwrap();
    let killed = on_pool!(&admin, c => {
        sqlx::query_scalar::<_, bool>("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(c).await
    })
    .unwrap();
    assert!(killed);
    admin.close().await;
    // The backend exits asynchronously; wait until it is gone.
    for _ in 0..100 {
        let admin = Db::connect(url, &PoolSettings::default()).await.unwrap();
        let alive = on_pool!(&admin, c => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_stat_activity WHERE pid = $1").bind(pid).fetch_one(c).await
        })
        .unwrap();
        admin.close().await;
        if alive == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("backend {pid} did not exit");
}

#[tokio::test]
async fn a_connection_that_failed_is_replaced_not_reused() {
    let Some(url) = pg_url() else { return };
    let db = one_connection_pool(&url).await;
    let first = backend_pid(&db).await.unwrap();
    terminate(&url, first).await;
    // Used a moment ago, so it is handed out without a ping: this statement may fail...
    let _ = backend_pid(&db).await;
    // ...but the failure marks it broken, so the next checkout opens a fresh connection.
    let second = backend_pid(&db).await.unwrap();
    assert_ne!(first, second);
    // And it stays healthy.
    assert_eq!(backend_pid(&db).await.unwrap(), second);
    db.close().await;
}

#[tokio::test]
async fn an_idle_connection_is_checked_before_reuse() {
    let Some(url) = pg_url() else { return };
    let db = one_connection_pool(&url).await;
    let first = backend_pid(&db).await.unwrap();
    terminate(&url, first).await;
    tokio::time::sleep(pool::IDLE_PING + Duration::from_millis(300)).await;
    // Idle past the threshold: the ping finds it dead and a new connection serves the request.
    let second = backend_pid(&db).await.unwrap();
    assert_ne!(first, second);
    db.close().await;
}

#[tokio::test]
async fn a_statement_error_keeps_the_connection() {
    let Some(url) = pg_url() else { return };
    let db = one_connection_pool(&url).await;
    let first = backend_pid(&db).await.unwrap();
    let bad = on_pool!(&db, c => sqlx::query("SELECT * FROM no_such_table").execute(c).await.map(|_| ()));
    assert!(bad.is_err());
    assert_eq!(backend_pid(&db).await.unwrap(), first);
    db.close().await;
}

#[tokio::test]
async fn closing_fails_later_checkouts_cleanly() {
    let dir = std::env::temp_dir().join(format!("agora-pool-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::connect(&format!("sqlite://{}/p.db", dir.display()), &PoolSettings::default()).await.unwrap();
    db.ping().await.unwrap();
    assert_eq!(db.pool_stats(), (1, 1));
    db.close().await;
    assert!(db.ping().await.is_err());
    let _ = std::fs::remove_dir_all(dir);
}
