//! Wire shapes of `/api/v1/alert-rules`, `/api/v1/alerts` and our `/api/v1/silences`: the
//! original's RuleCreate, Rule and Alert JSON with its defaults, plus our optional extension
//! fields. Enumerations travel as strings here so that a
//! bad value is reported by [`crate::alerting::rule::AlertRule::from_wire`] naming its field,
//! rather than as an anonymous JSON error.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::model::{Alert, AlertEvent, Silence, SilenceMatchers, SilenceSchedule, StoredAlertRule};

/// `target_filter`: stored but unused by the original; ours narrows the rule's targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetFilterWire {
    /// Only these hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ids: Option<Vec<i64>>,
    /// Only these services (service rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ids: Option<Vec<i64>>,
    /// Only hosts of this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// Only targets carrying every one of these tags with these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// **Ours:** a detector used instead of the fixed `operator`/`threshold` comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DetectorWire {
    /// Violated when the value leaves the robust baseline band.
    Baseline {
        /// Robust standard deviations from the expectation (default 3.5).
        #[serde(default)]
        sensitivity: Option<f64>,
        /// Rolling window without seasonal history, in seconds (default 3600).
        #[serde(default)]
        window_seconds: Option<i64>,
        /// `above`, `below` or `both` (default `above`).
        #[serde(default)]
        direction: Option<String>,
    },
    /// Violated when the trend reaches `threshold` within `within_hours`.
    Forecast {
        /// Horizon of the forecast.
        within_hours: f64,
        /// How far back the trend is fitted, in seconds (default 21600).
        #[serde(default)]
        lookback_seconds: Option<i64>,
    },
}

/// **Ours:** notify more channels when an alert stays unacknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscalationWire {
    /// How long after firing an unacknowledged alert escalates.
    pub after_seconds: i64,
    /// The channels notified then.
    pub channel_ids: Vec<i64>,
}

/// RuleCreate, with the original's defaults for every missing field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AlertRuleCreate {
    pub name: String,
    pub description: Option<String>,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    pub metric: String,
    /// `>`, `>=`, `<`, `<=`, `==` or `!=`.
    pub operator: String,
    pub threshold: f64,
    /// The pending window; for `absence` rules, how long without data.
    pub duration_seconds: i64,
    pub is_enabled: bool,
    /// `host` or `service`.
    pub target_type: String,
    pub target_filter: Option<TargetFilterWire>,
    /// `metric`, `log_keyword`, `db_metric`; **ours** adds `absence`.
    pub rule_type: String,
    pub log_keyword: Option<String>,
    pub log_level: Option<String>,
    pub log_service: Option<String>,
    pub db_metric_name: Option<String>,
    pub db_id: Option<i64>,
    pub cooldown_seconds: i64,
    /// `"HH:MM"` or `"HH:MM:SS"`.
    pub silence_start: Option<String>,
    pub silence_end: Option<String>,
    /// **Ours:** channels to notify; null or empty means every enabled channel.
    pub notification_channel_ids: Option<Vec<i64>>,
    /// **Ours:** the value the metric must cross back over to resolve (hysteresis); null means
    /// `threshold`.
    pub recovery_threshold: Option<f64>,
    /// **Ours:** `log_keyword` is a regular expression rather than a substring.
    pub log_keyword_is_regex: bool,
    /// **Ours:** a detector instead of the fixed comparison.
    pub detector: Option<DetectorWire>,
    /// **Ours:** re-notify an active, unacknowledged alert this often; null never.
    pub repeat_interval_seconds: Option<i64>,
    /// **Ours:** escalate an unacknowledged alert to more channels.
    pub escalation: Option<EscalationWire>,
    /// **Ours:** how long a recovery's resolved message waits (0 to 3600 s, default 45): a
    /// re-fire within it continues the incident, so a flapping target gives one message. The
    /// alert itself resolves at once; 0 tells the recovery at once.
    pub resolve_hold_seconds: i64,
}

/// The default [`AlertRuleCreate::resolve_hold_seconds`].
pub const DEFAULT_RESOLVE_HOLD_SECONDS: i64 = 45;

impl Default for AlertRuleCreate {
    fn default() -> Self {
        Self {
            name: String::new(),
            description: None,
            severity: "warning".to_owned(),
            metric: String::new(),
            operator: ">".to_owned(),
            threshold: 0.0,
            duration_seconds: 300,
            is_enabled: true,
            target_type: "host".to_owned(),
            target_filter: None,
            rule_type: "metric".to_owned(),
            log_keyword: None,
            log_level: None,
            log_service: None,
            db_metric_name: None,
            db_id: None,
            cooldown_seconds: 300,
            silence_start: None,
            silence_end: None,
            notification_channel_ids: None,
            recovery_threshold: None,
            log_keyword_is_regex: false,
            detector: None,
            repeat_interval_seconds: None,
            escalation: None,
            resolve_hold_seconds: DEFAULT_RESOLVE_HOLD_SECONDS,
        }
    }
}

