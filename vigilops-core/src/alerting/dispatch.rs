//! Notification dispatch: the queue between the alert engine and the channels.
//!
//! The engine hands over a [`Notice`] per alert event and never waits for delivery. Here each
//! notice is checked against the rule's daily silence window and the stored silences and
//! maintenance windows (a silenced notice is recorded, never sent), then grouped per (rule,
//! kind) ([`super::group`]), so a storm across many hosts becomes one message followed by
//! updates. Each message goes to the rule's channels (or every enabled channel) through the
//! per-channel rate limiter and the retrying [`Sender`], on its own task, so a channel that
//! hangs holds up nobody. Every outcome is a `notification_logs` row per (alert, channel) and a
//! timeline event on the alert.

use chrono::{DateTime, Local, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use super::group::{Batch, GroupPolicy, Grouper};
use super::rule::{AlertRule, Severity};
use crate::clock::Clock;
use crate::model::{
    Alert, AlertEventKind, NewAlertEvent, NewNotificationLog, Silence, SilenceTarget, StoredChannel,
};
use crate::notify::ChannelConfig;
use crate::notify::compose::{alert_notification, webhook_alert_object};
use crate::notify::rate_limit::{Admission, RateLimiters};
use crate::notify::template::{NotificationTemplate, TemplateContext};
use crate::notify::{Channel, Notification, NotificationKind, build_channel};
use crate::notify::{DeliveryStatus, RetryPolicy, Sender};
use crate::store::{Store, StoreError};

/// How long the stored silences are reused before they are read again.
const SILENCE_CACHE: chrono::Duration = chrono::Duration::seconds(5);
/// How long the `webhook_retry_count` setting is reused before it is read again.
const SETTING_CACHE: chrono::Duration = chrono::Duration::seconds(30);
/// Most alerts listed by name in one grouped message.
const MAX_LISTED: usize = 20;

/// What happened to an alert that people may need to hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// It fired.
    Fired,
    /// It resolved.
    Resolved,
    /// Its target started flapping: said once, then quiet until it settles.
    FlappingStarted,
    /// Its target settled.
    FlappingEnded,
    /// It is still firing and unacknowledged after the rule's repeat interval.
    Repeated,
    /// It stayed unacknowledged past the rule's escalation delay: told to the escalation
    /// channels.
    Escalated,
    /// A remediation of it needs approval, or ended (the notice's `note` says how).
    Remediation,
}

impl NoticeKind {
    /// The `notification_logs.event` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Resolved => "resolved",
            Self::FlappingStarted => "flapping",
            Self::FlappingEnded => "settled",
            Self::Repeated => "repeat",
            Self::Escalated => "escalated",
            Self::Remediation => "remediation",
        }
    }
}

/// Facts about an alert's target that silences and messages need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetInfo {
    /// The host's name.
    pub hostname: Option<String>,
    /// The host's group.
    pub group: Option<String>,
    /// The host's tags.
    pub tags: BTreeMap<String, String>,
    /// The service's name, for service targets.
    pub service: Option<String>,
    /// The rule's metric, for metric rules.
    pub metric: Option<String>,
}

/// One alert event to notify.
#[derive(Debug, Clone)]
pub struct Notice {
    /// What happened.
    pub kind: NoticeKind,
    /// The alert as stored after the event.
    pub alert: Alert,
    /// The rule's id.
    pub rule_id: i64,
    /// The rule.
    pub rule: Arc<AlertRule>,
    /// The target.
    pub target: Arc<TargetInfo>,
    /// Fired notifications of the pair suppressed by its cooldown since the last one sent.
    pub suppressed_count: u32,
    /// For a remediation notice: its headline and what happened, as lines.
    pub note: Option<(String, Vec<String>)>,
}

/// Tunables of dispatch.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Grouping.
    pub group: GroupPolicy,
    /// Delivery attempts.
    pub retry: RetryPolicy,
    /// Most alert objects in one grouped webhook payload (`count` still has them all), so a
    /// storm across thousands of hosts stays under a receiver's body limit (axum's is 2 MB).
    pub max_payload_alerts: usize,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            group: GroupPolicy::default(),
            retry: RetryPolicy::default(),
            max_payload_alerts: 100,
        }
    }
}

