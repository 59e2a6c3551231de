use agora_core::comments::{Comment, CommentRepo, NewComment};
use agora_core::error::DomainResult;
use agora_core::list::{Fetched, ListQuery, Value};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::SqlStore;
use crate::error::{internal, is_fk_violation};
use crate::sql::{self, Table};

const COLUMNS: &str = "id, post_id, author_id, content, created_at";

pub(crate) static TABLE: Table = Table::plain("comments", COLUMNS, &["content"]);

#[derive(sqlx::FromRow)]
struct CommentRow {
    id: i64,
    post_id: i64,
    author_id: i64,
    content: String,
    created_at: DateTime<Utc>,
}

fn to_comment(r: CommentRow) -> Comment {
    Comment { id: r.id, post_id: r.post_id, author_id: r.author_id, content: r.content, created_at: r.created_at }
}

#[async_trait]
impl CommentRepo for SqlStore {
    async fn create(
        &self,
        post_id: i64,
        author_id: i64,
        new: &NewComment,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<Comment>> {
        const SQL: &str = "INSERT INTO comments (post_id, author_id, content, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, post_id, author_id, content, created_at";
        let vals =
            [Value::Int(post_id), Value::Int(author_id), Value::Text(new.content.as_str().into()), Value::Time(now)];
        match sql::fetch_optional::<CommentRow>(self, SQL, &vals).await {
            Ok(row) => Ok(row.map(to_comment)),
            // The post (or, deleted meanwhile, the author) does not exist.
            Err(e) if is_fk_violation(&e) => Ok(None),
            Err(e) => Err(internal(e)),
        }
    }

    async fn get(&self, id: i64) -> DomainResult<Option<Comment>> {
        const SQL: &str = "SELECT id, post_id, author_id, content, created_at FROM comments WHERE id = $1";
        let row: Option<CommentRow> = sql::fetch_optional(self, SQL, &[Value::Int(id)]).await.map_err(internal)?;
        Ok(row.map(to_comment))
    }

    async fn list(&self, q: &ListQuery) -> DomainResult<Fetched<Comment>> {
        sql::list::<CommentRow, Comment>(self, &TABLE, q, to_comment).await.map_err(internal)
    }

    async fn first_per_post(&self, posts: &[i64], q: &ListQuery) -> DomainResult<Vec<Comment>> {
        sql::first_per_parent(self, &TABLE, "post_id", posts, q, to_comment).await.map_err(internal)
    }

    async fn delete(&self, id: i64) -> DomainResult<bool> {
        const SQL: &str = "DELETE FROM comments WHERE id = $1";
        Ok(sql::execute(self, SQL, &[Value::Int(id)]).await.map_err(internal)? > 0)
    }
}