/// Keeps "absent" (outer `None`) apart from "explicitly null" (`Some(None)`) in an update.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PUT /alert-rules/{id}`: any subset of RuleCreate. For nullable fields, an explicit `null`
/// clears the value and a missing key keeps it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AlertRuleUpdate {
    pub name: Option<String>,
    #[serde(deserialize_with = "present")]
    pub description: Option<Option<String>>,
    pub severity: Option<String>,
    pub metric: Option<String>,
    pub operator: Option<String>,
    pub threshold: Option<f64>,
    pub duration_seconds: Option<i64>,
    pub is_enabled: Option<bool>,
    pub target_type: Option<String>,
    #[serde(deserialize_with = "present")]
    pub target_filter: Option<Option<TargetFilterWire>>,
    pub rule_type: Option<String>,
    #[serde(deserialize_with = "present")]
    pub log_keyword: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub log_level: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub log_service: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub db_metric_name: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub db_id: Option<Option<i64>>,
    pub cooldown_seconds: Option<i64>,
    #[serde(deserialize_with = "present")]
    pub silence_start: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub silence_end: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub notification_channel_ids: Option<Option<Vec<i64>>>,
    #[serde(deserialize_with = "present")]
    pub recovery_threshold: Option<Option<f64>>,
    pub log_keyword_is_regex: Option<bool>,
    #[serde(deserialize_with = "present")]
    pub detector: Option<Option<DetectorWire>>,
    #[serde(deserialize_with = "present")]
    pub repeat_interval_seconds: Option<Option<i64>>,
    #[serde(deserialize_with = "present")]
    pub escalation: Option<Option<EscalationWire>>,
    pub resolve_hold_seconds: Option<i64>,
}

impl AlertRuleUpdate {
    /// The rule as it is after this update; validate the result before storing it.
    pub fn apply_to(self, mut rule: AlertRuleCreate) -> AlertRuleCreate {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(value) = self.$field {
                    rule.$field = value;
                }
            )*};
        }
        set!(
            name,
            description,
            severity,
            metric,
            operator,
            threshold,
            duration_seconds,
            is_enabled,
            target_type,
            target_filter,
            rule_type,
            log_keyword,
            log_level,
            log_service,
            db_metric_name,
            db_id,
            cooldown_seconds,
            silence_start,
            silence_end,
            notification_channel_ids,
            recovery_threshold,
            log_keyword_is_regex,
            detector,
            repeat_interval_seconds,
            escalation,
            resolve_hold_seconds
        );
        rule
    }
}

/// Rule = RuleCreate + `{id, is_builtin, created_at, updated_at}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRuleView {
    pub id: i64,
    #[serde(flatten)]
    pub rule: AlertRuleCreate,
    pub is_builtin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<StoredAlertRule> for AlertRuleView {
    fn from(stored: StoredAlertRule) -> Self {
        Self {
            id: stored.id,
            rule: stored.rule,
            is_builtin: stored.is_builtin,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        }
    }
}

/// One entry of an alert's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertEventView {
    pub id: i64,
    /// `fired`, `notified`, `acknowledged`, `escalated`, `resolved`, `remediation`, `comment`,
    /// `suppressed` or `flapping`.
    pub kind: String,
    pub at: DateTime<Utc>,
    /// The user who acted; null for the engine.
    pub actor_id: Option<i64>,
    pub detail: Option<Value>,
}

impl From<AlertEvent> for AlertEventView {
    fn from(event: AlertEvent) -> Self {
        Self {
            id: event.id,
            kind: event.kind.as_str().to_owned(),
            at: event.at,
            actor_id: event.actor_id,
            detail: event.detail,
        }
    }
}

/// Alert: the original's fields, plus ours after `created_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertView {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub host_id: Option<i64>,
    pub service_id: Option<i64>,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// `firing`, `acknowledged` or `resolved`.
    pub status: String,
    pub title: String,
    pub message: Option<String>,
    pub metric_value: Option<f64>,
    pub threshold: Option<f64>,
    pub fired_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// **Ours:** the database of a `db_metric` alert.
    pub database_id: Option<i64>,
    /// **Ours:** who resolved it by hand (null when the condition cleared).
    pub resolved_by: Option<i64>,
    /// **Ours:** the comment of a manual resolution.
    pub resolution_comment: Option<String>,
    /// **Ours:** the target keeps firing and resolving.
    pub flapping: bool,
    /// **Ours:** alerts notified together share it.
    pub group_key: Option<String>,
    /// **Ours:** the alert this one is suppressed under.
    pub parent_alert_id: Option<i64>,
    /// **Ours:** the timeline, oldest first; only on `GET /alerts/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<AlertEventView>>,
}

