//! What both backends share about the alerting tables: the JSON columns' shapes and the split of
//! a silence schedule into columns.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{StoreError, StoreResult};
use crate::model::{SilenceMatchers, SilenceSchedule};

/// A JSON column's value for an optional serializable field.
pub(crate) fn encode<T: Serialize>(column: &str, value: Option<&T>) -> StoreResult<Option<Value>> {
    value
        .map(|value| {
            serde_json::to_value(value)
                .map_err(|error| StoreError::Corrupt(format!("column `{column}`: {error}")))
        })
        .transpose()
}

/// An optional field read back from its JSON column.
pub(crate) fn decode<T: DeserializeOwned>(
    column: &str,
    value: Option<Value>,
) -> StoreResult<Option<T>> {
    value
        .filter(|value| !value.is_null())
        .map(|value| {
            serde_json::from_value(value)
                .map_err(|error| StoreError::Corrupt(format!("column `{column}`: {error}")))
        })
        .transpose()
}

/// The `silences.matchers` document.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct MatchersDocument {
    host_ids: Vec<i64>,
    group_names: Vec<String>,
    tags: BTreeMap<String, String>,
    service_ids: Vec<i64>,
    rule_ids: Vec<i64>,
}

/// `silences.matchers` as stored.
pub(crate) fn encode_matchers(matchers: &SilenceMatchers) -> Value {
    let document = MatchersDocument {
        host_ids: matchers.host_ids.clone(),
        group_names: matchers.group_names.clone(),
        tags: matchers.tags.clone(),
        service_ids: matchers.service_ids.clone(),
        rule_ids: matchers.rule_ids.clone(),
    };
    // Only integers, strings and string maps: serializing cannot fail.
    serde_json::to_value(document).unwrap_or(Value::Null)
}

/// `silences.matchers` read back.
pub(crate) fn decode_matchers(value: Option<Value>) -> StoreResult<SilenceMatchers> {
    let document: MatchersDocument = decode("matchers", value)?.unwrap_or_default();
    Ok(SilenceMatchers {
        host_ids: document.host_ids,
        group_names: document.group_names,
        tags: document.tags,
        service_ids: document.service_ids,
        rule_ids: document.rule_ids,
    })
}

/// A schedule's columns: (starts_at, ends_at, schedule, duration_seconds).
pub(crate) type ScheduleColumns = (
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<i64>,
);

/// Splits a schedule into its columns.
pub(crate) fn schedule_columns(schedule: &SilenceSchedule) -> ScheduleColumns {
    match schedule {
        SilenceSchedule::Once { starts_at, ends_at } => {
            (Some(*starts_at), Some(*ends_at), None, None)
        }
        SilenceSchedule::Recurring {
            cron,
            duration_seconds,
            starts_at,
            ends_at,
        } => (
            *starts_at,
            *ends_at,
            Some(cron.clone()),
            Some(*duration_seconds),
        ),
    }
}

/// Joins a schedule's columns.
pub(crate) fn schedule_from_columns(columns: ScheduleColumns) -> StoreResult<SilenceSchedule> {
    match columns {
        (starts_at, ends_at, Some(cron), Some(duration_seconds)) => {
            Ok(SilenceSchedule::Recurring {
                cron,
                duration_seconds,
                starts_at,
                ends_at,
            })
        }
        (Some(starts_at), Some(ends_at), None, None) => {
            Ok(SilenceSchedule::Once { starts_at, ends_at })
        }
        _ => Err(StoreError::Corrupt(
            "silence without a complete schedule".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::shared_part;

    #[test]
    fn both_backends_run_the_same_alerting_statements() {
        let sqlite = include_str!("sqlite/alerting.rs");
        let postgres = include_str!("postgres/alerting.rs");
        assert!(shared_part(sqlite).len() > 1000);
        assert_eq!(
            shared_part(sqlite),
            shared_part(postgres),
            "sqlite/alerting.rs and postgres/alerting.rs differ below their encodings"
        );
    }
}
