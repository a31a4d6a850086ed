//! The live log stream (`/ws/logs`, `rest-api.md` §21): every line stored by any replica, to
//! every socket whose filter takes it.
//!
//! The replica that stores a batch publishes it on the bus topic [`TOPIC`] (Redis pub/sub in a
//! cluster, so the stream sees the lines every replica ingests). Each replica subscribes once
//! and fans the lines out to its sockets through bounded queues: a socket that cannot keep up
//! loses lines, never slows ingestion or the other sockets, and its losses are counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::bus::Bus;
use crate::ingest::{DbReading, ReadingObserver};
use crate::model::{MetricSample, NewLogEntry};

/// The bus topic of stored log batches.
pub const TOPIC: &str = "logs";
/// Lines a socket may have waiting before new ones are dropped for it.
pub const SUBSCRIBER_QUEUE: usize = 1024;
/// How long a new socket waits for this replica's bus subscription at startup.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// One line as the socket sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveLine {
    pub host_id: i64,
    pub service: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
    pub message: String,
    pub timestamp: DateTime<Utc>,
}

impl From<NewLogEntry> for LiveLine {
    fn from(entry: NewLogEntry) -> Self {
        Self {
            host_id: entry.host_id,
            service: entry.service,
            source: entry.source,
            level: entry.level,
            message: entry.message,
            timestamp: entry.timestamp,
        }
    }
}

/// Which lines a socket wants: `host_id` and `service` exact, `levels` compared
/// case-insensitively (empty takes every level).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFilter {
    pub host_id: Option<i64>,
    pub service: Option<String>,
    /// Upper-cased.
    pub levels: Vec<String>,
}

impl LiveFilter {
    /// Whether `line` passes.
    pub fn takes(&self, line: &LiveLine) -> bool {
        self.host_id.is_none_or(|host| host == line.host_id)
            && self
                .service
                .as_ref()
                .is_none_or(|service| line.service.as_ref() == Some(service))
            && (self.levels.is_empty()
                || line.level.as_ref().is_some_and(|level| {
                    self.levels
                        .iter()
                        .any(|wanted| wanted.eq_ignore_ascii_case(level))
                }))
    }
}

/// A socket's lines.
#[derive(Debug)]
pub struct LiveSubscription {
    receiver: mpsc::Receiver<LiveLine>,
    dropped: Arc<AtomicU64>,
}

impl LiveSubscription {
    /// The next line; `None` once the stream is gone.
    pub async fn next(&mut self) -> Option<LiveLine> {
        self.receiver.recv().await
    }

    /// Lines dropped so far because this subscription's queue was full; resets the count.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Subscriber {
    filter: LiveFilter,
    sender: mpsc::Sender<LiveLine>,
    dropped: Arc<AtomicU64>,
}

/// One replica's end of the stream.
#[derive(Debug, Clone)]
pub struct LogStream {
    bus: Arc<dyn Bus>,
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
    ready: watch::Receiver<bool>,
}

