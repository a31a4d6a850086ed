//! The SQLite side of service level agreements: rules, violations, and the coverage of a range
//! by a service's checks, aggregated with window functions (migration 0008 adds the index that
//! keeps one open violation per rule).
//!
//! `postgres/sla.rs` holds the same statements; only the value encodings at the top of each
//! file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::sqlite::SqliteRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::{SlaStore, StoreError, StoreResult};
use super::{SqliteStore as Backend, from_micros, micros};
use crate::model::{
    CheckCoverage, NewSlaRule, NewSlaViolation, SlaRule, SlaServiceInfo, SlaViolation, SlaWindow,
};

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> i64 {
    micros(at)
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    from_micros(row.try_get(column)?)
}

fn get_opt_ts(row: &BackendRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let value: Option<i64> = row.try_get(column)?;
    value.map(from_micros).transpose()
}

/// `checked_at` in microseconds since the epoch (stored so).
const CHECKED_AT_MICROS: &str = "checked_at";
/// The smallest and largest of their arguments (SQLite's multi-argument scalar forms).
const LEAST: &str = "min";
const GREATEST: &str = "max";
/// Whole seconds from `started_at` to the bound `$2`.
const DURATION_SECONDS: &str = "($2 - started_at) / 1000000";

// ---- Shared with the other backend's sla.rs from here on -----------------------------------

const RULE_SELECT: &str = "SELECT r.id, r.service_id, s.name AS service_name, r.name, \
     r.target_percent, r.calculation_window, s.check_interval, r.created_at, r.updated_at \
     FROM sla_rules r JOIN services s ON s.id = r.service_id";

const VIOLATION_SELECT: &str = "SELECT v.id, v.sla_rule_id, v.service_id, \
     s.name AS service_name, v.started_at, v.ended_at, v.duration_seconds, v.description, \
     v.created_at FROM sla_violations v JOIN services s ON s.id = v.service_id";

