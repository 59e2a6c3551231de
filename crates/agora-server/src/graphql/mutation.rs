//! `Mutation`: writes, over the same services (and so the same rules and errors) as REST. An
//! input object is read as the JSON body of the REST operation it mirrors, by the same
//! `input!` reader, so a bad field is the same `VALIDATION_ERROR` with the same `details`.

use agora_core::comments::NewComment;
use agora_core::posts::NewPost;
use agora_core::users::{NewUser, UserPatch};
use async_graphql::{Context, ID, InputObject, Object, Result};
use serde::Serialize;

use super::types::{CommentNode, PostNode, UserNode, req};
use super::{Gql, id};

/// `createUser`: public sign-up.
#[derive(InputObject, Serialize)]
pub struct CreateUserInput {
    name: String,
    email: String,
    password: String,
}

/// `updateUser`: the fields to change.
#[derive(InputObject, Serialize)]
pub struct UpdateUserInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

/// `createPost`.
#[derive(InputObject, Serialize)]
pub struct CreatePostInput {
    title: String,
    content: String,
}

/// Reads `value` as the domain input `T`, as if it were a REST body.
fn domain<T>(value: impl Serialize) -> Result<T>
where
    T: for<'a> TryFrom<&'a agora_core::input::JsonObject, Error = agora_core::DomainError>,
{
    let obj = match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    T::try_from(&obj).gql()
}

/// The caller's user id, or `UNAUTHENTICATED`.
fn me(ctx: &Context<'_>) -> Result<i64> {
    req(ctx)
        .actor
        .user_id()
        .ok_or_else(|| super::error(agora_core::DomainError::from(agora_core::ErrorCode::Unauthenticated)))
}

/// The root of writes.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Signs up.
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<UserNode> {
        let r = req(ctx);
        let input: NewUser = domain(input)?;
        Ok(UserNode(r.services.users.create(&r.actor, input).await.gql()?))
    }

    /// Changes a user's name or email (that user or an administrator).
    async fn update_user(&self, ctx: &Context<'_>, id: ID, input: UpdateUserInput) -> Result<UserNode> {
        let r = req(ctx);
        let patch: UserPatch = domain(input)?;
        Ok(UserNode(r.services.users.update(&r.actor, super::id(&id)?, patch, None).await.gql()?))
    }

    /// Deletes a user (that user or an administrator).
    async fn delete_user(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let r = req(ctx);
        r.services.users.delete(&r.actor, super::id(&id)?).await.gql()?;
        Ok(true)
    }

    /// Writes a post as the caller.
    async fn create_post(&self, ctx: &Context<'_>, input: CreatePostInput) -> Result<PostNode> {
        let r = req(ctx);
        let input: NewPost = domain(input)?;
        Ok(PostNode(r.services.posts.create(&r.actor, input).await.gql()?))
    }

    /// Comments on a post as the caller.
    async fn add_comment(&self, ctx: &Context<'_>, post_id: ID, content: String) -> Result<CommentNode> {
        let r = req(ctx);
        let input: NewComment = domain(serde_json::json!({ "content": content }))?;
        Ok(CommentNode(r.services.comments.create(&r.actor, id(&post_id)?, input).await.gql()?))
    }

    /// The caller follows `userId`.
    async fn follow(&self, ctx: &Context<'_>, user_id: ID) -> Result<bool> {
        let r = req(ctx);
        r.services.follows.follow(&r.actor, me(ctx)?, id(&user_id)?).await.gql()?;
        Ok(true)
    }

    /// The caller stops following `userId`.
    async fn unfollow(&self, ctx: &Context<'_>, user_id: ID) -> Result<bool> {
        let r = req(ctx);
        r.services.follows.unfollow(&r.actor, me(ctx)?, id(&user_id)?).await.gql()?;
        Ok(true)
    }

    /// The caller likes a post; the post as it is now.
    async fn like_post(&self, ctx: &Context<'_>, post_id: ID) -> Result<PostNode> {
        let r = req(ctx);
        let pid = id(&post_id)?;
        r.services.posts.like(&r.actor, pid).await.gql()?;
        Ok(PostNode(r.services.posts.get(&r.actor, pid).await.gql()?))
    }

    /// The caller no longer likes a post; the post as it is now.
    async fn unlike_post(&self, ctx: &Context<'_>, post_id: ID) -> Result<PostNode> {
        let r = req(ctx);
        let pid = id(&post_id)?;
        r.services.posts.unlike(&r.actor, pid).await.gql()?;
        Ok(PostNode(r.services.posts.get(&r.actor, pid).await.gql()?))
    }
}
