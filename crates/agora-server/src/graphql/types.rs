//! The schema's object types: thin views over the domain entities. Every reference to another
//! object (a post's author, a comment's post) goes through a DataLoader, so a page of N posts
//! with their authors costs the same few statements whatever N.

use agora_core::Actor;
use agora_core::comments::Comment;
use agora_core::list::{Page, PageInfo};
use agora_core::posts::Post;
use agora_core::products::Product;
use agora_core::users::User;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::loaders::{AuthorPostsLoader, PostCommentsLoader, PostLoader, UserLoader};
use super::{Gql, Request, cursor_page};

/// The request's data: who is calling and the services.
pub(crate) fn req<'a>(ctx: &'a Context<'_>) -> &'a Request {
    ctx.data_unchecked::<Request>()
}

/// The calling actor.
pub(crate) fn actor<'a>(ctx: &'a Context<'_>) -> &'a Actor {
    &req(ctx).actor
}

/// A user. `email` is null unless the caller is that user or an administrator.
pub struct UserNode(pub User);

#[Object(name = "User")]
impl UserNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Null unless the caller is this user or an administrator.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        actor(ctx).is_self_or_admin(self.0.id).then_some(self.0.email.as_str())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The user's posts, newest first.
    async fn posts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] limit: Option<i32>,
        cursor: Option<String>,
    ) -> Result<PostConnection> {
        let limit = limit.unwrap_or(20);
        // A first page loads in one batch with every other user's in the response; a
        // cursor continues one user's list on its own.
        if cursor.is_none() && (1..=100).contains(&limit) {
            let key = (self.0.id, limit as u64);
            let page = ctx.data_unchecked::<DataLoader<AuthorPostsLoader>>().load_one(key).await?;
            return page.map(PostConnection::from).ok_or_else(|| super::not_found(agora_core::ErrorCode::UserNotFound));
        }
        let r = req(ctx);
        let page =
            r.services.posts.list_by_author(&r.actor, self.0.id, &cursor_page(limit, cursor, &[])).await.gql()?;
        Ok(PostConnection::from(page))
    }

    /// Who follows this user.
    async fn followers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] limit: Option<i32>,
        cursor: Option<String>,
    ) -> Result<UserConnection> {
        let r = req(ctx);
        let page = r
            .services
            .follows
            .followers(&r.actor, self.0.id, &cursor_page(limit.unwrap_or(20), cursor, &[]))
            .await
            .gql()?;
        Ok(UserConnection::from(page))
    }

    async fn followers_count(&self) -> i64 {
        self.0.followers_count
    }

    async fn following_count(&self) -> i64 {
        self.0.following_count
    }
}

/// A post.
pub struct PostNode(pub Post);

#[Object(name = "Post")]
impl PostNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn content(&self) -> &str {
        &self.0.content
    }

    /// The author (loaded in one batch with every other author the response needs).
    async fn author(&self, ctx: &Context<'_>) -> Result<UserNode> {
        let user = ctx.data_unchecked::<DataLoader<UserLoader>>().load_one(self.0.author_id).await?;
        user.map(UserNode).ok_or_else(|| super::not_found(agora_core::ErrorCode::UserNotFound))
    }

    /// The post's comments, oldest first.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] limit: Option<i32>,
        cursor: Option<String>,
    ) -> Result<CommentConnection> {
        let limit = limit.unwrap_or(20);
        if cursor.is_none() && (1..=100).contains(&limit) {
            let key = (self.0.id, limit as u64);
            let page = ctx.data_unchecked::<DataLoader<PostCommentsLoader>>().load_one(key).await?;
            return page
                .map(CommentConnection::from)
                .ok_or_else(|| super::not_found(agora_core::ErrorCode::PostNotFound));
        }
        let r = req(ctx);
        let page = r.services.comments.list(&r.actor, self.0.id, &cursor_page(limit, cursor, &[])).await.gql()?;
        Ok(CommentConnection::from(page))
    }

    async fn comments_count(&self) -> i64 {
        self.0.comment_count
    }

    async fn likes(&self) -> i64 {
        self.0.likes
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A comment on a post.
pub struct CommentNode(pub Comment);

#[Object(name = "Comment")]
impl CommentNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn content(&self) -> &str {
        &self.0.content
    }

    async fn author(&self, ctx: &Context<'_>) -> Result<UserNode> {
        let user = ctx.data_unchecked::<DataLoader<UserLoader>>().load_one(self.0.author_id).await?;
        user.map(UserNode).ok_or_else(|| super::not_found(agora_core::ErrorCode::UserNotFound))
    }

    async fn post(&self, ctx: &Context<'_>) -> Result<PostNode> {
        let post = ctx.data_unchecked::<DataLoader<PostLoader>>().load_one(self.0.post_id).await?;
        post.map(PostNode).ok_or_else(|| super::not_found(agora_core::ErrorCode::PostNotFound))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A product.
pub struct ProductNode(pub Product);

#[Object(name = "Product")]
impl ProductNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn category(&self) -> &str {
        &self.0.category
    }

    /// Minor units (`1999` = 19.99).
    async fn price(&self) -> i64 {
        self.0.price
    }

    async fn currency(&self) -> &str {
        &self.0.currency
    }

    async fn stock(&self) -> i64 {
        self.0.stock
    }

    async fn in_stock(&self) -> bool {
        self.0.stock > 0
    }
}

/// Where a page ends.
#[derive(SimpleObject)]
#[graphql(name = "PageInfo")]
pub struct PageInfoNode {
    /// Whether another page follows.
    has_next_page: bool,
    /// The cursor to pass as `cursor` for the next page.
    end_cursor: Option<String>,
}

impl PageInfoNode {
    fn of(info: &PageInfo) -> Self {
        match info {
            PageInfo::Cursor { next_cursor, has_more, .. } => {
                PageInfoNode { has_next_page: *has_more, end_cursor: next_cursor.clone() }
            }
            PageInfo::Page { next_cursor, .. } => {
                PageInfoNode { has_next_page: next_cursor.is_some(), end_cursor: next_cursor.clone() }
            }
            PageInfo::Offset { .. } => PageInfoNode { has_next_page: false, end_cursor: None },
        }
    }
}

macro_rules! connection {
    ($name:ident, $gql:literal, $node:ident, $entity:ty) => {
        /// A page of a collection.
        #[derive(SimpleObject)]
        #[graphql(name = $gql)]
        pub struct $name {
            /// The items.
            nodes: Vec<$node>,
            /// Where the page ends.
            page_info: PageInfoNode,
        }

        impl From<Page<$entity>> for $name {
            fn from(page: Page<$entity>) -> Self {
                let page_info = PageInfoNode::of(&page.info);
                $name { nodes: page.items.into_iter().map($node).collect(), page_info }
            }
        }
    };
}

connection!(PostConnection, "PostConnection", PostNode, Post);
connection!(UserConnection, "UserConnection", UserNode, User);
connection!(CommentConnection, "CommentConnection", CommentNode, Comment);
