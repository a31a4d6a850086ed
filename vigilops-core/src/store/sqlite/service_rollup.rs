//! The SQLite side of service check rollups (migration 0013): the 5-minute buckets recomputed
//! from raw checks with window functions, the 1-hour buckets summed from them, the coverage of
//! a range read back, and the age-based purge.
//!
//! `postgres/service_rollup.rs` holds the same statements; only the value encodings at the top
//! of each file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::sqlite::SqliteRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::{ServiceRollupStore, StoreResult};
use super::sla::coverage_from_row;
use super::{SqliteStore as Backend, from_micros, micros};
use crate::model::{CheckCoverage, ServiceRollupResolution};

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> i64 {
    micros(at)
}

fn get_opt_ts(row: &BackendRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let value: Option<i64> = row.try_get(column)?;
    value.map(from_micros).transpose()
}

/// `checked_at` in microseconds since the epoch (stored so).
const CHECKED_AT_MICROS: &str = "checked_at";
/// `bucket_start` in microseconds since the epoch (stored so).
const BUCKET_START_MICROS: &str = "bucket_start";
/// The smallest and largest of their arguments (SQLite's multi-argument scalar forms).
const LEAST: &str = "min";
const GREATEST: &str = "max";

/// A `bucket_start` value from an expression in microseconds since the epoch.
fn bucket_start_from_micros(micros: &str) -> String {
    micros.to_owned()
}

