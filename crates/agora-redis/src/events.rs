//! The domain event bus across instances: Redis pub/sub.
//!
//! Every instance publishes its events to one Redis channel and delivers to its own
//! subscribers only what it receives from that channel — its own events included — so a
//! GraphQL subscriber connected to any instance sees a post created on any other, exactly
//! once. Publishing never waits on Redis: events go through a bounded queue to one
//! publishing task (which keeps their order). When Redis cannot take an event, the instance
//! delivers it to its own subscribers directly, so live updates degrade to one instance
//! rather than stopping.

use std::sync::Arc;
use std::time::Duration;

use agora_core::events::{DomainEvent, EventBus, InProcessBus};
use futures::StreamExt;
use tokio::sync::{broadcast, mpsc};

use crate::Conn;

/// Events waiting to be published; beyond this, new ones are delivered locally only.
const QUEUE: usize = 4096;
/// The wait before subscribing again after the subscription connection dropped.
const RECONNECT: Duration = Duration::from_secs(1);

/// The bus ([`EventBus`]) over Redis pub/sub.
pub struct RedisBus {
    local: InProcessBus,
    queue: mpsc::Sender<DomainEvent>,
}

impl RedisBus {
    /// Starts the bus on `channel`: the publishing task over `conn`, and the subscribing task
    /// on its own connection to `url` (the first node of a cluster: a cluster broadcasts
    /// `PUBLISH` to every node). Must be called inside a Tokio runtime.
    pub fn start(url: &str, conn: Conn, channel: String) -> Result<Arc<Self>, String> {
        let node = url.split(',').map(str::trim).find(|n| !n.is_empty()).unwrap_or(url);
        let client = redis::Client::open(node).map_err(|e| format!("`redis_url`: {e}"))?;
        let local = InProcessBus::new();
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(publish_loop(rx, conn, channel.clone(), local.clone()));
        tokio::spawn(subscribe_loop(client, channel, local.clone()));
        Ok(Arc::new(RedisBus { local, queue }))
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: DomainEvent) {
        if let Err(e) = self.queue.try_send(event) {
            tracing::warn!("event queue to Redis is full; delivering on this instance only");
            self.local.publish(e.into_inner());
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.local.subscribe()
    }
}

async fn publish_loop(mut rx: mpsc::Receiver<DomainEvent>, mut conn: Conn, channel: String, local: InProcessBus) {
    while let Some(event) = rx.recv().await {
        let Ok(payload) = serde_json::to_string(&event) else { continue };
        let sent: Result<i64, _> = redis::cmd("PUBLISH").arg(&channel).arg(payload).query_async(&mut conn).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot publish an event to Redis; delivering on this instance only");
            local.publish(event);
        }
    }
}

async fn subscribe_loop(client: redis::Client, channel: String, local: InProcessBus) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(payload) = msg.get_payload::<String>() else { continue };
                        match serde_json::from_str::<DomainEvent>(&payload) {
                            Ok(event) => local.publish(event),
                            Err(e) => tracing::warn!(error = %e, "an event from Redis could not be read"),
                        }
                    }
                    tracing::warn!("the Redis event subscription ended; subscribing again");
                }
                Err(e) => tracing::warn!(error = %e, "cannot subscribe to Redis events"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot connect to Redis for events"),
        }
        tokio::time::sleep(RECONNECT).await;
    }
}
