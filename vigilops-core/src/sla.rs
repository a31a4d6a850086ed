//! Service level agreements (`rest-api.md` §19, `remediation-and-ai.md` §8): rules per service,
//! time-based availability over calendar windows, reports, and the evaluator that records
//! violations.
//!
//! Availability is time-based, not check-count based: each check covers the time from its
//! `checked_at` to the next check, at most twice the service's check interval. Time no check
//! covers (the agent was down, the service was not checked) is *unknown*, reported separately
//! and counted neither up nor down. So a service checked every 10 s and one checked every
//! 300 s are weighed by time, and a silent agent cannot inflate availability.
//!
//! The pure functions ([`window_start`], [`window_days`], [`coverage`], [`actual_percent`],
//! [`error_budget_remaining_minutes`]) are the specification; the stores compute the same
//! coverage in SQL (`SlaStore::check_coverage`), which the conformance story checks against
//! [`coverage`]. Ranges older than the stored raw checks are measured from the service check
//! rollups ([`crate::service_rollup::check_coverage`]), which sum to the same coverage.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::{CheckCoverage, NewSlaRule, NewSlaViolation, SlaRule, SlaViolation, SlaWindow};
use crate::service_rollup;
use crate::store::{Store, StoreError};

/// The target when a service has no rule.
pub const DEFAULT_TARGET_PERCENT: f64 = 99.9;
/// Days a report covers when no dates are given.
pub const DEFAULT_REPORT_DAYS: u64 = 30;
/// The longest range a report covers (one coverage query per day).
pub const MAX_REPORT_DAYS: u64 = 366;
/// Most violations one list returns.
const MAX_VIOLATIONS: i64 = 1000;
/// How long after its end a day's checks are taken as complete (late reports from an agent's
/// spool arrive within minutes), so its coverage may be remembered.
const DAY_SETTLES_AFTER: Duration = Duration::hours(1);
/// How long a remembered day is reused before it is read again (so even a very late replay is
/// reflected within this time).
const DAY_CACHE_TTL: Duration = Duration::hours(1);
/// Days older than this are not remembered (a monthly window and a default report are shorter).
const DAY_CACHE_HORIZON: Duration = Duration::days(40);

/// What can go wrong; the server maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    /// The service named does not exist (404).
    #[error("Service not found")]
    ServiceNotFound,
    /// The rule named does not exist (404).
    #[error("SLA rule not found")]
    RuleNotFound,
    /// The service already has a rule (400, as the contract says).
    #[error("SLA rule already exists for this service")]
    DuplicateRule,
    /// An input value is out of its domain (422 naming `field` at `location`).
    #[error("invalid `{field}`: {message}")]
    Invalid {
        /// `body` or `query`.
        location: &'static str,
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(location: &'static str, field: &'static str, message: impl Into<String>) -> SlaError {
    SlaError::Invalid {
        location,
        field,
        message: message.into(),
    }
}

// ---- Pure functions -------------------------------------------------------------------------

/// Midnight UTC of `date`.
fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

/// Where the current `window` began at `now`: today 00:00, Monday 00:00 or the 1st 00:00, UTC.
pub fn window_start(window: SlaWindow, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.date_naive();
    let first = match window {
        SlaWindow::Daily => today,
        SlaWindow::Weekly => today
            .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))
            .unwrap_or(today),
        SlaWindow::Monthly => today.with_day(1).unwrap_or(today),
    };
    midnight(first)
}

/// The length of the current `window` in days: 1, 7, or the days of the current month.
pub fn window_days(window: SlaWindow, now: DateTime<Utc>) -> i64 {
    match window {
        SlaWindow::Daily => 1,
        SlaWindow::Weekly => 7,
        SlaWindow::Monthly => {
            let first = now.date_naive().with_day(1).unwrap_or(now.date_naive());
            first
                .checked_add_months(chrono::Months::new(1))
                .map_or(30, |next| (next - first).num_days())
        }
    }
}

/// How long one check covers at most: twice the service's check interval (at least 2 s).
pub fn coverage_cap(check_interval_seconds: i64) -> Duration {
    Duration::seconds(check_interval_seconds.max(1).saturating_mul(2))
}

