//! MySQL / MariaDB figures (protocol §3.6). `connections_total` = `Threads_connected`,
//! `connections_active` = `Threads_running`, `slow_queries` = `Slow_queries` (cumulative since
//! server start), `qps` = the rate of the `Queries` counter between two samples,
//! `transactions_*` = `Com_commit` / `Com_rollback` (cumulative), `lock_waits` =
//! `Innodb_row_lock_current_waits`, `deadlocks` = `Innodb_deadlocks` (MariaDB; 0 where absent).

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use sqlx::mysql::MySqlRow;
use sqlx::{MySqlConnection, Row};
use vigilops_core::protocol::agent::{DbMetricsReport, SlowQuery};

use super::{DbError, EngineSample, bytes_to_mb, count};

const STATUS: &str = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', \
     'Threads_running', 'Queries', 'Slow_queries', 'Com_commit', 'Com_rollback', \
     'Innodb_row_lock_current_waits', 'Innodb_deadlocks', 'Uptime', \
     'Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads')";

const SCHEMA: &str = "SELECT CAST(@@max_connections AS SIGNED), \
       (SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS SIGNED) \
          FROM information_schema.tables WHERE table_schema = DATABASE()), \
       (SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.tables \
          WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE')";

/// Top 10 statement digests averaging over 1 s (timer values are picoseconds).
const SLOW_TOP: &str = "SELECT DIGEST, CAST(AVG_TIMER_WAIT / 1000000000000 AS DOUBLE), \
       CAST(COUNT_STAR AS DOUBLE), DIGEST_TEXT \
     FROM performance_schema.events_statements_summary_by_digest \
     WHERE AVG_TIMER_WAIT > 1000000000000 ORDER BY AVG_TIMER_WAIT DESC LIMIT 10";

fn query_error(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Query {
        engine: "mysql",
        what,
        source,
    }
}

/// A text column, whether the server typed it as text or as binary.
fn text(row: &MySqlRow, index: usize) -> Option<String> {
    match row.try_get::<Option<String>, _>(index) {
        Ok(value) => value,
        Err(_) => row
            .try_get::<Option<Vec<u8>>, _>(index)
            .ok()
            .flatten()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// `SHOW GLOBAL STATUS` rows as name → value; values that are not integers are skipped.
pub fn parse_status<I: IntoIterator<Item = (String, String)>>(rows: I) -> HashMap<String, u64> {
    rows.into_iter()
        .filter_map(|(name, value)| Some((name, value.trim().parse::<u64>().ok()?)))
        .collect()
}

/// The buffer pool hit ratio; `None` before any read request.
pub fn buffer_pool_hit_ratio(requests: u64, disk_reads: u64) -> Option<f64> {
    (requests > 0).then(|| 1.0 - (disk_reads.min(requests) as f64 / requests as f64))
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Reads one sample over `connection`.
pub async fn sample(connection: &mut MySqlConnection) -> Result<EngineSample, DbError> {
    let rows = sqlx::query(STATUS)
        .fetch_all(&mut *connection)
        .await
        .map_err(query_error("global status"))?;
    let status = parse_status(
        rows.iter()
            .filter_map(|row| Some((text(row, 0)?, text(row, 1)?))),
    );
    let schema = sqlx::query(SCHEMA)
        .fetch_one(&mut *connection)
        .await
        .map_err(query_error("information_schema"))?;
    let get = |index: usize, what| {
        schema
            .try_get::<Option<i64>, _>(index)
            .map(Option::unwrap_or_default)
            .map_err(query_error(what))
    };
    let stat = |name: &str| status.get(name).copied().unwrap_or(0);
    let slow_detail = slow_queries(connection).await;
    let replication_lag = replication_lag(connection).await;
    let mut extra = Map::new();
    extra.insert("queries_total".into(), json!(stat("Queries")));
    extra.insert("uptime_seconds".into(), json!(stat("Uptime")));
    extra.insert(
        "buffer_pool_hit_ratio".into(),
        json!(buffer_pool_hit_ratio(
            stat("Innodb_buffer_pool_read_requests"),
            stat("Innodb_buffer_pool_reads")
        )),
    );
    extra.insert("replication_lag_seconds".into(), json!(replication_lag));
    let report = DbMetricsReport {
        connections_total: count(signed(stat("Threads_connected"))),
        connections_active: count(signed(stat("Threads_running"))),
        connections_max: count(get(0, "max_connections")?),
        database_size_mb: Some(bytes_to_mb(get(1, "size")?)),
        tables_count: count(get(2, "tables")?),
        slow_queries: count(signed(stat("Slow_queries"))),
        slow_queries_detail: slow_detail,
        transactions_committed: count(signed(stat("Com_commit"))),
        transactions_rolled_back: count(signed(stat("Com_rollback"))),
        lock_waits: count(signed(stat("Innodb_row_lock_current_waits"))),
        deadlocks: count(signed(stat("Innodb_deadlocks"))),
        extra: Some(extra),
        ..DbMetricsReport::default()
    };
    Ok(EngineSample {
        report,
        queries_counter: stat("Queries"),
    })
}

/// The performance_schema digest top 10, or `None` when performance_schema is off or unreadable
/// (then the stored list is left as it is).
async fn slow_queries(connection: &mut MySqlConnection) -> Option<Vec<SlowQuery>> {
    match sqlx::query(SLOW_TOP).fetch_all(&mut *connection).await {
        Ok(rows) => Some(
            rows.iter()
                .map(|row| SlowQuery {
                    sql_id: text(row, 0).map(Value::String),
                    avg_seconds: row.try_get::<Option<f64>, _>(1).ok().flatten(),
                    executions: row.try_get::<Option<f64>, _>(2).ok().flatten(),
                    sql_text: text(row, 3),
                })
                .collect(),
        ),
        Err(error) => {
            tracing::debug!(%error, "performance_schema digests unavailable");
            None
        }
    }
}

/// `Seconds_Behind_Master` of a replica; `None` on a primary or without the privilege.
async fn replication_lag(connection: &mut MySqlConnection) -> Option<i64> {
    let row = match sqlx::query("SHOW SLAVE STATUS")
        .fetch_optional(&mut *connection)
        .await
    {
        Ok(row) => row?,
        Err(error) => {
            tracing::debug!(%error, "replica status unavailable");
            return None;
        }
    };
    row.try_get::<Option<i64>, _>("Seconds_Behind_Master")
        .ok()
        .flatten()
        .or_else(|| {
            row.try_get::<Option<u64>, _>("Seconds_Behind_Master")
                .ok()
                .flatten()
                .map(signed)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rows_become_counters() {
        let status = parse_status([
            ("Queries".to_owned(), "12345".to_owned()),
            ("Threads_running".to_owned(), " 2 ".to_owned()),
            ("Odd".to_owned(), "ON".to_owned()),
        ]);
        assert_eq!(status.get("Queries"), Some(&12345));
        assert_eq!(status.get("Threads_running"), Some(&2));
        assert_eq!(status.get("Odd"), None);
    }

    #[test]
    fn buffer_pool_ratio() {
        assert_eq!(buffer_pool_hit_ratio(0, 0), None);
        assert_eq!(buffer_pool_hit_ratio(100, 1), Some(0.99));
        assert_eq!(buffer_pool_hit_ratio(10, 50), Some(0.0));
    }
}
