//! A unit of work: one transaction that a request's repository calls share, committed
//! together with something else (its idempotency record).
//!
//! The transaction begins on first use, not when the unit is made: a request whose key is
//! reserved may never write (a validation error), and on SQLite a begun write transaction
//! (`BEGIN IMMEDIATE`, so that two units never deadlock upgrading read locks) holds the
//! database's single write lock. It ends with [`Unit::commit_with`] or [`Unit::rollback`].
//! A unit dropped with its transaction open (a panic, a cancelled task) discards its
//! connection instead of returning it to the pool, and the server rolls the transaction back
//! when the connection closes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use deadpool::managed::Object;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Mutex, MutexGuard};

use crate::Db;
use crate::pool::{self, Manager};

/// What runs once a unit has committed.
type Hooks = Arc<std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>>;

/// One request's transaction, shared by its repositories (cheap to clone).
#[derive(Clone)]
pub struct Unit(Arc<Mutex<UnitState>>, Hooks, Arc<AtomicBool>);

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unit")
    }
}

/// A pooled connection with an open transaction.
#[doc(hidden)]
pub enum TxConn {
    /// SQLite.
    Sqlite(Object<Manager<SqliteConnection>>),
    /// PostgreSQL.
    Postgres(Object<Manager<PgConnection>>),
}

#[doc(hidden)]
pub struct UnitState {
    pub(crate) db: Db,
    /// The open transaction's connection.
    pub conn: Option<TxConn>,
    /// Committed or rolled back: no further use.
    pub(crate) finished: bool,
}

impl Drop for UnitState {
    fn drop(&mut self) {
        match &mut self.conn {
            Some(TxConn::Sqlite(c)) => c.discard(),
            Some(TxConn::Postgres(c)) => c.discard(),
            None => {}
        }
    }
}

/// Runs one statement on a transaction's connection, for both engines.
#[macro_export]
#[doc(hidden)]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::unit::TxConn::Sqlite(o) => {
                let result: Result<_, sqlx::Error> = {
                    let $conn = &mut o.raw;
                    $body
                };
                o.observe(&result);
                result
            }
            $crate::unit::TxConn::Postgres(o) => {
                let result: Result<_, sqlx::Error> = {
                    let $conn = &mut o.raw;
                    $body
                };
                o.observe(&result);
                result
            }
        }
    };
}

impl Unit {
    /// A unit over `db`; nothing happens until first use.
    pub fn new(db: Db) -> Self {
        Self(Arc::new(Mutex::new(UnitState { db, conn: None, finished: false })), Hooks::default(), Arc::default())
    }

    /// Marks what the unit wrote as standing even if the request answers with an error: a
    /// declined card answers 402, and the failed charge it recorded must still commit.
    pub fn keep_writes(&self) {
        self.2.store(true, Ordering::Release);
    }

    /// Whether [`Unit::keep_writes`] was called.
    pub fn keeps_writes(&self) -> bool {
        self.2.load(Ordering::Acquire)
    }

    /// Ends the unit: commits if `success` (or if its writes are kept), else rolls back. For
    /// units that carry no idempotency record (whose store commits the unit itself).
    pub async fn finish(&self, success: bool) -> Result<(), sqlx::Error> {
        if !(success || self.keeps_writes()) {
            return self.rollback().await;
        }
        let mut g = self.0.lock().await;
        g.finished = true;
        let Some(mut tx) = g.conn.take() else {
            drop(g);
            self.committed();
            return Ok(());
        };
        drop(g);
        let r = crate::on_tx!(&mut tx, c => sqlx::query("COMMIT").execute(c).await.map(|_| ()));
        if r.is_err() {
            discard(&mut tx);
            return r;
        }
        drop(tx);
        self.committed();
        Ok(())
    }