/// The coverage of `[from, to)` by `checks` (`(checked_at, down)`, oldest first; ties keep
/// their order): each check covers up to the next one, at most `cap`, clipped to the range;
/// the last check before `from` covers into the range. The reference `check_coverage` of the
/// stores is tested against.
pub fn coverage(
    checks: &[(DateTime<Utc>, bool)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    cap: Duration,
) -> CheckCoverage {
    let mut result = CheckCoverage::default();
    if to <= from {
        return result;
    }
    let first = checks.partition_point(|(at, _)| *at < from);
    let relevant = &checks[first.saturating_sub(1)..checks.partition_point(|(at, _)| *at < to)];
    for (index, (at, down)) in relevant.iter().enumerate() {
        let next = relevant.get(index + 1).map_or(to, |(next, _)| *next);
        let end = next.min(*at + cap).min(to);
        let span = (end - (*at).max(from)).max(Duration::zero());
        result.covered += span;
        if *down {
            result.down += span;
        }
        if *at >= from {
            result.total_checks += 1;
            result.down_checks += i64::from(*down);
        }
    }
    result
}

/// `100 × (1 − down / covered)`, or `None` when nothing is covered.
pub fn actual_percent(coverage: &CheckCoverage) -> Option<f64> {
    let covered = coverage.covered.num_microseconds()?;
    if covered <= 0 {
        return None;
    }
    let down = coverage.down.num_microseconds()?;
    Some(100.0 * (1.0 - down as f64 / covered as f64))
}

/// The window pairs of the burn-rate alerts, as in the multiwindow burn-rate alerts of
/// Google's SRE workbook: the long window says the budget is really being spent, the short one
/// that it still is (so the alert resolves soon after the fault does). A rule
/// `sla_burn_rate_1h >= 14.4` pages when the last hour and the last 5 minutes both spend the
/// budget 14.4 times too fast (2 % of a 30-day budget in an hour);
/// `sla_burn_rate_6h >= 6` opens a ticket when the last 6 hours and 30 minutes spend it 6 times
/// too fast (5 % in 6 hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurnWindow {
    /// 1 hour, confirmed over 5 minutes.
    OneHour,
    /// 6 hours, confirmed over 30 minutes.
    SixHours,
}

impl BurnWindow {
    /// Both, in [`Standing::burn_rates`] order.
    pub const ALL: [Self; 2] = [Self::OneHour, Self::SixHours];

    /// The alert rule metric.
    pub fn metric(self) -> &'static str {
        match self {
            Self::OneHour => "sla_burn_rate_1h",
            Self::SixHours => "sla_burn_rate_6h",
        }
    }

    /// The window named by an alert rule metric.
    pub fn of_metric(metric: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|window| window.metric() == metric)
    }

    /// The (long, short) windows.
    pub fn windows(self) -> (Duration, Duration) {
        match self {
            Self::OneHour => (Duration::hours(1), Duration::minutes(5)),
            Self::SixHours => (Duration::hours(6), Duration::minutes(30)),
        }
    }

    /// Its place in [`Standing::burn_rates`].
    pub fn index(self) -> usize {
        match self {
            Self::OneHour => 0,
            Self::SixHours => 1,
        }
    }
}

/// How fast `coverage` spends the error budget of `target_percent`: the fraction of covered
/// time that was down over the fraction the target allows (1 spends the budget exactly over
/// the SLA window; 14.4 spends 2 % of a 30-day budget in an hour). `None` without covered
/// time. A 100 % target has no budget: any downtime burns at `f64::MAX`.
pub fn burn_rate(coverage: &CheckCoverage, target_percent: f64) -> Option<f64> {
    let covered = coverage.covered.num_microseconds()?;
    if covered <= 0 {
        return None;
    }
    let down = coverage.down.num_microseconds()? as f64 / covered as f64;
    let budget = 1.0 - target_percent / 100.0;
    Some(if budget <= 0.0 {
        if down > 0.0 { f64::MAX } else { 0.0 }
    } else {
        down / budget
    })
}

/// The burn rate of a [`BurnWindow`]: the smaller of its long and short windows' rates, so a
/// comparison holds only when it holds over both. `None` when either window has no data.
pub fn pair_burn_rate(long: Option<f64>, short: Option<f64>) -> Option<f64> {
    Some(long?.min(short?))
}

/// Allowed downtime of a window (`days × 1440 × (1 − target / 100)` minutes) minus the
/// measured downtime, in minutes; negative once the budget is spent.
pub fn error_budget_remaining_minutes(target_percent: f64, days: i64, down: Duration) -> f64 {
    days as f64 * 1440.0 * (1.0 - target_percent / 100.0) - minutes(down)
}

fn minutes(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 60_000.0
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// The text of a violation: `availability 99.82% < 99.9% (monthly)`. The availability is
/// rounded down, so it never reads as equal to the target it is below.
pub fn violation_description(actual: f64, target: f64, window: SlaWindow) -> String {
    let shown = (actual * 100.0).floor() / 100.0;
    format!("availability {shown:.2}% < {target}% ({})", window.as_str())
}

// ---- Views ----------------------------------------------------------------------------------

/// A rule as `GET /sla/rules` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaRuleView {
    pub id: i64,
    pub service_id: i64,
    pub name: String,
    pub target_percent: f64,
    /// `daily`, `weekly` or `monthly`.
    pub calculation_window: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub service_name: String,
}

impl From<SlaRule> for SlaRuleView {
    fn from(rule: SlaRule) -> Self {
        Self {
            id: rule.id,
            service_id: rule.service_id,
            name: rule.name,
            target_percent: rule.target_percent,
            calculation_window: rule.window.as_str().to_owned(),
            created_at: rule.created_at,
            updated_at: rule.updated_at,
            service_name: rule.service_name,
        }
    }
}

/// One rule's standing in its current window (`GET /sla/status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaStatusView {
    pub rule_id: i64,
    pub service_id: i64,
    pub service_name: String,
    pub target_percent: f64,
    /// Time-based availability over the covered part of the window, 4 dp; `null` when no
    /// check covers any of it.
    pub actual_percent: Option<f64>,
    /// `actual_percent ≥ target_percent`; true while nothing is known.
    pub is_met: bool,
    /// Allowed downtime of the whole window minus measured downtime, 2 dp.
    pub error_budget_remaining_minutes: f64,
    pub calculation_window: String,
    /// Checks taken in the window.
    pub total_checks: i64,
    /// Of those, the `down` ones.
    pub down_checks: i64,
    /// **Ours:** where the window began.
    pub window_start: DateTime<Utc>,
    /// **Ours:** measured downtime in the window, 2 dp.
    pub downtime_minutes: f64,
    /// **Ours:** time of the window so far that no check covers, 2 dp.
    pub unknown_minutes: f64,
}