fn rule_from_row(row: &BackendRow) -> StoreResult<SlaRule> {
    let window: String = row.try_get("calculation_window")?;
    Ok(SlaRule {
        id: row.try_get("id")?,
        service_id: row.try_get("service_id")?,
        service_name: row.try_get("service_name")?,
        name: row.try_get("name")?,
        target_percent: row.try_get("target_percent")?,
        window: SlaWindow::parse(&window).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown SLA calculation window `{window}`"))
        })?,
        check_interval: row.try_get("check_interval")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

fn violation_from_row(row: &BackendRow) -> StoreResult<SlaViolation> {
    Ok(SlaViolation {
        id: row.try_get("id")?,
        rule_id: row.try_get("sla_rule_id")?,
        service_id: row.try_get("service_id")?,
        service_name: row.try_get("service_name")?,
        started_at: get_ts(row, "started_at")?,
        ended_at: get_opt_ts(row, "ended_at")?,
        duration_seconds: row.try_get("duration_seconds")?,
        description: row.try_get("description")?,
        created_at: get_ts(row, "created_at")?,
    })
}

/// The coverage of `[$2, $3)` by the checks of service `$1` in one statement: the check just
/// before the range (one backward probe of the `(service_id, checked_at)` index) and those in
/// it become segments from each check to the next (`LEAD`), at most `$6` µs long and clipped to
/// the range (`$4`, `$5`: its ends in µs); their lengths are summed in the database.
fn coverage_statement() -> String {
    format!(
        "WITH checks AS ( \
            SELECT * FROM (SELECT id, checked_at, status FROM service_checks \
                WHERE service_id = $1 AND checked_at < $2 \
                ORDER BY checked_at DESC, id DESC LIMIT 1) AS before_range \
            UNION ALL \
            SELECT id, checked_at, status FROM service_checks \
                WHERE service_id = $1 AND checked_at >= $2 AND checked_at < $3 \
        ), segments AS ( \
            SELECT {at} AS start_us, \
                CASE WHEN lower(status) = 'down' THEN 1 ELSE 0 END AS down, \
                {least}(COALESCE(LEAD({at}) OVER (ORDER BY checked_at, id), $5), \
                    {at} + $6, $5) AS end_us \
            FROM checks \
        ), clipped AS ( \
            SELECT start_us, down, {greatest}(0, end_us - {greatest}(start_us, $4)) AS span_us \
            FROM segments \
        ) \
        SELECT CAST(COALESCE(SUM(span_us), 0) AS BIGINT) AS covered_us, \
            CAST(COALESCE(SUM(span_us * down), 0) AS BIGINT) AS down_us, \
            CAST(COALESCE(SUM(CASE WHEN start_us >= $4 THEN 1 ELSE 0 END), 0) AS BIGINT) \
                AS total_checks, \
            CAST(COALESCE(SUM(CASE WHEN start_us >= $4 THEN down ELSE 0 END), 0) AS BIGINT) \
                AS down_checks \
        FROM clipped",
        at = CHECKED_AT_MICROS,
        least = LEAST,
        greatest = GREATEST,
    )
}

/// The coverage a statement selected as `covered_us`, `down_us`, `total_checks` and
/// `down_checks` (this file's coverage statement and the rollup sums of `service_rollup.rs`).
pub(super) fn coverage_from_row(row: &BackendRow) -> StoreResult<CheckCoverage> {
    Ok(CheckCoverage {
        covered: Duration::microseconds(row.try_get("covered_us")?),
        down: Duration::microseconds(row.try_get("down_us")?),
        total_checks: row.try_get("total_checks")?,
        down_checks: row.try_get("down_checks")?,
    })
}

#[async_trait]
impl SlaStore for Backend {
    async fn list_sla_rules(&self) -> StoreResult<Vec<SlaRule>> {
        sqlx::query(sql!("{RULE_SELECT} ORDER BY r.id"))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(rule_from_row)
            .collect()
    }

    async fn sla_rule(&self, id: i64) -> StoreResult<Option<SlaRule>> {
        sqlx::query(sql!("{RULE_SELECT} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(rule_from_row)
            .transpose()
    }

    async fn service_sla_rule(&self, service_id: i64) -> StoreResult<Option<SlaRule>> {
        sqlx::query(sql!("{RULE_SELECT} WHERE r.service_id = $1"))
            .bind(service_id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(rule_from_row)
            .transpose()
    }

    async fn create_sla_rule(&self, rule: NewSlaRule, now: DateTime<Utc>) -> StoreResult<SlaRule> {
        // Inserting only when the service exists keeps an unknown service a NotFound rather
        // than a foreign-key failure; the unique `service_id` makes a second rule a Conflict.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO sla_rules (service_id, name, target_percent, calculation_window, \
                created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $5 WHERE EXISTS (SELECT 1 FROM services WHERE id = $1) \
             RETURNING id",
        )
        .bind(rule.service_id)
        .bind(&rule.name)
        .bind(rule.target_percent)
        .bind(rule.window.as_str())
        .bind(ts(now))
        .fetch_optional(self.pool())
        .await?;
        let id = id.ok_or(StoreError::NotFound("service"))?;
        self.sla_rule(id)
            .await?
            .ok_or(StoreError::NotFound("SLA rule"))
    }

    async fn delete_sla_rule(&self, id: i64) -> StoreResult<()> {
        let deleted = sqlx::query("DELETE FROM sla_rules WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound("SLA rule"));
        }
        Ok(())
    }

    async fn sla_service(&self, service_id: i64) -> StoreResult<Option<SlaServiceInfo>> {
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT id, name, check_interval FROM services WHERE id = $1")
                .bind(service_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(id, name, check_interval)| SlaServiceInfo {
            id,
            name,
            check_interval,
        }))
    }

    async fn check_coverage(
        &self,
        service_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: Duration,
    ) -> StoreResult<CheckCoverage> {
        if to <= from {
            return Ok(CheckCoverage::default());
        }
        let cap_us = cap.num_microseconds().unwrap_or(i64::MAX).max(0);
        let row = sqlx::query(AssertSqlSafe(coverage_statement()))
            .bind(service_id)
            .bind(ts(from))
            .bind(ts(to))
            .bind(from.timestamp_micros())
            .bind(to.timestamp_micros())
            .bind(cap_us)
            .fetch_one(self.pool())
            .await?;
        coverage_from_row(&row)
    }

    async fn open_sla_violation(
        &self,
        violation: NewSlaViolation,
        now: DateTime<Utc>,
    ) -> StoreResult<(SlaViolation, bool)> {
        // The partial unique index on open violations (migration 0008) makes a second open
        // violation of a rule a no-op, whichever replica or run tries it.
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO sla_violations (sla_rule_id, service_id, started_at, description, \
                created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(violation.rule_id)
        .bind(violation.service_id)
        .bind(ts(violation.started_at))
        .bind(&violation.description)
        .bind(ts(now))
        .fetch_optional(self.pool())
        .await?;
        let row = match created {
            Some(id) => {
                sqlx::query(sql!("{VIOLATION_SELECT} WHERE v.id = $1"))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?
            }
            None => {
                sqlx::query(sql!(
                    "{VIOLATION_SELECT} WHERE v.sla_rule_id = $1 AND v.ended_at IS NULL"
                ))
                .bind(violation.rule_id)
                .fetch_optional(self.pool())
                .await?
            }
        };
        // Absent only when the open violation was closed or its rule deleted meanwhile.
        let row = row.ok_or_else(|| {
            StoreError::Conflict(format!(
                "the open violation of SLA rule {} changed meanwhile",
                violation.rule_id
            ))
        })?;
        Ok((violation_from_row(&row)?, created.is_some()))
    }

    async fn close_sla_violation(&self, id: i64, ended_at: DateTime<Utc>) -> StoreResult<bool> {
        let closed = sqlx::query(sql!(
            "UPDATE sla_violations SET ended_at = $2, duration_seconds = {DURATION_SECONDS} \
             WHERE id = $1 AND ended_at IS NULL"
        ))
        .bind(id)
        .bind(ts(ended_at))
        .execute(self.pool())
        .await?;
        Ok(closed.rows_affected() == 1)
    }

    async fn open_sla_violations(&self) -> StoreResult<Vec<SlaViolation>> {
        sqlx::query(sql!(
            "{VIOLATION_SELECT} WHERE v.ended_at IS NULL ORDER BY v.started_at, v.id"
        ))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(violation_from_row)
        .collect()
    }

    async fn sla_violations(
        &self,
        service_id: Option<i64>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<SlaViolation>> {
        sqlx::query(sql!(
            "{VIOLATION_SELECT} WHERE ($1 IS NULL OR v.service_id = $1) \
             AND v.started_at < $3 AND (v.ended_at IS NULL OR v.ended_at >= $2) \
             ORDER BY v.started_at DESC, v.id DESC LIMIT $4"
        ))
        .bind(service_id)
        .bind(ts(from))
        .bind(ts(to))
        .bind(limit.max(0))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(violation_from_row)
        .collect()
    }
}