enum Command {
    Notice(Box<Notice>),
    Flush(oneshot::Sender<()>),
}

/// The handle the engine sends notices through.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    queue: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Command")
    }
}

impl Dispatcher {
    /// Starts the dispatch task on the current runtime. It ends when every handle is dropped.
    pub fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        client: reqwest::Client,
        config: DispatchConfig,
    ) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let worker = Worker {
            default_attempts: config.retry.attempts,
            sender: Sender::new(config.retry, Arc::clone(&clock)),
            attempts: None,
            limiters: RateLimiters::new(Arc::clone(&clock)),
            grouper: Grouper::new(config.group),
            max_payload_alerts: config.max_payload_alerts,
            silences: None,
            store,
            clock,
            client,
        };
        tokio::spawn(worker.run(receiver));
        Self { queue }
    }

    /// Queues a notice; never waits. A notice queued after shutdown is dropped, logged.
    pub fn notify(&self, notice: Notice) {
        if self.queue.send(Command::Notice(Box::new(notice))).is_err() {
            tracing::warn!("notification dispatcher is shut down; notice dropped");
        }
    }

    /// Resolves once every notice queued before has been silenced, grouped or handed to a
    /// channel (not delivered: deliveries run on their own tasks).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Command::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    sender: Sender,
    /// The `webhook_retry_count` setting, and when it was read.
    attempts: Option<(DateTime<Utc>, u32)>,
    /// Attempts when the setting is not set (the configured policy's).
    default_attempts: u32,
    limiters: RateLimiters<i64>,
    grouper: Grouper<(i64, NoticeKind), Notice>,
    max_payload_alerts: usize,
    silences: Option<(DateTime<Utc>, Arc<Vec<Silence>>)>,
}

impl Worker {
    async fn run(mut self, mut receiver: mpsc::UnboundedReceiver<Command>) {
        loop {
            let wake_at = [self.grouper.next_due(), self.limiters.next_release_at()]
                .into_iter()
                .flatten()
                .min();
            let sleep = wake_at.map(|at| {
                (at - self.clock.now())
                    .to_std()
                    .unwrap_or(std::time::Duration::ZERO)
            });
            tokio::select! {
                command = receiver.recv() => match command {
                    Some(Command::Notice(notice)) => self.accept(*notice).await,
                    Some(Command::Flush(done)) => {
                        let _ = done.send(());
                    }
                    None => break,
                },
                () = sleep_for(sleep) => {}
            }
            self.send_due().await;
        }
        // Shutting down: what is grouped goes out now rather than never.
        for batch in self.grouper.drain() {
            self.send_batch(batch).await;
        }
    }

    /// Silences or groups one notice.
    async fn accept(&mut self, notice: Notice) {
        let now = self.clock.now();
        if let Some(reason) = self.silenced_by(&notice, now).await {
            self.record_unsent(&notice, "silenced", &reason).await;
            return;
        }
        if notice.kind == NoticeKind::Remediation {
            // Each run is its own story (an approval to give, an outcome): never grouped.
            let key = (notice.rule_id, notice.kind);
            self.send_batch(Batch {
                key,
                members: vec![notice],
                sequence: 0,
            })
            .await;
            return;
        }
        self.grouper
            .offer((notice.rule_id, notice.kind), notice, now);
    }

    /// Why the notice must not be sent, if it must not.
    async fn silenced_by(&mut self, notice: &Notice, now: DateTime<Utc>) -> Option<String> {
        // Flapping notices are about the target, not one event; silences still apply.
        if let Some(window) = notice.rule.silence
            && window.contains(now.with_timezone(&Local).time())
        {
            return Some("rule silence window".to_owned());
        }
        let silences = self.active_silences(now).await;
        let target = SilenceTarget {
            host_id: notice.alert.host_id,
            group_name: notice.target.group.as_deref(),
            tags: &notice.target.tags,
            service_id: notice.alert.service_id,
            rule_id: Some(notice.rule_id),
        };
        silences
            .iter()
            .find(|silence| silence.matchers.matches(&target))
            .map(|silence| format!("silence {} ({})", silence.id, silence.name))
    }

