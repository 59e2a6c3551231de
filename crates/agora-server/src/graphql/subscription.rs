//! `Subscription`: domain events as they happen, from the same event bus the services publish
//! to (after their transaction commits), so a post created over REST or GraphQL reaches every
//! subscriber.

use agora_core::events::DomainEvent;
use async_graphql::{Context, ID, Result, Subscription as GqlSubscription};
use futures::Stream;
use futures::StreamExt;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::id;
use super::types::{CommentNode, PostNode, req};

/// The root of subscriptions.
pub struct Subscription;

/// The events from now on, ending with an error when this subscriber falls so far behind that
/// the bus dropped events for it: a slow subscriber is cut off rather than holding anyone up.
fn events(ctx: &Context<'_>) -> impl Stream<Item = Result<DomainEvent>> + Send + 'static + use<> {
    from(req(ctx).services.events().subscribe())
}

/// [`events`] from one receiver of the bus.
fn from(rx: Receiver<DomainEvent>) -> impl Stream<Item = Result<DomainEvent>> + Send + 'static {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use agora_core::events::{EventBus, InProcessBus};
    use agora_core::posts::Post;
    use futures::StreamExt;

    use super::*;

    fn post(id: i64) -> DomainEvent {
        let now = chrono::DateTime::UNIX_EPOCH;
        DomainEvent::PostCreated(Post {
            id,
            author_id: 1,
            title: "t".into(),
            content: "c".into(),
            likes: 0,
            comment_count: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    /// A subscriber that stops reading is dropped with an error once it falls behind; the
    /// publisher never waits for it, and a subscriber that keeps up misses nothing.
    #[tokio::test]
    async fn a_slow_subscriber_is_dropped_and_holds_nobody_up() {
        let bus = InProcessBus::new();
        let slow = from(bus.subscribe());
        let mut fast = Box::pin(from(bus.subscribe()));
        let total = InProcessBus::CAPACITY as i64 + 10;
        for i in 0..total {
            bus.publish(post(i)); // never blocks, whoever lags
            let got = fast.next().await.unwrap().unwrap();
            assert_eq!(got, post(i));
        }
        let items: Vec<_> = slow.collect().await;
        let first = items.first().unwrap();
        let err = first.as_ref().unwrap_err();
        assert!(err.message.contains("fell"), "{}", err.message);
        assert_eq!(items.len(), 1, "the stream ends after the error");
    }
}
