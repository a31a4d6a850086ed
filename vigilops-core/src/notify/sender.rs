//! Delivery of one message to one channel: a timeout per attempt, exponential backoff with jitter
//! between attempts, retries only for failures that may pass, and a record of every attempt.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;

use super::http::truncate;
use super::{Channel, Notification, Outcome};
use crate::clock::Clock;

/// The longest `error` a notification-log row keeps.
const MAX_LOG_ERROR_CHARS: usize = 500;

/// When and how often to try.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1 (the `webhook_retry_count` setting, default 3).
    pub attempts: u32,
    /// The timeout of one attempt (10 s, like the original).
    pub attempt_timeout: Duration,
    /// The delay before the second attempt; each later one is `factor` times longer (1 s, 4 s,
    /// 16 s, … per §5.4).
    pub base_delay: Duration,
    /// The growth of the delay.
    pub factor: u32,
    /// No delay is longer than this.
    pub max_delay: Duration,
    /// Each delay is scaled by a random factor in `[1 - jitter, 1 + jitter]`, so channels that
    /// failed together do not retry in lockstep.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            attempt_timeout: Duration::from_secs(10),
            base_delay: Duration::from_secs(1),
            factor: 4,
            max_delay: Duration::from_secs(300),
            jitter: 0.2,
        }
    }
}

/// The delay before attempt `attempt + 1` (so `attempt` is 1 after the first failure), given a
/// `unit` random sample in `[0, 1)`. Pure, so tests pin the schedule.
pub fn backoff_delay(policy: &RetryPolicy, attempt: u32, unit: f64) -> Duration {
    let exponent = attempt.saturating_sub(1);
    let multiplier = policy.factor.max(1).saturating_pow(exponent);
    let nominal = policy
        .base_delay
        .saturating_mul(multiplier)
        .min(policy.max_delay);
    let jitter = policy.jitter.clamp(0.0, 1.0);
    let scale = 1.0 - jitter + 2.0 * jitter * unit.clamp(0.0, 1.0);
    nominal.mul_f64(scale).min(policy.max_delay)
}

/// The result of one attempt: one notification-log row when logging per attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How the platform judged it.
    pub outcome: Outcome,
    /// The wait before the next attempt, `None` when there is none.
    pub next_delay: Option<Duration>,
}

/// The final status of a delivery, as the `notification_logs.status` column spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// The platform accepted the message.
    Sent,
    /// Every attempt failed, or the platform refused it.
    Failed,
}

/// All attempts of one delivery, and the summary the notification log stores (§5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Each attempt, in order.
    pub attempts: Vec<AttemptRecord>,
    /// When the last attempt ended.
    pub finished_at: DateTime<Utc>,
}

impl DeliveryRecord {
    /// The last attempt's outcome.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.attempts.last().map(|attempt| &attempt.outcome)
    }

    /// `sent` or `failed`.
    pub fn status(&self) -> DeliveryStatus {
        match self.outcome() {
            Some(Outcome::Delivered { .. }) => DeliveryStatus::Sent,
            _ => DeliveryStatus::Failed,
        }
    }

    /// The log's `response_code`: the last attempt's.
    pub fn response_code(&self) -> Option<u16> {
        self.outcome().and_then(Outcome::response_code)
    }

    /// The log's `error`: the last failure, at most 500 characters.
    pub fn error(&self) -> Option<String> {
        let message = self.outcome()?.error_message()?;
        Some(match message.char_indices().nth(MAX_LOG_ERROR_CHARS) {
            Some((end, _)) => message[..end].to_owned(),
            None => message,
        })
    }

    /// The log's `retries`: the number of failed attempts.
    pub fn retries(&self) -> u32 {
        let failed = self
            .attempts
            .iter()
            .filter(|attempt| !matches!(attempt.outcome, Outcome::Delivered { .. }))
            .count();
        u32::try_from(failed).unwrap_or(u32::MAX)
    }
}

