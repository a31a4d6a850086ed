//! Notifications between server replicas: a topic-based publish/subscribe with an in-process
//! implementation (one node) and a Redis one (clusters, when `REDIS_URL` is set).
//!
//! A message is a *hint* ("host 7 has queued commands"), never the data itself: the store stays
//! the source of truth, and subscribers also poll it, so a message lost while Redis reconnects
//! delays work by one poll interval and loses nothing. That is why delivery here is best effort
//! (a full subscriber queue drops the message).

use async_trait::async_trait;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// How many undelivered messages a subscriber may hold before new ones are dropped.
const SUBSCRIBER_QUEUE: usize = 1024;

/// What can go wrong on the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis failed or could not be reached.
    #[error("bus backend error: {0}")]
    Backend(String),
}

/// A stream of messages on one topic.
#[derive(Debug)]
pub struct Subscription {
    receiver: mpsc::Receiver<String>,
}

impl Subscription {
    /// The next message; `None` once the bus is gone.
    pub async fn next(&mut self) -> Option<String> {
        self.receiver.recv().await
    }
}

/// Publish/subscribe by topic name.
#[async_trait]
pub trait Bus: Send + Sync + fmt::Debug {
    /// Sends `payload` to every current subscriber of `topic`, on every replica.
    async fn publish(&self, topic: &str, payload: &str) -> Result<(), BusError>;
    /// Subscribes to `topic`; messages published after this returns are delivered.
    async fn subscribe(&self, topic: &str) -> Result<Subscription, BusError>;
}

/// The single-node bus: subscribers in this process only.
#[derive(Debug, Default, Clone)]
pub struct InProcessBus {
    topics: Arc<Mutex<HashMap<String, Vec<mpsc::Sender<String>>>>>,
}

impl InProcessBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, topic: &str, payload: &str) -> Result<(), BusError> {
        let mut topics = self
            .topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(subscribers) = topics.get_mut(topic) {
            subscribers.retain(|sender| !sender.is_closed());
            for sender in subscribers.iter() {
                // Best effort: a subscriber that is this far behind polls the store anyway.
                let _ = sender.try_send(payload.to_owned());
            }
        }
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> Result<Subscription, BusError> {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_QUEUE);
        self.topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(topic.to_owned())
            .or_default()
            .push(sender);
        Ok(Subscription { receiver })
    }
}

#[cfg(feature = "redis")]
pub use self::redis_bus::RedisBus;

#[cfg(feature = "redis")]
mod redis_bus {
    use super::{Bus, BusError, SUBSCRIBER_QUEUE, Subscription};
    use async_trait::async_trait;
    use futures::StreamExt;
    use tokio::sync::mpsc;

    /// The cluster bus: Redis PUBLISH/SUBSCRIBE under the `vigilops:` prefix.
    #[derive(Clone)]
    pub struct RedisBus {
        client: redis::Client,
        publisher: redis::aio::ConnectionManager,
    }

    impl std::fmt::Debug for RedisBus {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            // The client holds the URL, which may carry a password.
            formatter.write_str("RedisBus")
        }
    }

    fn backend(error: &redis::RedisError) -> BusError {
        BusError::Backend(error.to_string())
    }

    fn channel(topic: &str) -> String {
        format!("vigilops:{topic}")
    }

    impl RedisBus {
        /// A bus over the Redis `client`, publishing through `publisher`.
        pub fn new(client: redis::Client, publisher: redis::aio::ConnectionManager) -> Self {
            Self { client, publisher }
        }
    }

    #[async_trait]
    impl Bus for RedisBus {
        async fn publish(&self, topic: &str, payload: &str) -> Result<(), BusError> {
            let mut connection = self.publisher.clone();
            redis::cmd("PUBLISH")
                .arg(channel(topic))
                .arg(payload)
                .query_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(|error| backend(&error))
        }

        async fn subscribe(&self, topic: &str) -> Result<Subscription, BusError> {
            let channel = channel(topic);
            let mut pubsub = self
                .client
                .get_async_pubsub()
                .await
                .map_err(|error| backend(&error))?;
            pubsub
                .subscribe(&channel)
                .await
                .map_err(|error| backend(&error))?;
            let (sender, receiver) = mpsc::channel(SUBSCRIBER_QUEUE);
            let client = self.client.clone();
            tokio::spawn(async move {
                let mut pubsub = Some(pubsub);
                loop {
                    if let Some(connected) = pubsub.take() {
                        let mut messages = connected.into_on_message();
                        while let Some(message) = messages.next().await {
                            let Ok(payload) = message.get_payload::<String>() else {
                                continue;
                            };
                            if sender.try_send(payload).is_err() && sender.is_closed() {
                                return;
                            }
                        }
                    }
                    if sender.is_closed() {
                        return;
                    }
                    // The connection dropped: resubscribe. Messages published meanwhile are
                    // lost, which subscribers cover by polling the store.
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    match client.get_async_pubsub().await {
                        Ok(mut fresh) => {
                            if fresh.subscribe(&channel).await.is_ok() {
                                pubsub = Some(fresh);
                            }
                        }
                        Err(error) => tracing::warn!(%error, "redis bus reconnect failed"),
                    }
                }
            });
            Ok(Subscription { receiver })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_subscribers_of_a_topic_get_its_messages_only() {
        let bus = InProcessBus::new();
        let mut first = bus.subscribe("commands").await.unwrap();
        let mut second = bus.subscribe("commands").await.unwrap();
        let mut other = bus.subscribe("other").await.unwrap();
        bus.publish("commands", "7").await.unwrap();
        assert_eq!(first.next().await.as_deref(), Some("7"));
        assert_eq!(second.next().await.as_deref(), Some("7"));
        bus.publish("other", "x").await.unwrap();
        assert_eq!(other.next().await.as_deref(), Some("x"));
        drop(first);
        // A dropped subscriber is pruned, and publishing still works.
        bus.publish("commands", "8").await.unwrap();
        assert_eq!(second.next().await.as_deref(), Some("8"));
    }
}
