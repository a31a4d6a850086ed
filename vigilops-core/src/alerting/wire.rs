//! Wire shapes of `/api/v1/alert-rules`: the original's RuleCreate and Rule JSON with its
//! defaults, plus our optional extension fields. Enumerations travel as strings here so that a
//! bad value is reported by [`crate::alerting::rule::AlertRule::from_wire`] naming its field,
//! rather than as an anonymous JSON error.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

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
}

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
        }
    }
}

/// Keeps "absent" (outer `None`) apart from "explicitly null" (`Some(None)`) in an update.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PUT /alert-rules/{id}`: any subset of RuleCreate. For nullable fields, an explicit `null`
/// clears the value and a missing key keeps it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
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
            detector
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
}
