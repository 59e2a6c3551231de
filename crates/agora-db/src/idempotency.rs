//! The SQL idempotency store: records in `idempotency_records`, completed in the same
//! transaction as the request's writes.
//!
//! - **Reserve** is one autocommitted upsert: insert the key in progress, or take over a
//!   record that expired or whose lease lapsed (`ON CONFLICT … DO UPDATE … WHERE`). Of any
//!   number of concurrent requests with one key, on any number of instances, the database
//!   lets exactly one insert or take over; the others read the record and are refused or
//!   replayed.
//! - The request then runs with a [`Unit`] in its extensions; the repositories write through
//!   its transaction.
//! - **Complete** stores the response with an `UPDATE … WHERE token = <ours>` *inside that
//!   transaction* and commits both. A crash before the commit loses the write and the
//!   completion together (the key is retried after its lease); a crash after it leaves both,
//!   and the retry replays. If the lease lapsed and another request took the key over, the
//!   update matches nothing and this request's writes are rolled back. An error answer
//!   (4xx) changed nothing: its unit is rolled back and the answer stored on its own.
//! - **Release** rolls the transaction back and deletes the in-progress record.

use std::time::Duration;

use agora_idempotency::record::{RecordState, Verdict, judge};
use agora_idempotency::store::{ms, now_ms};
use agora_idempotency::{
    Fingerprint, Record, RecordKey, Reservation, Reserve, Store, StoreError, StoredResponse, Terms,
};
use async_trait::async_trait;
use bytes::Bytes;

use crate::unit::{Unit, discard};
use crate::{Db, on_pool};

/// Records in the application's database.
#[derive(Debug, Clone)]
pub struct SqlIdempotencyStore {
    db: Db,
}

