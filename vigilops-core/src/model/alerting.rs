//! Stored forms of alerting and notifications: rules, alerts and their timeline, channels,
//! templates, the notification log and silences. The store returns these; the REST shapes
//! convert from them (`alerting::wire`, `notify::wire`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Page;
use crate::alerting::rule::Severity;
use crate::alerting::wire::AlertRuleCreate;

/// A stored alert rule: its normalized RuleCreate (`alerting::rule::normalize`) plus identity.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlertRule {
    pub id: i64,
    pub rule: AlertRuleCreate,
    pub is_builtin: bool,
    /// Set on rules seeded at start-up; stays when the rule is renamed.
    pub builtin_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A builtin rule to seed: created once, unless a rule already has its key or its name.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinRule {
    /// Stable name of the builtin (`cpu_high`, …).
    pub key: &'static str,
    pub rule: AlertRuleCreate,
}

/// Where an alert stands. `Firing` and `Acknowledged` are *active*: at most one active alert
/// exists per (rule, target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertStatus {
    Firing,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    /// Whether the alert is still open.
    pub fn is_active(self) -> bool {
        self != Self::Resolved
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for AlertStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "firing" => Ok(Self::Firing),
            "acknowledged" => Ok(Self::Acknowledged),
            "resolved" => Ok(Self::Resolved),
            other => Err(format!("unknown alert status `{other}`")),
        }
    }
}

/// An alert to open for (rule, target).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub rule_id: i64,
    /// Identifies the target within the rule (`host:7`, `service:12`, `db:3`, …); one active
    /// alert per (rule_id, target_key).
    pub target_key: String,
    pub host_id: Option<i64>,
    pub service_id: Option<i64>,
    pub database_id: Option<i64>,
    pub severity: Severity,
    pub title: String,
    pub message: Option<String>,
    pub metric_value: Option<f64>,
    pub threshold: Option<f64>,
    /// Alerts sharing a key are notified together.
    pub group_key: Option<String>,
    pub fired_at: DateTime<Utc>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub target_key: String,
    pub host_id: Option<i64>,
    pub service_id: Option<i64>,
    pub database_id: Option<i64>,
    pub severity: Severity,
    pub status: AlertStatus,
    pub title: String,
    pub message: Option<String>,
    pub metric_value: Option<f64>,
    pub threshold: Option<f64>,
    pub fired_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<i64>,
    /// The user who resolved it by hand; `None` for an automatic resolution.
    pub resolved_by: Option<i64>,
    pub resolution_comment: Option<String>,
    pub flapping: bool,
    pub group_key: Option<String>,
    /// The alert this one is suppressed under (dependency suppression).
    pub parent_alert_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// Which alerts to list (`GET /alerts`), newest `fired_at` first.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    pub severity: Option<Severity>,
    pub host_id: Option<i64>,
    pub rule_id: Option<i64>,
    pub page: Page,
}

/// How an active alert is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertResolution {
    pub at: DateTime<Utc>,
    /// The user resolving it by hand; `None` when the condition cleared.
    pub by: Option<i64>,
    pub comment: Option<String>,
}

/// The alert engine's writes for one drained batch of observations, stored in one transaction
/// by `AlertEngineStore::write_alerts` (one commit per batch rather than one per alert).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertWrites {
    /// Alerts to open, each as `AlertStore::open_alert` opens one.
    pub opens: Vec<NewAlert>,
    /// Active alerts to resolve, by id, each as `AlertStore::resolve_alert` resolves one.
    pub resolves: Vec<(i64, AlertResolution)>,
    /// Pending windows entered: (rule, target) first seen violating at the time given. A
    /// pair's first recorded start stays (another replica's, or an earlier one).
    pub pending_starts: Vec<(i64, String, DateTime<Utc>)>,
    /// Pending windows ended by a non-violating evaluation (or a resolve by hand).
    pub pending_clears: Vec<(i64, String)>,
}

impl AlertWrites {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.opens.is_empty()
            && self.resolves.is_empty()
            && self.pending_starts.is_empty()
            && self.pending_clears.is_empty()
    }
}

/// What `AlertEngineStore::write_alerts` did, item by item in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertWritesOutcome {
    /// Per open: the pair's active alert and whether this batch opened it (`false`: another
    /// replica's alert, to be followed silently); `None` when the pair's active alert kept
    /// changing under it.
    pub opened: Vec<Option<(Alert, bool)>>,
    /// Per resolve: the alert and whether this batch resolved it (`false`: it already was);
    /// `None` for an unknown id.
    pub resolved: Vec<Option<(Alert, bool)>>,
    /// Per pending start: the pair's recorded start, this one or the first one recorded;
    /// `None` when another replica ended the window meanwhile.
    pub pending_since: Vec<Option<DateTime<Utc>>>,
}

/// What happened to an alert, on its timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertEventKind {
    Fired,
    Notified,
    Acknowledged,
    Escalated,
    Resolved,
    Remediation,
    Comment,
    /// A notification was not sent (silence, cooldown, dependency suppression).
    Suppressed,
    /// Flapping started or ended.
    Flapping,
}

