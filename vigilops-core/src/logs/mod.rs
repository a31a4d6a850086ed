//! Logs over REST (`rest-api.md` §12) and live (§21): search with a full-text match on the
//! message and filters, counts by level and time bucket, the lines around one line, and the
//! stream of every ingested line ([`stream`]).

pub mod stream;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::clock::Clock;
use crate::ingest::normalize_level;
use crate::model::{LogEntry, LogQuery, LogStatsQuery, Page};
use crate::protocol::rest::PageOf;
use crate::store::{Store, StoreError};

/// Most lines shown on either side of a line.
pub const MAX_CONTEXT: i64 = 100;
/// Lines on either side of a line by default.
pub const DEFAULT_CONTEXT: i64 = 10;
/// The longest range the statistics count over.
const MAX_STATS_RANGE: Duration = Duration::days(366);

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("Log entry not found")]
    NotFound,
    /// A query parameter out of its domain; `field` names it.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> LogError {
    LogError::Invalid {
        field,
        message: message.into(),
    }
}

/// A stored line with its host's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLineView {
    pub id: i64,
    pub host_id: i64,
    pub hostname: Option<String>,
    pub service: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
    pub message: String,
    pub timestamp: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl LogLineView {
    fn new(entry: LogEntry, hostname: Option<String>) -> Self {
        Self {
            id: entry.id,
            host_id: entry.host_id,
            hostname,
            service: entry.service,
            source: entry.source,
            level: entry.level,
            message: entry.message,
            timestamp: entry.timestamp,
            created_at: entry.created_at,
        }
    }
}

/// Lines of one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelCount {
    /// Upper-cased; `UNKNOWN` for lines without a level.
    pub level: String,
    pub count: i64,
}

/// Lines of one hour or day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeCount {
    /// The bucket's start (UTC).
    pub time_bucket: DateTime<Utc>,
    pub count: i64,
}

/// `GET /logs/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogStatsView {
    pub by_level: Vec<LevelCount>,
    /// Ascending.
    pub by_time: Vec<TimeCount>,
    /// The range counted (ours): the query's, or the default one.
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
}

/// `GET /logs/{id}/context` (ours): a line with the lines of its host around it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogContextView {
    /// Oldest first.
    pub before: Vec<LogLineView>,
    pub line: LogLineView,
    /// Oldest first.
    pub after: Vec<LogLineView>,
}

/// The search's query as the routes receive it (text, not yet checked).
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub q: Option<String>,
    pub host_id: Option<i64>,
    pub service: Option<String>,
    /// Comma-separated levels.
    pub level: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub page: Page,
}

/// The statistics' query as the routes receive it.
#[derive(Debug, Clone, Default)]
pub struct StatsParams {
    pub host_id: Option<i64>,
    pub service: Option<String>,
    /// `1h` gives hourly buckets; anything else daily ones.
    pub period: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// Reads a time as the original client sends it: RFC 3339, or a naive date-time (`T` or space
/// separated, taken as UTC), or a bare date (its midnight, UTC).
pub fn parse_time(field: &'static str, text: &str) -> Result<DateTime<Utc>, LogError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(invalid(
        field,
        format!("{field} must be an ISO 8601 date-time, got {text:?}"),
    ))
}

fn parse_optional(
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<DateTime<Utc>>, LogError> {
    text.filter(|text| !text.trim().is_empty())
        .map(|text| parse_time(field, text))
        .transpose()
}

/// `ERROR, warning` → `["ERROR", "WARN", "WARNING"]`: upper-cased, with the spelling
/// ingestion stores and its synonym; empty items are ignored.
pub fn parse_levels(text: Option<&str>) -> Result<Vec<String>, LogError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let mut levels = Vec::new();
    for level in text
        .split(',')
        .map(str::trim)
        .filter(|level| !level.is_empty())
    {
        if level.len() > 32 || !level.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(invalid("level", format!("unknown level {level:?}")));
        }
        // As stored (ingestion writes WARNING as WARN and CRITICAL as FATAL), plus the long
        // spelling, which data migrated from the original may still hold.
        let stored = normalize_level(level);
        let synonym = match stored.as_str() {
            "WARN" => Some("WARNING"),
            "FATAL" => Some("CRITICAL"),
            _ => None,
        };
        for level in std::iter::once(stored.as_str()).chain(synonym) {
            if !levels.iter().any(|known| known == level) {
                levels.push(level.to_owned());
            }
        }
    }
    Ok(levels)
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

