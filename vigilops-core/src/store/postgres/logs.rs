//! The PostgreSQL side of log search: filtered pages (full-text on the message), counts by level
//! and time bucket, and the lines around one line.
//!
//! `sqlite/logs.rs` holds the same statements; only the value encodings at the top of
//! each file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::{LogSearchStore, StoreResult};
use super::PostgresStore as Backend;
use crate::model::{LogContext, LogEntry, LogLine, LogQuery, LogStats, LogStatsQuery};

// ---- Value encodings of this backend -------------------------------------------------------

type Query<'q> =
    sqlx::query::Query<'q, sqlx::Postgres, <sqlx::Postgres as sqlx::Database>::Arguments>;

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    Ok(row.try_get(column)?)
}

/// The start of a line's hour or day (UTC).
fn bucket(hourly: bool) -> String {
    let unit = if hourly { "hour" } else { "day" };
    format!("date_trunc('{unit}', l.timestamp, 'UTC')")
}

/// Answered by the trigram index (migration 0010).
fn text_condition(_text: &str, param: &str) -> String {
    format!("l.message ILIKE {param} ESCAPE '\\'")
}

/// The bound pattern: the text anywhere, its `%`, `_` and `\` taken literally.
fn text_argument(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

// ---- Shared with sqlite/logs.rs from here on --------------------------------------------

/// A value bound to a numbered parameter of a built statement.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

fn bind_args<'q>(mut query: Query<'q>, args: &[Arg]) -> Query<'q> {
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(*value),
            Arg::Text(value) => query.bind(value.clone()),
            Arg::Time(value) => query.bind(ts(*value)),
        };
    }
    query
}

/// Collects conditions over `log_entries l` and their arguments, numbering placeholders.
#[derive(Debug, Default)]
struct Conditions {
    parts: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    /// The placeholder of `arg`, now bound.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn push(&mut self, condition: String) {
        self.parts.push(condition);
    }

    fn common(&mut self, host_id: Option<i64>, service: Option<&String>) {
        if let Some(host) = host_id {
            let param = self.arg(Arg::Int(host));
            self.push(format!("l.host_id = {param}"));
        }
        if let Some(service) = service {
            let param = self.arg(Arg::Text(service.clone()));
            self.push(format!("l.service = {param}"));
        }
    }

    fn time(&mut self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) {
        if let Some(from) = from {
            let param = self.arg(Arg::Time(from));
            self.push(format!("l.timestamp >= {param}"));
        }
        if let Some(to) = to {
            let param = self.arg(Arg::Time(to));
            self.push(format!("l.timestamp <= {param}"));
        }
    }

    fn sql(&self) -> String {
        if self.parts.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.parts.join(" AND "))
        }
    }
}

fn search_conditions(query: &LogQuery) -> Conditions {
    let mut conditions = Conditions::default();
    conditions.common(query.host_id, query.service.as_ref());
    if !query.levels.is_empty() {
        let params: Vec<String> = query
            .levels
            .iter()
            .map(|level| conditions.arg(Arg::Text(level.to_uppercase())))
            .collect();
        conditions.push(format!("upper(l.level) IN ({})", params.join(", ")));
    }
    conditions.time(query.from, query.to);
    if let Some(text) = query.text.as_deref().filter(|text| !text.is_empty()) {
        let param = conditions.arg(Arg::Text(text_argument(text)));
        conditions.push(text_condition(text, &param));
    }
    conditions
}

const LOG_COLUMNS: &str =
    "l.id, l.host_id, l.service, l.source, l.level, l.message, l.timestamp, l.created_at";

fn entry_from_row(row: &BackendRow) -> StoreResult<LogEntry> {
    Ok(LogEntry {
        id: row.try_get("id")?,
        host_id: row.try_get("host_id")?,
        service: row.try_get("service")?,
        source: row.try_get("source")?,
        level: row.try_get("level")?,
        message: row.try_get("message")?,
        timestamp: get_ts(row, "timestamp")?,
        created_at: get_ts(row, "created_at")?,
    })
}

#[async_trait]
impl LogSearchStore for Backend {
    async fn search_logs(&self, query: &LogQuery) -> StoreResult<(Vec<LogLine>, i64)> {
        let conditions = search_conditions(query);
        let filter = conditions.sql();
        let total: i64 = bind_args(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT count(*) AS total FROM log_entries l {filter}"
            ))),
            &conditions.args,
        )
        .fetch_one(&self.pool)
        .await?
        .try_get("total")?;
        let rows = bind_args(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {LOG_COLUMNS}, h.hostname FROM log_entries l \
                 LEFT JOIN hosts h ON h.id = l.host_id {filter} \
                 ORDER BY l.timestamp DESC, l.id DESC LIMIT {} OFFSET {}",
                query.page.limit(),
                query.page.offset()
            ))),
            &conditions.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let lines = rows
            .iter()
            .map(|row| {
                Ok(LogLine {
                    entry: entry_from_row(row)?,
                    hostname: row.try_get("hostname")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok((lines, total))
    }

    async fn log_stats(&self, query: &LogStatsQuery) -> StoreResult<LogStats> {
        let mut conditions = Conditions::default();
        conditions.common(query.host_id, query.service.as_ref());
        conditions.time(Some(query.from), Some(query.to));
        let filter = conditions.sql();
        let levels = bind_args(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT COALESCE(upper(l.level), 'UNKNOWN') AS level, count(*) AS count \
                 FROM log_entries l {filter} GROUP BY 1 ORDER BY 2 DESC, 1"
            ))),
            &conditions.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let by_level = levels
            .iter()
            .map(|row| Ok((row.try_get("level")?, row.try_get("count")?)))
            .collect::<StoreResult<_>>()?;
        let buckets = bind_args(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {} AS bucket, count(*) AS count FROM log_entries l {filter} \
                 GROUP BY 1 ORDER BY 1",
                bucket(query.hourly)
            ))),
            &conditions.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let by_time = buckets
            .iter()
            .map(|row| Ok((get_ts(row, "bucket")?, row.try_get("count")?)))
            .collect::<StoreResult<_>>()?;
        Ok(LogStats { by_level, by_time })
    }

    async fn log_context(
        &self,
        id: i64,
        before: i64,
        after: i64,
    ) -> StoreResult<Option<LogContext>> {
        let line = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LOG_COLUMNS} FROM log_entries l WHERE l.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(line) = line.as_ref().map(entry_from_row).transpose()? else {
            return Ok(None);
        };
        let earlier = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LOG_COLUMNS} FROM log_entries l WHERE l.host_id = $1 \
                AND (l.timestamp < $2 OR (l.timestamp = $2 AND l.id < $3)) \
             ORDER BY l.timestamp DESC, l.id DESC LIMIT $4"
        )))
        .bind(line.host_id)
        .bind(ts(line.timestamp))
        .bind(line.id)
        .bind(before.max(0))
        .fetch_all(&self.pool)
        .await?;
        let later = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LOG_COLUMNS} FROM log_entries l WHERE l.host_id = $1 \
                AND (l.timestamp > $2 OR (l.timestamp = $2 AND l.id > $3)) \
             ORDER BY l.timestamp, l.id LIMIT $4"
        )))
        .bind(line.host_id)
        .bind(ts(line.timestamp))
        .bind(line.id)
        .bind(after.max(0))
        .fetch_all(&self.pool)
        .await?;
        let mut before = earlier
            .iter()
            .map(entry_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        before.reverse();
        let after = later
            .iter()
            .map(entry_from_row)
            .collect::<StoreResult<_>>()?;
        Ok(Some(LogContext {
            before,
            line,
            after,
        }))
    }
}
