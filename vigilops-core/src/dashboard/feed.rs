//! The dashboard's live feed: changes as they happen (an alert fired or resolved, a host gone
//! offline, a remediation moving), from every replica, to every dashboard socket.
//!
//! The replica where a change happens publishes it on the bus topic [`TOPIC`] (Redis pub/sub in
//! a cluster); each replica subscribes once and rebroadcasts locally. A socket that falls
//! behind skips events, never blocks anyone: an event only prompts a fresh summary, and the
//! summary is read from the store.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::summary::{Summary, SummaryCache};
use crate::alerting::engine::AlertObserver;
use crate::bus::Bus;
use crate::clock::Clock;
use crate::model::Alert;
use crate::remediation::flow::ProgressObserver;
use crate::store::{Store, StoreError};

/// The bus topic of dashboard events.
pub const TOPIC: &str = "dashboard";
/// Events a slow socket may lag behind before it skips some.
const LOCAL_QUEUE: usize = 256;

/// One change, as sent to sockets that asked for events (`?events=1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    AlertFired {
        alert_id: i64,
        title: String,
        severity: String,
        host_id: Option<i64>,
    },
    AlertResolved {
        alert_id: i64,
    },
    HostOffline {
        host_id: i64,
    },
    RemediationProgress {
        remediation_id: i64,
        alert_id: Option<i64>,
        /// The run's status after the change.
        status: String,
    },
}

/// One replica's end of the feed.
#[derive(Debug, Clone)]
pub struct DashboardFeed {
    bus: Arc<dyn Bus>,
    local: broadcast::Sender<LiveEvent>,
    summaries: Arc<SummaryCache>,
}

impl DashboardFeed {
    /// Subscribes this replica to the bus topic (in the background, on the current runtime).
    pub fn start(bus: Arc<dyn Bus>) -> Self {
        let (local, _) = broadcast::channel(LOCAL_QUEUE);
        let rebroadcast = local.clone();
        let summaries = Arc::new(SummaryCache::new());
        let changed = Arc::clone(&summaries);
        let topic_bus = Arc::clone(&bus);
        tokio::spawn(async move {
            loop {
                match topic_bus.subscribe(TOPIC).await {
                    Ok(mut subscription) => {
                        while let Some(payload) = subscription.next().await {
                            match serde_json::from_str::<LiveEvent>(&payload) {
                                // No socket listening is not an error.
                                Ok(event) => {
                                    changed.invalidate();
                                    drop(rebroadcast.send(event));
                                }
                                Err(error) => {
                                    tracing::warn!(%error, "unreadable dashboard event");
                                }
                            }
                        }
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "dashboard feed: cannot subscribe, retrying in 1 s");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Self {
            bus,
            local,
            summaries,
        }
    }

    /// The dashboard summary, shared by this replica's requests and sockets and recomputed
    /// after every change the feed delivers (see [`SummaryCache`]).
    pub async fn summary(
        &self,
        store: &dyn Store,
        clock: &dyn Clock,
    ) -> Result<Summary, StoreError> {
        self.summaries.get(store, clock).await
    }

    /// The events this replica hears from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe()
    }

    /// Tells every replica. Best effort: a bus failure is logged.
    pub async fn publish(&self, event: &LiveEvent) {
        match serde_json::to_string(event) {
            Ok(payload) => {
                if let Err(error) = self.bus.publish(TOPIC, &payload).await {
                    tracing::warn!(%error, "dashboard feed: publish failed");
                }
            }
            Err(error) => tracing::warn!(%error, "dashboard feed: cannot encode an event"),
        }
    }

    /// Publishes from synchronous callers (observers) without waiting.
    pub fn publish_later(&self, event: LiveEvent) {
        let feed = self.clone();
        tokio::spawn(async move { feed.publish(&event).await });
    }
}

impl AlertObserver for DashboardFeed {
    fn alert_fired(&self, alert: &Alert) {
        self.publish_later(LiveEvent::AlertFired {
            alert_id: alert.id,
            title: alert.title.clone(),
            severity: alert.severity.as_str().to_owned(),
            host_id: alert.host_id,
        });
    }

    fn alert_resolved(&self, alert_id: i64) {
        self.publish_later(LiveEvent::AlertResolved { alert_id });
    }
}

impl ProgressObserver for DashboardFeed {
    fn remediation_moved(&self, remediation_id: i64, alert_id: Option<i64>, step: &str) {
        self.publish_later(LiveEvent::RemediationProgress {
            remediation_id,
            alert_id,
            status: step.to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::InProcessBus;

    #[test]
    fn events_are_tagged_by_type() {
        let event = LiveEvent::HostOffline { host_id: 7 };
        assert_eq!(
            serde_json::to_value(&event).ok(),
            Some(serde_json::json!({"type": "host_offline", "host_id": 7}))
        );
    }

    #[tokio::test]
    async fn an_event_published_on_one_replica_is_heard_on_another() {
        let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new());
        let here = DashboardFeed::start(Arc::clone(&bus));
        let there = DashboardFeed::start(bus);
        let mut heard = here.subscribe();
        // Let both replicas' subscriptions start.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        there
            .publish(&LiveEvent::AlertResolved { alert_id: 3 })
            .await;
        let event = tokio::time::timeout(std::time::Duration::from_secs(2), heard.recv()).await;
        assert_eq!(
            event.ok().and_then(Result::ok),
            Some(LiveEvent::AlertResolved { alert_id: 3 })
        );
    }
}
