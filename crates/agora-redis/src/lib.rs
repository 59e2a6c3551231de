//! Agora's Redis adapters.
//!
//! Credentials state shared through Redis when `redis_url` is set: the access-token denylist
//! and browser sessions, so every instance agrees at once.
//!
//! Revocations are written to both the database (durable) and Redis. The check asks Redis
//! first and, when Redis does not know the token (or is unreachable), the database too: a
//! revocation made while Redis was down is still honoured, at the cost of one database lookup
//! per authenticated request. Sessions live only in Redis (they expire there by TTL). The
//! other credentials stay in the database alone.

mod events;

pub use events::RedisBus;

use std::sync::Arc;

use agora_core::auth::{Denylist, Session, SessionStore};
use agora_core::error::DomainResult;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use redis::AsyncCommands;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;

/// One Redis server (reconnecting manager) or a cluster, behind one command interface; every
/// command here touches a single key, so cluster routing needs nothing more.
#[derive(Clone)]
pub enum Conn {
    /// One server.
    Single(ConnectionManager),
    /// A cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// How long one Redis command may take, connecting included.
pub const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The denylist (over the durable one in the database) and the sessions in Redis.
#[derive(Clone)]
pub struct RedisCredentials {
    durable: Arc<dyn Denylist>,
    redis: Conn,
    prefix: String,
}

impl RedisCredentials {
    /// Builds the repository without connecting: the first command connects, and both
    /// connection kinds reconnect by themselves after an outage. A URL listing several nodes
    /// (`redis://a:7001,redis://b:7002`) selects a cluster. Fails only on a malformed URL.
    ///
    /// Not connecting here lets the server start while Redis is down, as it keeps running
    /// while Redis is down: `/readyz` answers 503 until Redis is back, and a load balancer or
    /// an orchestrator waits for that. A server that refused to start would instead be
    /// restarted in a loop, and would come up only once Redis was up anyway.
    ///
    /// Every command waits at most [`COMMAND_TIMEOUT`] (connecting included), so a Redis that
    /// does not answer slows requests that need it by that much, not indefinitely.
    pub fn connect_lazy(url: &str, durable: Arc<dyn Denylist>) -> Result<Self, String> {
        let redis = if url.contains(',') {
            let nodes: Vec<String> = url.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
            let client = redis::cluster::ClusterClient::builder(nodes)
                .connection_timeout(COMMAND_TIMEOUT)
                .response_timeout(COMMAND_TIMEOUT)
                .build()
                .map_err(|e| format!("`redis_url`: {e}"))?;
            let config = redis::cluster::ClusterConfig::new()
                .set_connection_timeout(COMMAND_TIMEOUT)
                .set_response_timeout(COMMAND_TIMEOUT);
            Conn::Cluster(client.get_pending_async_connection_with_config(config))
        } else {
            let client = redis::Client::open(url).map_err(|e| format!("`redis_url`: {e}"))?;
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(COMMAND_TIMEOUT))
                .set_response_timeout(Some(COMMAND_TIMEOUT))
                .set_number_of_retries(1);
            Conn::Single(
                ConnectionManager::new_lazy_with_config(client, config).map_err(|e| format!("`redis_url`: {e}"))?,
            )
        };
        Ok(Self { durable, redis, prefix: "agora".into() })
    }

    /// The connection, for other Redis-backed stores (idempotency records) to share.
    pub fn connection(&self) -> Conn {
        self.redis.clone()
    }

    /// Whether Redis answers a `PING` (for `/readyz`; the caller bounds the wait).
    pub async fn ping(&self) -> bool {
        let mut conn = self.redis.clone();
        redis::cmd("PING").query_async::<redis::Value>(&mut conn).await.is_ok()
    }

    fn jti_key(&self, jti: &str) -> String {
        format!("{}:revoked:{jti}", self.prefix)
    }

    fn session_key(&self, h: &str) -> String {
        format!("{}:session:{h}", self.prefix)
    }
}

fn ttl_ms(until: DateTime<Utc>) -> u64 {
    (until - Utc::now()).num_milliseconds().max(1) as u64
}

#[async_trait]
impl Denylist for RedisCredentials {
    async fn revoke_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> DomainResult<()> {
        self.durable.revoke_jti(jti, expires_at).await?;
        let mut c = self.redis.clone();
        let r: Result<(), redis::RedisError> =
            c.pset_ex(self.jti_key(jti), 1, ttl_ms(expires_at + chrono::Duration::seconds(60))).await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not write revocation to Redis; the database copy still applies");
        }
        Ok(())
    }

    async fn is_jti_revoked(&self, jti: &str) -> DomainResult<bool> {
        let mut c = self.redis.clone();
        let r: Result<bool, redis::RedisError> = c.exists(self.jti_key(jti)).await;
        match r {
            Ok(true) => Ok(true),
            // Not in Redis: it may have been revoked while Redis was down, so ask the database.
            // Revocations are rare; checking both keeps the answer right at small cost.
            Ok(false) => self.durable.is_jti_revoked(jti).await,
            Err(e) => {
                tracing::warn!(error = %e, "Redis unavailable for the revocation check; using the database");
                self.durable.is_jti_revoked(jti).await
            }
        }
    }
}

#[async_trait]
impl SessionStore for RedisCredentials {
    async fn create_session(&self, s: &Session) -> DomainResult<()> {
        let value = format!("{}|{}|{}", s.user_id, s.expires_at.timestamp(), s.csrf_token);
        let mut c = self.redis.clone();
        let r: Result<(), redis::RedisError> =
            c.pset_ex(self.session_key(&s.id_hash), value, ttl_ms(s.expires_at)).await;
        r.map_err(|e| agora_core::DomainError::internal(format!("redis: {e}")))
    }

    async fn get_session(&self, id_hash: &str, now: DateTime<Utc>) -> DomainResult<Option<Session>> {
        let mut c = self.redis.clone();
        let r: Result<Option<String>, redis::RedisError> = c.get(self.session_key(id_hash)).await;
        let raw = r.map_err(|e| agora_core::DomainError::internal(format!("redis: {e}")))?;
        let Some(raw) = raw else { return Ok(None) };
        let mut parts = raw.splitn(3, '|');
        let (Some(uid), Some(exp), Some(csrf)) = (parts.next(), parts.next(), parts.next()) else { return Ok(None) };
        let (Ok(user_id), Ok(exp)) = (uid.parse::<i64>(), exp.parse::<i64>()) else { return Ok(None) };
        let expires_at = Utc.timestamp_opt(exp, 0).single().unwrap_or(now);
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(Session { id_hash: id_hash.to_string(), user_id, csrf_token: csrf.to_string(), expires_at }))
    }

    async fn delete_session(&self, id_hash: &str) -> DomainResult<()> {
        let mut c = self.redis.clone();
        let r: Result<(), redis::RedisError> = c.del(self.session_key(id_hash)).await;
        r.map_err(|e| agora_core::DomainError::internal(format!("redis: {e}")))
    }
}