impl AlertEventKind {
    /// Every kind.
    pub const ALL: [Self; 9] = [
        Self::Fired,
        Self::Notified,
        Self::Acknowledged,
        Self::Escalated,
        Self::Resolved,
        Self::Remediation,
        Self::Comment,
        Self::Suppressed,
        Self::Flapping,
    ];

    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Notified => "notified",
            Self::Acknowledged => "acknowledged",
            Self::Escalated => "escalated",
            Self::Resolved => "resolved",
            Self::Remediation => "remediation",
            Self::Comment => "comment",
            Self::Suppressed => "suppressed",
            Self::Flapping => "flapping",
        }
    }
}

impl FromStr for AlertEventKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| format!("unknown alert event kind `{text}`"))
    }
}

/// A timeline entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlertEvent {
    pub alert_id: i64,
    pub kind: AlertEventKind,
    pub at: DateTime<Utc>,
    /// The user who acted; `None` for the engine.
    pub actor_id: Option<i64>,
    pub detail: Option<Value>,
}

/// A stored timeline entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub id: i64,
    pub alert_id: i64,
    pub kind: AlertEventKind,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub detail: Option<Value>,
}

/// A notification channel as given: `config` is stored as it came, secrets included; masking
/// for read-back is the service's job.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChannel {
    pub name: String,
    /// `webhook`, `email`, `dingtalk`, `feishu` or `wecom`.
    pub kind: String,
    pub config: Value,
    pub is_enabled: bool,
}

/// A stored notification channel.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChannel {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub config: Value,
    pub is_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A notification template to store (already checked by `notify::template`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTemplate {
    pub name: String,
    /// One of the channel types, or `all`.
    pub channel_type: String,
    pub subject_template: Option<String>,
    pub body_template: String,
    pub is_default: bool,
}

/// A stored notification template.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTemplate {
    pub id: i64,
    pub name: String,
    pub channel_type: String,
    pub subject_template: Option<String>,
    pub body_template: String,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One notification-log row to write: one per (alert, channel, event).
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotificationLog {
    /// `None` for test messages.
    pub alert_id: Option<i64>,
    pub channel_id: Option<i64>,
    /// `fired`, `resolved`, `test`, `remediation`, `digest`.
    pub event: Option<String>,
    /// `sent`, `failed`, `silenced` or `suppressed`.
    pub status: String,
    pub response_code: Option<i64>,
    /// At most 500 characters.
    pub error: Option<String>,
    pub retries: i64,
    pub sent_at: DateTime<Utc>,
}

/// A stored notification-log row.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationLog {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub channel_id: Option<i64>,
    pub event: Option<String>,
    pub status: String,
    pub response_code: Option<i64>,
    pub error: Option<String>,
    pub retries: i64,
    pub sent_at: DateTime<Utc>,
}

/// What a silence applies to; every criterion set must match, and no criterion at all matches
/// every alert (a global maintenance window).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SilenceMatchers {
    pub host_ids: Vec<i64>,
    pub group_names: Vec<String>,
    /// The target must carry each tag with this value.
    pub tags: BTreeMap<String, String>,
    pub service_ids: Vec<i64>,
    pub rule_ids: Vec<i64>,
}

/// Facts about the alert a silence is checked against.
#[derive(Debug, Clone, Copy)]
pub struct SilenceTarget<'a> {
    pub host_id: Option<i64>,
    pub group_name: Option<&'a str>,
    pub tags: &'a BTreeMap<String, String>,
    pub service_id: Option<i64>,
    pub rule_id: Option<i64>,
}

impl SilenceMatchers {
    /// Whether an alert with these facts is covered.
    pub fn matches(&self, target: &SilenceTarget<'_>) -> bool {
        let among =
            |ids: &[i64], id: Option<i64>| ids.is_empty() || id.is_some_and(|id| ids.contains(&id));
        among(&self.host_ids, target.host_id)
            && among(&self.service_ids, target.service_id)
            && among(&self.rule_ids, target.rule_id)
            && (self.group_names.is_empty()
                || target
                    .group_name
                    .is_some_and(|group| self.group_names.iter().any(|name| name == group)))
            && self
                .tags
                .iter()
                .all(|(key, value)| target.tags.get(key) == Some(value))
    }
}

/// When a silence applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SilenceSchedule {
    /// From `starts_at` until `ends_at` (exclusive).
    Once {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    /// For `duration_seconds` after each occurrence of the 5-field cron `cron` (UTC), within
    /// the optional bounds.
    Recurring {
        cron: String,
        duration_seconds: i64,
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<DateTime<Utc>>,
    },
}

/// A silence to store (already validated by the silence service).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSilence {
    pub name: String,
    pub comment: Option<String>,
    pub matchers: SilenceMatchers,
    pub schedule: SilenceSchedule,
    pub is_enabled: bool,
    pub created_by: Option<i64>,
}

/// A stored silence.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: i64,
    pub name: String,
    pub comment: Option<String>,
    pub matchers: SilenceMatchers,
    pub schedule: SilenceSchedule,
    pub is_enabled: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
