//! Operations reports (`remediation-and-ai.md` §7, `rest-api.md` §17): daily and weekly
//! reports written in the background, on demand or on schedule once per cluster.
//!
//! A report row is created `generating` and returned at once; a task collects the period's
//! aggregates ([`crate::store::ReportStore::report_data`] and the monitored databases), asks
//! the model for the Markdown when one is configured, and ends the row `completed` (or
//! `failed` with the error). Without a model, or when the model fails, the same sections are
//! rendered from the data alone, saying so: a report never fails for lack of a model. A row
//! left `generating` by a replica that died is failed after [`STALLED_AFTER`].
//!
//! Periods are calendar days in the report time zone (`VIGILOPS_REPORT_TZ`, a fixed offset,
//! default `+08:00`): a daily report is due at 02:00 for the previous day, a weekly one on
//! Monday at 03:00 for the previous 7 days. [`ReportService::run_schedule`] creates the most
//! recent due report of each type that was not yet scheduled, so a server that was down at
//! 02:00 catches up; a scheduled report deleted afterwards is not written again.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::ai::report::{MAX_SUMMARY_CHARS, SUMMARY_MARK, cut};
use crate::ai::service::AiService;
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::{
    DbPoint, HostFilter, MonitoredDatabase, NewReport, Page, Report, ReportData, ReportFilter,
    ReportOutcome, ReportStatus, ReportType,
};
use crate::protocol::rest::PageOf;
use crate::store::{Store, StoreError};

/// A report still `generating` this long after its creation was abandoned by its replica.
pub const STALLED_AFTER: Duration = Duration::minutes(30);
/// The longest period a report may cover.
pub const MAX_PERIOD: Duration = Duration::days(366);
/// The most databases a report lists.
const MAX_DATABASES: usize = 100;
/// The content and summary of a report whose replica died while writing it.
pub const STALLED_MESSAGE: &str =
    "report generation was interrupted (the server stopped while writing it); generate it again";
/// The default report time zone, the original's UTC+8.
pub const DEFAULT_TZ_SECONDS: i32 = 8 * 3600;