/// A violation as the lists show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaViolationView {
    pub id: i64,
    pub sla_rule_id: i64,
    pub service_id: i64,
    pub service_name: String,
    pub started_at: DateTime<Utc>,
    /// `null` while it lasts.
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<SlaViolation> for SlaViolationView {
    fn from(violation: SlaViolation) -> Self {
        Self {
            id: violation.id,
            sla_rule_id: violation.rule_id,
            service_id: violation.service_id,
            service_name: violation.service_name,
            started_at: violation.started_at,
            ended_at: violation.ended_at,
            duration_seconds: violation.duration_seconds,
            description: violation.description,
            created_at: violation.created_at,
        }
    }
}

/// One day of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyAvailability {
    pub date: NaiveDate,
    /// 4 dp; `null` for a day without checks (or not begun yet).
    pub availability: Option<f64>,
}

/// `GET /sla/report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaReport {
    pub service_id: i64,
    pub service_name: String,
    /// The rule's target, or 99.9 when the service has none.
    pub target_percent: f64,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// Time-based availability over the period, 4 dp; `null` without checks.
    pub overall_availability: Option<f64>,
    pub daily_trend: Vec<DailyAvailability>,
    pub violations: Vec<SlaViolationView>,
    /// Measured downtime, 2 dp.
    pub total_downtime_minutes: f64,
    pub summary: String,
    /// **Ours:** time of the period that no check covers, 2 dp.
    pub unknown_minutes: f64,
    /// **Ours:** checks taken in the period.
    pub total_checks: i64,
    /// **Ours:** of those, the `down` ones.
    pub down_checks: i64,
}

// ---- Service --------------------------------------------------------------------------------

/// A rule to create, as the client sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSlaRule {
    pub service_id: i64,
    pub name: String,
    /// Default 99.9; must be in (0, 100].
    pub target_percent: Option<f64>,
    /// Default `monthly`.
    pub calculation_window: Option<String>,
}

/// What a report covers, as the client asks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportQuery {
    pub service_id: i64,
    /// `daily`, `weekly` or `monthly` (default); accepted for compatibility, the range is
    /// given by the dates.
    pub period: Option<String>,
    /// `YYYY-MM-DD`; default: 29 days before the end.
    pub start_date: Option<String>,
    /// `YYYY-MM-DD`, inclusive; default: today.
    pub end_date: Option<String>,
}

/// What one evaluation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Rules evaluated.
    pub rules: usize,
    /// Violations opened.
    pub opened: usize,
    /// Violations closed (recovered, or their window ended).
    pub closed: usize,
}

/// Told by every evaluation whether each rule's service has an open violation and how fast it
/// burns its error budget. The alert engine implements it, which is how `sla_violation`,
/// `sla_burn_rate_1h` and `sla_burn_rate_6h` alert rules fire and resolve.
#[async_trait::async_trait]
pub trait SlaStandingObserver: Send + Sync + std::fmt::Debug {
    /// The standing of `service_id` (of `host_id`) as of this evaluation.
    async fn sla_standing(&self, service_id: i64, host_id: i64, standing: Standing);
}

/// What the evaluator tells the alert engine about a service's SLA each run.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// Whether a violation is open (`sla_violation` rules).
    pub violated: bool,
    /// The burn rate of each [`BurnWindow`], in [`BurnWindow::ALL`] order ([`pair_burn_rate`];
    /// `sla_burn_rate_1h` and `sla_burn_rate_6h` rules), `None` without checks in a window.
    pub burn_rates: [Option<f64>; 2],
    /// What the evaluator saw, e.g. `availability 99.82% < 99.9% (monthly)`.
    pub message: String,
}

/// Coverage of whole, settled days by (service, day, cap in seconds), with when it was read.
type DayCache = HashMap<(i64, NaiveDate, i64), (CheckCoverage, DateTime<Utc>)>;

/// The SLA rules, their status, reports and the evaluator.
///
/// Coverage is additive over adjacent ranges, so a window is measured day by day and the
/// coverage of whole days that have settled is remembered for [`DAY_CACHE_TTL`]: the status and
/// the evaluator (every 60 s) then scan only today's checks of a monthly window, not the
/// month's (about 0.3 s per rule for a month of 10 s checks, measured on both backends).
#[derive(Debug, Clone)]
pub struct SlaService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<dyn SlaStandingObserver>>,
    days: Arc<std::sync::Mutex<DayCache>>,
}