/// A write transaction: IMMEDIATE, so the write lock is waited for up front rather than a
/// deferred transaction failing at once when another writer got there first.
async fn begin_write(
    pool: &sqlx::SqlitePool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

// ---- Shared with postgres/service_rollup.rs from here on -----------------------------------

/// The rollup columns, in the order the statements below produce them.
const COLUMNS: &str = "service_id, bucket_start, checks, up_checks, down_checks, covered_us, \
     down_us, responses, avg_response_time_ms, max_response_time_ms";

/// Replaces a stored bucket only with a recomputation that saw at least as many checks and,
/// with as many, at least as much covered time (see `ServiceRollupStore::roll_service_checks`).
fn monotone_upsert(table: &str) -> String {
    format!(
        "ON CONFLICT (service_id, bucket_start) DO UPDATE SET checks = excluded.checks, \
            up_checks = excluded.up_checks, down_checks = excluded.down_checks, \
            covered_us = excluded.covered_us, down_us = excluded.down_us, \
            responses = excluded.responses, \
            avg_response_time_ms = excluded.avg_response_time_ms, \
            max_response_time_ms = excluded.max_response_time_ms \
         WHERE excluded.checks > {table}.checks \
            OR (excluded.checks = {table}.checks AND excluded.covered_us >= {table}.covered_us)"
    )
}

/// The 5-minute buckets starting in `[$1, $2)` (`$3`, `$4`: the same ends in µs; `$5`: the
/// bucket width in µs) for every service, as `check_coverage` measures them: each service's
/// check just before `$1` and its checks in the range become segments from each check to the
/// next (`LEAD` per service), at most twice the service's check interval long; each segment
/// is cut at the bucket boundaries it crosses (`pieces`, recursively), and a check is counted
/// in the bucket it was taken in.
fn five_minute_statement() -> String {
    let table = ServiceRollupResolution::FiveMinutes.table();
    format!(
        "INSERT INTO {table} ({COLUMNS}) \
         WITH RECURSIVE checks AS ( \
            SELECT c.service_id, c.id, c.checked_at, c.status, c.response_time_ms, \
                0 AS in_window \
            FROM service_checks c WHERE c.id IN ( \
                SELECT (SELECT p.id FROM service_checks p \
                    WHERE p.service_id = s.id AND p.checked_at < $1 \
                    ORDER BY p.checked_at DESC, p.id DESC LIMIT 1) \
                FROM services s) \
            UNION ALL \
            SELECT c.service_id, c.id, c.checked_at, c.status, c.response_time_ms, \
                1 AS in_window \
            FROM service_checks c WHERE c.checked_at >= $1 AND c.checked_at < $2 \
         ), segments AS ( \
            SELECT k.service_id, k.in_window, k.response_time_ms, {at} AS start_us, \
                CASE WHEN lower(k.status) = 'down' THEN 1 ELSE 0 END AS is_down, \
                CASE WHEN lower(k.status) = 'up' THEN 1 ELSE 0 END AS is_up, \
                {least}(COALESCE(LEAD({at}) OVER ( \
                        PARTITION BY k.service_id ORDER BY k.checked_at, k.id), $4), \
                    {at} + {greatest}(s.check_interval, 1) * 2000000, $4) AS end_us \
            FROM checks k JOIN services s ON s.id = k.service_id \
         ), pieces AS ( \
            SELECT service_id, in_window, response_time_ms, start_us, end_us, is_down, is_up, \
                1 AS is_first, \
                CASE WHEN start_us < $3 THEN $3 ELSE start_us - (start_us - $3) % $5 END \
                    AS bucket_us \
            FROM segments \
            UNION ALL \
            SELECT service_id, in_window, response_time_ms, start_us, end_us, is_down, is_up, \
                0, bucket_us + $5 \
            FROM pieces WHERE bucket_us + $5 < end_us AND bucket_us + $5 < $4 \
         ), spans AS ( \
            SELECT service_id, bucket_us, is_down, response_time_ms, \
                is_first * in_window AS counted, is_first * in_window * is_up AS counted_up, \
                {greatest}(0, {least}(end_us, bucket_us + $5) - {greatest}(start_us, bucket_us)) \
                    AS span_us \
            FROM pieces \
         ), buckets AS ( \
            SELECT service_id, bucket_us, \
                CAST(SUM(counted) AS BIGINT) AS checks, \
                CAST(SUM(counted_up) AS BIGINT) AS up_checks, \
                CAST(SUM(counted * is_down) AS BIGINT) AS down_checks, \
                CAST(SUM(span_us) AS BIGINT) AS covered_us, \
                CAST(SUM(span_us * is_down) AS BIGINT) AS down_us, \
                CAST(SUM(CASE WHEN counted = 1 AND response_time_ms IS NOT NULL \
                    THEN 1 ELSE 0 END) AS BIGINT) AS responses, \
                AVG(CASE WHEN counted = 1 THEN response_time_ms END) AS avg_response_time_ms, \
                MAX(CASE WHEN counted = 1 THEN response_time_ms END) AS max_response_time_ms \
            FROM spans GROUP BY service_id, bucket_us \
         ) \
         SELECT service_id, {bucket_start}, checks, up_checks, down_checks, covered_us, \
            down_us, responses, avg_response_time_ms, max_response_time_ms \
         FROM buckets WHERE checks > 0 OR covered_us > 0 {upsert}",
        at = CHECKED_AT_MICROS,
        least = LEAST,
        greatest = GREATEST,
        bucket_start = bucket_start_from_micros("bucket_us"),
        upsert = monotone_upsert(table),
    )
}

/// The 1-hour buckets of the hours starting in `[$1, $2)`, summed from their 5-minute rows
/// (the average response time weighted by the checks that had one).
fn hour_statement() -> String {
    let five = ServiceRollupResolution::FiveMinutes.table();
    let hour = ServiceRollupResolution::Hour.table();
    format!(
        "INSERT INTO {hour} ({COLUMNS}) \
         SELECT service_id, {bucket_start}, checks, up_checks, down_checks, covered_us, \
            down_us, responses, avg_response_time_ms, max_response_time_ms \
         FROM ( \
            SELECT service_id, ({bucket_us} / 3600000000) * 3600000000 AS hour_us, \
                CAST(SUM(checks) AS BIGINT) AS checks, \
                CAST(SUM(up_checks) AS BIGINT) AS up_checks, \
                CAST(SUM(down_checks) AS BIGINT) AS down_checks, \
                CAST(SUM(covered_us) AS BIGINT) AS covered_us, \
                CAST(SUM(down_us) AS BIGINT) AS down_us, \
                CAST(SUM(responses) AS BIGINT) AS responses, \
                SUM(avg_response_time_ms * responses) / NULLIF(SUM(responses), 0) \
                    AS avg_response_time_ms, \
                MAX(max_response_time_ms) AS max_response_time_ms \
            FROM {five} WHERE bucket_start >= $1 AND bucket_start < $2 \
            GROUP BY service_id, ({bucket_us} / 3600000000) * 3600000000 \
         ) AS hours WHERE checks > 0 OR covered_us > 0 {upsert}",
        bucket_us = BUCKET_START_MICROS,
        bucket_start = bucket_start_from_micros("hour_us"),
        upsert = monotone_upsert(hour),
    )
}

fn micros_of(duration: Duration) -> i64 {
    duration.num_microseconds().unwrap_or(i64::MAX)
}

#[async_trait]
impl ServiceRollupStore for Backend {
    async fn roll_service_checks(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let (five, hour) = (
            ServiceRollupResolution::FiveMinutes,
            ServiceRollupResolution::Hour,
        );
        let (from, to) = (five.floor(from), five.ceil(to));
        if to <= from {
            return Ok(0);
        }
        let mut transaction = begin_write(&self.pool).await?;
        let fives = sqlx::query(AssertSqlSafe(five_minute_statement()))
            .bind(ts(from))
            .bind(ts(to))
            .bind(from.timestamp_micros())
            .bind(to.timestamp_micros())
            .bind(micros_of(five.bucket()))
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        let hours = sqlx::query(AssertSqlSafe(hour_statement()))
            .bind(ts(hour.floor(from)))
            .bind(ts(hour.ceil(to)))
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        transaction.commit().await?;
        Ok(fives + hours)
    }

    async fn service_rollup_coverage(
        &self,
        service_id: i64,
        resolution: ServiceRollupResolution,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<CheckCoverage> {
        if to <= from {
            return Ok(CheckCoverage::default());
        }
        let table = resolution.table();
        let row = sqlx::query(sql!(
            "SELECT CAST(COALESCE(SUM(covered_us), 0) AS BIGINT) AS covered_us, \
                CAST(COALESCE(SUM(down_us), 0) AS BIGINT) AS down_us, \
                CAST(COALESCE(SUM(checks), 0) AS BIGINT) AS total_checks, \
                CAST(COALESCE(SUM(down_checks), 0) AS BIGINT) AS down_checks \
             FROM {table} WHERE service_id = $1 AND bucket_start >= $2 AND bucket_start < $3"
        ))
        .bind(service_id)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_one(&self.pool)
        .await?;
        coverage_from_row(&row)
    }

    async fn oldest_service_check(&self) -> StoreResult<Option<DateTime<Utc>>> {
        // One probe of the `checked_at` index.
        let row = sqlx::query("SELECT min(checked_at) AS oldest FROM service_checks")
            .fetch_one(&self.pool)
            .await?;
        get_opt_ts(&row, "oldest")
    }

    async fn newest_service_rollup(&self) -> StoreResult<Option<DateTime<Utc>>> {
        // One probe of the bucket index.
        let table = ServiceRollupResolution::FiveMinutes.table();
        let row = sqlx::query(sql!("SELECT max(bucket_start) AS newest FROM {table}"))
            .fetch_one(&self.pool)
            .await?;
        get_opt_ts(&row, "newest")
    }

    async fn purge_service_rollups_before(
        &self,
        resolution: ServiceRollupResolution,
        cutoff: DateTime<Utc>,
        batch: i64,
    ) -> StoreResult<u64> {
        let table = resolution.table();
        let mut transaction = begin_write(&self.pool).await?;
        let result = sqlx::query(sql!(
            "DELETE FROM {table} WHERE (service_id, bucket_start) IN \
                (SELECT service_id, bucket_start FROM {table} WHERE bucket_start < $1 \
                 ORDER BY bucket_start LIMIT $2)"
        ))
        .bind(ts(cutoff))
        .bind(batch.max(0))
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(result.rows_affected())
    }
}
