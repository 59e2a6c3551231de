//! `Subscription`: domain events as they happen, from the same event bus the services publish
//! to (after their transaction commits), so a post created over REST or GraphQL reaches every
//! subscriber.

use agora_core::events::DomainEvent;
use async_graphql::{Context, ID, Result, Subscription as GqlSubscription};
use futures::Stream;
use futures::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use super::id;
use super::types::{CommentNode, PostNode, req};

/// The root of subscriptions.
pub struct Subscription;

/// The events from now on, ending with an error when this subscriber falls so far behind that
/// the bus dropped events for it: a slow subscriber is cut off rather than holding anyone up.
fn events(ctx: &Context<'_>) -> impl Stream<Item = Result<DomainEvent>> + Send + 'static + use<> {
    let rx = req(ctx).services.events().subscribe();
    futures::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Ok(event) => Some((Ok(event), Some(rx))),
            Err(RecvError::Lagged(missed)) => Some((
                Err(super::error(agora_core::DomainError::new(
                    agora_core::ErrorCode::RateLimitExceeded,
                    format!("This subscriber fell {missed} events behind and was dropped; subscribe again."),
                ))),
                None,
            )),
            Err(RecvError::Closed) => None,
        }
    })
}

#[GqlSubscription]
impl Subscription {
    /// Posts as they are published, by one author or by anyone.
    async fn post_created(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<PostNode>> + use<>> {
        let author = user_id.as_ref().map(id).transpose()?;
        Ok(events(ctx).filter_map(move |e| {
            let item = match e {
                Ok(DomainEvent::PostCreated(p)) if author.is_none_or(|a| p.author_id == a) => Some(Ok(PostNode(p))),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            };
            std::future::ready(item)
        }))
    }

    /// Comments as they are added to one post.
    async fn comment_added(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
    ) -> Result<impl Stream<Item = Result<CommentNode>> + use<>> {
        let post = id(&post_id)?;
        Ok(events(ctx).filter_map(move |e| {
            let item = match e {
                Ok(DomainEvent::CommentAdded(c)) if c.post_id == post => Some(Ok(CommentNode(c))),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            };
            std::future::ready(item)
        }))
    }
}