impl SlaService {
    /// A service over `store`, reading time from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            observer: None,
            days: Arc::default(),
        }
    }

    /// Tells `observer` (the alert engine) each rule's standing at every evaluation.
    pub fn with_observer(mut self, observer: Arc<dyn SlaStandingObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Every rule, by id.
    pub async fn list_rules(&self) -> Result<Vec<SlaRuleView>, SlaError> {
        Ok(self
            .store
            .list_sla_rules()
            .await?
            .into_iter()
            .map(SlaRuleView::from)
            .collect())
    }

    /// Creates a service's rule after checking the input. Audited as `create_sla_rule`.
    pub async fn create_rule(
        &self,
        request: CreateSlaRule,
        actor: &Actor,
    ) -> Result<SlaRuleView, SlaError> {
        let name = request.name.trim();
        if name.is_empty() {
            return Err(invalid("body", "name", "name must not be empty"));
        }
        let target_percent = request.target_percent.unwrap_or(DEFAULT_TARGET_PERCENT);
        if !(target_percent.is_finite() && target_percent > 0.0 && target_percent <= 100.0) {
            return Err(invalid(
                "body",
                "target_percent",
                "target_percent must be greater than 0 and at most 100",
            ));
        }
        let window_text = request.calculation_window.as_deref().unwrap_or("monthly");
        let window = SlaWindow::parse(window_text).ok_or_else(|| {
            invalid(
                "body",
                "calculation_window",
                "calculation_window must be one of daily, weekly, monthly",
            )
        })?;
        let rule = self
            .store
            .create_sla_rule(
                NewSlaRule {
                    service_id: request.service_id,
                    name: name.to_owned(),
                    target_percent,
                    window,
                },
                self.clock.now(),
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => SlaError::ServiceNotFound,
                StoreError::Conflict(_) => SlaError::DuplicateRule,
                other => SlaError::Store(other),
            })?;
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "create_sla_rule",
            "sla_rule",
            Some(rule.id.to_string()),
            Some(json!({
                "service_id": rule.service_id,
                "name": rule.name,
                "target_percent": rule.target_percent,
                "calculation_window": rule.window.as_str(),
            })),
        )
        .await?;
        Ok(rule.into())
    }

    /// Deletes a rule and its violations. Audited as `delete_sla_rule`.
    pub async fn delete_rule(&self, id: i64, actor: &Actor) -> Result<(), SlaError> {
        let rule = self
            .store
            .sla_rule(id)
            .await?
            .ok_or(SlaError::RuleNotFound)?;
        self.store
            .delete_sla_rule(id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => SlaError::RuleNotFound,
                other => SlaError::Store(other),
            })?;
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "delete_sla_rule",
            "sla_rule",
            Some(id.to_string()),
            Some(json!({"service_id": rule.service_id, "name": rule.name})),
        )
        .await?;
        Ok(())
    }

    /// Every rule's standing in its current window, by rule id.
    pub async fn status(&self) -> Result<Vec<SlaStatusView>, SlaError> {
        let now = self.clock.now();
        let mut statuses = Vec::new();
        for rule in self.store.list_sla_rules().await? {
            let start = window_start(rule.window, now);
            let measured = self.window_coverage(&rule, start, now).await?;
            let actual = actual_percent(&measured);
            let days = window_days(rule.window, now);
            statuses.push(SlaStatusView {
                rule_id: rule.id,
                service_id: rule.service_id,
                service_name: rule.service_name,
                target_percent: rule.target_percent,
                actual_percent: actual.map(|actual| round(actual, 4)),
                is_met: actual.is_none_or(|actual| actual >= rule.target_percent),
                error_budget_remaining_minutes: round(
                    error_budget_remaining_minutes(rule.target_percent, days, measured.down),
                    2,
                ),
                calculation_window: rule.window.as_str().to_owned(),
                total_checks: measured.total_checks,
                down_checks: measured.down_checks,
                window_start: start,
                downtime_minutes: round(minutes(measured.down), 2),
                unknown_minutes: round(minutes((now - start) - measured.covered), 2),
            });
        }
        Ok(statuses)
    }

    /// The coverage of a rule's window from `from` to `now`.
    async fn window_coverage(
        &self,
        rule: &SlaRule,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<CheckCoverage, SlaError> {
        let raw_horizon = service_rollup::raw_horizon(self.store.as_ref()).await?;
        self.coverage_between(
            rule.service_id,
            (from, now),
            coverage_cap(rule.check_interval),
            (now, raw_horizon),
        )
        .await
    }

    /// The coverage of `[from, to)` as of `now`, summed day by day; whole days settled by
    /// `now` come from the cache when fresh. Days older than the stored raw checks
    /// (`raw_horizon`, see [`service_rollup::raw_horizon`]) are read from the rollups.
    async fn coverage_between(
        &self,
        service_id: i64,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        cap: Duration,
        (now, raw_horizon): (DateTime<Utc>, service_rollup::RawHorizon),
    ) -> Result<CheckCoverage, SlaError> {
        let mut total = CheckCoverage::default();
        let mut cursor = from;
        while cursor < to {
            let day = cursor.date_naive();
            let day_end = next_midnight(day)?;
            let piece_end = day_end.min(to);
            let whole_settled_day = cursor == midnight(day)
                && piece_end == day_end
                && now - day_end >= DAY_SETTLES_AFTER;
            let key = (service_id, day, cap.num_seconds());
            let cached = whole_settled_day
                .then(|| self.cached_day(&key, now))
                .flatten();
            let measured = match cached {
                Some(measured) => measured,
                None => {
                    let measured = service_rollup::check_coverage(
                        self.store.as_ref(),
                        service_id,
                        (cursor, piece_end),
                        cap,
                        raw_horizon,
                    )
                    .await?;
                    if whole_settled_day {
                        self.remember_day(key, measured, now);
                    }
                    measured
                }
            };
            total = total + measured;
            cursor = piece_end;
        }
        Ok(total)
    }

    fn cached_day(&self, key: &(i64, NaiveDate, i64), now: DateTime<Utc>) -> Option<CheckCoverage> {
        let days = self
            .days
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        days.get(key)
            .filter(|(_, read_at)| now - *read_at < DAY_CACHE_TTL)
            .map(|(measured, _)| *measured)
    }

    fn remember_day(
        &self,
        key: (i64, NaiveDate, i64),
        measured: CheckCoverage,
        now: DateTime<Utc>,
    ) {
        let mut days = self
            .days
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let horizon = (now - DAY_CACHE_HORIZON).date_naive();
        days.retain(|(_, day, _), (_, read_at)| *day >= horizon && now - *read_at < DAY_CACHE_TTL);
        days.insert(key, (measured, now));
    }

    /// The violations overlapping the days `start_date..=end_date` (`YYYY-MM-DD`; either may be
    /// absent for an open end), newest first, at most 1000.
    pub async fn violations(
        &self,
        start_date: Option<&str>,
        end_date: Option<&str>,
    ) -> Result<Vec<SlaViolationView>, SlaError> {
        let start = start_date
            .map(|text| parse_date("start_date", text))
            .transpose()?;
        let end = end_date
            .map(|text| parse_date("end_date", text))
            .transpose()?;
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            return Err(invalid(
                "query",
                "end_date",
                "end_date is before start_date",
            ));
        }
        let from = start.map_or(DateTime::UNIX_EPOCH, midnight);
        let to = match end {
            Some(end) => next_midnight(end)?,
            None => self.clock.now() + Duration::days(1),
        };
        Ok(self
            .store
            .sla_violations(None, from, to, MAX_VIOLATIONS)
            .await?
            .into_iter()
            .map(SlaViolationView::from)
            .collect())
    }

    /// A service's availability over a range of days, with one value per day.
    pub async fn report(&self, query: ReportQuery) -> Result<SlaReport, SlaError> {
        if let Some(period) = &query.period
            && SlaWindow::parse(period).is_none()
        {
            return Err(invalid(
                "query",
                "period",
                "period must be one of daily, weekly, monthly",
            ));
        }
        let now = self.clock.now();
        let end = match &query.end_date {
            Some(text) => parse_date("end_date", text)?,
            None => now.date_naive(),
        };
        let start = match &query.start_date {
            Some(text) => parse_date("start_date", text)?,
            None => end
                .checked_sub_days(Days::new(DEFAULT_REPORT_DAYS - 1))
                .unwrap_or(end),
        };
        if end < start {
            return Err(invalid(
                "query",
                "end_date",
                "end_date is before start_date",
            ));
        }
        let day_count = (end - start).num_days() + 1;
        if day_count > MAX_REPORT_DAYS as i64 {
            return Err(invalid(
                "query",
                "start_date",
                format!("a report covers at most {MAX_REPORT_DAYS} days"),
            ));
        }
        let service = self
            .store
            .sla_service(query.service_id)
            .await?
            .ok_or(SlaError::ServiceNotFound)?;
        let target_percent = self
            .store
            .service_sla_rule(service.id)
            .await?
            .map_or(DEFAULT_TARGET_PERCENT, |rule| rule.target_percent);
        let cap = coverage_cap(service.check_interval);
        let period_start = midnight(start);
        let period_end = next_midnight(end)?.min(now).max(period_start);

        let raw_horizon = service_rollup::raw_horizon(self.store.as_ref()).await?;
        let mut total = CheckCoverage::default();
        let mut daily_trend = Vec::new();
        for date in start
            .iter_days()
            .take(usize::try_from(day_count).unwrap_or(0))
        {
            let day_from = midnight(date);
            let day_to = next_midnight(date)?.min(now);
            let measured = if day_to > day_from {
                self.coverage_between(service.id, (day_from, day_to), cap, (now, raw_horizon))
                    .await?
            } else {
                CheckCoverage::default()
            };
            total = total + measured;
            daily_trend.push(DailyAvailability {
                date,
                availability: if measured.total_checks > 0 {
                    actual_percent(&measured).map(|actual| round(actual, 4))
                } else {
                    None
                },
            });
        }
        let violations = self
            .store
            .sla_violations(Some(service.id), period_start, period_end, MAX_VIOLATIONS)
            .await?
            .into_iter()
            .map(SlaViolationView::from)
            .collect();
        let overall = actual_percent(&total);
        let downtime = round(minutes(total.down), 2);
        let unknown = round(minutes((period_end - period_start) - total.covered), 2);
        let summary = match overall {
            None => format!(
                "No checks of {} from {start} to {end}: availability unknown.",
                service.name
            ),
            Some(actual) => format!(
                "{} {} its {target_percent}% target from {start} to {end}: availability \
                 {:.4}%, {downtime} min down, {unknown} min not covered by checks.",
                service.name,
                if actual >= target_percent {
                    "met"
                } else {
                    "did not meet"
                },
                round(actual, 4),
            ),
        };
        Ok(SlaReport {
            service_id: service.id,
            service_name: service.name,
            target_percent,
            period_start,
            period_end,
            overall_availability: overall.map(|actual| round(actual, 4)),
            daily_trend,
            violations,
            total_downtime_minutes: downtime,
            summary,
            unknown_minutes: unknown,
            total_checks: total.total_checks,
            down_checks: total.down_checks,
        })
    }

    /// Records violations as of `now`: for each rule, an open violation whose window has ended
    /// is closed at the window's end; then a violation is opened when the window's
    /// availability is below target and none is open, and the open one is closed when it is
    /// back at or above target. Idempotent (the store keeps one open violation per rule), so
    /// running it twice, or on two replicas, opens one row.
    pub async fn evaluate(&self, now: DateTime<Utc>) -> Result<Evaluation, SlaError> {
        let mut open: HashMap<i64, SlaViolation> = self
            .store
            .open_sla_violations()
            .await?
            .into_iter()
            .map(|violation| (violation.rule_id, violation))
            .collect();
        let mut evaluation = Evaluation::default();
        for rule in self.store.list_sla_rules().await? {
            evaluation.rules += 1;
            let start = window_start(rule.window, now);
            let mut current = open.remove(&rule.id);
            if let Some(violation) = current.take_if(|violation| violation.started_at < start)
                && self.store.close_sla_violation(violation.id, start).await?
            {
                evaluation.closed += 1;
            }
            let actual = actual_percent(&self.window_coverage(&rule, start, now).await?);
            let below = actual.filter(|actual| *actual < rule.target_percent);
            if self.observer.is_some() {
                let burn_rates = self.burn_rates(&rule, now).await?;
                self.tell_standing(&rule, actual, below.is_some(), burn_rates)
                    .await;
            }
            match (below, current) {
                (Some(actual), None) => {
                    let (_, created) = self
                        .store
                        .open_sla_violation(
                            NewSlaViolation {
                                rule_id: rule.id,
                                service_id: rule.service_id,
                                started_at: now,
                                description: violation_description(
                                    actual,
                                    rule.target_percent,
                                    rule.window,
                                ),
                            },
                            now,
                        )
                        .await?;
                    if created {
                        tracing::info!(
                            rule_id = rule.id,
                            service_id = rule.service_id,
                            actual,
                            "SLA violation opened"
                        );
                        evaluation.opened += 1;
                    }
                }
                (None, Some(violation)) => {
                    // Already closed elsewhere (a manual fix, an overlapping run): nothing to do.
                    let closed = self.store.close_sla_violation(violation.id, now).await?;
                    if closed {
                        tracing::info!(
                            rule_id = rule.id,
                            service_id = rule.service_id,
                            "SLA violation closed"
                        );
                        evaluation.closed += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(evaluation)
    }
}

impl SlaService {
    /// `rule`'s burn rate of each [`BurnWindow`] as of `now` (short windows, read from the
    /// checks).
    async fn burn_rates(
        &self,
        rule: &SlaRule,
        now: DateTime<Utc>,
    ) -> Result<[Option<f64>; 2], SlaError> {
        let cap = coverage_cap(rule.check_interval);
        let mut burn_rates = [None, None];
        for window in BurnWindow::ALL {
            let (long, short) = window.windows();
            let mut rates = [None, None];
            for (rate, span) in rates.iter_mut().zip([long, short]) {
                let coverage = self
                    .store
                    .check_coverage(rule.service_id, now - span, now, cap)
                    .await?;
                *rate = burn_rate(&coverage, rule.target_percent);
            }
            burn_rates[window.index()] = pair_burn_rate(rates[0], rates[1]);
        }
        Ok(burn_rates)
    }

    /// Tells the observer, if any, whether `rule`'s service is violating its SLA now and how
    /// fast it burns its budget. A failure to find the service's host only skips the telling.
    async fn tell_standing(
        &self,
        rule: &SlaRule,
        actual: Option<f64>,
        violated: bool,
        burn_rates: [Option<f64>; 2],
    ) {
        let Some(observer) = &self.observer else {
            return;
        };
        let host_id = match self.store.service_host(rule.service_id).await {
            Ok(Some(host_id)) => host_id,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, service_id = rule.service_id, "could not read a service's host");
                return;
            }
        };
        let message = match actual {
            Some(actual) if violated => {
                violation_description(actual, rule.target_percent, rule.window)
            }
            Some(actual) => format!(
                "availability {:.2}% >= {}% ({})",
                round(actual, 2),
                rule.target_percent,
                rule.window.as_str()
            ),
            None => format!("availability unknown ({})", rule.window.as_str()),
        };
        observer
            .sla_standing(
                rule.service_id,
                host_id,
                Standing {
                    violated,
                    burn_rates,
                    message,
                },
            )
            .await;
    }
}

/// A `YYYY-MM-DD` date of the years 1 to 9999 (chrono would take signed and longer years,
/// which PostgreSQL cannot store as timestamps).
fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate, SlaError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|date| (1..=9999).contains(&date.year()))
        .ok_or_else(|| invalid("query", field, format!("{field} must be a date YYYY-MM-DD")))
}

