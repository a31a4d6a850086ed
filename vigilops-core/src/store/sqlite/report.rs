//! The SQLite side of operations reports and the aggregates they are written from (migration
//! 0009).
//!
//! `postgres/report.rs` holds the same statements; only the value encodings at the top of each
//! file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::{ReportStore, StoreError, StoreResult};
use super::{SqliteStore as Backend, from_micros, micros};
use crate::model::{
    AlertCount, CountBy, MetricStat, NewReport, Report, ReportData, ReportFilter, ReportOutcome,
    ReportStatus, ReportType, ServiceAvailability,
};

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> i64 {
    micros(at)
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    from_micros(row.try_get(column)?)
}

/// The end of a 5-minute service check rollup bucket `r`.
const ROLLUP_BUCKET_END: &str = "r.bucket_start + 300000000";

// ---- Shared with postgres/report.rs from here on -------------------------------------------

const REPORT_COLUMNS: &str = "id, title, report_type, period_start, period_end, content, \
     summary, status, generated_by, scheduled, created_at";

fn report_from_row(row: &BackendRow) -> StoreResult<Report> {
    let report_type: String = row.try_get("report_type")?;
    let status: String = row.try_get("status")?;
    Ok(Report {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        report_type: ReportType::parse(&report_type)
            .ok_or_else(|| StoreError::Corrupt(format!("report type `{report_type}`")))?,
        period_start: get_ts(row, "period_start")?,
        period_end: get_ts(row, "period_end")?,
        content: row.try_get("content")?,
        summary: row.try_get("summary")?,
        status: ReportStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("report status `{status}`")))?,
        generated_by: row.try_get("generated_by")?,
        scheduled: row.try_get("scheduled")?,
        created_at: get_ts(row, "created_at")?,
    })
}

/// The levels a report counts as errors (`remediation-and-ai.md` §7: ERROR/CRITICAL).
/// Ingestion stores the agents' `CRITICAL` as `FATAL`, so that counts too.
const ERROR_LEVELS: &str = "upper(level) IN ('ERROR', 'CRITICAL', 'FATAL')";

