//! Stored forms of auto-remediation: a run (`remediation_logs`), its filters and statistics, and
//! the facts the safety layer derives from stored runs (cooldowns, the per-host breaker, hourly
//! caps), so every replica sees the same state and it survives restarts.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Page;

/// Where a run is in its flow (`remediation-and-ai.md` §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemediationStatus {
    Pending,
    Diagnosing,
    Executing,
    Verifying,
    PendingApproval,
    Approved,
    Rejected,
    Success,
    Failed,
    Escalated,
}

impl RemediationStatus {
    /// Every status.
    pub const ALL: [Self; 10] = [
        Self::Pending,
        Self::Diagnosing,
        Self::Executing,
        Self::Verifying,
        Self::PendingApproval,
        Self::Approved,
        Self::Rejected,
        Self::Success,
        Self::Failed,
        Self::Escalated,
    ];

    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Diagnosing => "diagnosing",
            Self::Executing => "executing",
            Self::Verifying => "verifying",
            Self::PendingApproval => "pending_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Escalated => "escalated",
        }
    }

    /// The status spelled `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether nothing more will happen to the run.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Rejected | Self::Success | Self::Failed | Self::Escalated
        )
    }
}

/// A run to create. It starts `pending` (manual) or `diagnosing` (automatic).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRemediation {
    pub alert_id: Option<i64>,
    pub host_id: Option<i64>,
    pub status: RemediationStatus,
    /// `auto` or `manual`.
    pub triggered_by: String,
    /// The user who triggered a manual run.
    pub requested_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct Remediation {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub host_id: Option<i64>,
    pub status: RemediationStatus,
    /// `auto`, `confirm` or `block`.
    pub risk_level: Option<String>,
    pub runbook_name: Option<String>,
    /// The diagnosis object (`remediation-and-ai.md` §4).
    pub diagnosis: Option<Value>,
    /// The ordered list of `{step, command, exit_code, stdout, stderr, executed, duration_ms}`.
    pub command_results: Option<Value>,
    pub verification_passed: Option<bool>,
    pub blocked_reason: Option<String>,
    pub triggered_by: String,
    pub requested_by: Option<i64>,
    /// The safety layer's decision with every reason (`{risk, reasons:[…], checks:{…}}`).
    pub decision: Option<Value>,
    /// False for a dry run: nothing was executed on the host.
    pub executed: bool,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    /// The comment given with an approval or a rejection.
    pub review_comment: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Changes to a run: each `Some` field is written, `None` leaves the stored value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemediationUpdate {
    pub status: Option<RemediationStatus>,
    pub risk_level: Option<String>,
    pub runbook_name: Option<String>,
    pub diagnosis: Option<Value>,
    pub command_results: Option<Value>,
    pub verification_passed: Option<bool>,
    pub blocked_reason: Option<String>,
    pub decision: Option<Value>,
    pub executed: Option<bool>,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    pub review_comment: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Which runs to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct RemediationFilter {
    pub status: Option<RemediationStatus>,
    pub host_id: Option<i64>,
    pub alert_id: Option<i64>,
    pub triggered_by: Option<String>,
    pub page: Page,
}

/// `GET /remediations/stats` (`remediation-and-ai.md` §1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemediationStats {
    pub total: i64,
    pub success: i64,
    pub failed: i64,
    /// `pending`, `pending_approval`, `diagnosing`, `executing` and `verifying`.
    pub pending: i64,
    /// Mean of `completed_at - started_at` over runs with both, in seconds.
    pub avg_duration_seconds: Option<f64>,
    /// Runs created at or after the `today` cut-off given.
    pub today_count: i64,
    /// Runs created at or after the `week` cut-off given.
    pub week_count: i64,
}

/// What the safety layer needs to know about past runs on a host, as of a moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunHistory {
    /// When `runbook` last started executing on the host (`started_at`), if ever.
    pub last_run_of_runbook: Option<DateTime<Utc>>,
    /// Runs of any runbook that started executing on the host within the hour.
    pub runs_last_hour: i64,
    /// `failed` runs on the host completed within the breaker window and after the host's
    /// latest `success` (a success clears the failures).
    pub recent_failures: i64,
    /// Runs with `risk_level = 'auto'` that started executing within the hour, cluster-wide
    /// (`AGENT_MAX_AUTO_PER_HOUR`).
    pub auto_runs_last_hour: i64,
}