/// Midnight after `date`; out of range only at chrono's last representable day.
fn next_midnight(date: NaiveDate) -> Result<DateTime<Utc>, SlaError> {
    date.succ_opt()
        .map(midnight)
        .ok_or_else(|| invalid("query", "end_date", "end_date is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn check_window(window: SlaWindow, now: &str, start: &str, days: i64) {
        assert_eq!(
            window_start(window, at(now)),
            at(start),
            "{window:?} at {now}"
        );
        assert_eq!(window_days(window, at(now)), days, "{window:?} at {now}");
    }

    #[test]
    fn windows_are_aligned_to_the_calendar_in_utc() {
        // 2026-11-27 is a Friday.
        check_window(
            SlaWindow::Daily,
            "2026-11-27T13:45:00Z",
            "2026-11-27T00:00:00Z",
            1,
        );
        check_window(
            SlaWindow::Weekly,
            "2026-11-27T13:45:00Z",
            "2026-11-23T00:00:00Z",
            7,
        );
        check_window(
            SlaWindow::Weekly,
            "2026-11-23T00:00:00Z",
            "2026-11-23T00:00:00Z",
            7,
        );
        check_window(
            SlaWindow::Weekly,
            "2026-11-22T23:59:59Z",
            "2026-11-16T00:00:00Z",
            7,
        );
        check_window(
            SlaWindow::Monthly,
            "2026-11-27T13:45:00Z",
            "2026-11-01T00:00:00Z",
            30,
        );
        check_window(
            SlaWindow::Monthly,
            "2026-12-31T23:59:59Z",
            "2026-12-01T00:00:00Z",
            31,
        );
        check_window(
            SlaWindow::Monthly,
            "2028-02-10T08:00:00Z",
            "2028-02-01T00:00:00Z",
            29,
        );
        check_window(
            SlaWindow::Monthly,
            "2027-02-10T08:00:00Z",
            "2027-02-01T00:00:00Z",
            28,
        );
        // A week that began in the previous month and year.
        check_window(
            SlaWindow::Weekly,
            "2027-01-01T06:00:00Z",
            "2026-12-28T00:00:00Z",
            7,
        );
    }

    /// Checks every `step` seconds from `from`, `count` of them, down when `down(i)`.
    fn series(
        from: DateTime<Utc>,
        step: i64,
        count: i64,
        down: impl Fn(i64) -> bool,
    ) -> Vec<(DateTime<Utc>, bool)> {
        (0..count)
            .map(|index| (from + Duration::seconds(index * step), down(index)))
            .collect()
    }

    #[test]
    fn no_checks_is_unknown_not_up() {
        let from = at("2026-11-27T00:00:00Z");
        let measured = coverage(&[], from, from + Duration::hours(1), Duration::seconds(120));
        assert_eq!(measured, CheckCoverage::default());
        assert_eq!(actual_percent(&measured), None);
    }

    #[test]
    fn half_down_with_10_second_checks_is_50_percent() {
        let from = at("2026-11-27T00:00:00Z");
        let checks = series(from, 10, 360, |index| index >= 180);
        let measured = coverage(&checks, from, from + Duration::hours(1), coverage_cap(10));
        assert_eq!(measured.covered, Duration::hours(1));
        assert_eq!(measured.down, Duration::minutes(30));
        assert_eq!((measured.total_checks, measured.down_checks), (360, 180));
        assert_eq!(actual_percent(&measured), Some(50.0));
    }

    #[test]
    fn a_slow_check_weighs_its_whole_interval() {
        // Every 300 s for an hour; the one down check covers 5 of 60 minutes, not 1 of 12
        // checks' worth of nothing.
        let from = at("2026-11-27T00:00:00Z");
        let checks = series(from, 300, 12, |index| index == 3);
        let measured = coverage(&checks, from, from + Duration::hours(1), coverage_cap(300));
        assert_eq!(measured.covered, Duration::hours(1));
        assert_eq!(measured.down, Duration::minutes(5));
        let actual = actual_percent(&measured).unwrap_or_default();
        assert!((actual - 100.0 * 55.0 / 60.0).abs() < 1e-9, "{actual}");
    }

    #[test]
    fn a_gap_where_the_agent_was_down_is_unknown() {
        // 60 s checks, but nothing from 00:10 to 00:50: the check at 00:09 covers only up to
        // 2 × 60 s, so 39 minutes are unknown and count neither up nor down; the last check
        // (00:59) covers to the end of the range.
        let from = at("2026-11-27T00:00:00Z");
        let mut checks = series(from, 60, 10, |_| false);
        checks.extend(series(from + Duration::minutes(50), 60, 10, |index| {
            index < 5
        }));
        let measured = coverage(&checks, from, from + Duration::hours(1), coverage_cap(60));
        assert_eq!(measured.covered, Duration::minutes(21));
        assert_eq!(measured.down, Duration::minutes(5));
        let actual = actual_percent(&measured).unwrap_or_default();
        assert!((actual - 100.0 * 16.0 / 21.0).abs() < 1e-9, "{actual}");
    }

    #[test]
    fn mixed_check_intervals_are_weighed_by_time() {
        // Down every 10 s for 10 minutes, then up every 300 s for 50 minutes: 10 of 60
        // minutes down, whatever the counts (60 down checks, 10 up ones).
        let from = at("2026-11-27T00:00:00Z");
        let mut checks = series(from, 10, 60, |_| true);
        checks.extend(series(from + Duration::minutes(10), 300, 10, |_| false));
        let measured = coverage(&checks, from, from + Duration::hours(1), coverage_cap(300));
        assert_eq!(measured.covered, Duration::hours(1));
        assert_eq!(measured.down, Duration::minutes(10));
        assert_eq!((measured.total_checks, measured.down_checks), (70, 60));
    }

    #[test]
    fn the_check_before_the_range_covers_into_it_and_the_last_stops_at_the_end() {
        let from = at("2026-11-27T00:00:00Z");
        let checks = vec![
            (from - Duration::seconds(30), true),
            (from + Duration::seconds(30), false),
            (from + Duration::seconds(90), true),
        ];
        let to = from + Duration::seconds(100);
        let measured = coverage(&checks, from, to, coverage_cap(60));
        assert_eq!(measured.covered, Duration::seconds(100));
        assert_eq!(measured.down, Duration::seconds(40));
        assert_eq!((measured.total_checks, measured.down_checks), (2, 1));
        // A check long before the range covers none of it.
        let stale = [(from - Duration::hours(1), true)];
        assert_eq!(
            coverage(&stale, from, to, coverage_cap(60)),
            CheckCoverage::default()
        );
        // An empty or inverted range covers nothing.
        assert_eq!(
            coverage(&checks, to, from, coverage_cap(60)),
            CheckCoverage::default()
        );
    }

    #[test]
    fn dates_are_plain_calendar_days() {
        assert_eq!(
            parse_date("start_date", "2026-11-27").ok(),
            NaiveDate::from_ymd_opt(2026, 11, 27)
        );
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "27/11/2026",
            "",
            "-0001-01-01",
            "+10000-01-01",
        ] {
            assert!(
                matches!(
                    parse_date("start_date", bad),
                    Err(SlaError::Invalid {
                        field: "start_date",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_budget_is_allowed_minus_measured_downtime() {
        // 30 days at 99.9 % allow 43.2 minutes.
        let budget = error_budget_remaining_minutes(99.9, 30, Duration::minutes(10));
        assert!((budget - 33.2).abs() < 1e-9, "{budget}");
        let spent = error_budget_remaining_minutes(99.0, 1, Duration::minutes(30));
        assert!((spent - (14.4 - 30.0)).abs() < 1e-9, "{spent}");
    }

    #[test]
    fn violation_description_never_rounds_up_to_the_target() {
        assert_eq!(
            violation_description(99.82, 99.9, SlaWindow::Monthly),
            "availability 99.82% < 99.9% (monthly)"
        );
        assert_eq!(
            violation_description(99.8999, 99.9, SlaWindow::Daily),
            "availability 99.89% < 99.9% (daily)"
        );
    }

    fn covering(covered_minutes: i64, down_minutes: i64) -> CheckCoverage {
        CheckCoverage {
            covered: Duration::minutes(covered_minutes),
            down: Duration::minutes(down_minutes),
            total_checks: 0,
            down_checks: 0,
        }
    }

    #[test]
    fn burn_rate_is_downtime_over_the_budget() {
        // 99.9 %: the budget is 0.1 % of the time. 6 minutes down in an hour is 10 % down,
        // 100 times the budget's pace.
        let rate = burn_rate(&covering(60, 6), 99.9).unwrap();
        assert!((rate - 100.0).abs() < 1e-6, "{rate}");
        assert_eq!(burn_rate(&covering(60, 0), 99.9), Some(0.0));
        assert_eq!(
            burn_rate(&covering(0, 0), 99.9),
            None,
            "no data is not burning"
        );
        // 99 %: 1 % budget; 30 s down in an hour is 0.83 % → 0.83.
        let coverage = CheckCoverage {
            covered: Duration::hours(1),
            down: Duration::seconds(30),
            total_checks: 0,
            down_checks: 0,
        };
        let rate = burn_rate(&coverage, 99.0).unwrap();
        assert!((rate - 30.0 / 3600.0 / 0.01).abs() < 1e-9, "{rate}");
        // A 100 % target has no budget at all.
        assert_eq!(burn_rate(&covering(60, 1), 100.0), Some(f64::MAX));
        assert_eq!(burn_rate(&covering(60, 0), 100.0), Some(0.0));
    }

    #[test]
    fn a_burn_must_hold_over_both_windows_of_a_pair() {
        // A short spike: the 5-minute window burns, the hour does not (yet).
        assert_eq!(pair_burn_rate(Some(2.0), Some(50.0)), Some(2.0));
        // Over after the fault: the hour still shows it, the last 5 minutes do not.
        assert_eq!(pair_burn_rate(Some(20.0), Some(0.0)), Some(0.0));
        assert_eq!(pair_burn_rate(Some(20.0), Some(30.0)), Some(20.0));
        // A window without data: no judgement.
        assert_eq!(pair_burn_rate(None, Some(40.0)), None);
        assert_eq!(pair_burn_rate(Some(40.0), None), None);
        for window in BurnWindow::ALL {
            assert_eq!(BurnWindow::of_metric(window.metric()), Some(window));
            let (long, short) = window.windows();
            assert!(long > short);
        }
        assert_eq!(BurnWindow::of_metric("sla_burn_rate"), None);
    }
}