    /// Locks the unit with its transaction begun.
    #[doc(hidden)]
    pub async fn begun(&self) -> Result<MutexGuard<'_, UnitState>, sqlx::Error> {
        let mut g = self.0.lock().await;
        if g.finished {
            return Err(sqlx::Error::Protocol("the unit of work has already ended".into()));
        }
        if g.conn.is_none() {
            let conn = match &g.db {
                Db::Sqlite(p) => {
                    let mut c = pool::get(p).await?;
                    let r = sqlx::query("BEGIN IMMEDIATE").execute(&mut c.raw).await;
                    c.observe(&r);
                    r?;
                    TxConn::Sqlite(c)
                }
                Db::Postgres(p) => {
                    let mut c = pool::get(p).await?;
                    let r = sqlx::query("BEGIN").execute(&mut c.raw).await;
                    c.observe(&r);
                    r?;
                    TxConn::Postgres(c)
                }
            };
            g.conn = Some(conn);
        }
        Ok(g)
    }

    /// Runs `f` once the unit has committed (publishing the events of its writes); never if
    /// it rolls back.
    pub fn after_commit(&self, f: Box<dyn FnOnce() + Send>) {
        self.hooks().push(f);
    }

    fn hooks(&self) -> std::sync::MutexGuard<'_, Vec<Box<dyn FnOnce() + Send>>> {
        // Hooks are pushed and taken whole; a panic elsewhere leaves the list usable.
        self.1.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The unit committed: runs what waited for it.
    pub(crate) fn committed(&self) {
        let hooks = std::mem::take(&mut *self.hooks());
        for f in hooks {
            f();
        }
    }

    /// Locks the unit as it is (begun or not).
    pub(crate) async fn lock(&self) -> MutexGuard<'_, UnitState> {
        self.0.lock().await
    }

    /// Rolls back whatever the unit wrote.
    pub async fn rollback(&self) -> Result<(), sqlx::Error> {
        let mut g = self.0.lock().await;
        g.finished = true;
        self.hooks().clear();
        let Some(mut tx) = g.conn.take() else { return Ok(()) };
        let r = crate::on_tx!(&mut tx, c => sqlx::query("ROLLBACK").execute(c).await.map(|_| ()));
        if r.is_err() {
            discard(&mut tx);
        }
        r
    }
}

pub(crate) fn discard(tx: &mut TxConn) {
    match tx {
        TxConn::Sqlite(c) => c.discard(),
        TxConn::Postgres(c) => c.discard(),
    }
}

/// Runs the same expression against the unit's transaction when the repository has one, else
/// against a pooled connection, like [`crate::on_pool`].
#[macro_export]
macro_rules! on_conn {
    ($store:expr, $conn:ident => $body:expr) => {
        $crate::per_engine!($store, sqlite $conn => $body, postgres $conn => $body)
    };
}

/// Like [`on_conn`], with one expression per engine (for statements whose values are bound
/// differently).
#[macro_export]
macro_rules! per_engine {
    ($store:expr, sqlite $c1:ident => $lite:expr, postgres $c2:ident => $pg:expr) => {
        match $store.unit() {
            None => match $store.db() {
                $crate::Db::Sqlite(pool) => $crate::with_conn!(pool, $c1 => $lite),
                $crate::Db::Postgres(pool) => $crate::with_conn!(pool, $c2 => $pg),
            },
            Some(unit) => match unit.begun().await {
                Err(e) => Err(e),
                Ok(mut g) => match g.conn.as_mut() {
                    Some($crate::unit::TxConn::Sqlite(o)) => {
                        let result: ::std::result::Result<_, ::sqlx::Error> = {
                            let $c1 = &mut o.raw;
                            $lite
                        };
                        o.observe(&result);
                        result
                    }
                    Some($crate::unit::TxConn::Postgres(o)) => {
                        let result: ::std::result::Result<_, ::sqlx::Error> = {
                            let $c2 = &mut o.raw;
                            $pg
                        };
                        o.observe(&result);
                        result
                    }
                    None => Err(::sqlx::Error::PoolClosed),
                },
            },
        }
    };
}