/// What can go wrong with reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("Report not found")]
    NotFound,
    /// A request field is unusable; 422 naming `location`/`field`.
    #[error("{field}: {message}")]
    Invalid {
        /// `body` or `query`.
        location: &'static str,
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A report as the REST API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportView {
    pub id: i64,
    /// `日报 YYYY-MM-DD` or `周报 YYYY-MM-DD~YYYY-MM-DD`.
    pub title: String,
    /// `daily` or `weekly`.
    pub report_type: String,
    /// Inclusive.
    pub period_start: DateTime<Utc>,
    /// Exclusive.
    pub period_end: DateTime<Utc>,
    /// Markdown; the error when failed; null while generating.
    pub content: Option<String>,
    /// At most 100 characters; the error when failed.
    pub summary: Option<String>,
    /// `generating`, `completed` or `failed`.
    pub status: String,
    /// Null for scheduled reports.
    pub generated_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<Report> for ReportView {
    fn from(report: Report) -> Self {
        Self {
            id: report.id,
            title: report.title,
            report_type: report.report_type.as_str().to_owned(),
            period_start: report.period_start,
            period_end: report.period_end,
            content: report.content,
            summary: report.summary,
            status: report.status.as_str().to_owned(),
            generated_by: report.generated_by,
            created_at: report.created_at,
        }
    }
}

/// `POST /reports/generate` as received: every field as text, checked here.
#[derive(Debug, Clone, Default)]
pub struct GenerateReport {
    /// `daily` (default) or `weekly`.
    pub report_type: Option<String>,
    /// RFC 3339, or a local date/time in the report time zone; with `period_end` or not at all.
    pub period_start: Option<String>,
    pub period_end: Option<String>,
}

/// A period of a report type, in UTC, half open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub report_type: ReportType,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Reads a fixed UTC offset: `+08:00`, `-0530`, `+8`, `Z` or `UTC`.
pub fn parse_utc_offset(text: &str) -> Option<FixedOffset> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    if !rest
        .bytes()
        .all(|byte| byte.is_ascii_digit() || byte == b':')
    {
        return None;
    }
    let (hours, minutes) = match rest.split_once(':') {
        Some((hours, minutes)) => (hours, minutes),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let hours: i32 = hours.parse().ok().filter(|h| (0..=14).contains(h))?;
    let minutes: i32 = minutes.parse().ok().filter(|m| (0..60).contains(m))?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// Calendar days in the report time zone: periods, titles and due times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar(pub FixedOffset);

impl Calendar {
    /// `日报 YYYY-MM-DD` (the first day) or `周报 YYYY-MM-DD~YYYY-MM-DD` (first and last day).
    pub fn title(&self, period: Period) -> String {
        let first = self.local(period.start).date();
        match period.report_type {
            ReportType::Daily => format!("日报 {first}"),
            ReportType::Weekly => {
                let last = self.local(period.end - Duration::microseconds(1)).date();
                format!("周报 {first}~{last}")
            }
        }
    }

    fn period_text(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
        format!(
            "{} ~ {} (UTC{})",
            self.local(start).format("%Y-%m-%d %H:%M"),
            self.local(end).format("%Y-%m-%d %H:%M"),
            self.0
        )
    }

    /// `at` as a wall-clock time in the report time zone.
    fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.0).naive_local()
    }

    /// Local midnight starting `day`, in UTC.
    fn midnight(&self, day: NaiveDate) -> DateTime<Utc> {
        self.at_local(day.and_time(NaiveTime::MIN))
    }

    /// A wall-clock time of the report time zone, in UTC (a fixed offset is never ambiguous).
    fn at_local(&self, local: NaiveDateTime) -> DateTime<Utc> {
        DateTime::from_naive_utc_and_offset(
            local - Duration::seconds(i64::from(self.0.local_minus_utc())),
            Utc,
        )
    }

    /// The latest daily report due by `now`: due at 02:00 for the previous day.
    pub fn due_daily(&self, now: DateTime<Utc>) -> Period {
        let local = self.local(now);
        let due_today = local.time() >= NaiveTime::from_hms_opt(2, 0, 0).unwrap_or(NaiveTime::MIN);
        let day = local.date() - Duration::days(if due_today { 1 } else { 2 });
        Period {
            report_type: ReportType::Daily,
            start: self.midnight(day),
            end: self.midnight(day + Duration::days(1)),
        }
    }

    /// The latest weekly report due by `now`: due Monday 03:00 for the previous 7 days.
    pub fn due_weekly(&self, now: DateTime<Utc>) -> Period {
        let local = self.local(now);
        let since_monday = i64::from(local.weekday().num_days_from_monday());
        let mut monday = local.date() - Duration::days(since_monday);
        if since_monday == 0
            && local.time() < NaiveTime::from_hms_opt(3, 0, 0).unwrap_or(NaiveTime::MIN)
        {
            monday -= Duration::days(7);
        }
        Period {
            report_type: ReportType::Weekly,
            start: self.midnight(monday - Duration::days(7)),
            end: self.midnight(monday),
        }
    }

    /// RFC 3339, or `YYYY-MM-DD[THH:MM[:SS]]` in the report time zone.
    fn parse_time(&self, text: &str, field: &'static str) -> Result<DateTime<Utc>, ReportError> {
        let text = text.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Ok(at.with_timezone(&Utc));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
                return Ok(self.at_local(local));
            }
        }
        if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(self.midnight(day));
        }
        Err(invalid(
            field,
            "must be an RFC 3339 time or a date (YYYY-MM-DD)",
        ))
    }
}

/// The reports service.
#[derive(Debug, Clone)]
pub struct ReportService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ai: AiService,
    calendar: Calendar,
}

