//! `Query`: reads, over the same services as REST.

use async_graphql::{Context, ID, Object, Result};

use super::types::{PostConnection, PostNode, ProductNode, UserNode, actor, req};
use super::{Gql, cursor_page, id, offset_page};

/// The root of reads.
pub struct Query;

#[Object]
impl Query {
    /// The caller, or null when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<UserNode>> {
        let r = req(ctx);
        let Some(uid) = r.actor.user_id() else { return Ok(None) };
        Ok(Some(UserNode(r.services.users.get(&r.actor, uid).await.gql()?)))
    }

    /// One user; null with a `USER_NOT_FOUND` error when there is none.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<UserNode>> {
        let r = req(ctx);
        Ok(Some(UserNode(r.services.users.get(&r.actor, super::id(&id)?).await.gql()?)))
    }

    /// Users by id, searchable by name.
    async fn users(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
        search: Option<String>,
    ) -> Result<Vec<UserNode>> {
        let r = req(ctx);
        let mut extra = Vec::new();
        if let Some(q) = search {
            extra.push(("q", q));
        }
        let page = r.services.users.list(&r.actor, &offset_page(limit, offset, extra)).await.gql()?;
        Ok(page.items.into_iter().map(UserNode).collect())
    }

    /// One post; null with a `POST_NOT_FOUND` error when there is none.
    async fn post(&self, ctx: &Context<'_>, id: ID) -> Result<Option<PostNode>> {
        let r = req(ctx);
        Ok(Some(PostNode(r.services.posts.get(&r.actor, super::id(&id)?).await.gql()?)))
    }

    /// Posts, newest first, optionally by one author.
    async fn posts(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        cursor: Option<String>,
        author_id: Option<ID>,
    ) -> Result<PostConnection> {
        let r = req(ctx);
        let mut extra = Vec::new();
        if let Some(a) = author_id {
            extra.push(("author_id", id(&a)?.to_string()));
        }
        let page = r.services.posts.list(&r.actor, &cursor_page(limit.unwrap_or(20), cursor, &extra)).await.gql()?;
        Ok(PostConnection::from(page))
    }

    /// Posts by the users the caller follows, newest first.
    async fn feed(&self, ctx: &Context<'_>, limit: Option<i32>, cursor: Option<String>) -> Result<PostConnection> {
        let r = req(ctx);
        let page = r.services.feed.feed(actor(ctx), &cursor_page(limit.unwrap_or(20), cursor, &[])).await.gql()?;
        Ok(PostConnection::from(page))
    }

    /// Products by id, searchable and filterable like `GET /products`.
    async fn products(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
        search: Option<String>,
        category: Option<String>,
        in_stock: Option<bool>,
    ) -> Result<Vec<ProductNode>> {
        let r = req(ctx);
        let mut extra = Vec::new();
        if let Some(q) = search {
            extra.push(("q", q));
        }
        if let Some(c) = category {
            extra.push(("category", c));
        }
        if let Some(s) = in_stock {
            extra.push(("in_stock", s.to_string()));
        }
        let page = r.services.products.list(&r.actor, &offset_page(limit, offset, extra)).await.gql()?;
        Ok(page.items.into_iter().map(ProductNode).collect())
    }
}
