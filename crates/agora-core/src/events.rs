//! Domain events: what happened, for whoever listens (the GraphQL subscriptions).
//!
//! Services publish through the [`EventBus`] port after their write succeeded. Inside a unit
//! of work (a request whose writes commit with its idempotency record) the bus the services
//! get holds events back until the unit commits, so nobody hears of a post that was rolled
//! back.

use tokio::sync::broadcast;

use crate::comments::Comment;
use crate::posts::Post;

/// Something that happened. Serialisable, so that a bus can carry it between instances.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum DomainEvent {
    /// A post was published.
    PostCreated(Post),
    /// A comment was added to a post.
    CommentAdded(Comment),
}

/// Where events go.
pub trait EventBus: Send + Sync {
    /// Publishes `event` to every current subscriber; never blocks and never fails the write
    /// that caused it.
    fn publish(&self, event: DomainEvent);
    /// A new subscription to every event published from now on.
    fn subscribe(&self) -> broadcast::Receiver<DomainEvent>;
}

/// The in-process bus: a bounded broadcast channel. A subscriber that falls more than
/// [`InProcessBus::CAPACITY`] events behind loses the oldest (its next receive says how many)
/// instead of holding up the publisher or the other subscribers.
#[derive(Debug, Clone)]
pub struct InProcessBus {
    tx: broadcast::Sender<DomainEvent>,
}

impl InProcessBus {
    /// Events a subscriber may fall behind by.
    pub const CAPACITY: usize = 1024;

    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        Self { tx: broadcast::channel(Self::CAPACITY).0 }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, event: DomainEvent) {
        // No subscriber is not an error: nobody is listening.
        let _ = self.tx.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn post(id: i64) -> Post {
        let at = chrono::DateTime::UNIX_EPOCH;
        Post {
            id,
            author_id: 1,
            title: "t".into(),
            content: "c".into(),
            likes: 0,
            comment_count: 0,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[tokio::test]
    async fn subscribers_hear_what_is_published_after_they_subscribe() {
        let bus = InProcessBus::new();
        bus.publish(DomainEvent::PostCreated(post(1)));
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        bus.publish(DomainEvent::PostCreated(post(2)));
        assert_eq!(a.recv().await.unwrap(), DomainEvent::PostCreated(post(2)));
        assert_eq!(b.recv().await.unwrap(), DomainEvent::PostCreated(post(2)));
    }

    #[tokio::test]
    async fn a_slow_subscriber_loses_the_oldest_and_holds_up_nobody() {
        let bus = InProcessBus::new();
        let mut slow = bus.subscribe();
        for i in 0..(InProcessBus::CAPACITY as i64 + 10) {
            bus.publish(DomainEvent::PostCreated(post(i)));
        }
        assert!(matches!(slow.recv().await, Err(broadcast::error::RecvError::Lagged(10))));
        assert_eq!(slow.recv().await.unwrap(), DomainEvent::PostCreated(post(10)));
    }
}
