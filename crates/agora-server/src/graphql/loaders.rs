//! Batched loading: every user (or post) a response refers to is fetched in one statement per
//! batch, however many objects refer to it.

use std::collections::HashMap;

use agora_core::Actor;
use agora_core::comments::Comment;
use agora_core::list::Page;
use agora_core::posts::Post;
use agora_core::services::Services;
use agora_core::users::User;
use async_graphql::dataloader::Loader;

use super::Gql;

/// Users by id.
pub struct UserLoader {
    /// The services of the request.
    pub services: Services,
    /// Who is asking.
    pub actor: Actor,
}

impl Loader<i64> for UserLoader {
    type Value = User;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, User>, async_graphql::Error> {
        let users = self.services.users.get_many(&self.actor, keys).await.gql()?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Posts by id.
pub struct PostLoader {
    /// The services of the request.
    pub services: Services,
    /// Who is asking.
    pub actor: Actor,
}

impl Loader<i64> for PostLoader {
    type Value = Post;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Post>, async_graphql::Error> {
        let posts = self.services.posts.get_many(&self.actor, keys).await.gql()?;
        Ok(posts.into_iter().map(|p| (p.id, p)).collect())
    }
}

/// The first page of posts of users, by `(user id, limit)`: one statement per distinct limit
/// for every user a response lists.
pub struct AuthorPostsLoader {
    /// The services of the request.
    pub services: Services,
    /// Who is asking.
    pub actor: Actor,
}

impl Loader<(i64, u64)> for AuthorPostsLoader {
    type Value = Page<Post>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[(i64, u64)]) -> Result<HashMap<(i64, u64), Page<Post>>, async_graphql::Error> {
        let mut out = HashMap::new();
        let mut limits: Vec<u64> = keys.iter().map(|k| k.1).collect();
        limits.sort_unstable();
        limits.dedup();
        for limit in limits {
            let authors: Vec<i64> = keys.iter().filter(|k| k.1 == limit).map(|k| k.0).collect();
            let pages = self.services.posts.first_pages_by_author(&self.actor, &authors, limit).await.gql()?;
            out.extend(pages.into_iter().map(|(a, p)| ((a, limit), p)));
        }
        Ok(out)
    }
}

/// The first page of comments of posts, by `(post id, limit)`.
pub struct PostCommentsLoader {
    /// The services of the request.
    pub services: Services,
    /// Who is asking.
    pub actor: Actor,
}

impl Loader<(i64, u64)> for PostCommentsLoader {
    type Value = Page<Comment>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[(i64, u64)]) -> Result<HashMap<(i64, u64), Page<Comment>>, async_graphql::Error> {
        let mut out = HashMap::new();
        let mut limits: Vec<u64> = keys.iter().map(|k| k.1).collect();
        limits.sort_unstable();
        limits.dedup();
        for limit in limits {
            let posts: Vec<i64> = keys.iter().filter(|k| k.1 == limit).map(|k| k.0).collect();
            let pages = self.services.comments.first_pages_by_post(&self.actor, &posts, limit).await.gql()?;
            out.extend(pages.into_iter().map(|(p, page)| ((p, limit), page)));
        }
        Ok(out)
    }
}