impl SqlIdempotencyStore {
    /// Records in `db` (migrated).
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Most expired records one purge statement deletes, so that it never holds SQLite's write
/// lock for long.
const PURGE_BATCH: i64 = 1000;

#[derive(sqlx::FromRow)]
struct RecordRow {
    fingerprint: String,
    state: String,
    token: Option<String>,
    lease_until: i64,
    expires_at: i64,
    status: Option<i32>,
    headers: Option<String>,
    body: Option<Vec<u8>>,
}

fn to_record(r: RecordRow) -> Option<Record> {
    let state = match r.state.as_str() {
        "in_progress" => {
            RecordState::InProgress { token: r.token.unwrap_or_default(), lease_until_ms: r.lease_until.max(0) as u64 }
        }
        _ => RecordState::Completed(StoredResponse {
            status: u16::try_from(r.status?).ok()?,
            headers: StoredResponse::headers_from_json(r.headers.as_deref()?)?,
            body: Bytes::from(r.body.unwrap_or_default()),
        }),
    };
    Some(Record {
        fingerprint: Fingerprint::from_hex(&r.fingerprint)?,
        state,
        expires_at_ms: r.expires_at.max(0) as u64,
    })
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait]
impl Store for SqlIdempotencyStore {
    async fn reserve(&self, key: &RecordKey, terms: &Terms) -> Result<Reserve, StoreError> {
        let Terms { fingerprint, lease, ttl } = terms;
        let (lease, ttl) = (*lease, *ttl);
        const TAKE: &str = "INSERT INTO idempotency_records \
             (scope, idem_key, fingerprint, state, token, lease_until, expires_at) \
             VALUES ($1, $2, $3, 'in_progress', $4, $5, $6) \
             ON CONFLICT (scope, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint, \
             state = 'in_progress', token = excluded.token, lease_until = excluded.lease_until, \
             expires_at = excluded.expires_at, status = NULL, headers = NULL, body = NULL \
             WHERE idempotency_records.expires_at <= $7 \
             OR (idempotency_records.state = 'in_progress' AND idempotency_records.lease_until <= $7)";
        const READ: &str = "SELECT fingerprint, state, token, lease_until, expires_at, status, headers, body \
             FROM idempotency_records WHERE scope = $1 AND idem_key = $2";
        let fp = fingerprint.to_hex();
        // A record read between another request's take-over and purge can vanish; a few
        // rounds settle it.
        for _ in 0..3 {
            let now = now_ms();
            let r = Reservation::new(key.clone(), None);
            let taken = on_pool!(&self.db, c => sqlx::query(TAKE)
                .bind(&key.scope)
                .bind(key.key.as_str())
                .bind(&fp)
                .bind(&r.token)
                .bind(i(now.saturating_add(ms(lease))))
                .bind(i(now.saturating_add(ms(ttl))))
                .bind(i(now))
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(unavailable)?;
            if taken == 1 {
                let unit = agora_idempotency::Unit(std::sync::Arc::new(Unit::new(self.db.clone())));
                return Ok(Reserve::Proceed(Reservation { unit: Some(unit), ..r }));
            }
            let row: Option<RecordRow> = on_pool!(&self.db, c => sqlx::query_as(READ)
                .bind(&key.scope)
                .bind(key.key.as_str())
                .fetch_optional(c)
                .await)
            .map_err(unavailable)?;
            let Some(row) = row else { continue };
            let record =
                to_record(row).ok_or_else(|| StoreError::Unavailable("unreadable idempotency record".into()))?;
            match judge(Some(&record), fingerprint, now) {
                // Freed between the two statements: try again.
                Verdict::Proceed => continue,
                Verdict::Replay(resp) => return Ok(Reserve::Replay(resp)),
                Verdict::InProgress(retry_after) => return Ok(Reserve::InProgress { retry_after }),
                Verdict::Mismatch => return Ok(Reserve::Mismatch),
            }
        }
        Err(StoreError::Unavailable("the key's record kept changing".into()))
    }

    async fn complete(&self, r: Reservation, resp: &StoredResponse, ttl: Duration) -> Result<(), StoreError> {
        const DONE: &str = "UPDATE idempotency_records SET state = 'completed', status = $1, headers = $2, \
             body = $3, expires_at = $4, token = NULL, lease_until = 0 \
             WHERE scope = $5 AND idem_key = $6 AND token = $7 AND state = 'in_progress'";
        let headers = resp.headers_to_json();
        let expires = i(now_ms().saturating_add(ms(ttl)));
        let status = i32::from(resp.status);
        macro_rules! done {
            ($c:ident) => {
                sqlx::query(DONE)
                    .bind(status)
                    .bind(&headers)
                    .bind(resp.body.as_ref())
                    .bind(expires)
                    .bind(&r.key.scope)
                    .bind(r.key.key.as_str())
                    .bind(&r.token)
                    .execute($c)
                    .await
                    .map(|x| x.rows_affected())
            };
        }
        let unit = r.unit.as_ref().and_then(|u| u.0.downcast_ref::<Unit>());
        // An error answer means the request changed nothing: whatever its unit wrote before it
        // failed is rolled back (on PostgreSQL a failed statement has aborted the transaction
        // anyway), and the answer is stored on its own — unless the unit's writes are kept
        // (a declined charge is recorded, and answered 402).
        let succeeded = |u: &&Unit| resp.status < 400 || u.keeps_writes();
        if let Some(unit) = unit.filter(|u| !succeeded(u)) {
            unit.rollback().await.map_err(unavailable)?;
        }
        let Some(unit) = unit.filter(succeeded) else {
            let n = on_pool!(&self.db, c => done!(c)).map_err(unavailable)?;
            return if n == 1 { Ok(()) } else { Err(StoreError::Lost) };
        };
        let mut g = unit.lock().await;
        g.finished = true;
        let Some(mut tx) = g.conn.take() else {
            // Nothing was written through the unit: the completion commits by itself.
            drop(g);
            let n = on_pool!(&self.db, c => done!(c)).map_err(unavailable)?;
            return if n == 1 {
                unit.committed();
                Ok(())
            } else {
                Err(StoreError::Lost)
            };
        };
        drop(g);
        let n = crate::on_tx!(&mut tx, c => done!(c));
        let end = if matches!(n, Ok(1)) { "COMMIT" } else { "ROLLBACK" };
        let ended = crate::on_tx!(&mut tx, c => sqlx::query(end).execute(c).await.map(|_| ()));
        if ended.is_err() {
            discard(&mut tx);
        }
        drop(tx);
        match (n, ended) {
            (Ok(1), Ok(())) => {
                unit.committed();
                Ok(())
            }
            (Ok(_), Ok(())) => Err(StoreError::Lost),
            (Err(e), _) | (_, Err(e)) => {
                // Rolled back (or never committed): free the key for a retry.
                let _ = self.release(Reservation { unit: None, ..r }).await;
                Err(unavailable(e))
            }
        }
    }

    async fn release(&self, r: Reservation) -> Result<(), StoreError> {
        const FREE: &str = "DELETE FROM idempotency_records \
             WHERE scope = $1 AND idem_key = $2 AND token = $3 AND state = 'in_progress'";
        if let Some(unit) = r.unit.as_ref().and_then(|u| u.0.downcast_ref::<Unit>()) {
            unit.rollback().await.map_err(unavailable)?;
        }
        on_pool!(&self.db, c => sqlx::query(FREE)
            .bind(&r.key.scope)
            .bind(r.key.key.as_str())
            .bind(&r.token)
            .execute(c)
            .await
            .map(|_| ()))
        .map_err(unavailable)
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        const PURGE: &str = "DELETE FROM idempotency_records WHERE (scope, idem_key) IN \
             (SELECT scope, idem_key FROM idempotency_records WHERE expires_at <= $1 LIMIT $2)";
        let mut total = 0;
        loop {
            let now = i(now_ms());
            let n = on_pool!(&self.db, c => sqlx::query(PURGE).bind(now).bind(PURGE_BATCH).execute(c).await.map(|r| r.rows_affected()))
                .map_err(unavailable)?;
            total += n;
            if n < PURGE_BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