/// Searches and counts stored lines.
#[derive(Clone)]
pub struct LogSearch {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl LogSearch {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A page of matching lines, newest first.
    pub async fn search(&self, params: SearchParams) -> Result<PageOf<LogLineView>, LogError> {
        let from = parse_optional("start_time", params.start_time.as_deref())?;
        let to = parse_optional("end_time", params.end_time.as_deref())?;
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            return Err(invalid(
                "end_time",
                "end_time must not be before start_time",
            ));
        }
        let text = non_empty(params.q).map(|text| text.trim().to_owned());
        if text.as_ref().is_some_and(|text| text.chars().count() > 512) {
            return Err(invalid("q", "q must be at most 512 characters"));
        }
        let query = LogQuery {
            text,
            host_id: params.host_id,
            service: non_empty(params.service),
            levels: parse_levels(params.level.as_deref())?,
            from,
            to,
            page: params.page,
        };
        let (lines, total) = self.store.search_logs(&query).await?;
        Ok(PageOf {
            items: lines
                .into_iter()
                .map(|line| LogLineView::new(line.entry, line.hostname))
                .collect(),
            total,
            page: params.page.page,
            page_size: params.page.page_size,
        })
    }

    /// Counts by level and by hour (`period=1h`) or day. Without a start, the last 24 hours
    /// (hourly) or 30 days (daily); without an end, now.
    pub async fn stats(&self, params: StatsParams) -> Result<LogStatsView, LogError> {
        let hourly = params.period.as_deref().map(str::trim) == Some("1h");
        let to = parse_optional("end_time", params.end_time.as_deref())?
            .unwrap_or_else(|| self.clock.now());
        let default_span = if hourly {
            Duration::hours(24)
        } else {
            Duration::days(30)
        };
        let from = parse_optional("start_time", params.start_time.as_deref())?
            .unwrap_or(to - default_span);
        if to < from {
            return Err(invalid(
                "end_time",
                "end_time must not be before start_time",
            ));
        }
        if to - from > MAX_STATS_RANGE {
            return Err(invalid("start_time", "the range must be at most 366 days"));
        }
        let stats = self
            .store
            .log_stats(&LogStatsQuery {
                host_id: params.host_id,
                service: non_empty(params.service),
                from,
                to,
                hourly,
            })
            .await?;
        Ok(LogStatsView {
            by_level: stats
                .by_level
                .into_iter()
                .map(|(level, count)| LevelCount { level, count })
                .collect(),
            by_time: stats
                .by_time
                .into_iter()
                .map(|(time_bucket, count)| TimeCount { time_bucket, count })
                .collect(),
            start_time: from,
            end_time: to,
        })
    }

    /// A line with up to `before` and `after` (0–100, default 10) lines of its host around it.
    pub async fn context(
        &self,
        id: i64,
        before: Option<i64>,
        after: Option<i64>,
    ) -> Result<LogContextView, LogError> {
        let before = context_size("before", before)?;
        let after = context_size("after", after)?;
        let context = self
            .store
            .log_context(id, before, after)
            .await?
            .ok_or(LogError::NotFound)?;
        let hostname = self
            .store
            .host(context.line.host_id)
            .await?
            .map(|host| host.hostname);
        let view = |entry: LogEntry| LogLineView::new(entry, hostname.clone());
        Ok(LogContextView {
            before: context.before.into_iter().map(view).collect(),
            line: view(context.line),
            after: context.after.into_iter().map(view).collect(),
        })
    }
}

fn context_size(field: &'static str, value: Option<i64>) -> Result<i64, LogError> {
    let value = value.unwrap_or(DEFAULT_CONTEXT);
    if (0..=MAX_CONTEXT).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            field,
            format!("{field} must be between 0 and {MAX_CONTEXT}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_read_in_the_forms_clients_send() {
        let expected = Utc
            .with_ymd_and_hms(2026, 2, 21, 10, 0, 0)
            .single()
            .unwrap();
        for text in [
            "2026-02-21T10:00:00Z",
            "2026-02-21T18:00:00+08:00",
            "2026-02-21T10:00:00",
            "2026-02-21 10:00:00",
            "2026-02-21T10:00",
            "2026-02-21T10:00:00.000",
        ] {
            assert_eq!(
                parse_time("start_time", text).ok(),
                Some(expected),
                "{text}"
            );
        }
        assert_eq!(
            parse_time("start_time", "2026-02-21").ok(),
            Utc.with_ymd_and_hms(2026, 2, 21, 0, 0, 0).single()
        );
        assert!(matches!(
            parse_time("end_time", "yesterday"),
            Err(LogError::Invalid {
                field: "end_time",
                ..
            })
        ));
    }

    #[test]
    fn levels_are_a_comma_list_upper_cased() {
        assert_eq!(
            parse_levels(Some("error, warning,,WARN")).ok(),
            Some(vec!["ERROR".into(), "WARN".into(), "WARNING".into()])
        );
        assert_eq!(
            parse_levels(Some("critical")).ok(),
            Some(vec!["FATAL".into(), "CRITICAL".into()])
        );
        assert_eq!(parse_levels(None).ok(), Some(Vec::new()));
        assert!(parse_levels(Some("ERROR' OR 1=1")).is_err());
    }

    #[test]
    fn context_sizes_are_bounded() {
        assert_eq!(context_size("before", None).ok(), Some(DEFAULT_CONTEXT));
        assert_eq!(context_size("before", Some(0)).ok(), Some(0));
        assert!(context_size("after", Some(101)).is_err());
        assert!(context_size("after", Some(-1)).is_err());
    }
}
