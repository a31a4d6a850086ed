//! Notification channels against local receivers that check requests the way the real platforms
//! do (signature, timestamp window, body shape) and answer with the platforms' real error bodies.

#[cfg(feature = "notify-email")]
mod email;
mod im;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use vigilops_core::notify::{Notification, NotificationKind, RetryPolicy, Sender, Severity};
use vigilops_core::{Clock, SystemClock};

/// What a receiver saw.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) hits: AtomicUsize,
    pub(crate) accepted: Mutex<Vec<serde_json::Value>>,
}

impl Seen {
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Serves `router` on an ephemeral port; the server lives as long as the test's runtime.
pub(crate) async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// A sender with short timeouts and delays so retry tests finish quickly; the schedule itself is
/// pinned by the sender's unit tests.
pub(crate) fn quick_sender() -> Sender {
    Sender::new(
        RetryPolicy {
            attempts: 3,
            attempt_timeout: Duration::from_millis(400),
            base_delay: Duration::from_millis(20),
            factor: 4,
            max_delay: Duration::from_secs(1),
            jitter: 0.2,
        },
        system_clock(),
    )
}

pub(crate) fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

pub(crate) fn alert() -> Notification {
    Notification::new(
        "CPU 使用率过高 - web-01",
        Severity::Critical,
        NotificationKind::Firing,
        "cpu_percent = 97.5 > 90.0",
    )
    .with_field("主机", "web-01")
    .with_link("查看告警", "https://vigilops.example/alerts/42")
}