    async fn active_silences(&mut self, now: DateTime<Utc>) -> Arc<Vec<Silence>> {
        if let Some((read_at, silences)) = &self.silences
            && now - *read_at < SILENCE_CACHE
            && now >= *read_at
        {
            return Arc::clone(silences);
        }
        let silences = match self.store.active_silences(now).await {
            Ok(silences) => Arc::new(silences),
            Err(error) => {
                // Better a message too many than a silenced outage nobody hears about.
                tracing::warn!(%error, "could not read silences; notifying anyway");
                Arc::new(Vec::new())
            }
        };
        self.silences = Some((now, Arc::clone(&silences)));
        silences
    }

    /// Records a notice that is not sent: a timeline event, and a log row per channel.
    async fn record_unsent(&self, notice: &Notice, status: &str, reason: &str) {
        let now = self.clock.now();
        let event = NewAlertEvent {
            alert_id: notice.alert.id,
            kind: AlertEventKind::Suppressed,
            at: now,
            actor_id: None,
            detail: Some(
                json!({"event": notice.kind.as_str(), "status": status, "reason": reason}),
            ),
        };
        if let Err(error) = self.store.append_alert_event(event).await {
            tracing::warn!(%error, alert_id = notice.alert.id, "could not record a suppressed notification");
        }
        match self.channels_for(&notice.rule, notice.kind).await {
            Ok(channels) => {
                for channel in channels {
                    let log = NewNotificationLog {
                        alert_id: Some(notice.alert.id),
                        channel_id: Some(channel.id),
                        event: Some(notice.kind.as_str().to_owned()),
                        status: status.to_owned(),
                        response_code: None,
                        error: Some(reason.to_owned()),
                        retries: 0,
                        sent_at: now,
                    };
                    if let Err(error) = self.store.insert_notification_log(&log).await {
                        tracing::warn!(%error, "could not write a notification log row");
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not read notification channels"),
        }
    }

    /// The rule's channels, or every enabled channel when it names none; for an escalation,
    /// the escalation's channels.
    async fn channels_for(
        &self,
        rule: &AlertRule,
        kind: NoticeKind,
    ) -> Result<Vec<StoredChannel>, StoreError> {
        let escalation = rule
            .escalation
            .as_ref()
            .filter(|_| kind == NoticeKind::Escalated);
        let channels = if let Some(escalation) = escalation {
            self.store.channels_by_ids(&escalation.channel_ids).await?
        } else if rule.channel_ids.is_empty() {
            self.store.list_channels().await?
        } else {
            self.store.channels_by_ids(&rule.channel_ids).await?
        };
        Ok(channels
            .into_iter()
            .filter(|channel| channel.is_enabled)
            .collect())
    }

    /// Reads the `webhook_retry_count` setting again when the one in use is older than
    /// [`SETTING_CACHE`], so a change reaches every replica's deliveries within it.
    async fn refresh_attempts(&mut self) {
        let now = self.clock.now();
        if self
            .attempts
            .is_some_and(|(read_at, _)| now - read_at < SETTING_CACHE)
        {
            return;
        }
        let attempts = crate::settings::int(
            self.store.as_ref(),
            crate::settings::WEBHOOK_RETRY_COUNT,
            Some(i64::from(self.default_attempts)),
        )
        .await;
        let attempts = u32::try_from(attempts)
            .unwrap_or(self.default_attempts)
            .max(1);
        self.attempts = Some((now, attempts));
        self.sender = self.sender.clone().with_attempts(attempts);
    }

    /// Sends the groups and digests that are due.
    async fn send_due(&mut self) {
        let now = self.clock.now();
        for batch in self.grouper.due(now) {
            self.send_batch(batch).await;
        }
        self.refresh_attempts().await;
        for (channel_id, message) in self.limiters.due() {
            match self.store.channel(channel_id).await {
                Ok(Some(channel)) => {
                    if let Some(built) = self.build(&channel) {
                        self.deliver(built, &channel, Arc::new(message), Vec::new(), "digest");
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, channel_id, "could not read a channel for a digest")
                }
            }
        }
    }

    fn build(&self, channel: &StoredChannel) -> Option<Arc<dyn Channel>> {
        let built = ChannelConfig::from_parts(&channel.kind, channel.config.clone())
            .and_then(|config| build_channel(&config, &self.client, Arc::clone(&self.clock)));
        match built {
            Ok(built) => Some(built),
            Err(error) => {
                tracing::warn!(%error, channel_id = channel.id, "notification channel cannot be used");
                None
            }
        }
    }

    /// One message per channel for a batch of one group, without the alerts whose cause is
    /// already being told (dependency suppression).
    async fn send_batch(&mut self, batch: Batch<(i64, NoticeKind), Notice>) {
        self.refresh_attempts().await;
        let mut open: Option<Vec<Alert>> = None;
        let mut members = Vec::with_capacity(batch.members.len());
        for notice in batch.members {
            match self.suppressed_under(&notice, &mut open).await {
                Some(reason) => self.record_unsent(&notice, "suppressed", &reason).await,
                None => members.push(notice),
            }
        }
        let batch = Batch { members, ..batch };
        let Some(first) = batch.members.first() else {
            return;
        };
        let rule = Arc::clone(&first.rule);
        let kind = first.kind;
        let channels = match self.channels_for(&rule, kind).await {
            Ok(channels) => channels,
            Err(error) => {
                tracing::warn!(%error, "could not read notification channels; batch dropped");
                return;
            }
        };
        let alert_ids: Vec<i64> = batch.members.iter().map(|notice| notice.alert.id).collect();
        for channel in channels {
            let Some(built) = self.build(&channel) else {
                continue;
            };
            let message = if batch.members.len() == 1 {
                let template = self.template_for(&channel.kind).await;
                single_message(first, template.as_ref())
            } else {
                grouped_message(
                    &rule,
                    kind,
                    &batch.members,
                    batch.sequence,
                    self.max_payload_alerts,
                )
            };
            match self.limiters.offer(channel.id, built.kind(), message) {
                Admission::Send(message) => {
                    self.deliver(
                        built,
                        &channel,
                        Arc::new(message),
                        alert_ids.clone(),
                        kind.as_str(),
                    );
                }
                Admission::Held => {
                    for notice in &batch.members {
                        self.log_row(
                            notice.alert.id,
                            channel.id,
                            kind.as_str(),
                            "suppressed",
                            Some("rate limited: folded into the channel's storm digest"),
                        )
                        .await;
                    }
                }
            }
        }
    }

    /// Why a notice is not told on its own: its alert is linked under an open alert of a
    /// service it depends on (linking it now if needed). `open` caches the open alerts for
    /// one batch; an alert linked here counts as linked for the rest of the batch, so two
    /// services that depend on each other never silence each other.
    async fn suppressed_under(
        &self,
        notice: &Notice,
        open: &mut Option<Vec<Alert>>,
    ) -> Option<String> {
        if let Some(parent) = notice.alert.parent_alert_id {
            return Some(format!("dependency: under alert #{parent}"));
        }
        if notice.kind != NoticeKind::Fired {
            return None;
        }
        let service_id = notice.alert.service_id?;
        let upstream = match self.store.upstream_services(service_id).await {
            Ok(upstream) if !upstream.is_empty() => upstream,
            Ok(_) => return None,
            Err(error) => {
                tracing::warn!(%error, service_id, "could not read service dependencies");
                return None;
            }
        };
        if open.is_none() {
            *open = Some(self.store.open_alerts().await.unwrap_or_else(|error| {
                tracing::warn!(%error, "could not read open alerts for dependency suppression");
                Vec::new()
            }));
        }
        let alerts = open.as_mut()?;
        let parent = alerts
            .iter()
            .find(|alert| {
                alert.id != notice.alert.id
                    && alert.parent_alert_id.is_none()
                    && alert.service_id.is_some_and(|id| upstream.contains(&id))
            })?
            .clone();
        if let Err(error) = self
            .store
            .set_alert_parent(notice.alert.id, Some(parent.id))
            .await
        {
            tracing::warn!(%error, alert_id = notice.alert.id, "could not link alert to its cause");
        }
        if let Some(linked) = alerts.iter_mut().find(|alert| alert.id == notice.alert.id) {
            linked.parent_alert_id = Some(parent.id);
        }
        Some(format!(
            "dependency: service #{} is down (alert #{})",
            parent.service_id.unwrap_or_default(),
            parent.id
        ))
    }

    async fn log_row(
        &self,
        alert_id: i64,
        channel_id: i64,
        event: &str,
        status: &str,
        error: Option<&str>,
    ) {
        let log = NewNotificationLog {
            alert_id: Some(alert_id),
            channel_id: Some(channel_id),
            event: Some(event.to_owned()),
            status: status.to_owned(),
            response_code: None,
            error: error.map(str::to_owned),
            retries: 0,
            sent_at: self.clock.now(),
        };
        if let Err(error) = self.store.insert_notification_log(&log).await {
            tracing::warn!(%error, "could not write a notification log row");
        }
    }

    /// The channel's template, if one is set and still compiles.
    async fn template_for(&self, channel_type: &str) -> Option<NotificationTemplate> {
        let stored = match self.store.default_template(channel_type).await {
            Ok(stored) => stored?,
            Err(error) => {
                tracing::warn!(%error, "could not read templates; using the built-in body");
                return None;
            }
        };
        NotificationTemplate::compile(stored.subject_template.as_deref(), &stored.body_template)
            .inspect_err(|error| tracing::warn!(%error, template_id = stored.id, "stored template no longer compiles"))
            .ok()
    }

    /// Delivers on its own task, then logs the outcome for every alert of the message.
    fn deliver(
        &self,
        channel: Arc<dyn Channel>,
        stored: &StoredChannel,
        message: Arc<Notification>,
        alert_ids: Vec<i64>,
        event: &'static str,
    ) {
        let store = Arc::clone(&self.store);
        let sender = self.sender.clone();
        let channel_id = stored.id;
        tokio::spawn(async move {
            let record = sender.deliver(channel.as_ref(), &message).await;
            let status = match record.status() {
                DeliveryStatus::Sent => "sent",
                DeliveryStatus::Failed => "failed",
            };
            let rows: Vec<Option<i64>> = if alert_ids.is_empty() {
                vec![None]
            } else {
                alert_ids.into_iter().map(Some).collect()
            };
            let logs: Vec<NewNotificationLog> = rows
                .iter()
                .map(|alert_id| NewNotificationLog {
                    alert_id: *alert_id,
                    channel_id: Some(channel_id),
                    event: Some(event.to_owned()),
                    status: status.to_owned(),
                    response_code: record.response_code().map(i64::from),
                    error: record.error(),
                    retries: i64::from(record.retries()),
                    sent_at: record.finished_at,
                })
                .collect();
            let detail = json!({"channel_id": channel_id, "event": event, "status": status});
            let events: Vec<NewAlertEvent> = rows
                .iter()
                .flatten()
                .map(|alert_id| NewAlertEvent {
                    alert_id: *alert_id,
                    kind: AlertEventKind::Notified,
                    at: record.finished_at,
                    actor_id: None,
                    detail: Some(detail.clone()),
                })
                .collect();
            // One commit for the whole message, however many alerts it carried.
            if let Err(error) = store.record_delivery(&logs, &events).await {
                tracing::warn!(%error, channel_id, "could not record a delivery");
            }
        });
    }
}

async fn sleep_for(duration: Option<std::time::Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

/// The template variables of one alert event.
pub fn template_context(notice: &Notice) -> TemplateContext {
    let alert = &notice.alert;
    let resolved = notice.kind == NoticeKind::Resolved;
    TemplateContext {
        title: alert.title.clone(),
        severity: alert.severity.as_str().to_owned(),
        message: alert.message.clone().unwrap_or_default(),
        metric_value: alert.metric_value,
        threshold: alert.threshold,
        host_id: alert.host_id,
        fired_at: Some(alert.fired_at),
        hostname: notice.target.hostname.clone(),
        service: notice.target.service.clone(),
        status: if resolved { "resolved" } else { "firing" }.to_owned(),
        resolved_at: if resolved { alert.resolved_at } else { None },
        rule: Some(notice.rule.name.clone()),
        metric: notice.target.metric.clone(),
        alert_id: Some(alert.id),
        suppressed_count: u64::from(notice.suppressed_count),
        ..TemplateContext::default()
    }
}

fn notify_severity(severity: Severity) -> crate::notify::Severity {
    match severity {
        Severity::Critical => crate::notify::Severity::Critical,
        Severity::Info => crate::notify::Severity::Info,
        Severity::Warning => crate::notify::Severity::Warning,
    }
}

/// The message of one alert event.
fn single_message(notice: &Notice, template: Option<&NotificationTemplate>) -> Notification {
    let context = template_context(notice);
    match notice.kind {
        NoticeKind::Fired | NoticeKind::Resolved | NoticeKind::Repeated | NoticeKind::Escalated => {
            let mut context = context;
            match notice.kind {
                NoticeKind::Repeated => context.title = format!("[仍未恢复] {}", context.title),
                NoticeKind::Escalated => context.title = format!("[升级] {}", context.title),
                _ => {}
            }
            let mut message = alert_notification(&context, template, notice.alert.service_id);
            if notice.suppressed_count > 0 {
                let line = format!("冷却期内另有 {} 次触发未通知", notice.suppressed_count);
                message = message.with_field("抑制", line);
            }
            message
        }
        NoticeKind::FlappingStarted | NoticeKind::FlappingEnded => flapping_message(notice),
        NoticeKind::Remediation => remediation_message(notice),
    }
}

/// A remediation of the alert needs approval or ended: the headline, then what happened.
fn remediation_message(notice: &Notice) -> Notification {
    let (headline, lines) = notice.note.clone().unwrap_or_default();
    let mut message = Notification::new(
        format!("{headline}: {}", notice.alert.title),
        notify_severity(notice.alert.severity),
        NotificationKind::Info,
        lines.join("\n"),
    );
    let mut payload = webhook_alert_object(&template_context(notice), notice.alert.service_id);
    if let Some(object) = payload.as_object_mut() {
        object.insert("status".to_owned(), json!(notice.kind.as_str()));
        object.insert(
            "remediation".to_owned(),
            json!({"headline": headline, "lines": lines}),
        );
    }
    message.webhook_payload = Some(payload);
    message
}

fn flapping_message(notice: &Notice) -> Notification {
    let started = notice.kind == NoticeKind::FlappingStarted;
    let title = if started {
        format!("{} 状态频繁变化 (flapping)", notice.alert.title)
    } else {
        format!("{} 已稳定", notice.alert.title)
    };
    let body = if started {
        "告警在短时间内反复触发和恢复。在它稳定之前不再逐次通知；告警仍被记录。".to_owned()
    } else {
        format!(
            "状态已稳定，当前: {}",
            if notice.alert.status.is_active() {
                "告警中"
            } else {
                "正常"
            }
        )
    };
    let mut message = Notification::new(
        title,
        notify_severity(notice.alert.severity),
        NotificationKind::Info,
        body,
    );
    let mut payload = webhook_alert_object(&template_context(notice), notice.alert.service_id);
    if let Some(object) = payload.as_object_mut() {
        object.insert("status".to_owned(), json!(notice.kind.as_str()));
    }
    message.webhook_payload = Some(payload);
    message
}

/// One message for several alerts of a rule: "37 个目标: 磁盘使用率过高", the targets listed.
fn grouped_message(
    rule: &AlertRule,
    kind: NoticeKind,
    members: &[Notice],
    sequence: u32,
    max_payload_alerts: usize,
) -> Notification {
    let resolved = kind == NoticeKind::Resolved;
    let count = members.len();
    let title = format!(
        "{}{} 个目标{}: {}",
        if sequence > 0 { "(更新) " } else { "" },
        count,
        if resolved { "已恢复" } else { "" },
        rule.name
    );
    let worst = members
        .iter()
        .map(|notice| notice.alert.severity)
        .max_by_key(|severity| match severity {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        })
        .unwrap_or(rule.severity);
    let mut lines: Vec<String> = members
        .iter()
        .take(MAX_LISTED)
        .map(|notice| {
            format!(
                "- {}: {}",
                notice.alert.title,
                notice.alert.message.as_deref().unwrap_or("")
            )
        })
        .collect();
    if count > MAX_LISTED {
        lines.push(format!("- … 另有 {} 个", count - MAX_LISTED));
    }
    let body = lines.join("\n");
    let mut message = Notification::new(
        title,
        notify_severity(worst),
        if resolved {
            NotificationKind::Resolved
        } else {
            NotificationKind::Firing
        },
        body,
    );
    let alerts: Vec<serde_json::Value> = members
        .iter()
        .take(max_payload_alerts)
        .map(|notice| webhook_alert_object(&template_context(notice), notice.alert.service_id))
        .collect();
    message.webhook_payload = Some(json!({
        "group": true,
        "rule": rule.name,
        "status": if resolved { "resolved" } else { "firing" },
        "count": count,
        "update": sequence > 0,
        "truncated": count > max_payload_alerts,
        "alerts": alerts,
    }));
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::rule::normalize;
    use crate::alerting::wire::AlertRuleCreate;
    use crate::model::{Alert, AlertStatus};

    fn disk_rule() -> Arc<AlertRule> {
        let wire = AlertRuleCreate {
            name: "磁盘使用率过高".into(),
            metric: "disk_percent".into(),
            operator: ">".into(),
            threshold: 90.0,
            ..AlertRuleCreate::default()
        };
        Arc::new(
            normalize(&wire)
                .map(|(_, rule)| rule)
                .expect("a valid rule"),
        )
    }

    fn notice(host: i64, rule: &Arc<AlertRule>) -> Notice {
        Notice {
            kind: NoticeKind::Fired,
            alert: Alert {
                id: host,
                rule_id: Some(1),
                target_key: format!("host:{host}"),
                host_id: Some(host),
                service_id: None,
                database_id: None,
                severity: Severity::Critical,
                status: AlertStatus::Firing,
                title: format!("磁盘使用率过高 - web-{host}"),
                message: Some("disk_percent 95 > 90".into()),
                metric_value: Some(95.0),
                threshold: Some(90.0),
                fired_at: DateTime::UNIX_EPOCH,
                resolved_at: None,
                acknowledged_at: None,
                acknowledged_by: None,
                resolved_by: None,
                resolution_comment: None,
                flapping: false,
                group_key: None,
                parent_alert_id: None,
                created_at: DateTime::UNIX_EPOCH,
            },
            rule_id: 1,
            rule: Arc::clone(rule),
            target: Arc::new(TargetInfo::default()),
            suppressed_count: 0,
            note: None,
        }
    }

    #[test]
    fn a_grouped_payload_is_capped_but_counts_and_names_every_target() {
        let rule = disk_rule();
        let members: Vec<Notice> = (1..=37).map(|host| notice(host, &rule)).collect();
        let message = grouped_message(&rule, NoticeKind::Fired, &members, 0, 10);
        assert_eq!(message.title, "37 个目标: 磁盘使用率过高");
        let payload = message.webhook_payload.expect("a webhook payload");
        assert_eq!(payload["count"], 37);
        assert_eq!(payload["truncated"], true);
        let alerts = payload["alerts"].as_array().expect("alerts");
        assert_eq!(alerts.len(), 10, "at most the cap");
        // The text lists the first targets and says how many more there are.
        assert!(message.text.contains("磁盘使用率过高 - web-1:"));
        assert!(
            message
                .text
                .contains(&format!("另有 {} 个", 37 - MAX_LISTED))
        );
    }

    #[test]
    fn a_group_under_the_cap_is_whole_and_an_update_says_so() {
        let rule = disk_rule();
        let members: Vec<Notice> = (1..=3).map(|host| notice(host, &rule)).collect();
        let message = grouped_message(&rule, NoticeKind::Resolved, &members, 2, 10);
        assert_eq!(message.title, "(更新) 3 个目标已恢复: 磁盘使用率过高");
        let payload = message.webhook_payload.expect("a webhook payload");
        assert_eq!(payload["truncated"], false);
        assert_eq!(payload["update"], true);
        assert_eq!(payload["status"], "resolved");
        assert_eq!(payload["alerts"].as_array().map(Vec::len), Some(3));
    }
}