impl LogStream {
    /// Subscribes this replica to the bus topic (in the background, on the current runtime) and
    /// starts fanning lines out.
    pub fn start(bus: Arc<dyn Bus>) -> Self {
        let subscribers: Arc<Mutex<Vec<Subscriber>>> = Arc::default();
        let (ready_sender, ready) = watch::channel(false);
        let fan_out = Arc::clone(&subscribers);
        let topic_bus = Arc::clone(&bus);
        tokio::spawn(async move {
            loop {
                match topic_bus.subscribe(TOPIC).await {
                    Ok(mut subscription) => {
                        let _ = ready_sender.send(true);
                        while let Some(payload) = subscription.next().await {
                            match serde_json::from_str::<Vec<LiveLine>>(&payload) {
                                Ok(lines) => deliver(&fan_out, lines),
                                Err(error) => {
                                    tracing::warn!(%error, "unreadable log stream message");
                                }
                            }
                        }
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "log stream: cannot subscribe, retrying in 1 s");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Self {
            bus,
            subscribers,
            ready,
        }
    }

    /// A subscription for a socket. Waits (a few seconds at most) until this replica listens
    /// to the bus, so a socket opened at startup misses nothing stored after it opened.
    pub async fn subscribe(&self, filter: LiveFilter) -> LiveSubscription {
        let mut ready = self.ready.clone();
        let _ = tokio::time::timeout(READY_WAIT, ready.wait_for(|ready| *ready)).await;
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        lock(&self.subscribers).push(Subscriber {
            filter,
            sender,
            dropped: Arc::clone(&dropped),
        });
        LiveSubscription { receiver, dropped }
    }

    /// Sockets listening on this replica.
    pub fn subscriber_count(&self) -> usize {
        let mut subscribers = lock(&self.subscribers);
        subscribers.retain(|subscriber| !subscriber.sender.is_closed());
        subscribers.len()
    }

    /// Publishes a stored batch to every replica's sockets. Best effort: a bus failure is
    /// logged, and never fails the ingestion that stored the lines.
    pub async fn publish(&self, entries: Vec<NewLogEntry>) {
        if entries.is_empty() {
            return;
        }
        let lines: Vec<LiveLine> = entries.into_iter().map(LiveLine::from).collect();
        match serde_json::to_string(&lines) {
            Ok(payload) => {
                if let Err(error) = self.bus.publish(TOPIC, &payload).await {
                    tracing::warn!(%error, "log stream: publish failed");
                }
            }
            Err(error) => tracing::warn!(%error, "log stream: cannot encode lines"),
        }
    }
}

fn lock(subscribers: &Mutex<Vec<Subscriber>>) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
    subscribers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Hands each line to every open subscriber that takes it, counting what full queues drop.
fn deliver(subscribers: &Mutex<Vec<Subscriber>>, lines: Vec<LiveLine>) {
    let mut subscribers = lock(subscribers);
    subscribers.retain(|subscriber| !subscriber.sender.is_closed());
    for line in lines {
        for subscriber in subscribers.iter() {
            if subscriber.filter.takes(&line) && subscriber.sender.try_send(line.clone()).is_err() {
                subscriber.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[async_trait]
impl ReadingObserver for LogStream {
    async fn metrics_stored(&self, _sample: MetricSample) {}

    async fn check_stored(&self, _service_id: i64, _host_id: i64, _down: bool, _at: DateTime<Utc>) {
    }

    async fn db_metric_stored(&self, _reading: DbReading) {}

    async fn logs_stored(&self, entries: Vec<NewLogEntry>) {
        self.publish(entries).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::InProcessBus;
    use chrono::TimeZone;

    fn entry(host_id: i64, service: &str, level: Option<&str>, message: &str) -> NewLogEntry {
        NewLogEntry {
            host_id,
            service: Some(service.to_owned()),
            source: Some("/var/log/app.log".to_owned()),
            level: level.map(str::to_owned),
            message: message.to_owned(),
            timestamp: Utc
                .with_ymd_and_hms(2026, 11, 27, 8, 0, 0)
                .single()
                .unwrap_or_default(),
        }
    }

    #[test]
    fn filters_take_exact_hosts_and_services_and_any_listed_level() {
        let line = LiveLine::from(entry(7, "api", Some("ERROR"), "boom"));
        assert!(LiveFilter::default().takes(&line));
        let filter = LiveFilter {
            host_id: Some(7),
            service: Some("api".into()),
            levels: vec!["WARN".into(), "ERROR".into()],
        };
        assert!(filter.takes(&line));
        assert!(
            !LiveFilter {
                host_id: Some(8),
                ..LiveFilter::default()
            }
            .takes(&line)
        );
        assert!(
            !LiveFilter {
                service: Some("ap".into()),
                ..LiveFilter::default()
            }
            .takes(&line)
        );
        assert!(
            !LiveFilter {
                levels: vec!["INFO".into()],
                ..LiveFilter::default()
            }
            .takes(&line)
        );
        let without_level = LiveLine::from(entry(7, "api", None, "plain"));
        assert!(!filter.takes(&without_level));
    }

    #[tokio::test]
    async fn every_subscriber_gets_its_lines_and_a_slow_one_counts_its_losses() {
        let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new());
        let stream = LogStream::start(Arc::clone(&bus));
        // Another replica on the same bus publishes; this one's sockets see it.
        let other_replica = LogStream::start(bus);
        let mut errors = stream
            .subscribe(LiveFilter {
                levels: vec!["ERROR".into()],
                ..LiveFilter::default()
            })
            .await;
        let mut everything = stream.subscribe(LiveFilter::default()).await;
        other_replica
            .publish(vec![
                entry(1, "api", Some("INFO"), "started"),
                entry(1, "api", Some("ERROR"), "boom"),
            ])
            .await;
        assert_eq!(
            everything.next().await.map(|l| l.message),
            Some("started".into())
        );
        assert_eq!(
            everything.next().await.map(|l| l.message),
            Some("boom".into())
        );
        assert_eq!(errors.next().await.map(|l| l.message), Some("boom".into()));

        // Nobody reads `errors` now: past its queue, its lines are dropped and counted.
        let burst: Vec<NewLogEntry> = (0..SUBSCRIBER_QUEUE + 10)
            .map(|index| entry(1, "api", Some("ERROR"), &format!("line {index}")))
            .collect();
        stream.publish(burst).await;
        for _ in 0..SUBSCRIBER_QUEUE {
            assert!(everything.next().await.is_some());
        }
        assert_eq!(errors.take_dropped(), 10);
        assert_eq!(errors.take_dropped(), 0, "the count resets once told");
        drop(errors);
        assert_eq!(stream.subscriber_count(), 1);
    }
}
