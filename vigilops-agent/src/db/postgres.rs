//! PostgreSQL figures (0.2.x fields, protocol §3.6). `qps` comes from committed plus rolled-back
//! transactions of the connected database (PostgreSQL keeps no global statement counter without
//! `pg_stat_statements`).

use serde_json::{Map, Value, json};
use sqlx::{PgConnection, Row};
use vigilops_core::protocol::agent::{DbMetricsReport, SlowQuery};

use super::{DbError, EngineSample, bytes_to_mb, count};

/// Statements slower than this on average count as slow (ms), as in the original.
pub const SLOW_MEAN_MS: f64 = 1000.0;

/// An active query running longer than this counts in `extra.long_running_queries` (s).
pub const LONG_RUNNING_SECONDS: i64 = 300;

const ACTIVITY: &str = "SELECT count(*)::bigint, \
       count(*) FILTER (WHERE state = 'active')::bigint, \
       count(*) FILTER (WHERE wait_event_type = 'Lock')::bigint, \
       count(*) FILTER (WHERE state = 'active' AND now() - query_start > make_interval(secs => $1))::bigint \
     FROM pg_stat_activity";

const DATABASE: &str = "SELECT pg_database_size(current_database())::bigint, \
       COALESCE(xact_commit, 0)::bigint, COALESCE(xact_rollback, 0)::bigint, \
       COALESCE(deadlocks, 0)::bigint, COALESCE(blks_hit, 0)::bigint, COALESCE(blks_read, 0)::bigint, \
       (SELECT setting::bigint FROM pg_settings WHERE name = 'max_connections'), \
       (SELECT count(*)::bigint FROM information_schema.tables \
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE'), \
       (SELECT count(*)::bigint FROM pg_locks WHERE NOT granted), \
       (SELECT COALESCE(sum(autovacuum_count), 0)::bigint FROM pg_stat_user_tables) \
     FROM pg_stat_database WHERE datname = current_database()";

const REPLICATION_LAG: &str = "SELECT CASE WHEN pg_is_in_recovery() \
       THEN COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint \
       ELSE (SELECT COALESCE(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint \
             FROM pg_stat_replication) END";

const HAS_STATEMENTS: &str =
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')";

const SLOW_COUNT: &str =
    "SELECT count(*)::bigint FROM pg_stat_statements WHERE mean_exec_time > $1";

const SLOW_TOP: &str = "SELECT queryid::text, (mean_exec_time / 1000.0)::float8, calls::float8, query \
     FROM pg_stat_statements WHERE mean_exec_time > $1 ORDER BY mean_exec_time DESC LIMIT 10";

fn query_error(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Query {
        engine: "postgres",
        what,
        source,
    }
}

/// The cache hit ratio from buffer hits and reads; `None` before any block was read.
pub fn cache_hit_ratio(hits: i64, reads: i64) -> Option<f64> {
    let total = hits.max(0) + reads.max(0);
    (total > 0).then(|| hits.max(0) as f64 / total as f64)
}