impl ReportService {
    /// Reports over `store`, written by `ai`'s model when configured, with calendar days in `tz`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        ai: AiService,
        tz: FixedOffset,
    ) -> Self {
        Self {
            store,
            clock,
            ai,
            calendar: Calendar(tz),
        }
    }

    /// A page of reports (of one type when given), newest first.
    pub async fn list(
        &self,
        report_type: Option<&str>,
        page: Page,
    ) -> Result<PageOf<ReportView>, ReportError> {
        let report_type = report_type
            .filter(|text| !text.is_empty())
            .map(|text| parse_type(text, "query"))
            .transpose()?;
        let (reports, total) = self
            .store
            .list_reports(&ReportFilter { report_type, page })
            .await?;
        Ok(PageOf {
            items: reports.into_iter().map(ReportView::from).collect(),
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    /// One report.
    pub async fn get(&self, id: i64) -> Result<ReportView, ReportError> {
        let report = self.store.report(id).await?.ok_or(ReportError::NotFound)?;
        Ok(report.into())
    }

    /// Deletes a report (one still generating too: its task then finds it gone). Audited.
    pub async fn delete(&self, id: i64, actor: &Actor) -> Result<(), ReportError> {
        let report = self.store.report(id).await?.ok_or(ReportError::NotFound)?;
        self.store
            .delete_report(id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => ReportError::NotFound,
                other => ReportError::Store(other),
            })?;
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "delete_report",
            "report",
            Some(id.to_string()),
            Some(json!({"title": report.title, "report_type": report.report_type.as_str()})),
        )
        .await?;
        Ok(())
    }

    /// Creates a report of `request`'s type and period (by default yesterday, or the 7 days
    /// before today, in the report time zone) and writes it on a task of its own; returns the
    /// row as created, `generating`. Audited.
    pub async fn generate(
        &self,
        request: &GenerateReport,
        actor: &Actor,
    ) -> Result<ReportView, ReportError> {
        let period = self.requested_period(request)?;
        let report = self
            .store
            .create_report(self.new_report(period, actor.user_id, false))
            .await?;
        // Written from here on whatever happens to this request, so no row is left behind
        // `generating` by a failure below.
        let view = ReportView::from(report.clone());
        let service = self.clone();
        tokio::spawn(async move { service.write(&report).await });
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "generate_report",
            "report",
            Some(view.id.to_string()),
            Some(json!({
                "report_type": period.report_type.as_str(),
                "period_start": period.start,
                "period_end": period.end,
            })),
        )
        .await?;
        Ok(view)
    }

    /// One pass of the schedule (run every minute, once per cluster): fails stalled reports,
    /// then creates and writes the most recent due daily and weekly report unless that period
    /// was already scheduled, or a generating or completed report of it exists. Returns the
    /// reports it wrote.
    pub async fn run_schedule(&self) -> Result<Vec<Report>, ReportError> {
        let now = self.clock.now();
        let stalled = self
            .store
            .fail_stalled_reports(now - STALLED_AFTER, STALLED_MESSAGE)
            .await?;
        if !stalled.is_empty() {
            tracing::warn!(?stalled, "failed reports whose generation was interrupted");
        }
        let mut written = Vec::new();
        for period in [self.calendar.due_daily(now), self.calendar.due_weekly(now)] {
            // A fresh install has no past to report on: no report (nor model call) for a
            // period that ended before the first host was registered.
            if !self.monitored_before(period.end).await? {
                continue;
            }
            let marker = schedule_marker(period.report_type);
            if let Some(done) = self.store.setting(marker).await?
                && done.as_str() == Some(period.start.to_rfc3339().as_str())
            {
                continue;
            }
            match self
                .store
                .create_report(self.new_report(period, None, true))
                .await
            {
                Ok(report) => {
                    self.mark_scheduled(marker, period).await?;
                    tracing::info!(id = report.id, title = %report.title, "writing a scheduled report");
                    if let Some(report) = self.write(&report).await {
                        written.push(report);
                    }
                }
                // Written already (by another replica, or by hand): nothing to do.
                Err(StoreError::Conflict(_)) => self.mark_scheduled(marker, period).await?,
                Err(error) => return Err(error.into()),
            }
        }
        Ok(written)
    }

    /// Whether a host (the oldest still registered) was registered before `end`.
    async fn monitored_before(&self, end: DateTime<Utc>) -> Result<bool, StoreError> {
        let oldest = HostFilter {
            page: Page {
                page: 1,
                page_size: 1,
            },
            ..HostFilter::default()
        };
        let (hosts, _) = self.store.list_hosts(&oldest).await?;
        Ok(hosts.first().is_some_and(|host| host.created_at < end))
    }

    async fn mark_scheduled(&self, marker: &str, period: Period) -> Result<(), StoreError> {
        self.store
            .put_setting(marker, &json!(period.start.to_rfc3339()), self.clock.now())
            .await
    }

    /// Collects the period's data, writes the Markdown and ends the row; returns the ended row
    /// (`None` when it was deleted or failed as stalled meanwhile, or the store failed).
    pub async fn write(&self, report: &Report) -> Option<Report> {
        let outcome = match self.compose(report).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::warn!(%error, id = report.id, "report generation failed");
                let message = format!("report generation failed: {error}");
                ReportOutcome {
                    status: ReportStatus::Failed,
                    summary: cut(&message, MAX_SUMMARY_CHARS),
                    content: message,
                }
            }
        };
        match self.store.finish_report(report.id, outcome).await {
            Ok(report) => Some(report),
            Err(error) => {
                tracing::warn!(%error, id = report.id, "could not store a finished report");
                None
            }
        }
    }

    /// The content and summary of `report`: the model's when it answers, else from the data.
    async fn compose(&self, report: &Report) -> Result<ReportOutcome, StoreError> {
        let data = self
            .store
            .report_data(report.period_start, report.period_end)
            .await?;
        let databases = self.store.list_databases(None).await?;
        let facts = Facts {
            data: &data,
            databases: &databases,
        };
        let period_text = self
            .calendar
            .period_text(report.period_start, report.period_end);
        let figures = facts.sections(&report.title, &period_text);
        let note = if self.ai.is_configured() {
            match self
                .ai
                .write_report(&report.title, &period_text, &figures)
                .await
            {
                Ok((content, summary)) => {
                    return Ok(ReportOutcome {
                        status: ReportStatus::Completed,
                        summary: summary.unwrap_or_else(|| facts.summary()),
                        content,
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, id = report.id, "the model could not write a report");
                    format!("AI 模型生成失败（{error}），以下内容由数据直接生成。")
                }
            }
        } else {
            "未配置 AI 模型，以下内容由数据直接生成。".to_owned()
        };
        let summary = facts.summary();
        let mut content = format!("# {}\n\n> {note}\n\n{figures}", report.title);
        let _ = writeln!(
            content,
            "\n## 建议\n\n{}\n{SUMMARY_MARK}{summary}",
            facts.advice()
        );
        Ok(ReportOutcome {
            status: ReportStatus::Completed,
            content,
            summary,
        })
    }

    fn new_report(&self, period: Period, generated_by: Option<i64>, scheduled: bool) -> NewReport {
        NewReport {
            title: self.calendar.title(period),
            report_type: period.report_type,
            period_start: period.start,
            period_end: period.end,
            generated_by,
            scheduled,
            created_at: self.clock.now(),
        }
    }

    /// The period of a manual request: the one given, else yesterday (daily) or the 7 days
    /// before today (weekly).
    fn requested_period(&self, request: &GenerateReport) -> Result<Period, ReportError> {
        let report_type = match request.report_type.as_deref() {
            None => ReportType::Daily,
            Some(text) => parse_type(text, "body")?,
        };
        let start = request
            .period_start
            .as_deref()
            .map(|text| self.calendar.parse_time(text, "period_start"))
            .transpose()?;
        let end = request
            .period_end
            .as_deref()
            .map(|text| self.calendar.parse_time(text, "period_end"))
            .transpose()?;
        let (start, end) = match (start, end) {
            (Some(start), Some(end)) => (start, end),
            (None, None) => {
                let today = self.calendar.local(self.clock.now()).date();
                let days = match report_type {
                    ReportType::Daily => 1,
                    ReportType::Weekly => 7,
                };
                (
                    self.calendar.midnight(today - Duration::days(days)),
                    self.calendar.midnight(today),
                )
            }
            (Some(_), None) => return Err(invalid("period_end", "is required with period_start")),
            (None, Some(_)) => return Err(invalid("period_start", "is required with period_end")),
        };
        if end <= start {
            return Err(invalid("period_end", "must be after period_start"));
        }
        if end - start > MAX_PERIOD {
            return Err(invalid(
                "period_end",
                "the period may cover at most 366 days",
            ));
        }
        Ok(Period {
            report_type,
            start,
            end,
        })
    }
}

