//! The SQLite side of host metric rollups (migration 0011): the pass's upserts from the finer
//! level, its watermark and late-sample marks, and chart reads from the rollups.
//!
//! `postgres/rollup.rs` holds the same statements; only the value encodings at the top of each
//! file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::sqlite::SqliteRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::codec::METRIC_COLUMNS;
use super::super::{MetricRollupStore, RollupLevel, StoreError, StoreResult};
use super::{SqliteStore as Backend, from_micros, metric_values_from_row, micros};
use crate::model::{Aggregate, MetricPoint};

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> i64 {
    micros(at)
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    from_micros(row.try_get(column)?)
}

fn get_opt_ts(row: &BackendRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(from_micros)
        .transpose()
}

/// The start of the `seconds`-long bucket (aligned to the epoch) holding `column`.
fn bucket_of(column: &str, seconds: i64) -> String {
    let micros = seconds * 1_000_000;
    format!("(({column} / {micros}) * {micros})")
}

/// A write transaction, IMMEDIATE so the write lock is waited for up front.
async fn begin_write(
    pool: &sqlx::SqlitePool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

// ---- Shared with the other backend's/rollup.rs from here on -------------------------------------

/// The name of the pass's row in `metric_rollup_state`.
const STATE_NAME: &str = "host_metrics";

/// The value columns of one level for `level`'s source: the sum, count and max of each raw
/// column, or the sums and max of the finer level's.
fn rolled_columns(from_raw: bool) -> (String, String, String) {
    let mut targets = Vec::with_capacity(METRIC_COLUMNS.len() * 3);
    let mut sources = Vec::with_capacity(METRIC_COLUMNS.len() * 3);
    let mut updates = Vec::with_capacity(METRIC_COLUMNS.len() * 3);
    for column in METRIC_COLUMNS {
        for (suffix, raw, rolled) in [
            ("sum", "sum", "sum"),
            ("count", "count", "sum"),
            ("max", "max", "max"),
        ] {
            let target = format!("{column}_{suffix}");
            sources.push(if from_raw {
                format!("{raw}({column})")
            } else {
                format!("{rolled}({target})")
            });
            updates.push(format!("{target} = excluded.{target}"));
            targets.push(target);
        }
    }
    (targets.join(", "), sources.join(", "), updates.join(", "))
}

/// How buckets of `bucket_seconds` combine one value column.
fn combined_column(column: &str, aggregate: Aggregate) -> String {
    match aggregate {
        Aggregate::Avg => format!("sum({column}_sum) / NULLIF(sum({column}_count), 0) AS {column}"),
        Aggregate::Max => format!("max({column}_max) AS {column}"),
    }
}

#[async_trait]
impl MetricRollupStore for Backend {
    async fn roll_up_metrics(
        &self,
        level: RollupLevel,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        host: Option<i64>,
    ) -> StoreResult<u64> {
        let (source, time, samples, from_raw) = match level {
            RollupLevel::FiveMinutes => ("host_metrics", "recorded_at", "count(*)", true),
            RollupLevel::OneHour => ("host_metrics_5m", "bucket_start", "sum(samples)", false),
        };
        let (targets, sources, updates) = rolled_columns(from_raw);
        let table = level.table();
        let bucket = bucket_of(time, level.bucket_seconds());
        // Buckets starting in [from, to) hold source rows up to a bucket's length past `to`.
        let end = to + Duration::seconds(level.bucket_seconds());
        let mut transaction = begin_write(self.pool()).await?;
        let written = sqlx::query(sql!(
            "INSERT INTO {table} (host_id, bucket_start, samples, {targets}) \
             SELECT host_id, {bucket}, {samples}, {sources} FROM {source} \
             WHERE {time} >= $1 AND {time} < $2 AND {bucket} < $3 \
                AND (CAST($4 AS BIGINT) IS NULL OR host_id = $4) \
             GROUP BY host_id, {bucket} \
             ON CONFLICT (host_id, bucket_start) DO UPDATE SET samples = excluded.samples, \
                {updates}"
        ))
        .bind(ts(from))
        .bind(ts(end))
        .bind(ts(to))
        .bind(host)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        Ok(written)
    }

    async fn rollup_watermark(&self) -> StoreResult<Option<DateTime<Utc>>> {
        sqlx::query("SELECT through FROM metric_rollup_state WHERE name = $1")
            .bind(STATE_NAME)
            .fetch_optional(self.pool())
            .await?
            .map(|row| get_ts(&row, "through"))
            .transpose()
    }

    async fn set_rollup_watermark(&self, through: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO metric_rollup_state (name, through) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET through = excluded.through",
        )
        .bind(STATE_NAME)
        .bind(ts(through))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn oldest_raw_metric(&self) -> StoreResult<Option<DateTime<Utc>>> {
        // One forward probe of the (host_id, recorded_at) index per host.
        sqlx::query(
            "SELECT min(earliest) AS oldest FROM (SELECT (SELECT m.recorded_at FROM host_metrics m \
                WHERE m.host_id = h.id ORDER BY m.recorded_at LIMIT 1) AS earliest FROM hosts h) firsts",
        )
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::from)
        .and_then(|row| get_opt_ts(&row, "oldest"))
    }

    async fn mark_rollups_dirty(&self, marks: &[(i64, DateTime<Utc>)]) -> StoreResult<()> {
        if marks.is_empty() {
            return Ok(());
        }
        let mut transaction = begin_write(self.pool()).await?;
        for (host_id, hour) in marks {
            sqlx::query(
                "INSERT INTO metric_rollup_dirty (host_id, hour_start) VALUES ($1, $2) \
                 ON CONFLICT (host_id, hour_start) DO NOTHING",
            )
            .bind(host_id)
            .bind(ts(*hour))
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn take_dirty_rollups(&self, limit: i64) -> StoreResult<Vec<(i64, DateTime<Utc>)>> {
        let mut transaction = begin_write(self.pool()).await?;
        let rows = sqlx::query(
            "DELETE FROM metric_rollup_dirty WHERE (host_id, hour_start) IN ( \
                SELECT host_id, hour_start FROM metric_rollup_dirty \
                ORDER BY hour_start LIMIT $1) \
             RETURNING host_id, hour_start",
        )
        .bind(limit.max(0))
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;
        rows.iter()
            .map(|row| Ok((row.try_get("host_id")?, get_ts(row, "hour_start")?)))
            .collect()
    }

    async fn rollup_series(
        &self,
        host_id: i64,
        level: RollupLevel,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket_seconds: i64,
        aggregate: Aggregate,
        limit: i64,
    ) -> StoreResult<Vec<MetricPoint>> {
        let table = level.table();
        let bucket = bucket_of("bucket_start", bucket_seconds.max(level.bucket_seconds()));
        let columns = METRIC_COLUMNS
            .iter()
            .map(|column| combined_column(column, aggregate))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(sql!(
            "SELECT * FROM (SELECT CAST(0 AS BIGINT) AS id, host_id, {bucket} AS recorded_at, \
                {columns} \
             FROM {table} WHERE host_id = $1 AND bucket_start >= $2 AND bucket_start < $3 \
             GROUP BY host_id, {bucket} ORDER BY 3 DESC LIMIT $4) newest \
             ORDER BY recorded_at"
        ))
        .bind(host_id)
        .bind(ts(from))
        .bind(ts(to))
        .bind(limit.max(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MetricPoint {
                    id: row.try_get("id")?,
                    host_id: row.try_get("host_id")?,
                    recorded_at: get_ts(row, "recorded_at")?,
                    values: metric_values_from_row(row)?,
                })
            })
            .collect()
    }
}
