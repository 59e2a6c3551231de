//! Agora's storage: the repository ports of `agora-core`, implemented once over SQLite and
//! PostgreSQL.
//!
//! Every statement is written once. Static statements use SQL both engines accept (numbered
//! `$n` parameters, `RETURNING`, row-value comparisons) and run unchanged on whichever pool is
//! live; dynamic list queries are rendered by [`sql`] from the validated `ListQuery`, with
//! identifiers only from `&'static str` whitelists and every value bound as a parameter. The
//! one real difference between the engines — how a timestamp is bound — lives in [`dialect`].

mod auth;
mod charges;
mod comments;
pub mod dialect;
mod error;
mod idempotency;
pub mod lists;
mod orders;
pub mod pool;
mod posts;
mod products;
pub mod seed;
pub mod sql;
pub mod unit;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};

use crate::pool::Pool;

pub use error::DbError;
pub use idempotency::SqlIdempotencyStore;
pub use unit::Unit;

/// A connection pool to whichever engine the configuration names.
#[derive(Clone, Debug)]
pub enum Db {
    /// An SQLite file (the embedded default).
    Sqlite(Pool<SqliteConnection>),
    /// A PostgreSQL server.
    Postgres(Pool<PgConnection>),
}

/// Runs the same expression against a connection of whichever pool is live: `$conn` is
/// `&mut` an engine connection, and the body must evaluate to `Result<_, sqlx::Error>`. The
/// body is type-checked once per engine, so one statement text serves both.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite(pool) => $crate::with_conn!(pool, $conn => $body),
            $crate::Db::Postgres(pool) => $crate::with_conn!(pool, $conn => $body),
        }
    };
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections held.
    pub max_connections: u32,
    /// How long a request waits for a connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(5) }
    }
}

impl Db {
    /// Connects to `url` (`sqlite://FILE` or `postgres://…`), creating an SQLite file if needed.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Db, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| DbError::Config(e.to_string()))?;
            let pool = pool::connect(opts, settings.max_connections, settings.acquire_timeout)
                .await
                .map_err(DbError::connect)?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::Config(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let pool = pool::connect(opts, settings.max_connections, settings.acquire_timeout)
                .await
                .map_err(DbError::connect)?;
            Ok(Db::Sqlite(pool))
        } else {
            Err(DbError::Config("database_url must start with sqlite: or postgres://".into()))
        }
    }

    /// Brings the schema up to date. Each engine has its own migration tree, kept identical in
    /// shape by a test.
    pub async fn migrate(&self) -> Result<Vec<String>, DbError> {
        let before = self.applied_migrations().await;
        match self {
            Db::Sqlite(p) => {
                let mut c = pool::get(p).await.map_err(DbError::connect)?;
                sqlx::migrate!("./migrations/sqlite").run(&mut c.raw).await.map_err(DbError::migrate)?;
            }
            Db::Postgres(p) => {
                let mut c = pool::get(p).await.map_err(DbError::connect)?;
                sqlx::migrate!("./migrations/postgres").run(&mut c.raw).await.map_err(DbError::migrate)?;
            }
        }
        let after = self.applied_migrations().await;
        Ok(after.into_iter().filter(|m| !before.contains(m)).collect())
    }

    /// `<version> <description>` of each applied migration (none when the schema is new).
    async fn applied_migrations(&self) -> Vec<String> {
        let sql = "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
        let rows: Result<Vec<(i64, String)>, sqlx::Error> = on_pool!(self, c => sqlx::query_as(sql).fetch_all(c).await);
        rows.unwrap_or_default().into_iter().map(|(v, d)| format!("{v} {d}")).collect()
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        on_pool!(self, c => sqlx::query("SELECT 1").execute(c).await.map(|_| ())).map_err(DbError::query)
    }

    /// `(open connections, idle connections)`, for metrics.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self {
            Db::Sqlite(p) => pool::stats(p),
            Db::Postgres(p) => pool::stats(p),
        }
    }

    /// Statements run so far through this pool (see [`pool::statements`]).
    pub fn statements(&self) -> u64 {
        match self {
            Db::Sqlite(p) => pool::statements(p),
            Db::Postgres(p) => pool::statements(p),
        }
    }

    /// Engine name for logs and metrics.
    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => pool::close(p).await,
            Db::Postgres(p) => pool::close(p).await,
        }
    }
}

/// The repositories over one pool; implements every repository port of `agora-core`.
///
/// Bound to a [`Unit`] ([`SqlStore::in_unit`]), every statement runs in the unit's
/// transaction instead, so a request's writes commit (or roll back) together with its
/// idempotency record.
#[derive(Clone, Debug)]
pub struct SqlStore {
    db: Db,
    unit: Option<Unit>,
    lists: sql::ListSettings,
    estimates: std::sync::Arc<sql::Estimates>,
}

impl SqlStore {
    /// Wraps a pool, with the default list settings.
    pub fn new(db: Db) -> Self {
        Self { db, unit: None, lists: sql::ListSettings::default(), estimates: Default::default() }
    }

    /// The same store with these list settings.
    pub fn with_list_settings(mut self, lists: sql::ListSettings) -> Self {
        self.lists = lists;
        self
    }

    /// The same repositories, writing through `unit`'s transaction.
    pub fn in_unit(&self, unit: Unit) -> Self {
        Self { db: self.db.clone(), unit: Some(unit), lists: self.lists, estimates: self.estimates.clone() }
    }

    /// What a list's totals may cost.
    pub fn list_settings(&self) -> sql::ListSettings {
        self.lists
    }

    /// Recent total estimates, shared by every clone of this store.
    pub fn estimates(&self) -> &sql::Estimates {
        &self.estimates
    }

    /// The live engine's dialect.
    pub fn dialect(&self) -> dialect::Dialect {
        match self.db {
            Db::Sqlite(_) => dialect::Dialect::Sqlite,
            Db::Postgres(_) => dialect::Dialect::Postgres,
        }
    }

    /// The pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The unit of work this store writes through, if any.
    pub fn unit(&self) -> Option<&Unit> {
        self.unit.as_ref()
    }
}

impl Db {
    /// Returns the named secret, storing `candidate` first if none exists yet. Concurrent
    /// first starts agree: the insert is `ON CONFLICT DO NOTHING` and everyone reads back the
    /// winner.
    pub async fn secret_or_insert(&self, name: &str, candidate: &str) -> Result<String, DbError> {
        const INSERT: &str = "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        const SELECT: &str = "SELECT value FROM server_secrets WHERE name = $1";
        on_pool!(self, c => match sqlx::query(INSERT).bind(name).bind(candidate).execute(&mut *c).await {
            Ok(_) => sqlx::query_scalar::<_, String>(SELECT).bind(name).fetch_one(c).await,
            Err(e) => Err(e),
        })
        .map_err(DbError::query)
    }
}