impl From<Alert> for AlertView {
    fn from(alert: Alert) -> Self {
        Self {
            id: alert.id,
            rule_id: alert.rule_id,
            host_id: alert.host_id,
            service_id: alert.service_id,
            severity: alert.severity.as_str().to_owned(),
            status: alert.status.as_str().to_owned(),
            title: alert.title,
            message: alert.message,
            metric_value: alert.metric_value,
            threshold: alert.threshold,
            fired_at: alert.fired_at,
            resolved_at: alert.resolved_at,
            acknowledged_at: alert.acknowledged_at,
            acknowledged_by: alert.acknowledged_by,
            created_at: alert.created_at,
            database_id: alert.database_id,
            resolved_by: alert.resolved_by,
            resolution_comment: alert.resolution_comment,
            flapping: alert.flapping,
            group_key: alert.group_key,
            parent_alert_id: alert.parent_alert_id,
            timeline: None,
        }
    }
}

/// **Ours:** `POST /alerts/{id}/resolve`; the body is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AlertResolveRequest {
    /// Why, for the timeline and the audit trail.
    pub comment: Option<String>,
}

/// What a silence applies to; every criterion given must match, none at all matches every alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SilenceMatchersWire {
    pub host_ids: Vec<i64>,
    /// Host groups (`group_name`).
    pub group_names: Vec<String>,
    /// Each tag with this value.
    pub tags: BTreeMap<String, String>,
    pub service_ids: Vec<i64>,
    pub rule_ids: Vec<i64>,
}

impl From<SilenceMatchersWire> for SilenceMatchers {
    fn from(wire: SilenceMatchersWire) -> Self {
        Self {
            host_ids: wire.host_ids,
            group_names: wire.group_names,
            tags: wire.tags,
            service_ids: wire.service_ids,
            rule_ids: wire.rule_ids,
        }
    }
}

impl From<SilenceMatchers> for SilenceMatchersWire {
    fn from(matchers: SilenceMatchers) -> Self {
        Self {
            host_ids: matchers.host_ids,
            group_names: matchers.group_names,
            tags: matchers.tags,
            service_ids: matchers.service_ids,
            rule_ids: matchers.rule_ids,
        }
    }
}

/// **Ours:** `POST /silences`. One-off: `starts_at` and `ends_at`. Recurring maintenance window:
/// `schedule` (5-field cron, UTC) and `duration_seconds`, with optional `starts_at`/`ends_at`
/// bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SilenceCreate {
    pub name: String,
    pub comment: Option<String>,
    pub matchers: SilenceMatchersWire,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// e.g. `"0 2 * * SUN"`.
    pub schedule: Option<String>,
    pub duration_seconds: Option<i64>,
    pub is_enabled: bool,
}

impl Default for SilenceCreate {
    fn default() -> Self {
        Self {
            name: String::new(),
            comment: None,
            matchers: SilenceMatchersWire::default(),
            starts_at: None,
            ends_at: None,
            schedule: None,
            duration_seconds: None,
            is_enabled: true,
        }
    }
}

/// **Ours:** `PUT /silences/{id}`: any subset of SilenceCreate; an explicit `null` clears.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SilenceUpdate {
    pub name: Option<String>,
    #[serde(deserialize_with = "present")]
    pub comment: Option<Option<String>>,
    pub matchers: Option<SilenceMatchersWire>,
    #[serde(deserialize_with = "present")]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    #[serde(deserialize_with = "present")]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    #[serde(deserialize_with = "present")]
    pub schedule: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    pub duration_seconds: Option<Option<i64>>,
    pub is_enabled: Option<bool>,
}

impl SilenceUpdate {
    /// The silence as it is after this update; validate the result before storing it.
    pub fn apply_to(self, mut silence: SilenceCreate) -> SilenceCreate {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(value) = self.$field {
                    silence.$field = value;
                }
            )*};
        }
        set!(
            name,
            comment,
            matchers,
            starts_at,
            ends_at,
            schedule,
            duration_seconds,
            is_enabled
        );
        silence
    }
}

