//! Records in Redis, shared by every instance.
//!
//! Each step is one `EVALSHA` of a small Lua script, so it is one round trip and atomic: of
//! any number of concurrent requests with one key, across any number of instances, exactly one
//! reserves it. Times come from the Redis server's clock (`TIME`), so instances with skewed
//! clocks agree on leases. Completed records expire by Redis TTL; nothing needs purging.
//!
//! What Redis cannot promise: the business write lives in another system (the database), so
//! a process that dies after its write and before completing the record leaves the key in
//! progress until the lease lapses, and a retry then runs the request again. Only a store
//! that commits the record with the write (the SQL store) closes that window.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::aio::ConnectionLike;
use redis::{Script, Value};

use crate::record::RETRY_AFTER;
use crate::store::ms;
use crate::{RecordKey, Reservation, Reserve, Store, StoreError, StoredResponse, Terms};

/// The Redis store over any async connection (a `ConnectionManager`, a cluster connection).
pub struct RedisStore<C> {
    conn: C,
    prefix: String,
    reserve: Script,
    complete: Script,
    release: Script,
}

impl<C> RedisStore<C> {
    /// Records under `<prefix>:idem:<digest of scope and key>`.
    pub fn new(conn: C, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_string(),
            reserve: Script::new(include_str!("scripts/reserve.lua")),
            complete: Script::new(include_str!("scripts/complete.lua")),
            release: Script::new(include_str!("scripts/release.lua")),
        }
    }

    fn redis_key(&self, key: &RecordKey) -> String {
        format!("{}:idem:{}", self.prefix, key.digest())
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn parse_reserve(v: Value, key: &RecordKey, token: String) -> Result<Reserve, StoreError> {
    let bad = || StoreError::Unavailable("unexpected reply from the reserve script".into());
    let Value::Array(items) = v else { return Err(bad()) };
    match items.first().and_then(text).as_deref() {
        Some("proceed") => Ok(Reserve::Proceed(Reservation { key: key.clone(), token, unit: None })),
        Some("mismatch") => Ok(Reserve::Mismatch),
        Some("in_progress") => Ok(Reserve::InProgress { retry_after: RETRY_AFTER }),
        Some("replay") => {
            let status = items.get(1).and_then(text).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            let headers =
                items.get(2).and_then(text).and_then(|h| StoredResponse::headers_from_json(&h)).ok_or_else(bad)?;
            let body = match items.get(3) {
                Some(Value::BulkString(b)) => Bytes::from(b.clone()),
                _ => return Err(bad()),
            };
            Ok(Reserve::Replay(StoredResponse { status, headers, body }))
        }
        _ => Err(bad()),
    }
}

#[async_trait]
impl<C> Store for RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn reserve(&self, key: &RecordKey, terms: &Terms) -> Result<Reserve, StoreError> {
        let Terms { fingerprint, lease, ttl } = terms;
        let (lease, ttl) = (*lease, *ttl);
        let token = Reservation::new(key.clone(), None).token;
        let mut conn = self.conn.clone();
        let v: Value = self
            .reserve
            .key(self.redis_key(key))
            .arg(fingerprint.to_hex())
            .arg(&token)
            .arg(ms(lease))
            .arg(ms(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        parse_reserve(v, key, token)
    }

    async fn complete(&self, r: Reservation, response: &StoredResponse, ttl: Duration) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let done: i64 = self
            .complete
            .key(self.redis_key(&r.key))
            .arg(&r.token)
            .arg(response.status)
            .arg(response.headers_to_json())
            .arg(response.body.as_ref())
            .arg(ms(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if done == 1 { Ok(()) } else { Err(StoreError::Lost) }
    }

    async fn release(&self, r: Reservation) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .release
            .key(self.redis_key(&r.key))
            .arg(&r.token)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}
