//! The SQLite side of the AI engine's tables: insights and their feedback, the LLM call record,
//! the ops memory and the evidence windows over collected data (migration 0006).
//!
//! `postgres/ai.rs` holds the same statements; only the value encodings and the ops memory's
//! full-text recall at the top of each file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::SqliteRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::ai_codec::{
    feedback_from_columns, level_condition, method_from_column, non_negative, recall_terms,
    verdict_from_column, window_levels,
};
use super::super::{EvidenceStore, InsightStore, MemoryStore, StoreError, StoreResult};
use super::alerting::{ALERT_COLUMNS, alert_from_row};
use super::{SqliteStore as Backend, from_micros, json_column, micros};
use crate::model::{
    Alert, Insight, InsightFeedback, InsightFilter, LlmCall, LogEntry, LogWindow, Memory,
    MemoryHit, NewInsight, NewLlmCall, NewMemory, ServiceCheckPoint, ServiceOverview,
    SystemSummary, Verdict,
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

/// A JSON value as bound.
fn json(value: Option<&Value>) -> Option<String> {
    value.map(Value::to_string)
}

fn get_json(row: &BackendRow, column: &str) -> StoreResult<Option<Value>> {
    json_column(row, column)
}

/// An FTS5 query matching any of `terms`, each as one string literal: inside double quotes
/// nothing is query syntax (`OR`, `NEAR(`, `*`, `-`, `:`, `^`), and a `"` in a term is doubled.
/// The tokenizer then splits the literal like the indexed text, so a term of several words is
/// a phrase and a term without word characters matches nothing.
fn fts5_any_of(terms: &[String]) -> String {
    terms
        .iter()
        .map(|term| format!("\"{}\"", term.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The memories matching any of `terms` (distinct, not empty), with their `score`: FTS5's BM25
/// (more matching terms, rarer terms and shorter texts rank higher), negated so that higher is
/// better. The query expression is bound, never spliced into the statement.
async fn recall_rows(
    backend: &Backend,
    terms: &[String],
    exclude_alert_id: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<BackendRow>> {
    let columns = memory_columns("m");
    Ok(sqlx::query(sql!(
        "SELECT {columns}, -bm25(ops_memory_fts) AS score \
         FROM ops_memory_fts JOIN ops_memory m ON m.id = ops_memory_fts.rowid \
         WHERE ops_memory_fts MATCH $1 \
            AND ($2 IS NULL OR m.alert_id IS NULL OR m.alert_id <> $2) \
         ORDER BY score DESC, m.id DESC LIMIT $3"
    ))
    .bind(fts5_any_of(terms))
    .bind(exclude_alert_id)
    .bind(limit)
    .fetch_all(&backend.pool)
    .await?)
}

// ---- Shared with postgres/ai.rs from here on -----------------------------------------------

const INSIGHT_COLUMNS: &str = "id, insight_type, severity, title, summary, details, \
     related_host_id, related_alert_id, status, method, model, feedback_verdict, \
     feedback_comment, feedback_by, feedback_at, created_at";

fn insight_from_row(row: &BackendRow) -> StoreResult<Insight> {
    let method: String = row.try_get("method")?;
    Ok(Insight {
        id: row.try_get("id")?,
        insight_type: row.try_get("insight_type")?,
        severity: row.try_get("severity")?,
        title: row.try_get("title")?,
        summary: row.try_get("summary")?,
        details: get_json(row, "details")?,
        related_host_id: row.try_get("related_host_id")?,
        related_alert_id: row.try_get("related_alert_id")?,
        status: row.try_get("status")?,
        method: method_from_column(&method)?,
        model: row.try_get("model")?,
        feedback: feedback_from_columns((
            row.try_get("feedback_verdict")?,
            row.try_get("feedback_comment")?,
            row.try_get("feedback_by")?,
            get_opt_ts(row, "feedback_at")?,
        ))?,
        created_at: get_ts(row, "created_at")?,
    })
}

const LLM_CALL_COLUMNS: &str = "id, purpose, model, prompt_tokens, completion_tokens, \
     latency_ms, attempts, error, at";

fn llm_call_from_row(row: &BackendRow) -> StoreResult<LlmCall> {
    Ok(LlmCall {
        id: row.try_get("id")?,
        call: NewLlmCall {
            purpose: row.try_get("purpose")?,
            model: row.try_get("model")?,
            prompt_tokens: row.try_get("prompt_tokens")?,
            completion_tokens: row.try_get("completion_tokens")?,
            latency_ms: row.try_get("latency_ms")?,
            attempts: row.try_get("attempts")?,
            error: row.try_get("error")?,
            at: get_ts(row, "at")?,
        },
    })
}

#[async_trait]
impl InsightStore for Backend {
    async fn insert_insight(
        &self,
        insight: NewInsight,
        now: DateTime<Utc>,
    ) -> StoreResult<Insight> {
        let row = sqlx::query(sql!(
            "INSERT INTO ai_insights (insight_type, severity, title, summary, details, \
                related_host_id, related_alert_id, status, method, model, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', $8, $9, $10) \
             RETURNING {INSIGHT_COLUMNS}"
        ))
        .bind(&insight.insight_type)
        .bind(&insight.severity)
        .bind(&insight.title)
        .bind(&insight.summary)
        .bind(json(insight.details.as_ref()))
        .bind(insight.related_host_id)
        .bind(insight.related_alert_id)
        .bind(insight.method.as_str())
        .bind(&insight.model)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        insight_from_row(&row)
    }

    async fn insight(&self, id: i64) -> StoreResult<Option<Insight>> {
        let row = sqlx::query(sql!(
            "SELECT {INSIGHT_COLUMNS} FROM ai_insights WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(insight_from_row).transpose()
    }

    async fn list_insights(&self, filter: &InsightFilter) -> StoreResult<(Vec<Insight>, i64)> {
        const WHERE: &str = "WHERE ($1 IS NULL OR severity = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR insight_type = $3) AND ($4 IS NULL OR related_alert_id = $4)";
        let total: i64 = sqlx::query_scalar(sql!("SELECT count(*) FROM ai_insights {WHERE}"))
            .bind(&filter.severity)
            .bind(&filter.status)
            .bind(&filter.insight_type)
            .bind(filter.related_alert_id)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(sql!(
            "SELECT {INSIGHT_COLUMNS} FROM ai_insights {WHERE} \
             ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(&filter.severity)
        .bind(&filter.status)
        .bind(&filter.insight_type)
        .bind(filter.related_alert_id)
        .bind(filter.page.limit())
        .bind(filter.page.offset())
        .fetch_all(&self.pool)
        .await?;
        let insights = rows
            .iter()
            .map(insight_from_row)
            .collect::<StoreResult<_>>()?;
        Ok((insights, total))
    }

    async fn set_insight_feedback(
        &self,
        id: i64,
        feedback: InsightFeedback,
    ) -> StoreResult<Insight> {
        let row = sqlx::query(sql!(
            "UPDATE ai_insights SET feedback_verdict = $2, feedback_comment = $3, \
                feedback_by = $4, feedback_at = $5 \
             WHERE id = $1 RETURNING {INSIGHT_COLUMNS}"
        ))
        .bind(id)
        .bind(feedback.verdict.as_str())
        .bind(&feedback.comment)
        .bind(feedback.by)
        .bind(ts(feedback.at))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => insight_from_row(&row),
            None => Err(StoreError::NotFound("insight")),
        }
    }

    async fn record_llm_call(&self, call: NewLlmCall) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO llm_calls (purpose, model, prompt_tokens, completion_tokens, \
                latency_ms, attempts, error, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&call.purpose)
        .bind(&call.model)
        .bind(call.prompt_tokens)
        .bind(call.completion_tokens)
        .bind(call.latency_ms)
        .bind(call.attempts)
        .bind(&call.error)
        .bind(ts(call.at))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn llm_calls(&self, since: DateTime<Utc>, limit: i64) -> StoreResult<Vec<LlmCall>> {
        let rows = sqlx::query(sql!(
            "SELECT {LLM_CALL_COLUMNS} FROM llm_calls WHERE at >= $1 ORDER BY at, id LIMIT $2"
        ))
        .bind(ts(since))
        .bind(non_negative(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(llm_call_from_row).collect()
    }
}

const MEMORY_FIELDS: [&str; 12] = [
    "id",
    "source",
    "title",
    "content",
    "search_text",
    "alert_id",
    "rule_id",
    "host_id",
    "runbook",
    "outcome",
    "verdict",
    "at",
];

/// The memory columns of the table as `alias` (the recall joins it with its full-text index,
/// which has a `search_text` column too).
fn memory_columns(alias: &str) -> String {
    MEMORY_FIELDS
        .map(|field| format!("{alias}.{field} AS {field}"))
        .join(", ")
}

fn memory_from_row(row: &BackendRow) -> StoreResult<Memory> {
    let verdict: Option<String> = row.try_get("verdict")?;
    Ok(Memory {
        id: row.try_get("id")?,
        memory: NewMemory {
            source: row.try_get("source")?,
            title: row.try_get("title")?,
            content: row.try_get("content")?,
            search_text: row.try_get("search_text")?,
            alert_id: row.try_get("alert_id")?,
            rule_id: row.try_get("rule_id")?,
            host_id: row.try_get("host_id")?,
            runbook: row.try_get("runbook")?,
            outcome: row.try_get("outcome")?,
            verdict: verdict_from_column(verdict.as_deref())?,
            at: get_ts(row, "at")?,
        },
    })
}

#[async_trait]
impl MemoryStore for Backend {
    async fn remember(&self, memory: NewMemory) -> StoreResult<Memory> {
        let columns = memory_columns("ops_memory");
        let row = sqlx::query(sql!(
            "INSERT INTO ops_memory (source, title, content, search_text, alert_id, rule_id, \
                host_id, runbook, outcome, verdict, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {columns}"
        ))
        .bind(&memory.source)
        .bind(&memory.title)
        .bind(&memory.content)
        .bind(&memory.search_text)
        .bind(memory.alert_id)
        .bind(memory.rule_id)
        .bind(memory.host_id)
        .bind(&memory.runbook)
        .bind(&memory.outcome)
        .bind(memory.verdict.map(Verdict::as_str))
        .bind(ts(memory.at))
        .fetch_one(&self.pool)
        .await?;
        memory_from_row(&row)
    }

    async fn recall(
        &self,
        terms: &[String],
        exclude_alert_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<MemoryHit>> {
        let terms = recall_terms(terms);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let rows = recall_rows(self, &terms, exclude_alert_id, non_negative(limit)).await?;
        rows.iter()
            .map(|row| {
                Ok(MemoryHit {
                    memory: memory_from_row(row)?,
                    score: row.try_get("score")?,
                })
            })
            .collect()
    }

    async fn alert_memories(&self, alert_id: i64) -> StoreResult<Vec<Memory>> {
        let columns = memory_columns("m");
        let rows = sqlx::query(sql!(
            "SELECT {columns} FROM ops_memory m WHERE m.alert_id = $1 ORDER BY m.at, m.id"
        ))
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(memory_from_row).collect()
    }

    async fn set_memory_verdict(&self, alert_id: i64, verdict: Verdict) -> StoreResult<u64> {
        let result = sqlx::query("UPDATE ops_memory SET verdict = $2 WHERE alert_id = $1")
            .bind(alert_id)
            .bind(verdict.as_str())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}

/// The condition of a log window; `$1`–`$4` are bound by [`bind_window!`], the levels from `$5`.
fn log_window_where(levels: usize) -> String {
    format!(
        "WHERE timestamp >= $1 AND timestamp <= $2 AND ($3 IS NULL OR host_id = $3) \
         AND ($4 IS NULL OR service = $4){}",
        level_condition(5, levels)
    )
}

/// Binds a log window's `$1`–`$4` and then its upper-cased levels.
macro_rules! bind_window {
    ($query:expr, $window:expr, $levels:expr) => {{
        let mut query = $query
            .bind(ts($window.from))
            .bind(ts($window.to))
            .bind($window.host_id)
            .bind(&$window.service);
        for level in $levels {
            query = query.bind(level);
        }
        query
    }};
}

fn log_from_row(row: &BackendRow) -> StoreResult<LogEntry> {
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

pub(super) fn check_from_row(row: &BackendRow) -> StoreResult<ServiceCheckPoint> {
    Ok(ServiceCheckPoint {
        id: row.try_get("id")?,
        service_id: row.try_get("service_id")?,
        status: row.try_get("status")?,
        response_time_ms: row.try_get("response_time_ms")?,
        status_code: row.try_get("status_code")?,
        error: row.try_get("error")?,
        checked_at: get_ts(row, "checked_at")?,
    })
}

/// Each host's newest sample (the newest time, and among equal times the one stored last):
/// one backward probe of the `(host_id, recorded_at)` index per host and column.
const LATEST_SAMPLES: &str = "SELECT \
        (SELECT m.cpu_percent FROM host_metrics m WHERE m.host_id = h.id \
         ORDER BY m.recorded_at DESC, m.id DESC LIMIT 1) AS cpu_percent, \
        (SELECT m.memory_percent FROM host_metrics m WHERE m.host_id = h.id \
         ORDER BY m.recorded_at DESC, m.id DESC LIMIT 1) AS memory_percent \
     FROM hosts h";

#[async_trait]
impl EvidenceStore for Backend {
    async fn logs_in_window(&self, window: &LogWindow) -> StoreResult<Vec<LogEntry>> {
        let levels = window_levels(&window.levels);
        let condition = log_window_where(levels.len());
        let limit_param = 5 + levels.len();
        let query = sqlx::query(sql!(
            "SELECT * FROM (SELECT id, host_id, service, source, level, message, timestamp, \
                created_at FROM log_entries {condition} \
                ORDER BY timestamp DESC, id DESC LIMIT ${limit_param}) newest \
             ORDER BY timestamp, id"
        ));
        let rows = bind_window!(query, window, &levels)
            .bind(non_negative(window.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(log_from_row).collect()
    }

    async fn count_logs(&self, window: &LogWindow) -> StoreResult<i64> {
        let levels = window_levels(&window.levels);
        let condition = log_window_where(levels.len());
        let query =
            sqlx::query_scalar::<_, i64>(sql!("SELECT count(*) FROM log_entries {condition}"));
        Ok(bind_window!(query, window, &levels)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn service_checks_in_window(
        &self,
        service_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ServiceCheckPoint>> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT id, service_id, status, response_time_ms, status_code, error, \
                checked_at FROM service_checks \
                WHERE service_id = $1 AND checked_at >= $2 AND checked_at <= $3 \
                ORDER BY checked_at DESC, id DESC LIMIT $4) newest \
             ORDER BY checked_at, id",
        )
        .bind(service_id)
        .bind(ts(from))
        .bind(ts(to))
        .bind(non_negative(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(check_from_row).collect()
    }

    async fn alerts_in_window(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Alert>> {
        let rows = sqlx::query(sql!(
            "SELECT {ALERT_COLUMNS} FROM alerts \
             WHERE fired_at <= $2 AND (resolved_at IS NULL OR resolved_at >= $1) \
             ORDER BY fired_at, id LIMIT $3"
        ))
        .bind(ts(from))
        .bind(ts(to))
        .bind(non_negative(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn services_overview(&self, host_id: Option<i64>) -> StoreResult<Vec<ServiceOverview>> {
        let rows = sqlx::query(
            "SELECT id, host_id, name, type, target, is_active, \
                CASE WHEN lower(status) IN ('up', 'down') THEN lower(status) ELSE 'unknown' END \
                    AS status \
             FROM services WHERE host_id IS NOT NULL AND ($1 IS NULL OR host_id = $1) \
             ORDER BY id",
        )
        .bind(host_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ServiceOverview {
                    id: row.try_get("id")?,
                    host_id: row.try_get("host_id")?,
                    name: row.try_get("name")?,
                    check_type: row.try_get("type")?,
                    target: row.try_get("target")?,
                    status: row.try_get("status")?,
                    is_active: row.try_get("is_active")?,
                })
            })
            .collect()
    }

    async fn system_summary(&self, since: DateTime<Utc>) -> StoreResult<SystemSummary> {
        let row = sqlx::query(sql!(
            "SELECT \
                (SELECT count(*) FROM hosts) AS hosts_total, \
                (SELECT count(*) FROM hosts WHERE status = 'online') AS hosts_online, \
                (SELECT count(*) FROM hosts WHERE status <> 'online') AS hosts_offline, \
                (SELECT count(*) FROM services WHERE is_active = TRUE) AS services_total, \
                (SELECT count(*) FROM services WHERE is_active = TRUE AND lower(status) = 'up') \
                    AS services_up, \
                (SELECT count(*) FROM services \
                    WHERE is_active = TRUE AND lower(status) = 'down') AS services_down, \
                (SELECT count(*) FROM alerts WHERE fired_at >= $1) AS recent_alerts, \
                (SELECT count(*) FROM log_entries WHERE timestamp >= $1 \
                    AND upper(level) IN ('ERROR', 'CRITICAL', 'FATAL')) AS recent_error_logs, \
                latest.avg_cpu_percent, latest.avg_memory_percent \
             FROM (SELECT avg(cpu_percent) AS avg_cpu_percent, \
                avg(memory_percent) AS avg_memory_percent FROM ({LATEST_SAMPLES}) samples) latest"
        ))
        .bind(ts(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(SystemSummary {
            hosts_total: row.try_get("hosts_total")?,
            hosts_online: row.try_get("hosts_online")?,
            hosts_offline: row.try_get("hosts_offline")?,
            services_total: row.try_get("services_total")?,
            services_up: row.try_get("services_up")?,
            services_down: row.try_get("services_down")?,
            recent_alerts: row.try_get("recent_alerts")?,
            recent_error_logs: row.try_get("recent_error_logs")?,
            avg_cpu_percent: row.try_get("avg_cpu_percent")?,
            avg_memory_percent: row.try_get("avg_memory_percent")?,
        })
    }
}
