//! Batched loading: every user (or post) a response refers to is fetched in one statement per
//! batch, however many objects refer to it.

use std::collections::HashMap;

use agora_core::Actor;
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
