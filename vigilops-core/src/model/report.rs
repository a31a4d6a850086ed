//! Stored forms of operations reports (`reports` table, `remediation-and-ai.md` §7): a report
//! row, what creates one, and the aggregates of a period that a report is written from.

use chrono::{DateTime, Utc};

use super::Page;

/// Daily or weekly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportType {
    Daily,
    Weekly,
}

impl ReportType {
    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    /// The type a stored or requested spelling names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "daily" => Some(Self::Daily),
            "weekly" => Some(Self::Weekly),
            _ => None,
        }
    }
}

/// Where a report is: written in the background, then done or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportStatus {
    Generating,
    Completed,
    Failed,
}

impl ReportStatus {
    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generating => "generating",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// The status a stored spelling names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "generating" => Some(Self::Generating),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A stored report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub id: i64,
    pub title: String,
    pub report_type: ReportType,
    /// Inclusive.
    pub period_start: DateTime<Utc>,
    /// Exclusive.
    pub period_end: DateTime<Utc>,
    /// Markdown; the error while failed; `None` while generating.
    pub content: Option<String>,
    pub summary: Option<String>,
    pub status: ReportStatus,
    /// The user who asked for it; `None` for scheduled reports (and once the user is deleted).
    pub generated_by: Option<i64>,
    /// Created by the schedule.
    pub scheduled: bool,
    pub created_at: DateTime<Utc>,
}

/// A report to create, in status `generating`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    pub title: String,
    pub report_type: ReportType,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub generated_by: Option<i64>,
    /// A scheduled report is refused (`Conflict`) while a `generating` or `completed` report of
    /// the same type and period exists, decided atomically across replicas.
    pub scheduled: bool,
    pub created_at: DateTime<Utc>,
}

/// How a report ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOutcome {
    /// `Completed` or `Failed`.
    pub status: ReportStatus,
    pub content: String,
    pub summary: String,
}

/// Which reports to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportFilter {
    pub report_type: Option<ReportType>,
    pub page: Page,
}

/// A count of rows sharing one value (a status, a severity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountBy {
    pub key: String,
    pub count: i64,
}

/// Average and maximum of one host metric over a period; `None` without samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MetricStat {
    pub avg: Option<f64>,
    pub max: Option<f64>,
}

/// A service with its current status and its checks over the period.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAvailability {
    pub id: i64,
    pub name: String,
    pub host_id: Option<i64>,
    pub hostname: Option<String>,
    /// The service's current status (`up`, `down`, `unknown`, …).
    pub status: String,
    /// Checks in the period.
    pub checks: i64,
    /// Of which `up`.
    pub up_checks: i64,
}

impl ServiceAvailability {
    /// The share of `up` checks in the period, in percent; `None` without checks.
    #[allow(clippy::cast_precision_loss)] // Check counts stay far below 2^52.
    pub fn availability_percent(&self) -> Option<f64> {
        (self.checks > 0).then(|| self.up_checks as f64 * 100.0 / self.checks as f64)
    }
}

/// Alerts fired in the period with one severity and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCount {
    pub severity: String,
    pub status: String,
    pub count: i64,
}

/// What a report is written from, aggregated by the store over `[from, to)`; every list is
/// bounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportData {
    /// Hosts by current status.
    pub hosts_by_status: Vec<CountBy>,
    /// Host samples in the period.
    pub metric_samples: i64,
    pub cpu: MetricStat,
    pub memory: MetricStat,
    pub disk: MetricStat,
    /// Active services by id, at most [`ReportData::MAX_SERVICES`].
    pub services: Vec<ServiceAvailability>,
    /// Active services by current status (all of them, however many `services` lists).
    pub services_by_status: Vec<CountBy>,
    /// Alerts fired in the period, by severity and status.
    pub alerts: Vec<AlertCount>,
    /// ERROR and CRITICAL log lines in the period (ingestion stores CRITICAL as FATAL).
    pub error_logs: i64,
    /// The services with the most ERROR/CRITICAL/FATAL lines (a line without a service counts under
    /// `""`), at most 10, most first.
    pub top_error_services: Vec<CountBy>,
}

impl ReportData {
    /// The most services a report lists one by one.
    pub const MAX_SERVICES: i64 = 200;
    /// How many services `top_error_services` holds at most.
    pub const TOP_ERROR_SERVICES: i64 = 10;
}
