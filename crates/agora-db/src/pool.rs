//! The connection pool: deadpool over plain sqlx connections.
//!
//! Why not `sqlx::Pool`: it pings every connection when it goes back to the pool (and, by
//! default, again when it comes out). On PostgreSQL a ping is a network round trip, on SQLite a
//! hop to the connection's worker thread and back, so a one-statement request paid for three
//! round trips instead of one; measured on the by-id read, that was about half the server's CPU
//! time. deadpool hands connections out and takes them back without any I/O, and the checks
//! sqlx does on every use are done here only when they can matter:
//!
//! - a connection idle for longer than [`IDLE_PING`] is pinged before reuse (HikariCP's rule:
//!   a connection used a moment ago is known to be alive), so a database restart costs no
//!   failed requests once the pool has been idle briefly;
//! - a connection whose last statement failed with an I/O or protocol error is marked broken
//!   and discarded on its next checkout, so a dead socket is never reused under load;
//! - connections are replaced after [`MAX_LIFETIME`], as sqlx does by default.
//!
//! A request cancelled mid-statement leaves nothing behind: sqlx connections finish or drain an
//! interrupted exchange (and roll back a dropped transaction) at the start of their next use.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use sqlx::{ConnectOptions, Connection};

/// Reuse without a ping within this long of the last checkout.
pub const IDLE_PING: Duration = Duration::from_secs(1);

/// Connections older than this are closed and replaced.
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A pool of connections of one engine.
pub type Pool<C> = managed::Pool<Manager<C>>;

/// A pooled connection and whether it is known to be unusable.
#[derive(Debug)]
pub struct Conn<C> {
    /// The sqlx connection (an `Executor` through `&mut`).
    pub raw: C,
    broken: bool,
    /// The pool's count of statements run.
    statements: Arc<AtomicU64>,
}

impl<C> Conn<C> {
    /// Closes the connection instead of returning it to the pool (its transaction state is in
    /// doubt, e.g. a transaction left open).
    pub fn discard(&mut self) {
        self.broken = true;
    }

    /// Marks the connection broken when a statement failed in a way that leaves the connection
    /// itself in doubt: a lost socket, a protocol desync, a crashed SQLite worker, or the
    /// server announcing that it is ending the session (SQLSTATE class 08, connection
    /// exception, and 57P, the server terminating the backend). Errors about the statement
    /// itself (constraints, syntax) leave it usable.
    pub fn observe<T>(&mut self, result: &Result<T, sqlx::Error>) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = result {
            self.broken |= crate::error::is_unavailable(e);
        }
    }
}

/// Opens and recycles connections of one engine.
pub struct Manager<C: Connection> {
    options: C::Options,
    /// Statements run through this pool's connections (each one [`Conn::observe`]s).
    statements: Arc<AtomicU64>,
}

impl<C: Connection> std::fmt::Debug for Manager<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").finish_non_exhaustive()
    }
}

impl<C: Connection> managed::Manager for Manager<C> {
    type Type = Conn<C>;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<Conn<C>, sqlx::Error> {
        Ok(Conn { raw: self.options.connect().await?, broken: false, statements: self.statements.clone() })
    }

    async fn recycle(&self, conn: &mut Conn<C>, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        if conn.broken {
            return Err(RecycleError::message("connection failed during its last use"));
        }
        if metrics.age() > MAX_LIFETIME {
            return Err(RecycleError::message("connection reached its maximum lifetime"));
        }
        if metrics.last_used() > IDLE_PING {
            conn.raw.ping().await.map_err(RecycleError::Backend)?;
        }
        Ok(())
    }
}

/// Builds a pool and opens its first connection, so that a wrong URL or an unreachable server
/// fails at start-up rather than on the first request.
pub async fn connect<C: Connection>(
    options: C::Options,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<Pool<C>, sqlx::Error> {
    let pool = managed::Pool::builder(Manager { options, statements: Arc::default() })
        .max_size(max_connections.max(1) as usize)
        .wait_timeout(Some(acquire_timeout))
        .create_timeout(Some(acquire_timeout))
        .recycle_timeout(Some(acquire_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
    drop(get(&pool).await?);
    Ok(pool)
}

/// Checks a connection out, with pool failures expressed as sqlx errors so that callers handle
/// one error type.
pub async fn get<C: Connection>(pool: &Pool<C>) -> Result<managed::Object<Manager<C>>, sqlx::Error> {
    pool.get().await.map_err(|e| match e {
        managed::PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
        managed::PoolError::Backend(e) => e,
        managed::PoolError::Closed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Configuration(other.to_string().into()),
    })
}

/// How many statements the pool's connections have run since it opened: what tests count to
/// prove that a request costs a constant number of round trips (batched loading).
pub fn statements<C: Connection>(pool: &Pool<C>) -> u64 {
    pool.manager().statements.load(Ordering::Relaxed)
}

/// `(open connections, idle connections)`.
pub fn stats<C: Connection>(pool: &Pool<C>) -> (u32, usize) {
    let s = pool.status();
    (u32::try_from(s.size).unwrap_or(u32::MAX), s.available)
}

/// Closes the pool: waiting and future checkouts fail, idle connections are closed politely
/// (connections still checked out are closed when they are returned).
pub async fn close<C: Connection>(pool: &Pool<C>) {
    let idle = pool.retain(|_, _| false).removed;
    pool.close();
    for conn in idle {
        let _ = conn.raw.close().await;
    }
}

/// Runs `$body` with `$conn` bound to `&mut` a connection checked out of `$pool`; the body
/// must evaluate to `Result<_, sqlx::Error>`. The connection goes back to the pool afterwards,
/// or is marked for replacement if the body's error shows it broken.
#[macro_export]
macro_rules! with_conn {
    ($pool:expr, $conn:ident => $body:expr) => {
        match $crate::pool::get($pool).await {
            Ok(mut guard) => {
                let result: ::std::result::Result<_, ::sqlx::Error> = {
                    let $conn = &mut guard.raw;
                    $body
                };
                guard.observe(&result);
                result
            }
            Err(e) => Err(e),
        }
    };
}
