//! Stored forms of service level agreements: a rule per service (`sla_rules`), the violations
//! the evaluator records (`sla_violations`), and the time covered by a service's checks over a
//! range, which availability is computed from (`remediation-and-ai.md` §8).

use chrono::{DateTime, Duration, Utc};

/// The calendar window a rule's availability is measured over, aligned in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlaWindow {
    /// Today from 00:00.
    Daily,
    /// This week from Monday 00:00.
    Weekly,
    /// This month from the 1st 00:00.
    Monthly,
}

impl SlaWindow {
    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }

    /// The window a spelling names, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "daily" => Some(Self::Daily),
            "weekly" => Some(Self::Weekly),
            "monthly" => Some(Self::Monthly),
            _ => None,
        }
    }
}

/// A stored SLA rule with the name of its service.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaRule {
    pub id: i64,
    pub service_id: i64,
    pub service_name: String,
    pub name: String,
    pub target_percent: f64,
    pub window: SlaWindow,
    /// The service's seconds between checks, which bounds how long one check covers.
    pub check_interval: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A rule to create; the service must exist and have no rule yet.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSlaRule {
    pub service_id: i64,
    pub name: String,
    pub target_percent: f64,
    pub window: SlaWindow,
}

/// A period during which a rule's window availability was below its target.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaViolation {
    pub id: i64,
    pub rule_id: i64,
    pub service_id: i64,
    pub service_name: String,
    pub started_at: DateTime<Utc>,
    /// `None` while the violation lasts.
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A violation to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSlaViolation {
    pub rule_id: i64,
    pub service_id: i64,
    pub started_at: DateTime<Utc>,
    pub description: String,
}

/// A service as availability needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaServiceInfo {
    pub id: i64,
    pub name: String,
    /// Seconds between checks.
    pub check_interval: i64,
}

/// How much of a range a service's checks cover, and how much of that they report down.
///
/// Each check covers from its `checked_at` to the next check, at most `cap` (2 × the check
/// interval), clipped to the range; the check just before the range covers into it. Time no
/// check covers is unknown: neither up nor down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckCoverage {
    /// Time covered by some check.
    pub covered: Duration,
    /// Time covered by `down` checks.
    pub down: Duration,
    /// Checks taken inside the range.
    pub total_checks: i64,
    /// Of those, the `down` ones.
    pub down_checks: i64,
}

impl std::ops::Add for CheckCoverage {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            covered: self.covered + other.covered,
            down: self.down + other.down,
            total_checks: self.total_checks + other.total_checks,
            down_checks: self.down_checks + other.down_checks,
        }
    }
}

/// The bucket size of a service check rollup table (`service_check_rollups_5m`, `_1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceRollupResolution {
    /// 5-minute buckets, computed from raw checks.
    FiveMinutes,
    /// 1-hour buckets, summed from the 5-minute ones.
    Hour,
}

impl ServiceRollupResolution {
    /// Both, finest first.
    pub const ALL: [Self; 2] = [Self::FiveMinutes, Self::Hour];

    /// The length of one bucket. Buckets are aligned to the Unix epoch, so every 1-hour bucket
    /// is twelve whole 5-minute buckets.
    pub fn bucket(self) -> Duration {
        match self {
            Self::FiveMinutes => Duration::minutes(5),
            Self::Hour => Duration::hours(1),
        }
    }

    /// The start of the bucket holding `at`.
    pub fn floor(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let width = self.bucket().num_microseconds().unwrap_or(1).max(1);
        let start = at.timestamp_micros().div_euclid(width) * width;
        DateTime::from_timestamp_micros(start).unwrap_or(at)
    }

    /// `at` when it starts a bucket, else the start of the next bucket.
    pub fn ceil(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let floor = self.floor(at);
        if floor == at {
            at
        } else {
            floor + self.bucket()
        }
    }

    /// The table holding this resolution (a constant, never input).
    pub fn table(self) -> &'static str {
        match self {
            Self::FiveMinutes => "service_check_rollups_5m",
            Self::Hour => "service_check_rollups_1h",
        }
    }
}
