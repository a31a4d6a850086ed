//! The REST shapes of `/api/v1/remediations`: the original's fields first, ours after.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::model::{Remediation, RemediationStats};

/// A remediation run (`rest-api.md` §8).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemediationView {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub host_id: Option<i64>,
    pub status: String,
    pub risk_level: Option<String>,
    pub runbook_name: Option<String>,
    pub diagnosis_json: Option<Value>,
    pub command_results_json: Option<Value>,
    pub verification_passed: Option<bool>,
    pub blocked_reason: Option<String>,
    pub triggered_by: String,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// **Ours:** who triggered a manual run.
    pub requested_by: Option<i64>,
    /// **Ours:** the safety decision with every reason.
    pub decision: Option<Value>,
    /// **Ours:** false for a dry run (nothing ran on the host).
    pub executed: bool,
    /// **Ours:** the comment of the approval or rejection.
    pub review_comment: Option<String>,
}

impl From<Remediation> for RemediationView {
    fn from(run: Remediation) -> Self {
        Self {
            id: run.id,
            alert_id: run.alert_id,
            host_id: run.host_id,
            status: run.status.as_str().to_owned(),
            risk_level: run.risk_level,
            runbook_name: run.runbook_name,
            diagnosis_json: run.diagnosis,
            command_results_json: run.command_results,
            verification_passed: run.verification_passed,
            blocked_reason: run.blocked_reason,
            triggered_by: run.triggered_by,
            approved_by: run.approved_by,
            approved_at: run.approved_at,
            started_at: run.started_at,
            completed_at: run.completed_at,
            created_at: run.created_at,
            requested_by: run.requested_by,
            decision: run.decision,
            executed: run.executed,
            review_comment: run.review_comment,
        }
    }
}

/// `GET /remediations/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemediationStatsView {
    pub total: i64,
    pub success: i64,
    pub failed: i64,
    pub pending: i64,
    /// success / total × 100, one decimal; 0.0 without runs.
    pub success_rate: f64,
    /// One decimal, or null without finished runs.
    pub avg_duration_seconds: Option<f64>,
    pub today_count: i64,
    pub week_count: i64,
}

impl From<RemediationStats> for RemediationStatsView {
    fn from(stats: RemediationStats) -> Self {
        let one_decimal = |value: f64| (value * 10.0).round() / 10.0;
        Self {
            total: stats.total,
            success: stats.success,
            failed: stats.failed,
            pending: stats.pending,
            #[allow(clippy::cast_precision_loss)]
            success_rate: if stats.total == 0 {
                0.0
            } else {
                one_decimal(stats.success as f64 / stats.total as f64 * 100.0)
            },
            avg_duration_seconds: stats.avg_duration_seconds.map(one_decimal),
            today_count: stats.today_count,
            week_count: stats.week_count,
        }
    }
}