#[async_trait]
impl ReportStore for Backend {
    async fn create_report(&self, report: NewReport) -> StoreResult<Report> {
        // One statement: the duplicate check and the insert cannot interleave with another
        // scheduled creation (SQLite serialises writers; PostgreSQL's partial unique index
        // refuses the second of two concurrent scheduled inserts).
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO reports (title, report_type, period_start, period_end, status, \
                generated_by, scheduled, created_at) \
             SELECT $1, $2, $3, $4, 'generating', $5, $6, $7 \
             WHERE NOT $6 OR NOT EXISTS (SELECT 1 FROM reports WHERE report_type = $2 \
                AND period_start = $3 AND period_end = $4 \
                AND status IN ('generating', 'completed')) \
             RETURNING {REPORT_COLUMNS}"
        )))
        .bind(&report.title)
        .bind(report.report_type.as_str())
        .bind(ts(report.period_start))
        .bind(ts(report.period_end))
        .bind(report.generated_by)
        .bind(report.scheduled)
        .bind(ts(report.created_at))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => report_from_row(&row),
            None => Err(StoreError::Conflict(format!(
                "a {} report of this period exists",
                report.report_type.as_str()
            ))),
        }
    }

    async fn finish_report(&self, id: i64, outcome: ReportOutcome) -> StoreResult<Report> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE reports SET status = $2, content = $3, summary = $4 \
             WHERE id = $1 AND status = 'generating' RETURNING {REPORT_COLUMNS}"
        )))
        .bind(id)
        .bind(outcome.status.as_str())
        .bind(&outcome.content)
        .bind(&outcome.summary)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => report_from_row(&row),
            None => match self.report(id).await? {
                None => Err(StoreError::NotFound("report")),
                Some(report) => Err(StoreError::Conflict(format!(
                    "report {id} is {}",
                    report.status.as_str()
                ))),
            },
        }
    }

    async fn report(&self, id: i64) -> StoreResult<Option<Report>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(report_from_row).transpose()
    }

    async fn list_reports(&self, filter: &ReportFilter) -> StoreResult<(Vec<Report>, i64)> {
        const WHERE: &str = "WHERE ($1 IS NULL OR report_type = $1)";
        let report_type = filter.report_type.map(ReportType::as_str);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM reports {WHERE}"
        )))
        .bind(report_type)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REPORT_COLUMNS} FROM reports {WHERE} \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        )))
        .bind(report_type)
        .bind(filter.page.limit())
        .bind(filter.page.offset())
        .fetch_all(&self.pool)
        .await?;
        let reports = rows
            .iter()
            .map(report_from_row)
            .collect::<StoreResult<_>>()?;
        Ok((reports, total))
    }

    async fn delete_report(&self, id: i64) -> StoreResult<()> {
        let deleted = sqlx::query("DELETE FROM reports WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound("report"));
        }
        Ok(())
    }

    async fn fail_stalled_reports(
        &self,
        cutoff: DateTime<Utc>,
        message: &str,
    ) -> StoreResult<Vec<i64>> {
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE reports SET status = 'failed', content = $2, summary = $2 \
             WHERE status = 'generating' AND created_at < $1 RETURNING id",
        )
        .bind(ts(cutoff))
        .bind(message)
        .fetch_all(&self.pool)
        .await?;
        ids.sort_unstable();
        Ok(ids)
    }

    async fn report_data(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<ReportData> {
        let (from, to) = (ts(from), ts(to));
        let hosts_by_status = sqlx::query(
            "SELECT status AS label, count(*) AS n FROM hosts GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(count_by)
        .collect::<StoreResult<_>>()?;
        let metrics = sqlx::query(
            "SELECT count(*) AS n, avg(cpu_percent) AS cpu_avg, max(cpu_percent) AS cpu_max, \
                avg(memory_percent) AS mem_avg, max(memory_percent) AS mem_max, \
                avg(disk_percent) AS disk_avg, max(disk_percent) AS disk_max \
             FROM host_metrics WHERE recorded_at >= $1 AND recorded_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        let stat = |avg: &str, max: &str| -> StoreResult<MetricStat> {
            Ok(MetricStat {
                avg: metrics.try_get(avg)?,
                max: metrics.try_get(max)?,
            })
        };
        // Each service's checks are counted through its (service_id, checked_at) index; the
        // checks of the period older than every stored raw check (purged) are counted from
        // the 5-minute rollups that end before the oldest stored check, so a period at the
        // edge of the purge is exact to one bucket.
        let rolled = |column: &str| {
            format!(
                "(SELECT COALESCE(SUM(r.{column}), 0) FROM service_check_rollups_5m r \
                 WHERE r.service_id = s.id AND r.bucket_start >= $1 AND r.bucket_start < $2 \
                 AND {ROLLUP_BUCKET_END} <= \
                    (SELECT COALESCE(min(checked_at), $2) FROM service_checks))"
            )
        };
        let services = sqlx::query(AssertSqlSafe(format!(
            "SELECT s.id, s.name, s.host_id, h.hostname, s.status, \
                CAST((SELECT count(*) FROM service_checks c WHERE c.service_id = s.id \
                    AND c.checked_at >= $1 AND c.checked_at < $2) + {rolled_checks} AS BIGINT) \
                    AS checks, \
                CAST((SELECT count(*) FROM service_checks c WHERE c.service_id = s.id \
                    AND c.checked_at >= $1 AND c.checked_at < $2 \
                    AND lower(c.status) = 'up') + {rolled_up_checks} AS BIGINT) AS up_checks \
             FROM services s LEFT JOIN hosts h ON h.id = s.host_id \
             WHERE s.is_active ORDER BY s.id LIMIT $3",
            rolled_checks = rolled("checks"),
            rolled_up_checks = rolled("up_checks"),
        )))
        .bind(from)
        .bind(to)
        .bind(ReportData::MAX_SERVICES)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ServiceAvailability {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                host_id: row.try_get("host_id")?,
                hostname: row.try_get("hostname")?,
                status: row.try_get("status")?,
                checks: row.try_get("checks")?,
                up_checks: row.try_get("up_checks")?,
            })
        })
        .collect::<StoreResult<_>>()?;
        let services_by_status = sqlx::query(
            "SELECT status AS label, count(*) AS n FROM services WHERE is_active \
             GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(count_by)
        .collect::<StoreResult<_>>()?;
        let alerts = sqlx::query(
            "SELECT severity, status, count(*) AS n FROM alerts \
             WHERE fired_at >= $1 AND fired_at < $2 \
             GROUP BY severity, status ORDER BY severity, status",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(AlertCount {
                severity: row.try_get("severity")?,
                status: row.try_get("status")?,
                count: row.try_get("n")?,
            })
        })
        .collect::<StoreResult<_>>()?;
        let error_logs: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM log_entries \
             WHERE timestamp >= $1 AND timestamp < $2 AND {ERROR_LEVELS}"
        )))
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        let top_error_services = sqlx::query(AssertSqlSafe(format!(
            "SELECT COALESCE(service, '') AS label, count(*) AS n FROM log_entries \
             WHERE timestamp >= $1 AND timestamp < $2 AND {ERROR_LEVELS} \
             GROUP BY COALESCE(service, '') ORDER BY n DESC, label LIMIT $3"
        )))
        .bind(from)
        .bind(to)
        .bind(ReportData::TOP_ERROR_SERVICES)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(count_by)
        .collect::<StoreResult<_>>()?;
        Ok(ReportData {
            hosts_by_status,
            metric_samples: metrics.try_get("n")?,
            cpu: stat("cpu_avg", "cpu_max")?,
            memory: stat("mem_avg", "mem_max")?,
            disk: stat("disk_avg", "disk_max")?,
            services,
            services_by_status,
            alerts,
            error_logs,
            top_error_services,
        })
    }
}

fn count_by(row: &BackendRow) -> StoreResult<CountBy> {
    Ok(CountBy {
        key: row.try_get("label")?,
        count: row.try_get("n")?,
    })
}