/// Delivers messages with a [`RetryPolicy`].
#[derive(Debug, Clone)]
pub struct Sender {
    policy: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl Sender {
    /// A sender using `policy`; `clock` stamps the records.
    pub fn new(policy: RetryPolicy, clock: Arc<dyn Clock>) -> Self {
        Self { policy, clock }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// This sender with `attempts` in all (at least 1).
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.policy.attempts = attempts.max(1);
        self
    }

    /// Delivers `message` to `channel`: each attempt bounded by the timeout; a platform rejection
    /// ends it at once; a transient failure, rate limit or timeout is retried after a backoff.
    pub async fn deliver(&self, channel: &dyn Channel, message: &Notification) -> DeliveryRecord {
        let attempts_allowed = self.policy.attempts.max(1);
        let mut attempts = Vec::new();
        for attempt in 1..=attempts_allowed {
            let started_at = self.clock.now();
            let outcome = match tokio::time::timeout(
                self.policy.attempt_timeout,
                channel.send(message),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_elapsed) => Outcome::TimedOut,
            };
            let retry = outcome.is_retryable() && attempt < attempts_allowed;
            let next_delay =
                retry.then(|| backoff_delay(&self.policy, attempt, rand::rng().random::<f64>()));
            if let Some(error) = outcome.error_message() {
                tracing::warn!(
                    channel = channel.kind().as_str(),
                    attempt,
                    error = %truncate(&error),
                    retry,
                    "notification attempt failed"
                );
            }
            attempts.push(AttemptRecord {
                attempt,
                started_at,
                outcome,
                next_delay,
            });
            match next_delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => break,
            }
        }
        DeliveryRecord {
            attempts,
            finished_at: self.clock.now(),
        }
    }

    /// Starts a delivery on its own task, so a channel that hangs or fails never holds up the
    /// caller (alert evaluation) or the other channels.
    pub fn spawn(
        &self,
        channel: Arc<dyn Channel>,
        message: Arc<Notification>,
    ) -> tokio::task::JoinHandle<DeliveryRecord> {
        let sender = self.clone();
        tokio::spawn(async move { sender.deliver(channel.as_ref(), &message).await })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::clock::SystemClock;
    use crate::notify::{ChannelKind, NotificationKind, Severity};

    #[test]
    fn backoff_follows_one_four_sixteen_seconds_within_the_jitter() {
        let policy = RetryPolicy::default();
        assert_eq!(backoff_delay(&policy, 1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff_delay(&policy, 2, 0.5), Duration::from_secs(4));
        assert_eq!(backoff_delay(&policy, 3, 0.5), Duration::from_secs(16));
        assert_eq!(backoff_delay(&policy, 2, 0.0), Duration::from_millis(3200));
        assert_eq!(backoff_delay(&policy, 2, 1.0), Duration::from_millis(4800));
        // Capped, however many attempts.
        assert_eq!(backoff_delay(&policy, 40, 1.0), policy.max_delay);
    }

    /// A channel answering from a script, for the retry rules.
    #[derive(Debug)]
    struct Scripted(Mutex<Vec<Outcome>>);

    #[async_trait]
    impl Channel for Scripted {
        fn kind(&self) -> ChannelKind {
            ChannelKind::Webhook
        }

        async fn send(&self, _message: &Notification) -> Outcome {
            let mut script = self.0.lock().unwrap();
            script.remove(0)
        }
    }

    fn sender() -> Sender {
        Sender::new(RetryPolicy::default(), Arc::new(SystemClock))
    }

    fn message() -> Notification {
        Notification::new("t", Severity::Warning, NotificationKind::Firing, "b")
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_with_growing_delays_then_succeeds() {
        let channel = Scripted(Mutex::new(vec![
            Outcome::Transient {
                response_code: Some(502),
                message: "bad gateway".into(),
            },
            Outcome::TimedOut,
            Outcome::Delivered { response_code: 200 },
        ]));
        let started = tokio::time::Instant::now();
        let record = sender().deliver(&channel, &message()).await;
        assert_eq!(record.status(), DeliveryStatus::Sent);
        assert_eq!(record.retries(), 2);
        assert_eq!(record.response_code(), Some(200));
        assert_eq!(record.error(), None);
        let delays: Vec<_> = record.attempts.iter().map(|a| a.next_delay).collect();
        let first = delays[0].unwrap();
        let second = delays[1].unwrap();
        assert!(first >= Duration::from_millis(800) && first <= Duration::from_millis(1200));
        assert!(second >= Duration::from_millis(3200) && second <= Duration::from_millis(4800));
        assert_eq!(delays[2], None);
        // The paused clock moves in whole milliseconds.
        let waited = started.elapsed();
        assert!(waited >= first + second && waited <= first + second + Duration::from_millis(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_platform_rejection_is_not_retried() {
        let channel = Scripted(Mutex::new(vec![Outcome::Rejected {
            response_code: Some(200),
            platform_code: Some(310_000),
            message: "sign not match".into(),
        }]));
        let record = sender().deliver(&channel, &message()).await;
        assert_eq!(record.attempts.len(), 1);
        assert_eq!(record.status(), DeliveryStatus::Failed);
        assert_eq!(record.retries(), 1);
        assert_eq!(
            record.error().as_deref(),
            Some("rejected by platform: 310000 sign not match")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_configured_attempts_and_times_out_hung_sends() {
        #[derive(Debug)]
        struct Hangs;
        #[async_trait]
        impl Channel for Hangs {
            fn kind(&self) -> ChannelKind {
                ChannelKind::Webhook
            }
            async fn send(&self, _message: &Notification) -> Outcome {
                std::future::pending().await
            }
        }
        let record = sender().deliver(&Hangs, &message()).await;
        assert_eq!(record.attempts.len(), 3);
        assert!(
            record
                .attempts
                .iter()
                .all(|a| a.outcome == Outcome::TimedOut)
        );
        assert_eq!(record.error().as_deref(), Some("timed out"));
        assert_eq!(record.retries(), 3);
    }
}