/// Reads one sample over `connection`.
pub async fn sample(connection: &mut PgConnection) -> Result<EngineSample, DbError> {
    let activity = sqlx::query(ACTIVITY)
        .bind(LONG_RUNNING_SECONDS as f64)
        .fetch_one(&mut *connection)
        .await
        .map_err(query_error("pg_stat_activity"))?;
    let database = sqlx::query(DATABASE)
        .fetch_one(&mut *connection)
        .await
        .map_err(query_error("pg_stat_database"))?;
    let get = |row: &sqlx::postgres::PgRow, index: usize, what| {
        row.try_get::<Option<i64>, _>(index)
            .map(Option::unwrap_or_default)
            .map_err(query_error(what))
    };
    let committed = get(&database, 1, "xact_commit")?;
    let rolled_back = get(&database, 2, "xact_rollback")?;
    // Reading the lag needs privileges a monitoring user may lack: then it is simply absent.
    let replication_lag = match sqlx::query(REPLICATION_LAG)
        .fetch_one(&mut *connection)
        .await
    {
        Ok(row) => row.try_get::<Option<i64>, _>(0).ok().flatten(),
        Err(error) => {
            tracing::debug!(%error, "postgres replication lag unavailable");
            None
        }
    };
    let (slow_count, slow_detail) = slow_queries(connection).await;
    let mut extra = Map::new();
    extra.insert(
        "waiting_connections".into(),
        json!(get(&activity, 2, "waiting")?),
    );
    extra.insert(
        "cache_hit_ratio".into(),
        json!(cache_hit_ratio(
            get(&database, 4, "blks_hit")?,
            get(&database, 5, "blks_read")?
        )),
    );
    extra.insert(
        "replication_lag_bytes".into(),
        json!(replication_lag.unwrap_or(0)),
    );
    extra.insert(
        "long_running_queries".into(),
        json!(get(&activity, 3, "long running")?),
    );
    extra.insert(
        "autovacuum_count".into(),
        json!(get(&database, 9, "autovacuum")?),
    );
    let report = DbMetricsReport {
        connections_total: count(get(&activity, 0, "connections")?),
        connections_active: count(get(&activity, 1, "active")?),
        connections_max: count(get(&database, 6, "max_connections")?),
        database_size_mb: Some(bytes_to_mb(get(&database, 0, "size")?)),
        tables_count: count(get(&database, 7, "tables")?),
        transactions_committed: count(committed),
        transactions_rolled_back: count(rolled_back),
        lock_waits: count(get(&database, 8, "lock waits")?),
        deadlocks: count(get(&database, 3, "deadlocks")?),
        slow_queries: count(slow_count),
        slow_queries_detail: Some(slow_detail),
        extra: Some(extra),
        ..DbMetricsReport::default()
    };
    Ok(EngineSample {
        report,
        queries_counter: u64::try_from(committed.max(0) + rolled_back.max(0)).unwrap_or(0),
    })
}

/// Slow statements from `pg_stat_statements`: (count, top 10). Without the extension (or when it
/// is installed but not preloaded) there are none, as in the original.
async fn slow_queries(connection: &mut PgConnection) -> (i64, Vec<SlowQuery>) {
    let present = sqlx::query(HAS_STATEMENTS)
        .fetch_one(&mut *connection)
        .await
        .and_then(|row| row.try_get::<bool, _>(0));
    if !matches!(present, Ok(true)) {
        return (0, Vec::new());
    }
    let counted = sqlx::query(SLOW_COUNT)
        .bind(SLOW_MEAN_MS)
        .fetch_one(&mut *connection)
        .await
        .and_then(|row| row.try_get::<i64, _>(0));
    let slow_count = match counted {
        Ok(slow_count) => slow_count,
        Err(error) => {
            tracing::debug!(%error, "pg_stat_statements unreadable");
            return (0, Vec::new());
        }
    };
    let rows = match sqlx::query(SLOW_TOP)
        .bind(SLOW_MEAN_MS)
        .fetch_all(&mut *connection)
        .await
    {
        Ok(rows) => rows,
        Err(error) => {
            tracing::debug!(%error, "pg_stat_statements unreadable");
            return (slow_count, Vec::new());
        }
    };
    let detail = rows
        .iter()
        .map(|row| SlowQuery {
            sql_id: row
                .try_get::<Option<String>, _>(0)
                .ok()
                .flatten()
                .map(Value::String),
            avg_seconds: row.try_get::<Option<f64>, _>(1).ok().flatten(),
            executions: row.try_get::<Option<f64>, _>(2).ok().flatten(),
            sql_text: row.try_get::<Option<String>, _>(3).ok().flatten(),
        })
        .collect();
    (slow_count, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_hit_ratio_needs_reads() {
        assert_eq!(cache_hit_ratio(0, 0), None);
        assert_eq!(cache_hit_ratio(99, 1), Some(0.99));
    }
}
