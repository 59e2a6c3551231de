use agora_core::DomainError;
use agora_core::actor::Role;
use agora_core::error::DomainResult;
use agora_core::follows::FollowRepo;
use agora_core::list::{Fetched, ListQuery, Value};
use agora_core::repo::Written;
use agora_core::users::User;
use agora_core::users::{NewUserRecord, UserChanges, UserRepo};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{internal, is_fk_violation, is_unique_violation};
use crate::sql::{self, Table};
use crate::{SqlStore, on_conn};

const COLUMNS: &str = "id, email, name, role, created_at, updated_at, version, followers_count, following_count";

pub(crate) static TABLE: Table = Table::plain("users", COLUMNS, &["name"]);

/// Users who follow someone: filtered by `followee_id`. `follows` names none of the users'
/// columns (its time is `followed_at`), so the list's unqualified columns stay the users'.
pub(crate) static FOLLOWERS: Table = Table {
    name: "users JOIN follows ON follows.follower_id = users.id",
    columns: COLUMNS,
    search: &["name"],
    base: "users",
    key: "users.id",
};

/// Users someone follows: filtered by `follower_id`.
pub(crate) static FOLLOWING: Table = Table {
    name: "users JOIN follows ON follows.followee_id = users.id",
    columns: COLUMNS,
    search: &["name"],
    base: "users",
    key: "users.id",
};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    followers_count: i64,
    following_count: i64,
}

#[derive(sqlx::FromRow)]
struct UserWithHash {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

fn to_user(r: UserRow) -> User {
    User {
        id: r.id,
        email: r.email,
        name: r.name,
        // The CHECK constraint admits only these two values.
        role: Role::parse(&r.role).unwrap_or(Role::User),
        created_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
        followers_count: r.followers_count,
        following_count: r.following_count,
    }
}

fn email_taken() -> DomainError {
    DomainError::conflict("email", "A user with this email already exists.")
}

#[async_trait]
impl UserRepo for SqlStore {
    async fn create(&self, new: NewUserRecord) -> DomainResult<User> {
        const SQL: &str = "INSERT INTO users (email, name, password_hash, role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id, email, name, role, created_at, updated_at, version, followers_count, following_count";
        let vals = [
            Value::Text(new.email),
            Value::Text(new.name),
            Value::Text(new.password_hash),
            Value::Text(new.role.as_str().into()),
            Value::Time(new.now),
        ];
        let res: Result<UserRow, sqlx::Error> = match sql::fetch_optional(self, SQL, &vals).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(sqlx::Error::RowNotFound),
            Err(e) => Err(e),
        };
        match res {
            Ok(r) => Ok(to_user(r)),
            Err(e) if is_unique_violation(&e) => Err(email_taken()),
            Err(e) => Err(internal(e)),
        }
    }

    async fn get(&self, id: i64) -> DomainResult<Option<User>> {
        const SQL: &str = "SELECT id, email, name, role, created_at, updated_at, version, followers_count, following_count \
             FROM users WHERE id = $1";
        let row: Option<UserRow> =
            on_conn!(self, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await).map_err(internal)?;
        Ok(row.map(to_user))
    }

    async fn get_many(&self, ids: &[i64]) -> DomainResult<Vec<User>> {
        let text = format!("SELECT {COLUMNS} FROM users WHERE id IN ({})", sql::placeholders(ids.len()));
        let params = ids.iter().map(|i| Value::Int(*i)).collect();
        let rows: Vec<UserRow> = sql::fetch_all(self, sql::Sql { text, params }).await.map_err(internal)?;
        Ok(rows.into_iter().map(to_user).collect())
    }

    async fn get_by_email(&self, email: &str) -> DomainResult<Option<(User, String)>> {
        const SQL: &str = "SELECT id, email, name, role, created_at, updated_at, version, followers_count, following_count, \
             password_hash FROM users WHERE email = $1";
        let row: Option<UserWithHash> =
            on_conn!(self, p => sqlx::query_as(SQL).bind(email).fetch_optional(p).await).map_err(internal)?;
        Ok(row.map(|r| (to_user(r.user), r.password_hash)))
    }

    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<User>> {
        sql::list::<UserRow, User>(self, &TABLE, q, to_user).await.map_err(internal)
    }

    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        c: UserChanges,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<User>> {
        const SQL: &str = "UPDATE users SET email = COALESCE($1, email), name = COALESCE($2, name), \
             password_hash = COALESCE($3, password_hash), role = COALESCE($4, role), \
             updated_at = $5, version = version + 1 \
             WHERE id = $6 AND ($7 IS NULL OR version = $7) \
             RETURNING id, email, name, role, created_at, updated_at, version, followers_count, following_count";
        let vals = [
            Value::opt_text(c.email),
            Value::opt_text(c.name),
            Value::opt_text(c.password_hash),
            Value::opt_text(c.role.map(|r| r.as_str().to_string())),
            Value::Time(now),
            Value::Int(id),
            Value::opt_int(expected_version),
        ];
        let res: Result<Option<UserRow>, sqlx::Error> = sql::fetch_optional(self, SQL, &vals).await;
        match res {
            Ok(Some(r)) => Ok(Written::Done(to_user(r))),
            Ok(None) => Ok(if self.get(id).await?.is_some() { Written::VersionMismatch } else { Written::Missing }),
            Err(e) if is_unique_violation(&e) => Err(email_taken()),
            Err(e) => Err(internal(e)),
        }
    }

    async fn delete(&self, id: i64) -> DomainResult<bool> {
        let done = on_conn!(self, p => sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(internal)?;
        Ok(done > 0)
    }
}

#[async_trait]
impl FollowRepo for SqlStore {
    async fn follow(&self, follower: i64, followee: i64, now: DateTime<Utc>) -> DomainResult<bool> {
        const SQL: &str = "INSERT INTO follows (follower_id, followee_id, followed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (follower_id, followee_id) DO NOTHING";
        match sql::execute(self, SQL, &[Value::Int(follower), Value::Int(followee), Value::Time(now)]).await {
            Ok(_) => Ok(true),
            Err(e) if is_fk_violation(&e) => Ok(false),
            Err(e) => Err(internal(e)),
        }
    }

    async fn unfollow(&self, follower: i64, followee: i64) -> DomainResult<()> {
        const SQL: &str = "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2";
        sql::execute(self, SQL, &[Value::Int(follower), Value::Int(followee)]).await.map_err(internal)?;
        Ok(())
    }

    async fn followers(&self, q: &ListQuery) -> DomainResult<Fetched<User>> {
        sql::list::<UserRow, User>(self, &FOLLOWERS, q, to_user).await.map_err(internal)
    }

    async fn following(&self, q: &ListQuery) -> DomainResult<Fetched<User>> {
        sql::list::<UserRow, User>(self, &FOLLOWING, q, to_user).await.map_err(internal)
    }
}
