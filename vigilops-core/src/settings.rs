//! The operator-tunable settings of `/api/v1/settings` (`rest-api.md` §11), typed, validated,
//! shared by every replica through the store, and read by the code they name: the offline
//! sweeper (`heartbeat_timeout`), the alert sweep (`alert_check_interval`), notification
//! delivery (`webhook_retry_count`) and retention (`raw_metrics_retention_days`,
//! `metrics_retention_days`, `rollup_retention_days`, `log_retention_days`,
//! `db_metric_retention_days`). The original stored these and read none
//! of them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::store::{SettingStore, Store, StoreError};

/// Days 5-minute metric rollups are kept (the contract's key; in the original it named the raw
/// samples, which it never purged).
pub const METRICS_RETENTION_DAYS: &str = "metrics_retention_days";
/// Days raw host metric samples and service checks are kept.
pub const RAW_METRICS_RETENTION_DAYS: &str = "raw_metrics_retention_days";
/// Days hourly metric rollups are kept.
pub const ROLLUP_RETENTION_DAYS: &str = "rollup_retention_days";
/// Seconds between two sweeps of the time-based alert rules (offline, absence, quiet log
/// rules, repeats, escalations).
pub const ALERT_CHECK_INTERVAL: &str = "alert_check_interval";
/// Seconds without a heartbeat before a host is offline.
pub const HEARTBEAT_TIMEOUT: &str = "heartbeat_timeout";
/// Delivery attempts of a notification, in all.
pub const WEBHOOK_RETRY_COUNT: &str = "webhook_retry_count";
/// Days log lines are kept.
pub const LOG_RETENTION_DAYS: &str = "log_retention_days";
/// Days database samples are kept.
pub const DB_METRIC_RETENTION_DAYS: &str = "db_metric_retention_days";

/// The metric retention periods, finest data first; each must be at most the next.
const RETENTION_ORDER: [&str; 3] = [
    RAW_METRICS_RETENTION_DAYS,
    METRICS_RETENTION_DAYS,
    ROLLUP_RETENTION_DAYS,
];

/// One setting: its key, default, bounds and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub key: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    pub description: &'static str,
}

/// Every setting.
pub const SPECS: [Spec; 8] = [
    Spec {
        key: METRICS_RETENTION_DAYS,
        default: 90,
        min: 1,
        max: 3650,
        description: "Days 5-minute rollups of host metrics and service checks are kept before they are purged",
    },
    Spec {
        key: RAW_METRICS_RETENTION_DAYS,
        default: 7,
        min: 1,
        max: 3650,
        description: "Days raw host metric samples and service checks are kept before they are \
                      purged (longer ranges are served from rollups)",
    },
    Spec {
        key: ROLLUP_RETENTION_DAYS,
        default: 365,
        min: 1,
        max: 3650,
        description: "Days hourly rollups of host metrics and service checks are kept before they are purged",
    },
    Spec {
        key: ALERT_CHECK_INTERVAL,
        // Ours: 10 s (the original's 60 was never read); host-offline and absence alerts are
        // found within one interval.
        default: 10,
        min: 5,
        max: 3600,
        description: "Seconds between two sweeps of the time-based alert rules",
    },
    Spec {
        key: HEARTBEAT_TIMEOUT,
        default: 300,
        min: 30,
        max: 86_400,
        description: "Seconds without a heartbeat before a host is marked offline",
    },
    Spec {
        key: WEBHOOK_RETRY_COUNT,
        default: 3,
        min: 1,
        max: 10,
        description: "Delivery attempts of a notification, in all",
    },
    Spec {
        key: LOG_RETENTION_DAYS,
        default: 7,
        min: 1,
        max: 3650,
        description: "Days log lines are kept before they are purged",
    },
    Spec {
        key: DB_METRIC_RETENTION_DAYS,
        default: 30,
        min: 1,
        max: 3650,
        description: "Days database metric samples are kept before they are purged",
    },
];

/// A setting as `GET /settings` shows it (the original's shape: the value as a string).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingView {
    pub value: String,
    pub description: String,
}

/// What can go wrong changing settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// 422, naming the key.
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn spec(key: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|spec| spec.key == key)
}

/// `value` as the setting's integer, when it is one in range (a number, or a string of one).
fn parse(spec: &Spec, value: &Value) -> Result<i64, String> {
    let number = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| "must be a whole number".to_owned())?;
    if number < spec.min || number > spec.max {
        return Err(format!("must be between {} and {}", spec.min, spec.max));
    }
    Ok(number)
}

