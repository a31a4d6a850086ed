//! When a silence or maintenance window is in force. A one-off silence covers
//! `[starts_at, ends_at)`; a recurring one covers `duration` after each occurrence of its
//! 5-field cron schedule (evaluated in UTC), within its optional bounds. Pure: time is passed in.

use chrono::{DateTime, Duration, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::model::SilenceSchedule;

/// Longest window a recurring silence may open for each occurrence (a week).
pub const MAX_RECURRING_SECONDS: i64 = 7 * 24 * 3600;

/// Parses a 5-field cron schedule (`minute hour day-of-month month day-of-week`, with the usual
/// ranges, lists, steps and names, or an `@daily`-style nickname), or says why not.
pub fn parse_cron(schedule: &str) -> Result<Cron, String> {
    let trimmed = schedule.trim();
    if trimmed.is_empty() {
        return Err("is empty".to_owned());
    }
    if !trimmed.starts_with('@') && trimmed.split_whitespace().count() != 5 {
        return Err(format!(
            "must have 5 fields (minute hour day-of-month month day-of-week), got {trimmed:?}"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(trimmed)
        .map_err(|error| format!("invalid cron schedule {trimmed:?}: {error}"))
}

/// Whether a schedule is in force at `at`. A schedule that cannot be parsed (stored before a
/// stricter parser) is never in force.
pub fn is_active(schedule: &SilenceSchedule, at: DateTime<Utc>) -> bool {
    match schedule {
        SilenceSchedule::Once { starts_at, ends_at } => *starts_at <= at && at < *ends_at,
        SilenceSchedule::Recurring {
            cron,
            duration_seconds,
            starts_at,
            ends_at,
        } => {
            if starts_at.is_some_and(|start| at < start) || ends_at.is_some_and(|end| at >= end) {
                return false;
            }
            let Ok(cron) = parse_cron(cron) else {
                return false;
            };
            // The latest occurrence at or before `at` opens the latest window; an earlier one
            // cannot reach further, since all windows have the same length.
            match cron.find_previous_occurrence(&at, true) {
                Ok(occurrence) => at < occurrence + Duration::seconds(*duration_seconds),
                Err(_) => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        // 2026-11-01 is a Sunday.
        Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
            .unwrap()
    }

    fn weekly(duration_seconds: i64) -> SilenceSchedule {
        SilenceSchedule::Recurring {
            cron: "0 2 * * SUN".to_owned(),
            duration_seconds,
            starts_at: None,
            ends_at: None,
        }
    }

    #[test]
    fn a_one_off_silence_covers_its_half_open_range() {
        let once = SilenceSchedule::Once {
            starts_at: at(2, 10, 0),
            ends_at: at(2, 12, 0),
        };
        assert!(!is_active(&once, at(2, 9, 59)));
        assert!(is_active(&once, at(2, 10, 0)));
        assert!(is_active(&once, at(2, 11, 59)));
        assert!(!is_active(&once, at(2, 12, 0)));
    }

    #[test]
    fn a_weekly_window_opens_at_each_occurrence_for_its_duration() {
        let window = weekly(2 * 3600);
        assert!(!is_active(&window, at(1, 1, 59)));
        assert!(is_active(&window, at(1, 2, 0)));
        assert!(is_active(&window, at(1, 3, 59)));
        assert!(!is_active(&window, at(1, 4, 0)));
        assert!(!is_active(&window, at(4, 2, 30)), "a Wednesday");
        assert!(is_active(&window, at(8, 2, 30)), "the next Sunday");
    }

    #[test]
    fn bounds_limit_a_recurring_window() {
        let bounded = SilenceSchedule::Recurring {
            cron: "0 2 * * *".to_owned(),
            duration_seconds: 3600,
            starts_at: Some(at(3, 0, 0)),
            ends_at: Some(at(5, 0, 0)),
        };
        assert!(!is_active(&bounded, at(2, 2, 30)));
        assert!(is_active(&bounded, at(3, 2, 30)));
        assert!(is_active(&bounded, at(4, 2, 30)));
        assert!(!is_active(&bounded, at(5, 2, 30)));
    }

    #[test]
    fn schedules_are_checked() {
        assert!(parse_cron("0 2 * * 0").is_ok());
        assert!(parse_cron("*/15 9-17 * * MON-FRI").is_ok());
        assert!(parse_cron("@daily").is_ok());
        for bad in [
            "",
            "0 2 * *",
            "0 0 2 * * *",
            "61 * * * *",
            "0 25 * * *",
            "nonsense",
        ] {
            assert!(parse_cron(bad).is_err(), "{bad:?} accepted");
        }
        let broken = SilenceSchedule::Recurring {
            cron: "bad".to_owned(),
            duration_seconds: 60,
            starts_at: None,
            ends_at: None,
        };
        assert!(!is_active(&broken, at(1, 2, 0)));
    }
}
