use agora_core::actor::Scopes;
use agora_core::auth::{ApiKey, AuthCode, AuthRepo, Denylist, OAuthClient, RefreshUse, Session, SessionStore};
use agora_core::error::DomainResult;
use agora_core::list::Value;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::SqlStore;
use crate::error::internal;
use crate::sql::{execute, fetch_optional, fetch_rows};

fn t(v: DateTime<Utc>) -> Value {
    Value::Time(v)
}
fn s(v: &str) -> Value {
    Value::Text(v.to_string())
}
fn i(v: i64) -> Value {
    Value::Int(v)
}
fn scopes_of(bits: i64) -> Scopes {
    let mut out = Scopes::NONE;
    for (bit, sc) in [(1, Scopes::READ), (2, Scopes::WRITE), (4, Scopes::ADMIN)] {
        if bits & bit != 0 {
            out = out.union(sc);
        }
    }
    out
}
fn bits_of(sc: Scopes) -> i64 {
    [(1, Scopes::READ), (2, Scopes::WRITE), (4, Scopes::ADMIN)]
        .iter()
        .filter(|(_, s)| sc.contains(*s))
        .map(|(b, _)| b)
        .sum()
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    family: String,
    user_id: i64,
    scopes: i64,
    used: i64,
    revoked: i64,
    expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    user_id: i64,
    name: String,
    prefix: String,
    key_hash: String,
    scopes: i64,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    fn split(self) -> (ApiKey, String) {
        (
            ApiKey {
                id: self.id,
                user_id: self.user_id,
                name: self.name,
                prefix: self.prefix,
                scopes: scopes_of(self.scopes),
                created_at: self.created_at,
                last_used_at: self.last_used_at,
            },
            self.key_hash,
        )
    }
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    secret_hash: String,
    name: String,
    redirect_uris: String,
    grant_types: String,
    scopes: i64,
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    code_hash: String,
    client_id: String,
    user_id: i64,
    redirect_uri: String,
    code_challenge: String,
    scopes: i64,
    expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: String,
    user_id: i64,
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

const KEY_COLUMNS: &str = "id, user_id, name, prefix, key_hash, scopes, created_at, last_used_at";

/// Lists are stored as newline-separated text: both engines, no JSON operators needed.
fn join(v: &[String]) -> String {
    v.join("\n")
}
fn split(v: &str) -> Vec<String> {
    v.split('\n').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

#[async_trait]
impl AuthRepo for SqlStore {
    async fn insert_refresh(
        &self,
        hash: &str,
        family: &str,
        user_id: i64,
        scopes: Scopes,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        const SQL: &str = "INSERT INTO refresh_tokens (token_hash, family, user_id, scopes, expires_at, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        execute(self, SQL, &[s(hash), s(family), i(user_id), i(bits_of(scopes)), t(expires_at), t(now)])
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn use_refresh(&self, hash: &str, now: DateTime<Utc>) -> DomainResult<RefreshUse> {
        // The conditional UPDATE is the atomic step: of N concurrent presentations exactly one
        // flips `used` from 0 to 1; the others see a spent token.
        const SPEND: &str =
            "UPDATE refresh_tokens SET used = 1 WHERE token_hash = $1 AND used = 0 AND revoked = 0 AND expires_at > $2";
        const READ: &str =
            "SELECT family, user_id, scopes, used, revoked, expires_at FROM refresh_tokens WHERE token_hash = $1";
        let spent = execute(self, SPEND, &[s(hash), t(now)]).await.map_err(internal)?;
        let row: Option<RefreshRow> = fetch_optional(self, READ, &[s(hash)]).await.map_err(internal)?;
        Ok(match row {
            None => RefreshUse::Invalid,
            Some(r) if spent == 1 => {
                RefreshUse::Rotated { user_id: r.user_id, family: r.family, scopes: scopes_of(r.scopes) }
            }
            Some(r) if r.used == 1 || r.revoked == 1 => RefreshUse::Reused { family: r.family },
            Some(r) if r.expires_at <= now => RefreshUse::Invalid,
            Some(r) => RefreshUse::Reused { family: r.family },
        })
    }

    async fn revoke_family(&self, family: &str) -> DomainResult<()> {
        execute(self, "UPDATE refresh_tokens SET revoked = 1 WHERE family = $1", &[s(family)])
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn revoke_refresh(&self, hash: &str) -> DomainResult<bool> {
        const SQL: &str = "UPDATE refresh_tokens SET revoked = 1 WHERE family = \
                           (SELECT family FROM refresh_tokens WHERE token_hash = $1)";
        Ok(execute(self, SQL, &[s(hash)]).await.map_err(internal)? > 0)
    }

    async fn revoke_user_refresh(&self, user_id: i64) -> DomainResult<()> {
        execute(self, "UPDATE refresh_tokens SET revoked = 1 WHERE user_id = $1", &[i(user_id)])
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn create_api_key(
        &self,
        user_id: i64,
        name: &str,
        prefix: &str,
        hash: &str,
        scopes: Scopes,
        now: DateTime<Utc>,
    ) -> DomainResult<ApiKey> {
        const SQL: &str = "INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6) \
                           RETURNING id, user_id, name, prefix, key_hash, scopes, created_at, last_used_at";
        let row: Option<KeyRow> =
            fetch_optional(self, SQL, &[i(user_id), s(name), s(prefix), s(hash), i(bits_of(scopes)), t(now)])
                .await
                .map_err(internal)?;
        row.map(|r| r.split().0).ok_or_else(|| agora_core::DomainError::internal("insert returned nothing"))
    }

    async fn list_api_keys(&self, user_id: i64) -> DomainResult<Vec<ApiKey>> {
        const SQL: &str = "SELECT id, user_id, name, prefix, key_hash, scopes, created_at, last_used_at \
                           FROM api_keys WHERE user_id = $1 ORDER BY id";
        let _ = KEY_COLUMNS;
        let rows: Vec<KeyRow> = fetch_rows(self, SQL, &[i(user_id)]).await.map_err(internal)?;
        Ok(rows.into_iter().map(|r| r.split().0).collect())
    }

    async fn delete_api_key(&self, id: i64, user_id: i64) -> DomainResult<bool> {
        Ok(execute(self, "DELETE FROM api_keys WHERE id = $1 AND user_id = $2", &[i(id), i(user_id)])
            .await
            .map_err(internal)?
            > 0)
    }

    async fn find_api_key(&self, prefix: &str) -> DomainResult<Option<(ApiKey, String)>> {
        const SQL: &str = "SELECT id, user_id, name, prefix, key_hash, scopes, created_at, last_used_at \
                           FROM api_keys WHERE prefix = $1";
        let row: Option<KeyRow> = fetch_optional(self, SQL, &[s(prefix)]).await.map_err(internal)?;
        Ok(row.map(KeyRow::split))
    }

    async fn touch_api_key(&self, id: i64, now: DateTime<Utc>) -> DomainResult<()> {
        // At most one write a minute per key, so a busy key does not turn every read into a write.
        const SQL: &str =
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)";
        execute(self, SQL, &[t(now), i(id), t(now - chrono::Duration::seconds(60))]).await.map_err(internal)?;
        Ok(())
    }

    async fn create_client(&self, c: &OAuthClient, secret_hash: &str, now: DateTime<Utc>) -> DomainResult<()> {
        const SQL: &str = "INSERT INTO oauth_clients (client_id, secret_hash, name, redirect_uris, grant_types, scopes, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7)";
        execute(
            self,
            SQL,
            &[
                s(&c.client_id),
                s(secret_hash),
                s(&c.name),
                s(&join(&c.redirect_uris)),
                s(&join(&c.grant_types)),
                i(bits_of(c.scopes)),
                t(now),
            ],
        )
        .await
        .map_err(internal)?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> DomainResult<Option<(OAuthClient, String)>> {
        const SQL: &str = "SELECT client_id, secret_hash, name, redirect_uris, grant_types, scopes \
                           FROM oauth_clients WHERE client_id = $1";
        let row: Option<ClientRow> = fetch_optional(self, SQL, &[s(client_id)]).await.map_err(internal)?;
        Ok(row.map(|r| {
            (
                OAuthClient {
                    client_id: r.client_id,
                    name: r.name,
                    redirect_uris: split(&r.redirect_uris),
                    grant_types: split(&r.grant_types),
                    scopes: scopes_of(r.scopes),
                },
                r.secret_hash,
            )
        }))
    }

    async fn insert_code(&self, c: &AuthCode) -> DomainResult<()> {
        const SQL: &str = "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, scopes, expires_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7)";
        execute(
            self,
            SQL,
            &[
                s(&c.code_hash),
                s(&c.client_id),
                i(c.user_id),
                s(&c.redirect_uri),
                s(&c.code_challenge),
                i(bits_of(c.scopes)),
                t(c.expires_at),
            ],
        )
        .await
        .map_err(internal)?;
        Ok(())
    }

    async fn take_code(&self, code_hash: &str, now: DateTime<Utc>) -> DomainResult<Option<AuthCode>> {
        // DELETE … RETURNING makes redemption single-use even under concurrent exchanges.
        const SQL: &str = "DELETE FROM oauth_codes WHERE code_hash = $1 \
                           RETURNING code_hash, client_id, user_id, redirect_uri, code_challenge, scopes, expires_at";
        let row: Option<CodeRow> = fetch_optional(self, SQL, &[s(code_hash)]).await.map_err(internal)?;
        Ok(row.filter(|r| r.expires_at > now).map(|r| AuthCode {
            code_hash: r.code_hash,
            client_id: r.client_id,
            user_id: r.user_id,
            redirect_uri: r.redirect_uri,
            code_challenge: r.code_challenge,
            scopes: scopes_of(r.scopes),
            expires_at: r.expires_at,
        }))
    }
}

#[async_trait]
impl Denylist for SqlStore {
    async fn revoke_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> DomainResult<()> {
        const SQL: &str = "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING";
        execute(self, SQL, &[s(jti), t(expires_at)]).await.map_err(internal)?;
        Ok(())
    }

    async fn is_jti_revoked(&self, jti: &str) -> DomainResult<bool> {
        let row: Option<(String,)> =
            fetch_optional(self, "SELECT jti FROM revoked_tokens WHERE jti = $1", &[s(jti)]).await.map_err(internal)?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, x: &Session) -> DomainResult<()> {
        const SQL: &str = "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)";
        execute(self, SQL, &[s(&x.id_hash), i(x.user_id), s(&x.csrf_token), t(x.expires_at)])
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str, now: DateTime<Utc>) -> DomainResult<Option<Session>> {
        const SQL: &str =
            "SELECT id_hash, user_id, csrf_token, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2";
        let row: Option<SessionRow> = fetch_optional(self, SQL, &[s(id_hash), t(now)]).await.map_err(internal)?;
        Ok(row.map(|r| Session {
            id_hash: r.id_hash,
            user_id: r.user_id,
            csrf_token: r.csrf_token,
            expires_at: r.expires_at,
        }))
    }

    async fn delete_session(&self, id_hash: &str) -> DomainResult<()> {
        execute(self, "DELETE FROM sessions WHERE id_hash = $1", &[s(id_hash)]).await.map_err(internal)?;
        Ok(())
    }
}