/// The value of setting `key`: the stored one when valid, else `fallback` (the server's
/// configured default), else the built-in default. A store failure reads as the default, so a
/// sweeper never stops over it.
pub async fn int(store: &dyn SettingStore, key: &str, fallback: Option<i64>) -> i64 {
    let Some(spec) = spec(key) else {
        return fallback.unwrap_or_default();
    };
    let default = fallback.unwrap_or(spec.default);
    match store.setting(key).await {
        Ok(Some(value)) => parse(spec, &value).unwrap_or(default),
        Ok(None) => default,
        Err(error) => {
            tracing::warn!(%error, key, "could not read a setting; using its default");
            default
        }
    }
}

/// The settings as the REST API reads and writes them.
#[derive(Debug, Clone)]
pub struct SettingsService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Defaults the server's configuration gives (`VIGILOPS_HEARTBEAT_TIMEOUT`).
    defaults: BTreeMap<&'static str, i64>,
}

impl SettingsService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            defaults: BTreeMap::new(),
        }
    }

    /// Uses `value` as the default of `key` (from the server's configuration).
    pub fn with_default(mut self, key: &'static str, value: i64) -> Self {
        self.defaults.insert(key, value);
        self
    }

    /// The default of `key` in force.
    pub fn default_of(&self, key: &str) -> Option<i64> {
        self.defaults.get(key).copied()
    }

    /// Every setting with its value in force.
    pub async fn list(&self) -> BTreeMap<String, SettingView> {
        let mut settings = BTreeMap::new();
        for spec in &SPECS {
            let value = int(self.store.as_ref(), spec.key, self.default_of(spec.key)).await;
            settings.insert(
                spec.key.to_owned(),
                SettingView {
                    value: value.to_string(),
                    description: spec.description.to_owned(),
                },
            );
        }
        settings
    }

    /// Refuses a change that would keep coarser metric data for less time than finer data
    /// (raw samples, then 5-minute rollups, then hourly ones): rollups must outlive what they
    /// summarise, or long charts would have holes. Names a key of the request.
    async fn check_retention_order(&self, checked: &[(&str, i64)]) -> Result<(), SettingsError> {
        let mut periods = Vec::with_capacity(RETENTION_ORDER.len());
        for key in RETENTION_ORDER {
            let requested = checked.iter().find(|(k, _)| *k == key).map(|(_, n)| *n);
            let days = match requested {
                Some(days) => days,
                None => int(self.store.as_ref(), key, self.default_of(key)).await,
            };
            periods.push((key, days, requested.is_some()));
        }
        for pair in periods.windows(2) {
            let [(finer, finer_days, finer_asked), (coarser, coarser_days, _)] = pair else {
                continue;
            };
            if finer_days > coarser_days {
                let key = if *finer_asked { finer } else { coarser };
                return Err(SettingsError::Invalid {
                    key: (*key).to_owned(),
                    message: format!(
                        "{finer} ({finer_days}) must not exceed {coarser} ({coarser_days}): \
                         rollups must be kept at least as long as the data they summarise"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Stores every given setting, all or none: each key must be known and each value in range.
    /// Audited.
    pub async fn update(
        &self,
        values: &serde_json::Map<String, Value>,
        actor: &Actor,
    ) -> Result<(), SettingsError> {
        let mut checked = Vec::with_capacity(values.len());
        for (key, value) in values {
            let spec = spec(key).ok_or_else(|| SettingsError::Invalid {
                key: key.clone(),
                message: format!(
                    "unknown setting (known: {})",
                    SPECS.map(|spec| spec.key).join(", ")
                ),
            })?;
            let number = parse(spec, value).map_err(|message| SettingsError::Invalid {
                key: key.clone(),
                message,
            })?;
            checked.push((spec.key, number));
        }
        self.check_retention_order(&checked).await?;
        let now = self.clock.now();
        for (key, number) in &checked {
            // Stored as strings, as the original did.
            self.store
                .put_setting(key, &json!(number.to_string()), now)
                .await?;
        }
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "update_settings",
            "settings",
            None,
            Some(json!(checked.into_iter().collect::<BTreeMap<_, _>>())),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_whole_numbers_in_range_given_as_numbers_or_strings() {
        let Some(spec) = spec(HEARTBEAT_TIMEOUT) else {
            panic!("heartbeat_timeout is a setting");
        };
        assert_eq!(parse(spec, &json!(120)), Ok(120));
        assert_eq!(parse(spec, &json!(" 600 ")), Ok(600));
        for bad in [
            json!(5),
            json!("ten"),
            json!(1.5),
            json!(true),
            json!(null),
            json!(100_000),
        ] {
            assert!(parse(spec, &bad).is_err(), "{bad}");
        }
    }
}
