use agora_core::DomainError;
use agora_core::error::{DomainResult, FieldError};
use agora_core::feed::FeedRepo;
use agora_core::list::{Fetched, ListQuery, Value};
use agora_core::posts::Post;
use agora_core::posts::{NewPost, PostPatch, PostRepo};
use agora_core::repo::Written;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{internal, is_fk_violation};
use crate::sql::{self, Table};
use crate::{SqlStore, on_conn};

const COLUMNS: &str = "id, author_id, title, content, likes, comment_count, created_at, updated_at, version";

pub(crate) static TABLE: Table = Table::plain("posts", COLUMNS, &["title", "content"]);

/// Posts by the authors someone follows: filtered by `follower_id`. `follows` names none of
/// the posts' columns, so the list's unqualified columns stay the posts'. The keyset walks
/// `posts(author_id, created_at, id)` per followed author.
pub(crate) static FEED: Table = Table {
    name: "posts JOIN follows ON follows.followee_id = posts.author_id",
    columns: COLUMNS,
    search: &["title", "content"],
    base: "posts",
    key: "posts.id",
};

#[derive(sqlx::FromRow)]
struct PostRow {
    id: i64,
    author_id: i64,
    title: String,
    content: String,
    likes: i64,
    comment_count: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

fn to_post(r: PostRow) -> Post {
    Post {
        id: r.id,
        author_id: r.author_id,
        title: r.title,
        content: r.content,
        likes: r.likes,
        comment_count: r.comment_count,
        created_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
    }
}

#[async_trait]
impl PostRepo for SqlStore {
    async fn create(&self, author_id: i64, new: &NewPost, now: DateTime<Utc>) -> DomainResult<Post> {
        const SQL: &str = "INSERT INTO posts (author_id, title, content, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             RETURNING id, author_id, title, content, likes, comment_count, created_at, updated_at, version";
        let vals = [
            Value::Int(author_id),
            Value::Text(new.title.as_str().into()),
            Value::Text(new.content.as_str().into()),
            Value::Time(now),
        ];
        let res: Result<PostRow, sqlx::Error> = match sql::fetch_optional(self, SQL, &vals).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(sqlx::Error::RowNotFound),
            Err(e) => Err(e),
        };
        match res {
            Ok(r) => Ok(to_post(r)),
            Err(e) if is_fk_violation(&e) => {
                Err(DomainError::validation(vec![FieldError::new("author_id", "not_found", "no user has this id")]))
            }
            Err(e) => Err(internal(e)),
        }
    }

    async fn get(&self, id: i64) -> DomainResult<Option<Post>> {
        const SQL: &str = "SELECT id, author_id, title, content, likes, comment_count, created_at, updated_at, version \
             FROM posts WHERE id = $1";
        let row: Option<PostRow> =
            on_conn!(self, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await).map_err(internal)?;
        Ok(row.map(to_post))
    }

    async fn get_many(&self, ids: &[i64]) -> DomainResult<Vec<Post>> {
        let text = format!("SELECT {COLUMNS} FROM posts WHERE id IN ({})", sql::placeholders(ids.len()));
        let params = ids.iter().map(|i| Value::Int(*i)).collect();
        let rows: Vec<PostRow> = sql::fetch_all(self, sql::Sql { text, params }).await.map_err(internal)?;
        Ok(rows.into_iter().map(to_post).collect())
    }

    async fn first_per_author(&self, authors: &[i64], q: &ListQuery) -> DomainResult<Vec<Post>> {
        sql::first_per_parent(self, &TABLE, "author_id", authors, q, to_post).await.map_err(internal)
    }

    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Post>> {
        sql::list::<PostRow, Post>(self, &TABLE, q, to_post).await.map_err(internal)
    }

    async fn update(
        &self,
        id: i64,
        expected_version: Option<i64>,
        c: &PostPatch,
        now: DateTime<Utc>,
    ) -> DomainResult<Written<Post>> {
        const SQL: &str = "UPDATE posts SET title = COALESCE($1, title), content = COALESCE($2, content), \
             updated_at = $3, version = version + 1 \
             WHERE id = $4 AND ($5 IS NULL OR version = $5) \
             RETURNING id, author_id, title, content, likes, comment_count, created_at, updated_at, version";
        let vals = [
            Value::opt_text(c.title.as_ref().map(|t| t.as_str().into())),
            Value::opt_text(c.content.as_ref().map(|t| t.as_str().into())),
            Value::Time(now),
            Value::Int(id),
            Value::opt_int(expected_version),
        ];
        let res: Result<Option<PostRow>, sqlx::Error> = sql::fetch_optional(self, SQL, &vals).await;
        match res.map_err(internal)? {
            Some(r) => Ok(Written::Done(to_post(r))),
            None => Ok(if self.get(id).await?.is_some() { Written::VersionMismatch } else { Written::Missing }),
        }
    }

    async fn like(&self, post_id: i64, user_id: i64, now: DateTime<Utc>) -> DomainResult<bool> {
        const SQL: &str = "INSERT INTO post_likes (post_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (post_id, user_id) DO NOTHING";
        match sql::execute(self, SQL, &[Value::Int(post_id), Value::Int(user_id), Value::Time(now)]).await {
            Ok(_) => Ok(true),
            // The post (or, deleted meanwhile, the user) does not exist.
            Err(e) if is_fk_violation(&e) => Ok(false),
            Err(e) => Err(internal(e)),
        }
    }

    async fn unlike(&self, post_id: i64, user_id: i64) -> DomainResult<()> {
        const SQL: &str = "DELETE FROM post_likes WHERE post_id = $1 AND user_id = $2";
        sql::execute(self, SQL, &[Value::Int(post_id), Value::Int(user_id)]).await.map_err(internal)?;
        Ok(())
    }

    async fn delete(&self, id: i64) -> DomainResult<bool> {
        let done = on_conn!(self, p => sqlx::query("DELETE FROM posts WHERE id = $1").bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(internal)?;
        Ok(done > 0)
    }
}

#[async_trait]
impl FeedRepo for SqlStore {
    async fn feed(&self, q: &ListQuery) -> DomainResult<Fetched<Post>> {
        sql::list::<PostRow, Post>(self, &FEED, q, to_post).await.map_err(internal)
    }
}
