//! The PostgreSQL side of remediation runs, the per-host remediation flags and the settings
//! (migration 0007).
//!
//! `sqlite/remediation.rs` holds the same statements; only the value encodings at the top of
//! each file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::remediation_codec::{
    expected_condition, in_progress_conflict, reopen_conflict, setting_from_text, setting_text,
    status_from_column, unexpected_status, window_start,
};
use super::super::{RemediationStore, SettingStore, StoreError, StoreResult};
use super::PostgresStore as Backend;
use crate::model::{
    NewRemediation, Remediation, RemediationFilter, RemediationStats, RemediationStatus,
    RemediationUpdate, RunHistory,
};

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

/// An optional timestamp as bound.
fn opt_ts(at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    at
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    Ok(row.try_get(column)?)
}

fn get_opt_ts(row: &BackendRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(row.try_get(column)?)
}

/// A JSON value as bound (JSONB).
fn json(value: Option<&Value>) -> Option<&Value> {
    value
}

fn get_json(row: &BackendRow, column: &str) -> StoreResult<Option<Value>> {
    Ok(row.try_get(column)?)
}

/// A run's duration in seconds, as `float8` so that its average is too.
const DURATION_SECONDS: &str = "extract(epoch FROM completed_at - started_at)::float8";

// ---- Shared with sqlite/remediation.rs from here on ----------------------------------------

const REMEDIATION_COLUMNS: &str = "id, alert_id, host_id, status, risk_level, runbook_name, \
     diagnosis_json, command_results_json, verification_passed, blocked_reason, triggered_by, \
     requested_by, decision, executed, approved_by, approved_at, review_comment, started_at, \
     completed_at, created_at";

/// The statuses `RemediationStats::pending` counts (`remediation-and-ai.md` §1).
const PENDING_STATUSES: &str =
    "'pending', 'pending_approval', 'diagnosing', 'executing', 'verifying'";

fn remediation_from_row(row: &BackendRow) -> StoreResult<Remediation> {
    let status: String = row.try_get("status")?;
    Ok(Remediation {
        id: row.try_get("id")?,
        alert_id: row.try_get("alert_id")?,
        host_id: row.try_get("host_id")?,
        status: status_from_column(&status)?,
        risk_level: row.try_get("risk_level")?,
        runbook_name: row.try_get("runbook_name")?,
        diagnosis: get_json(row, "diagnosis_json")?,
        command_results: get_json(row, "command_results_json")?,
        verification_passed: row.try_get("verification_passed")?,
        blocked_reason: row.try_get("blocked_reason")?,
        triggered_by: row.try_get("triggered_by")?,
        requested_by: row.try_get("requested_by")?,
        decision: get_json(row, "decision")?,
        executed: row.try_get("executed")?,
        approved_by: row.try_get("approved_by")?,
        approved_at: get_opt_ts(row, "approved_at")?,
        review_comment: row.try_get("review_comment")?,
        started_at: get_opt_ts(row, "started_at")?,
        completed_at: get_opt_ts(row, "completed_at")?,
        created_at: get_ts(row, "created_at")?,
    })
}

#[async_trait]
impl RemediationStore for Backend {
    async fn create_remediation(&self, run: NewRemediation) -> StoreResult<Remediation> {
        // One statement against the unique index of unfinished runs per alert: of two
        // concurrent creations for one alert, the second is a unique violation.
        let row = sqlx::query(sql!(
            "INSERT INTO remediation_logs (alert_id, host_id, status, triggered_by, \
                requested_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {REMEDIATION_COLUMNS}"
        ))
        .bind(run.alert_id)
        .bind(run.host_id)
        .bind(run.status.as_str())
        .bind(&run.triggered_by)
        .bind(run.requested_by)
        .bind(ts(run.created_at))
        .fetch_one(&self.pool)
        .await
        .map_err(|error| in_progress_conflict(error.into(), run.alert_id))?;
        remediation_from_row(&row)
    }