fn invalid(field: &'static str, message: &str) -> ReportError {
    ReportError::Invalid {
        location: "body",
        field,
        message: format!("{field} {message}"),
    }
}

fn parse_type(text: &str, location: &'static str) -> Result<ReportType, ReportError> {
    ReportType::parse(text).ok_or_else(|| ReportError::Invalid {
        location,
        field: "report_type",
        message: format!("report_type must be daily or weekly, not `{text}`"),
    })
}

/// The settings key remembering the last scheduled period of a type, so a deleted scheduled
/// report is not written again.
fn schedule_marker(report_type: ReportType) -> &'static str {
    match report_type {
        ReportType::Daily => "report_schedule.daily",
        ReportType::Weekly => "report_schedule.weekly",
    }
}

/// The figures of a period, rendered as the report's sections.
struct Facts<'a> {
    data: &'a ReportData,
    databases: &'a [(MonitoredDatabase, Option<DbPoint>)],
}

/// Collected text made safe for one Markdown table cell.
fn cell(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.replace('|', "\\|")
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.1}%"))
}

impl Facts<'_> {
    fn hosts(&self, status: &str) -> i64 {
        self.data
            .hosts_by_status
            .iter()
            .filter(|row| row.key == status)
            .map(|row| row.count)
            .sum()
    }

    fn hosts_total(&self) -> i64 {
        self.data.hosts_by_status.iter().map(|row| row.count).sum()
    }

    fn services_total(&self) -> i64 {
        self.data
            .services_by_status
            .iter()
            .map(|row| row.count)
            .sum()
    }

    fn services_down(&self) -> i64 {
        self.data
            .services_by_status
            .iter()
            .filter(|row| row.key.eq_ignore_ascii_case("down"))
            .map(|row| row.count)
            .sum()
    }

    fn alerts_total(&self) -> i64 {
        self.data.alerts.iter().map(|row| row.count).sum()
    }

    fn alerts_where(&self, keep: impl Fn(&str, &str) -> bool) -> i64 {
        self.data
            .alerts
            .iter()
            .filter(|row| keep(&row.severity, &row.status))
            .map(|row| row.count)
            .sum()
    }

    fn unhealthy_databases(&self) -> Vec<&MonitoredDatabase> {
        self.databases
            .iter()
            .map(|(database, _)| database)
            .filter(|database| !database.status.eq_ignore_ascii_case("healthy"))
            .collect()
    }

    /// Every section but the advice, as Markdown (also what the model is given).
    fn sections(&self, title: &str, period: &str) -> String {
        let data = self.data;
        let mut out = String::new();
        let _ = writeln!(out, "## 概览\n");
        let _ = writeln!(out, "- 报告：{title}，统计区间 {period}");
        let _ = writeln!(
            out,
            "- 主机 {} 台：在线 {}，离线 {}",
            self.hosts_total(),
            self.hosts("online"),
            self.hosts_total() - self.hosts("online")
        );
        let _ = writeln!(
            out,
            "- 服务 {} 个：当前异常 {}",
            self.services_total(),
            self.services_down()
        );
        let _ = writeln!(
            out,
            "- 告警 {} 条：critical {}，未恢复 {}",
            self.alerts_total(),
            self.alerts_where(|severity, _| severity.eq_ignore_ascii_case("critical")),
            self.alerts_where(|_, status| status != "resolved")
        );
        let _ = writeln!(out, "- 错误日志（ERROR/CRITICAL）{} 条", data.error_logs);
        let _ = writeln!(
            out,
            "- 数据库 {} 个：异常 {}",
            self.databases.len(),
            self.unhealthy_databases().len()
        );

        let _ = writeln!(out, "\n## 主机\n\n| 状态 | 数量 |\n|---|---|");
        for row in &data.hosts_by_status {
            let _ = writeln!(out, "| {} | {} |", cell(&row.key), row.count);
        }
        let _ = writeln!(
            out,
            "\n区间内主机指标（{} 个采样）：\n\n| 指标 | 平均 | 最高 |\n|---|---|---|",
            data.metric_samples
        );
        for (name, stat) in [
            ("CPU", data.cpu),
            ("内存", data.memory),
            ("磁盘", data.disk),
        ] {
            let _ = writeln!(
                out,
                "| {name} | {} | {} |",
                percent(stat.avg),
                percent(stat.max)
            );
        }

        let _ = writeln!(out, "\n## 服务\n");
        if !data.services_by_status.is_empty() {
            let by_status: Vec<String> = data
                .services_by_status
                .iter()
                .map(|row| format!("{} {}", cell(&row.key), row.count))
                .collect();
            let _ = writeln!(out, "按当前状态：{}\n", by_status.join("，"));
        }
        if data.services.is_empty() {
            let _ = writeln!(out, "没有受监控的服务。");
        } else {
            let _ = writeln!(
                out,
                "| 服务 | 主机 | 当前状态 | 可用率 | 检查次数 |\n|---|---|---|---|---|"
            );
            for service in &data.services {
                let host = service
                    .hostname
                    .clone()
                    .or_else(|| service.host_id.map(|id| format!("#{id}")))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    cell(&service.name),
                    cell(&host),
                    cell(&service.status),
                    percent(service.availability_percent()),
                    service.checks
                );
            }
            let listed = i64::try_from(data.services.len()).unwrap_or(i64::MAX);
            if self.services_total() > listed {
                let _ = writeln!(
                    out,
                    "\n（共 {} 个服务，仅列出前 {listed} 个）",
                    self.services_total()
                );
            }
        }

        let _ = writeln!(out, "\n## 告警\n");
        if data.alerts.is_empty() {
            let _ = writeln!(out, "区间内没有告警。");
        } else {
            let _ = writeln!(out, "| 级别 | 状态 | 数量 |\n|---|---|---|");
            for row in &data.alerts {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    cell(&row.severity),
                    cell(&row.status),
                    row.count
                );
            }
        }

        let _ = writeln!(
            out,
            "\n## 日志\n\n区间内 ERROR/CRITICAL 日志共 {} 条。",
            data.error_logs
        );
        if !data.top_error_services.is_empty() {
            let _ = writeln!(out, "\n| 服务 | 错误日志数 |\n|---|---|");
            for row in &data.top_error_services {
                let name = if row.key.is_empty() {
                    "（未标明服务）"
                } else {
                    row.key.as_str()
                };
                let _ = writeln!(out, "| {} | {} |", cell(name), row.count);
            }
        }

        let _ = writeln!(out, "\n## 数据库\n");
        if self.databases.is_empty() {
            let _ = writeln!(out, "没有受监控的数据库。");
        } else {
            let _ = writeln!(
                out,
                "| 数据库 | 类型 | 主机 | 状态 | 连接数 |\n|---|---|---|---|---|"
            );
            for (database, latest) in self.databases.iter().take(MAX_DATABASES) {
                let connections = latest
                    .as_ref()
                    .and_then(|point| point.connections_total)
                    .map_or_else(|| "-".to_owned(), |value| format!("{value:.0}"));
                let _ = writeln!(
                    out,
                    "| {} | {} | #{} | {} | {connections} |",
                    cell(&database.name),
                    cell(&database.db_type),
                    database.host_id,
                    cell(&database.status)
                );
            }
            if self.databases.len() > MAX_DATABASES {
                let _ = writeln!(
                    out,
                    "\n（共 {} 个数据库，仅列出前 {MAX_DATABASES} 个）",
                    self.databases.len()
                );
            }
        }
        out
    }

    /// Advice from the figures alone, one bullet each.
    fn advice(&self) -> String {
        let data = self.data;
        let mut advice = Vec::new();
        let offline = self.hosts_total() - self.hosts("online");
        if offline > 0 {
            advice.push(format!("{offline} 台主机不在线，检查其 agent 与网络。"));
        }
        for (name, stat, limit, action) in [
            ("CPU ", data.cpu, 90.0, "排查高负载进程并评估容量"),
            ("内存", data.memory, 90.0, "排查内存占用并评估容量"),
            ("磁盘", data.disk, 85.0, "清理日志与临时文件或扩容"),
        ] {
            if let Some(max) = stat.max.filter(|max| *max >= limit) {
                advice.push(format!("{name}使用率最高达到 {max:.1}%，{action}。"));
            }
        }
        let down: Vec<String> = data
            .services
            .iter()
            .filter(|service| service.status.eq_ignore_ascii_case("down"))
            .map(|service| cell(&service.name))
            .take(5)
            .collect();
        if !down.is_empty() {
            advice.push(format!("服务 {} 当前不可用，优先恢复。", down.join("、")));
        }
        let degraded: Vec<String> = data
            .services
            .iter()
            .filter(|service| service.availability_percent().is_some_and(|a| a < 99.0))
            .map(|service| cell(&service.name))
            .take(5)
            .collect();
        if !degraded.is_empty() {
            advice.push(format!(
                "服务 {} 区间内可用率低于 99%，排查故障原因。",
                degraded.join("、")
            ));
        }
        let open = self.alerts_where(|_, status| status != "resolved");
        if open > 0 {
            advice.push(format!("仍有 {open} 条告警未恢复，及时处理。"));
        }
        if let Some(top) = data.top_error_services.first() {
            let name = if top.key.is_empty() {
                "（未标明服务）"
            } else {
                top.key.as_str()
            };
            advice.push(format!(
                "{} 的错误日志最多（{} 条），优先排查。",
                cell(name),
                top.count
            ));
        }
        let unhealthy: Vec<String> = self
            .unhealthy_databases()
            .iter()
            .map(|database| format!("{}（{}）", cell(&database.name), cell(&database.status)))
            .take(5)
            .collect();
        if !unhealthy.is_empty() {
            advice.push(format!(
                "数据库 {} 状态异常，检查连接与性能。",
                unhealthy.join("、")
            ));
        }
        if advice.is_empty() {
            advice.push("各项指标正常，保持现有巡检。".to_owned());
        }
        advice.iter().fold(String::new(), |mut out, line| {
            let _ = writeln!(out, "- {line}");
            out
        })
    }

    /// A plain summary of the figures, at most 100 characters.
    fn summary(&self) -> String {
        let text = format!(
            "主机{}台（离线{}），服务{}个（异常{}），告警{}条（critical {}），错误日志{}条，数据库{}个（异常{}）",
            self.hosts_total(),
            self.hosts_total() - self.hosts("online"),
            self.services_total(),
            self.services_down(),
            self.alerts_total(),
            self.alerts_where(|severity, _| severity.eq_ignore_ascii_case("critical")),
            self.data.error_logs,
            self.databases.len(),
            self.unhealthy_databases().len()
        );
        cut(&text, MAX_SUMMARY_CHARS)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn beijing() -> Calendar {
        Calendar(FixedOffset::east_opt(DEFAULT_TZ_SECONDS).unwrap())
    }

    #[test]
    fn offsets_parse() {
        let check = |text: &str, seconds: Option<i32>| {
            assert_eq!(
                parse_utc_offset(text).map(|tz| tz.local_minus_utc()),
                seconds,
                "{text}"
            );
        };
        check("+08:00", Some(8 * 3600));
        check("-05:30", Some(-(5 * 3600 + 1800)));
        check("+0530", Some(5 * 3600 + 1800));
        check("+8", Some(8 * 3600));
        check("UTC", Some(0));
        check("Z", Some(0));
        check("08:00", None);
        check("+25:00", None);
        check("+08:61", None);
        check("Asia/Shanghai", None);
        check("+1é1", None);
    }

    /// (now in UTC) → (title of the due daily, title of the due weekly).
    fn check_due(now: DateTime<Utc>, daily: &str, weekly: &str) {
        let calendar = beijing();
        assert_eq!(calendar.title(calendar.due_daily(now)), daily, "{now}");
        assert_eq!(calendar.title(calendar.due_weekly(now)), weekly, "{now}");
    }

    #[test]
    fn due_reports_follow_the_local_calendar() {
        // Friday 2026-11-27 01:59 local (17:59 UTC the day before): yesterday's is not due yet.
        check_due(
            utc(2026, 11, 26, 17, 59),
            "日报 2026-11-25",
            "周报 2026-11-16~2026-11-22",
        );
        // 02:00 local: yesterday's is due.
        check_due(
            utc(2026, 11, 26, 18, 0),
            "日报 2026-11-26",
            "周报 2026-11-16~2026-11-22",
        );
        // Monday 2026-11-30 02:59 local: last week's is not due yet, the week before is.
        check_due(
            utc(2026, 11, 29, 18, 59),
            "日报 2026-11-29",
            "周报 2026-11-16~2026-11-22",
        );
        // Monday 03:00 local: Monday to Sunday of last week.
        check_due(
            utc(2026, 11, 29, 19, 0),
            "日报 2026-11-29",
            "周报 2026-11-23~2026-11-29",
        );
    }

    #[test]
    fn a_daily_period_is_one_local_day_in_utc() {
        let period = beijing().due_daily(utc(2026, 11, 27, 1, 32));
        assert_eq!(period.start, utc(2026, 11, 25, 16, 0));
        assert_eq!(period.end, utc(2026, 11, 26, 16, 0));
        let weekly = beijing().due_weekly(utc(2026, 11, 27, 1, 32));
        assert_eq!(weekly.end - weekly.start, Duration::days(7));
    }

    /// A busy day: an offline host, a CPU peak, a service down with poor availability, open
    /// critical alerts, error logs (one service name tries to break the table) and an
    /// unhealthy database.
    fn busy_day() -> (ReportData, Vec<(MonitoredDatabase, Option<DbPoint>)>) {
        use crate::model::{AlertCount, CountBy, MetricStat, ServiceAvailability};
        let count = |key: &str, count: i64| CountBy {
            key: key.to_owned(),
            count,
        };
        let service =
            |id: i64, name: &str, status: &str, checks: i64, up_checks: i64| ServiceAvailability {
                id,
                name: name.to_owned(),
                host_id: Some(1),
                hostname: Some("web-01".to_owned()),
                status: status.to_owned(),
                checks,
                up_checks,
            };
        let data = ReportData {
            hosts_by_status: vec![count("offline", 1), count("online", 2)],
            metric_samples: 4320,
            cpu: MetricStat {
                avg: Some(37.25),
                max: Some(96.5),
            },
            memory: MetricStat {
                avg: Some(61.0),
                max: Some(88.0),
            },
            disk: MetricStat {
                avg: Some(70.0),
                max: Some(91.2),
            },
            services: vec![
                service(1, "api (:8000)", "down", 1440, 1300),
                service(2, "nginx | edge", "up", 1440, 1440),
                service(3, "cron", "unknown", 0, 0),
            ],
            services_by_status: vec![count("down", 1), count("unknown", 1), count("up", 1)],
            alerts: vec![
                AlertCount {
                    severity: "critical".to_owned(),
                    status: "firing".to_owned(),
                    count: 2,
                },
                AlertCount {
                    severity: "warning".to_owned(),
                    status: "resolved".to_owned(),
                    count: 5,
                },
            ],
            error_logs: 321,
            top_error_services: vec![count("api", 300), count("", 21)],
        };
        let at = utc(2026, 11, 1, 0, 0);
        let database = MonitoredDatabase {
            id: 1,
            host_id: 2,
            name: "orders".to_owned(),
            db_type: "postgres".to_owned(),
            status: "degraded".to_owned(),
            slow_queries_detail: None,
            created_at: at,
            updated_at: at,
        };
        (data, vec![(database, None)])
    }

    #[test]
    fn a_report_from_the_data_alone() {
        let (data, databases) = busy_day();
        let facts = Facts {
            data: &data,
            databases: &databases,
        };
        let rendered = format!(
            "{}\n## 建议\n\n{}\n{SUMMARY_MARK}{}",
            facts.sections(
                "日报 2026-11-26",
                "2026-11-26 00:00 ~ 2026-11-27 00:00 (UTC+08:00)"
            ),
            facts.advice(),
            facts.summary()
        );
        insta::assert_snapshot!("report_from_data", rendered);
        assert!(facts.summary().chars().count() <= MAX_SUMMARY_CHARS);
    }

    #[test]
    fn a_quiet_day_gets_plain_advice() {
        let data = ReportData::default();
        let facts = Facts {
            data: &data,
            databases: &[],
        };
        assert_eq!(facts.advice(), "- 各项指标正常，保持现有巡检。\n");
        assert!(facts.sections("日报", "p").contains("没有受监控的服务。"));
    }

    #[test]
    fn request_times_are_rfc3339_or_local() {
        let calendar = beijing();
        let check = |text: &str, expected: Option<DateTime<Utc>>| {
            assert_eq!(
                calendar.parse_time(text, "period_start").ok(),
                expected,
                "{text}"
            );
        };
        check("2026-11-26T00:00:00Z", Some(utc(2026, 11, 26, 0, 0)));
        check("2026-11-26T08:00:00+08:00", Some(utc(2026, 11, 26, 0, 0)));
        check("2026-11-26", Some(utc(2026, 11, 25, 16, 0)));
        check("2026-11-26T10:30", Some(utc(2026, 11, 26, 2, 30)));
        check("yesterday", None);
    }
}
