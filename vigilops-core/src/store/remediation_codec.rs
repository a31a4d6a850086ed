//! What both backends share about remediation runs and settings (migration 0007): reading a
//! run's status back, the compare-and-set condition, the safety layer's time windows, the
//! conflict of a second unfinished run of one alert, and settings as JSON text.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{StoreError, StoreResult};
use crate::model::RemediationStatus;

/// `remediation_logs.status` read back.
pub(crate) fn status_from_column(text: &str) -> StoreResult<RemediationStatus> {
    RemediationStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("remediation status `{text}`")))
}

/// The compare-and-set condition of an update whose expected statuses are bound from `$first`:
/// never true when no status is expected. Only placeholders are interpolated.
pub(crate) fn expected_condition(first: usize, count: usize) -> String {
    if count == 0 {
        return " AND 1 = 0".to_owned();
    }
    let params = (first..first + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(" AND status IN ({params})")
}

/// The start of the window of `length` ending at `now`; the earliest time for a window too
/// long to subtract.
pub(crate) fn window_start(now: DateTime<Utc>, length: Duration) -> DateTime<Utc> {
    now.checked_sub_signed(length)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Creating a run: a unique violation can only come from the index of unfinished runs per
/// alert, so it is named as such.
pub(crate) fn in_progress_conflict(error: StoreError, alert_id: Option<i64>) -> StoreError {
    match (error, alert_id) {
        (StoreError::Conflict(_), Some(alert_id)) => StoreError::Conflict(format!(
            "a remediation is already in progress for alert {alert_id}"
        )),
        (error, _) => error,
    }
}

/// Updating a run: a unique violation can only mean that the new status would make it a second
/// unfinished run of its alert.
pub(crate) fn reopen_conflict(error: StoreError, id: i64) -> StoreError {
    match error {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "remediation {id} cannot be unfinished while another run of its alert is in progress"
        )),
        error => error,
    }
}

/// The conflict of an update whose run is not in an expected status.
pub(crate) fn unexpected_status(id: i64, current: &str) -> StoreError {
    StoreError::Conflict(format!("remediation {id} is in status `{current}`"))
}

/// A setting as stored: JSON text (`settings.value` is TEXT on both backends).
pub(crate) fn setting_text(value: &Value) -> String {
    value.to_string()
}

/// A stored setting read back. The original stored plain strings (`"90"` is JSON, `"daily"`
/// is not), so text that is not JSON is read as that string rather than refused.
pub(crate) fn setting_from_text(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::super::codec::shared_part;
    use super::*;

    #[test]
    fn both_backends_run_the_same_remediation_statements() {
        let sqlite = include_str!("sqlite/remediation.rs");
        let postgres = include_str!("postgres/remediation.rs");
        assert!(shared_part(sqlite).len() > 1000);
        assert_eq!(
            shared_part(sqlite),
            shared_part(postgres),
            "sqlite/remediation.rs and postgres/remediation.rs differ below their encodings"
        );
    }

    #[test]
    fn expected_condition_binds_one_placeholder_per_status() {
        assert_eq!(expected_condition(3, 0), " AND 1 = 0");
        assert_eq!(expected_condition(3, 2), " AND status IN ($3, $4)");
    }

    #[test]
    fn statuses_read_back_or_are_corrupt() {
        for status in RemediationStatus::ALL {
            assert_eq!(status_from_column(status.as_str()).unwrap(), status);
        }
        assert!(status_from_column("done").is_err());
    }

    #[test]
    fn window_start_saturates() {
        let now = DateTime::from_timestamp(3_600, 0).unwrap();
        assert_eq!(
            window_start(now, Duration::hours(1)),
            DateTime::from_timestamp(0, 0).unwrap()
        );
        assert_eq!(window_start(now, Duration::MAX), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn only_unique_violations_of_an_alert_are_named() {
        let named = in_progress_conflict(StoreError::Conflict("UNIQUE".to_owned()), Some(7));
        assert_eq!(
            named.to_string(),
            "conflict: a remediation is already in progress for alert 7"
        );
        let other = in_progress_conflict(StoreError::NotFound("user"), Some(7));
        assert!(matches!(other, StoreError::NotFound("user")));
        let reopened = reopen_conflict(StoreError::Conflict("UNIQUE".to_owned()), 3);
        assert!(reopened.to_string().contains("remediation 3 cannot"));
        assert!(matches!(
            reopen_conflict(StoreError::Corrupt("x".to_owned()), 3),
            StoreError::Corrupt(_)
        ));
    }

    #[test]
    fn settings_are_json_text_and_legacy_strings_are_kept() {
        let value = serde_json::json!({"days": 90, "name": "it's"});
        assert_eq!(setting_from_text(setting_text(&value)), value);
        assert_eq!(setting_from_text("90".to_owned()), serde_json::json!(90));
        assert_eq!(
            setting_from_text("daily".to_owned()),
            Value::String("daily".to_owned())
        );
    }
}