    async fn remediation(&self, id: i64) -> StoreResult<Option<Remediation>> {
        let row = sqlx::query(sql!(
            "SELECT {REMEDIATION_COLUMNS} FROM remediation_logs WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(remediation_from_row).transpose()
    }

    async fn list_remediations(
        &self,
        filter: &RemediationFilter,
    ) -> StoreResult<(Vec<Remediation>, i64)> {
        const WHERE: &str = "WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR host_id = $2) \
             AND ($3 IS NULL OR alert_id = $3) AND ($4 IS NULL OR triggered_by = $4)";
        let status = filter.status.map(RemediationStatus::as_str);
        let total: i64 = sqlx::query_scalar(sql!("SELECT count(*) FROM remediation_logs {WHERE}"))
            .bind(status)
            .bind(filter.host_id)
            .bind(filter.alert_id)
            .bind(&filter.triggered_by)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(sql!(
            "SELECT {REMEDIATION_COLUMNS} FROM remediation_logs {WHERE} \
             ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(status)
        .bind(filter.host_id)
        .bind(filter.alert_id)
        .bind(&filter.triggered_by)
        .bind(filter.page.limit())
        .bind(filter.page.offset())
        .fetch_all(&self.pool)
        .await?;
        let runs = rows
            .iter()
            .map(remediation_from_row)
            .collect::<StoreResult<_>>()?;
        Ok((runs, total))
    }

    async fn update_remediation(
        &self,
        id: i64,
        expected: &[RemediationStatus],
        update: RemediationUpdate,
    ) -> StoreResult<Remediation> {
        // One statement: the status check and the write cannot interleave with another update.
        let condition = expected_condition(16, expected.len());
        let mut query = sqlx::query(sql!(
            "UPDATE remediation_logs SET status = COALESCE($2, status), \
                risk_level = COALESCE($3, risk_level), \
                runbook_name = COALESCE($4, runbook_name), \
                diagnosis_json = COALESCE($5, diagnosis_json), \
                command_results_json = COALESCE($6, command_results_json), \
                verification_passed = COALESCE($7, verification_passed), \
                blocked_reason = COALESCE($8, blocked_reason), \
                decision = COALESCE($9, decision), \
                executed = COALESCE($10, executed), \
                approved_by = COALESCE($11, approved_by), \
                approved_at = COALESCE($12, approved_at), \
                review_comment = COALESCE($13, review_comment), \
                started_at = COALESCE($14, started_at), \
                completed_at = COALESCE($15, completed_at) \
             WHERE id = $1{condition} RETURNING {REMEDIATION_COLUMNS}"
        ))
        .bind(id)
        .bind(update.status.map(RemediationStatus::as_str))
        .bind(&update.risk_level)
        .bind(&update.runbook_name)
        .bind(json(update.diagnosis.as_ref()))
        .bind(json(update.command_results.as_ref()))
        .bind(update.verification_passed)
        .bind(&update.blocked_reason)
        .bind(json(update.decision.as_ref()))
        .bind(update.executed)
        .bind(update.approved_by)
        .bind(opt_ts(update.approved_at))
        .bind(&update.review_comment)
        .bind(opt_ts(update.started_at))
        .bind(opt_ts(update.completed_at));
        for status in expected {
            query = query.bind(status.as_str());
        }
        let updated = query
            .fetch_optional(&self.pool)
            .await
            .map_err(|error| reopen_conflict(error.into(), id))?;
        if let Some(row) = updated {
            return remediation_from_row(&row);
        }
        let current: Option<String> =
            sqlx::query_scalar("SELECT status FROM remediation_logs WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match current {
            Some(current) => Err(unexpected_status(id, &current)),
            None => Err(StoreError::NotFound("remediation")),
        }
    }

    async fn remediation_stats(
        &self,
        today: DateTime<Utc>,
        week: DateTime<Utc>,
    ) -> StoreResult<RemediationStats> {
        let row = sqlx::query(sql!(
            "SELECT count(*) AS total, \
                count(CASE WHEN status = 'success' THEN 1 END) AS success, \
                count(CASE WHEN status = 'failed' THEN 1 END) AS failed, \
                count(CASE WHEN status IN ({PENDING_STATUSES}) THEN 1 END) AS pending, \
                avg({DURATION_SECONDS}) AS avg_duration_seconds, \
                count(CASE WHEN created_at >= $1 THEN 1 END) AS today_count, \
                count(CASE WHEN created_at >= $2 THEN 1 END) AS week_count \
             FROM remediation_logs"
        ))
        .bind(ts(today))
        .bind(ts(week))
        .fetch_one(&self.pool)
        .await?;
        Ok(RemediationStats {
            total: row.try_get("total")?,
            success: row.try_get("success")?,
            failed: row.try_get("failed")?,
            pending: row.try_get("pending")?,
            avg_duration_seconds: row.try_get("avg_duration_seconds")?,
            today_count: row.try_get("today_count")?,
            week_count: row.try_get("week_count")?,
        })
    }

    async fn run_history(
        &self,
        host_id: i64,
        runbook: &str,
        now: DateTime<Utc>,
        breaker_window: Duration,
    ) -> StoreResult<RunHistory> {
        // A failure counts only if it completed after every success of the host up to `now`
        // (a success clears the breaker), and within the window.
        let row = sqlx::query(
            "SELECT \
                (SELECT max(started_at) FROM remediation_logs \
                    WHERE host_id = $1 AND runbook_name = $2) AS last_run_of_runbook, \
                (SELECT count(*) FROM remediation_logs \
                    WHERE host_id = $1 AND started_at >= $4 AND started_at <= $3) \
                    AS runs_last_hour, \
                (SELECT count(*) FROM remediation_logs f \
                    WHERE f.host_id = $1 AND f.status = 'failed' \
                        AND f.completed_at >= $5 AND f.completed_at <= $3 \
                        AND NOT EXISTS (SELECT 1 FROM remediation_logs s \
                            WHERE s.host_id = $1 AND s.status = 'success' \
                                AND s.completed_at >= f.completed_at AND s.completed_at <= $3)) \
                    AS recent_failures, \
                (SELECT count(*) FROM remediation_logs \
                    WHERE risk_level = 'auto' AND started_at >= $4 AND started_at <= $3) \
                    AS auto_runs_last_hour",
        )
        .bind(host_id)
        .bind(runbook)
        .bind(ts(now))
        .bind(ts(window_start(now, Duration::hours(1))))
        .bind(ts(window_start(now, breaker_window)))
        .fetch_one(&self.pool)
        .await?;
        Ok(RunHistory {
            last_run_of_runbook: get_opt_ts(&row, "last_run_of_runbook")?,
            runs_last_hour: row.try_get("runs_last_hour")?,
            recent_failures: row.try_get("recent_failures")?,
            auto_runs_last_hour: row.try_get("auto_runs_last_hour")?,
        })
    }

    async fn expire_approvals(
        &self,
        cutoff: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Remediation>> {
        let rows = sqlx::query(sql!(
            "UPDATE remediation_logs SET status = 'escalated', blocked_reason = $2, \
                completed_at = $3 \
             WHERE status = 'pending_approval' AND created_at < $1 \
             RETURNING {REMEDIATION_COLUMNS}"
        ))
        .bind(ts(cutoff))
        .bind(reason)
        .bind(ts(now))
        .fetch_all(&self.pool)
        .await?;
        let mut expired = rows
            .iter()
            .map(remediation_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // RETURNING has no order; oldest first, as they were waiting.
        expired.sort_by_key(|run| (run.created_at, run.id));
        Ok(expired)
    }

    async fn touch_remediation_agent(&self, host_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        // Replicas may record the same host out of order; the latest time stays.
        sqlx::query(
            "UPDATE hosts SET remediation_agent_at = $2 WHERE id = $1 \
                AND (remediation_agent_at IS NULL OR remediation_agent_at < $2)",
        )
        .bind(host_id)
        .bind(ts(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn remediation_agent_seen_at(&self, host_id: i64) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT remediation_agent_at FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => get_opt_ts(&row, "remediation_agent_at"),
            None => Ok(None),
        }
    }

    async fn set_remediation_opt_out(&self, host_id: i64, opted_out: bool) -> StoreResult<()> {
        let result = sqlx::query("UPDATE hosts SET remediation_opt_out = $2 WHERE id = $1")
            .bind(host_id)
            .bind(opted_out)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("host"));
        }
        Ok(())
    }

    async fn remediation_opt_out(&self, host_id: i64) -> StoreResult<bool> {
        let opted_out: Option<bool> =
            sqlx::query_scalar("SELECT remediation_opt_out FROM hosts WHERE id = $1")
                .bind(host_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(opted_out.unwrap_or(false))
    }
}

#[async_trait]
impl SettingStore for Backend {
    async fn setting(&self, key: &str) -> StoreResult<Option<Value>> {
        let text: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(text.map(setting_from_text))
    }

    async fn put_setting(&self, key: &str, value: &Value, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(setting_text(value))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