/// **Ours:** a silence as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilenceView {
    pub id: i64,
    #[serde(flatten)]
    pub silence: SilenceCreate,
    /// Whether it is in force now.
    pub active: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SilenceView {
    /// The view of a stored silence; `active` says whether it is in force now.
    pub fn new(silence: Silence, active: bool) -> Self {
        let (starts_at, ends_at, schedule, duration_seconds) = match silence.schedule {
            SilenceSchedule::Once { starts_at, ends_at } => {
                (Some(starts_at), Some(ends_at), None, None)
            }
            SilenceSchedule::Recurring {
                cron,
                duration_seconds,
                starts_at,
                ends_at,
            } => (starts_at, ends_at, Some(cron), Some(duration_seconds)),
        };
        Self {
            id: silence.id,
            silence: SilenceCreate {
                name: silence.name,
                comment: silence.comment,
                matchers: silence.matchers.into(),
                starts_at,
                ends_at,
                schedule,
                duration_seconds,
                is_enabled: silence.is_enabled,
            },
            active,
            created_by: silence.created_by,
            created_at: silence.created_at,
            updated_at: silence.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn create_fills_the_original_defaults() {
        let rule: AlertRuleCreate = serde_json::from_value(json!({"name": "x"})).unwrap();
        let value = serde_json::to_value(&rule).unwrap();
        for (key, expected) in [
            ("severity", json!("warning")),
            ("metric", json!("")),
            ("operator", json!(">")),
            ("threshold", json!(0.0)),
            ("duration_seconds", json!(300)),
            ("is_enabled", json!(true)),
            ("target_type", json!("host")),
            ("target_filter", json!(null)),
            ("rule_type", json!("metric")),
            ("cooldown_seconds", json!(300)),
            ("silence_start", json!(null)),
            ("db_id", json!(null)),
        ] {
            assert_eq!(value[key], expected, "{key}");
        }
    }

    #[test]
    fn create_reads_the_extensions() {
        let rule: AlertRuleCreate = serde_json::from_value(json!({
            "name": "disk",
            "target_filter": {"host_ids": [1, 2], "group_name": "db", "tags": {"env": "prod"}},
            "notification_channel_ids": [3],
            "recovery_threshold": 80.0,
            "detector": {"kind": "forecast", "within_hours": 24}
        }))
        .unwrap();
        assert_eq!(rule.notification_channel_ids, Some(vec![3]));
        assert_eq!(
            rule.detector,
            Some(DetectorWire::Forecast {
                within_hours: 24.0,
                lookback_seconds: None
            })
        );
        let filter = rule.target_filter.unwrap();
        assert_eq!(filter.host_ids, Some(vec![1, 2]));
        assert_eq!(filter.tags.unwrap()["env"], "prod");
    }

    #[test]
    fn update_keeps_missing_fields_and_clears_explicit_nulls() {
        let current = AlertRuleCreate {
            name: "cpu".to_owned(),
            description: Some("old".to_owned()),
            silence_start: Some("22:00:00".to_owned()),
            silence_end: Some("06:00:00".to_owned()),
            ..AlertRuleCreate::default()
        };
        let update: AlertRuleUpdate = serde_json::from_value(json!({
            "threshold": 95.0,
            "silence_start": null,
            "silence_end": null
        }))
        .unwrap();
        let updated = update.apply_to(current);
        assert_eq!(updated.threshold, 95.0);
        assert_eq!(updated.description.as_deref(), Some("old"));
        assert_eq!(updated.name, "cpu");
        assert_eq!(updated.silence_start, None);
        assert_eq!(updated.silence_end, None);
    }

    #[test]
    fn view_is_flat() {
        let view = AlertRuleView {
            id: 7,
            rule: AlertRuleCreate {
                name: "cpu".to_owned(),
                ..AlertRuleCreate::default()
            },
            is_builtin: true,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        };
        let value = serde_json::to_value(&view).unwrap();
        assert_eq!(value["id"], 7);
        assert_eq!(value["name"], "cpu");
        assert_eq!(value["is_builtin"], true);
        let back: AlertRuleView = serde_json::from_value(value).unwrap();
        assert_eq!(back, view);
    }

    #[test]
    fn silence_updates_keep_missing_fields_and_clear_explicit_nulls() {
        let current = SilenceCreate {
            name: "backup".to_owned(),
            comment: Some("nightly".to_owned()),
            schedule: Some("0 2 * * *".to_owned()),
            duration_seconds: Some(3600),
            ..SilenceCreate::default()
        };
        let update: SilenceUpdate =
            serde_json::from_value(json!({"comment": null, "is_enabled": false})).unwrap();
        let updated = update.apply_to(current);
        assert_eq!(updated.comment, None);
        assert!(!updated.is_enabled);
        assert_eq!(updated.schedule.as_deref(), Some("0 2 * * *"));
        let create: SilenceCreate = serde_json::from_value(json!({"name": "x"})).unwrap();
        assert!(create.is_enabled, "enabled by default");
        assert_eq!(create.matchers, SilenceMatchersWire::default());
    }
}
