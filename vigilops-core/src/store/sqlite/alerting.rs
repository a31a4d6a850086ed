//! The SQLite side of alerting and notifications: rules, alerts and their timeline, channels,
//! templates, the notification log and silences (migration 0005).
//!
//! `postgres/alerting.rs` holds the same statements; only the value encodings at the top of
//! each file differ (timestamps, JSON), so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnection as Connection, SqliteRow as BackendRow};
use sqlx::{AssertSqlSafe, Row};

use super::super::alerting_codec::{
    ScheduleColumns, decode, decode_matchers, encode, encode_matchers, schedule_columns,
    schedule_from_columns,
};
use super::super::{
    AlertRuleStore, AlertStore, NotificationStore, SilenceStore, StoreError, StoreResult,
};
use super::{SqliteStore as Backend, from_micros, json_column, micros};
use crate::alerting::rule::Severity;
use crate::alerting::silence;
use crate::alerting::wire::AlertRuleCreate;
use crate::model::{
    Alert, AlertEvent, AlertFilter, AlertResolution, AlertStatus, BuiltinRule, NewAlert,
    NewAlertEvent, NewChannel, NewNotificationLog, NewSilence, NewTemplate, NotificationLog,
    Silence, StoredAlertRule, StoredChannel, StoredTemplate,
};

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> i64 {
    micros(at)
}

fn opt_ts(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(micros)
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    from_micros(row.try_get(column)?)
}

fn get_opt_ts(row: &BackendRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let value: Option<i64> = row.try_get(column)?;
    value.map(from_micros).transpose()
}

/// A JSON value as bound.
fn json(value: Option<Value>) -> Option<String> {
    value.map(|value| value.to_string())
}

fn get_json(row: &BackendRow, column: &str) -> StoreResult<Option<Value>> {
    json_column(row, column)
}

// ---- Shared with postgres/alerting.rs from here on -----------------------------------------

const RULE_COLUMNS: &str = "id, name, description, severity, metric, operator, threshold, \
     recovery_threshold, duration_seconds, is_enabled, target_type, target_filter, rule_type, \
     log_keyword, log_level, log_service, db_metric_name, db_id, cooldown_seconds, silence_start, \
     silence_end, notification_channel_ids, log_keyword_is_regex, detector, \
     repeat_interval_seconds, escalation, resolve_hold_seconds, is_builtin, builtin_key, \
     created_at, updated_at";

/// The 26 rule fields in the order [`bind_rule!`] binds them.
const RULE_FIELDS: &str = "name, description, severity, metric, operator, threshold, \
     recovery_threshold, duration_seconds, is_enabled, target_type, target_filter, rule_type, \
     log_keyword, log_level, log_service, db_metric_name, db_id, cooldown_seconds, silence_start, \
     silence_end, notification_channel_ids, log_keyword_is_regex, detector, \
     repeat_interval_seconds, escalation, resolve_hold_seconds";

const RULE_PARAMS: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
     $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26";

/// The JSON columns of a rule.
struct RuleJson {
    target_filter: Option<Value>,
    channel_ids: Option<Value>,
    detector: Option<Value>,
    escalation: Option<Value>,
}

impl RuleJson {
    fn of(rule: &AlertRuleCreate) -> StoreResult<Self> {
        Ok(Self {
            target_filter: encode("target_filter", rule.target_filter.as_ref())?,
            channel_ids: encode(
                "notification_channel_ids",
                rule.notification_channel_ids.as_ref(),
            )?,
            detector: encode("detector", rule.detector.as_ref())?,
            escalation: encode("escalation", rule.escalation.as_ref())?,
        })
    }
}

/// Binds the 26 fields of [`RULE_FIELDS`] as `$1`–`$26`.
macro_rules! bind_rule {
    ($query:expr, $rule:expr, $json:expr) => {
        $query
            .bind(&$rule.name)
            .bind(&$rule.description)
            .bind(&$rule.severity)
            .bind(&$rule.metric)
            .bind(&$rule.operator)
            .bind($rule.threshold)
            .bind($rule.recovery_threshold)
            .bind($rule.duration_seconds)
            .bind($rule.is_enabled)
            .bind(&$rule.target_type)
            .bind(json($json.target_filter))
            .bind(&$rule.rule_type)
            .bind(&$rule.log_keyword)
            .bind(&$rule.log_level)
            .bind(&$rule.log_service)
            .bind(&$rule.db_metric_name)
            .bind($rule.db_id)
            .bind($rule.cooldown_seconds)
            .bind(&$rule.silence_start)
            .bind(&$rule.silence_end)
            .bind(json($json.channel_ids))
            .bind($rule.log_keyword_is_regex)
            .bind(json($json.detector))
            .bind($rule.repeat_interval_seconds)
            .bind(json($json.escalation))
            .bind($rule.resolve_hold_seconds)
    };
}

fn rule_from_row(row: &BackendRow) -> StoreResult<StoredAlertRule> {
    Ok(StoredAlertRule {
        id: row.try_get("id")?,
        rule: AlertRuleCreate {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            severity: row.try_get("severity")?,
            metric: row.try_get("metric")?,
            operator: row.try_get("operator")?,
            threshold: row.try_get("threshold")?,
            duration_seconds: row.try_get("duration_seconds")?,
            is_enabled: row.try_get("is_enabled")?,
            target_type: row.try_get("target_type")?,
            target_filter: decode("target_filter", get_json(row, "target_filter")?)?,
            rule_type: row.try_get("rule_type")?,
            log_keyword: row.try_get("log_keyword")?,
            log_level: row.try_get("log_level")?,
            log_service: row.try_get("log_service")?,
            db_metric_name: row.try_get("db_metric_name")?,
            db_id: row.try_get("db_id")?,
            cooldown_seconds: row.try_get("cooldown_seconds")?,
            silence_start: row.try_get("silence_start")?,
            silence_end: row.try_get("silence_end")?,
            notification_channel_ids: decode(
                "notification_channel_ids",
                get_json(row, "notification_channel_ids")?,
            )?,
            recovery_threshold: row.try_get("recovery_threshold")?,
            log_keyword_is_regex: row.try_get("log_keyword_is_regex")?,
            detector: decode("detector", get_json(row, "detector")?)?,
            repeat_interval_seconds: row.try_get("repeat_interval_seconds")?,
            escalation: decode("escalation", get_json(row, "escalation")?)?,
            resolve_hold_seconds: row.try_get("resolve_hold_seconds")?,
        },
        is_builtin: row.try_get("is_builtin")?,
        builtin_key: row.try_get("builtin_key")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

#[async_trait]
impl AlertRuleStore for Backend {
    async fn seed_builtin_rules(
        &self,
        builtins: &[BuiltinRule],
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let mut created = 0;
        for builtin in builtins {
            let rule = &builtin.rule;
            let json_columns = RuleJson::of(rule)?;
            // One statement: the existence check and the insert cannot interleave with another
            // replica's; the unique key index settles a race between two of them.
            let query = sqlx::query(sql!(
                "INSERT INTO alert_rules ({RULE_FIELDS}, is_builtin, builtin_key, created_at, \
                 updated_at) SELECT {RULE_PARAMS}, TRUE, $27, $28, $28 \
                 WHERE NOT EXISTS (SELECT 1 FROM alert_rules WHERE builtin_key = $27 OR name = $1) \
                 ON CONFLICT (builtin_key) WHERE builtin_key IS NOT NULL DO NOTHING"
            ));
            let result = bind_rule!(query, rule, json_columns)
                .bind(builtin.key)
                .bind(ts(now))
                .execute(&self.pool)
                .await?;
            created += usize::try_from(result.rows_affected()).unwrap_or(0);
        }
        Ok(created)
    }

    async fn create_rule(
        &self,
        rule: &AlertRuleCreate,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredAlertRule> {
        let json_columns = RuleJson::of(rule)?;
        let query = sqlx::query(sql!(
            "INSERT INTO alert_rules ({RULE_FIELDS}, is_builtin, created_at, updated_at) \
             VALUES ({RULE_PARAMS}, FALSE, $27, $27) RETURNING {RULE_COLUMNS}"
        ));
        let row = bind_rule!(query, rule, json_columns)
            .bind(ts(now))
            .fetch_one(&self.pool)
            .await?;
        rule_from_row(&row)
    }

    async fn update_rule(
        &self,
        id: i64,
        rule: &AlertRuleCreate,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredAlertRule> {
        let json_columns = RuleJson::of(rule)?;
        let assignments = RULE_FIELDS
            .split(',')
            .enumerate()
            .map(|(index, field)| format!("{} = ${}", field.trim(), index + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let query = sqlx::query(sql!(
            "UPDATE alert_rules SET {assignments}, updated_at = $27 WHERE id = $28 \
             RETURNING {RULE_COLUMNS}"
        ));
        let row = bind_rule!(query, rule, json_columns)
            .bind(ts(now))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("alert rule"))?;
        rule_from_row(&row)
    }

    async fn delete_rule(&self, id: i64) -> StoreResult<()> {
        let deleted = sqlx::query("DELETE FROM alert_rules WHERE id = $1 AND NOT is_builtin")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if deleted.rows_affected() > 0 {
            return Ok(());
        }
        match self.rule(id).await? {
            None => Err(StoreError::NotFound("alert rule")),
            Some(_) => Err(StoreError::Conflict(
                "a built-in rule cannot be deleted".to_owned(),
            )),
        }
    }

    async fn rule(&self, id: i64) -> StoreResult<Option<StoredAlertRule>> {
        let row = sqlx::query(sql!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rule_from_row).transpose()
    }

    async fn list_rules(&self, enabled: Option<bool>) -> StoreResult<Vec<StoredAlertRule>> {
        let rows = sqlx::query(sql!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE ($1 IS NULL OR is_enabled = $1) \
             ORDER BY id"
        ))
        .bind(enabled)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }
}

/// The columns [`alert_from_row`] reads; `ai.rs` selects alerts with them too.
pub(super) const ALERT_COLUMNS: &str = "id, rule_id, target_key, host_id, service_id, \
     database_id, severity, status, title, message, metric_value, threshold, fired_at, \
     resolved_at, acknowledged_at, acknowledged_by, resolved_by, resolution_comment, flapping, \
     group_key, parent_alert_id, created_at";

/// An alert row decoded (the one decoder of alerts, shared with `ai.rs`).
pub(super) fn alert_from_row(row: &BackendRow) -> StoreResult<Alert> {
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    Ok(Alert {
        id: row.try_get("id")?,
        rule_id: row.try_get("rule_id")?,
        target_key: row.try_get("target_key")?,
        host_id: row.try_get("host_id")?,
        service_id: row.try_get("service_id")?,
        database_id: row.try_get("database_id")?,
        severity: Severity::parse(&severity)
            .ok_or_else(|| StoreError::Corrupt(format!("alert severity `{severity}`")))?,
        status: status.parse().map_err(StoreError::Corrupt)?,
        title: row.try_get("title")?,
        message: row.try_get("message")?,
        metric_value: row.try_get("metric_value")?,
        threshold: row.try_get("threshold")?,
        fired_at: get_ts(row, "fired_at")?,
        resolved_at: get_opt_ts(row, "resolved_at")?,
        acknowledged_at: get_opt_ts(row, "acknowledged_at")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        resolved_by: row.try_get("resolved_by")?,
        resolution_comment: row.try_get("resolution_comment")?,
        flapping: row.try_get("flapping")?,
        group_key: row.try_get("group_key")?,
        parent_alert_id: row.try_get("parent_alert_id")?,
        created_at: get_ts(row, "created_at")?,
    })
}

const EVENT_COLUMNS: &str = "id, alert_id, kind, at, actor_id, detail";

fn event_from_row(row: &BackendRow) -> StoreResult<AlertEvent> {
    let kind: String = row.try_get("kind")?;
    Ok(AlertEvent {
        id: row.try_get("id")?,
        alert_id: row.try_get("alert_id")?,
        kind: kind.parse().map_err(StoreError::Corrupt)?,
        at: get_ts(row, "at")?,
        actor_id: row.try_get("actor_id")?,
        detail: get_json(row, "detail")?,
    })
}

async fn insert_event(
    connection: &mut Connection,
    event: &NewAlertEvent,
) -> StoreResult<AlertEvent> {
    let row = sqlx::query(sql!(
        "INSERT INTO alert_events (alert_id, kind, at, actor_id, detail) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {EVENT_COLUMNS}"
    ))
    .bind(event.alert_id)
    .bind(event.kind.as_str())
    .bind(ts(event.at))
    .bind(event.actor_id)
    .bind(json(event.detail.clone()))
    .fetch_one(&mut *connection)
    .await?;
    event_from_row(&row)
}

async fn alert_on(connection: &mut Connection, id: i64) -> StoreResult<Option<Alert>> {
    let row = sqlx::query(sql!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *connection)
        .await?;
    row.as_ref().map(alert_from_row).transpose()
}

/// How many times `open_alert` retries when the active alert it collided with was resolved
/// before it could be read.
pub(super) const OPEN_ATTEMPTS: usize = 3;

/// Opens the pair's alert with its `fired` event on `connection` (inside a transaction), or
/// reads the pair's active alert (`false`); `None` when that one was resolved in between.
pub(super) async fn open_on(
    connection: &mut Connection,
    alert: &NewAlert,
) -> StoreResult<Option<(Alert, bool)>> {
    let inserted = sqlx::query(sql!(
        "INSERT INTO alerts (rule_id, target_key, host_id, service_id, database_id, \
         severity, status, title, message, metric_value, threshold, group_key, fired_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7, $8, $9, $10, $11, $12, $12) \
         ON CONFLICT (rule_id, target_key) WHERE status <> 'resolved' DO NOTHING \
         RETURNING {ALERT_COLUMNS}"
    ))
    .bind(alert.rule_id)
    .bind(&alert.target_key)
    .bind(alert.host_id)
    .bind(alert.service_id)
    .bind(alert.database_id)
    .bind(alert.severity.as_str())
    .bind(&alert.title)
    .bind(&alert.message)
    .bind(alert.metric_value)
    .bind(alert.threshold)
    .bind(&alert.group_key)
    .bind(ts(alert.fired_at))
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(row) = inserted {
        let opened = alert_from_row(&row)?;
        insert_event(
            connection,
            &NewAlertEvent {
                alert_id: opened.id,
                kind: crate::model::AlertEventKind::Fired,
                at: alert.fired_at,
                actor_id: None,
                detail: Some(serde_json::json!({
                    "metric_value": alert.metric_value,
                    "threshold": alert.threshold,
                    "message": alert.message,
                })),
            },
        )
        .await?;
        return Ok(Some((opened, true)));
    }
    let existing = sqlx::query(sql!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE rule_id = $1 AND target_key = $2 \
         AND status <> 'resolved'"
    ))
    .bind(alert.rule_id)
    .bind(&alert.target_key)
    .fetch_optional(&mut *connection)
    .await?;
    existing
        .map(|row| Ok((alert_from_row(&row)?, false)))
        .transpose()
}

/// Resolves an active alert with its `resolved` event on `connection` (inside a transaction),
/// or reads a resolved one (`false`); `None` for an unknown id.
pub(super) async fn resolve_on(
    connection: &mut Connection,
    id: i64,
    resolution: &AlertResolution,
) -> StoreResult<Option<(Alert, bool)>> {
    let updated = sqlx::query(sql!(
        "UPDATE alerts SET status = 'resolved', resolved_at = $2, resolved_by = $3, \
         resolution_comment = $4 WHERE id = $1 AND status <> 'resolved' \
         RETURNING {ALERT_COLUMNS}"
    ))
    .bind(id)
    .bind(ts(resolution.at))
    .bind(resolution.by)
    .bind(&resolution.comment)
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = updated else {
        let current = alert_on(connection, id).await?;
        return Ok(current.map(|alert| (alert, false)));
    };
    let alert = alert_from_row(&row)?;
    let detail = serde_json::json!({
        "manual": resolution.by.is_some(),
        "comment": resolution.comment,
    });
    insert_event(
        connection,
        &NewAlertEvent {
            alert_id: id,
            kind: crate::model::AlertEventKind::Resolved,
            at: resolution.at,
            actor_id: resolution.by,
            detail: Some(detail),
        },
    )
    .await?;
    Ok(Some((alert, true)))
}

#[async_trait]
impl AlertStore for Backend {
    async fn open_alert(&self, alert: NewAlert) -> StoreResult<(Alert, bool)> {
        for _ in 0..OPEN_ATTEMPTS {
            let mut transaction = self.pool.begin().await?;
            let opened = open_on(&mut transaction, &alert).await?;
            transaction.commit().await?;
            if let Some(opened) = opened {
                return Ok(opened);
            }
        }
        Err(StoreError::Conflict(format!(
            "the active alert of rule {} and target `{}` keeps changing",
            alert.rule_id, alert.target_key
        )))
    }

    async fn alert(&self, id: i64) -> StoreResult<Option<Alert>> {
        let mut connection = self.pool.acquire().await?;
        alert_on(&mut connection, id).await
    }

    async fn list_alerts(&self, filter: &AlertFilter) -> StoreResult<(Vec<Alert>, i64)> {
        const WHERE: &str = "WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR severity = $2) \
             AND ($3 IS NULL OR host_id = $3) AND ($4 IS NULL OR rule_id = $4)";
        let status = filter.status.map(AlertStatus::as_str);
        let severity = filter.severity.map(Severity::as_str);
        let total: i64 = sqlx::query_scalar(sql!("SELECT count(*) FROM alerts {WHERE}"))
            .bind(status)
            .bind(severity)
            .bind(filter.host_id)
            .bind(filter.rule_id)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(sql!(
            "SELECT {ALERT_COLUMNS} FROM alerts {WHERE} ORDER BY fired_at DESC, id DESC \
             LIMIT $5 OFFSET $6"
        ))
        .bind(status)
        .bind(severity)
        .bind(filter.host_id)
        .bind(filter.rule_id)
        .bind(filter.page.limit())
        .bind(filter.page.offset())
        .fetch_all(&self.pool)
        .await?;
        let alerts = rows
            .iter()
            .map(alert_from_row)
            .collect::<StoreResult<_>>()?;
        Ok((alerts, total))
    }

    async fn open_alerts_for_rule(&self, rule_id: i64) -> StoreResult<Vec<Alert>> {
        let rows = sqlx::query(sql!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE rule_id = $1 AND status <> 'resolved' \
             ORDER BY id"
        ))
        .bind(rule_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn open_alerts(&self) -> StoreResult<Vec<Alert>> {
        let rows = sqlx::query(sql!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE status <> 'resolved' ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn acknowledge_alert(
        &self,
        id: i64,
        by: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<(Alert, bool)> {
        let mut transaction = self.pool.begin().await?;
        let updated = sqlx::query(sql!(
            "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3 \
             WHERE id = $1 AND status = 'firing' RETURNING {ALERT_COLUMNS}"
        ))
        .bind(id)
        .bind(ts(at))
        .bind(by)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = updated else {
            let current = alert_on(&mut transaction, id).await?;
            transaction.commit().await?;
            return current
                .map(|alert| (alert, false))
                .ok_or(StoreError::NotFound("alert"));
        };
        let alert = alert_from_row(&row)?;
        insert_event(
            &mut transaction,
            &NewAlertEvent {
                alert_id: id,
                kind: crate::model::AlertEventKind::Acknowledged,
                at,
                actor_id: by,
                detail: None,
            },
        )
        .await?;
        transaction.commit().await?;
        Ok((alert, true))
    }

    async fn resolve_alert(
        &self,
        id: i64,
        resolution: AlertResolution,
    ) -> StoreResult<(Alert, bool)> {
        let mut transaction = self.pool.begin().await?;
        let resolved = resolve_on(&mut transaction, id, &resolution).await?;
        transaction.commit().await?;
        resolved.ok_or(StoreError::NotFound("alert"))
    }

    async fn update_alert_reading(
        &self,
        id: i64,
        message: Option<&str>,
        metric_value: Option<f64>,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE alerts SET message = $2, metric_value = $3 \
             WHERE id = $1 AND status <> 'resolved'",
        )
        .bind(id)
        .bind(message)
        .bind(metric_value)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn set_alert_flapping(&self, id: i64, flapping: bool) -> StoreResult<()> {
        let result = sqlx::query("UPDATE alerts SET flapping = $2 WHERE id = $1")
            .bind(id)
            .bind(flapping)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("alert"));
        }
        Ok(())
    }

    async fn set_alert_parent(&self, id: i64, parent_alert_id: Option<i64>) -> StoreResult<()> {
        let result = sqlx::query("UPDATE alerts SET parent_alert_id = $2 WHERE id = $1")
            .bind(id)
            .bind(parent_alert_id)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("alert"));
        }
        Ok(())
    }

    async fn append_alert_event(&self, event: NewAlertEvent) -> StoreResult<AlertEvent> {
        // One statement, so SQLite never has to upgrade a read transaction to a write one.
        let row = sqlx::query(sql!(
            "INSERT INTO alert_events (alert_id, kind, at, actor_id, detail) \
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM alerts WHERE id = $1) \
             RETURNING {EVENT_COLUMNS}"
        ))
        .bind(event.alert_id)
        .bind(event.kind.as_str())
        .bind(ts(event.at))
        .bind(event.actor_id)
        .bind(json(event.detail))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("alert"))?;
        event_from_row(&row)
    }

    async fn alert_events(&self, alert_id: i64) -> StoreResult<Vec<AlertEvent>> {
        let rows = sqlx::query(sql!(
            "SELECT {EVENT_COLUMNS} FROM alert_events WHERE alert_id = $1 ORDER BY at, id"
        ))
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}

const CHANNEL_COLUMNS: &str = "id, name, type, config, is_enabled, created_at, updated_at";

fn channel_from_row(row: &BackendRow) -> StoreResult<StoredChannel> {
    Ok(StoredChannel {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: row.try_get("type")?,
        config: get_json(row, "config")?.unwrap_or(Value::Null),
        is_enabled: row.try_get("is_enabled")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

const TEMPLATE_COLUMNS: &str = "id, name, channel_type, subject_template, body_template, \
     is_default, created_at, updated_at";

fn template_from_row(row: &BackendRow) -> StoreResult<StoredTemplate> {
    Ok(StoredTemplate {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        channel_type: row.try_get("channel_type")?,
        subject_template: row.try_get("subject_template")?,
        body_template: row.try_get("body_template")?,
        is_default: row.try_get("is_default")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

/// A default template is the only default of its channel type.
async fn clear_other_defaults(
    connection: &mut Connection,
    template: &StoredTemplate,
) -> StoreResult<()> {
    if template.is_default {
        sqlx::query(
            "UPDATE notification_templates SET is_default = FALSE \
             WHERE channel_type = $1 AND id <> $2 AND is_default",
        )
        .bind(&template.channel_type)
        .bind(template.id)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

const LOG_COLUMNS: &str =
    "id, alert_id, channel_id, event, status, response_code, error, retries, sent_at";

fn log_from_row(row: &BackendRow) -> StoreResult<NotificationLog> {
    Ok(NotificationLog {
        id: row.try_get("id")?,
        alert_id: row.try_get("alert_id")?,
        channel_id: row.try_get("channel_id")?,
        event: row.try_get("event")?,
        status: row.try_get("status")?,
        response_code: row.try_get("response_code")?,
        error: row.try_get("error")?,
        retries: row.try_get("retries")?,
        sent_at: get_ts(row, "sent_at")?,
    })
}

#[async_trait]
impl NotificationStore for Backend {
    async fn create_channel(
        &self,
        channel: &NewChannel,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredChannel> {
        let row = sqlx::query(sql!(
            "INSERT INTO notification_channels (name, type, config, is_enabled, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(&channel.name)
        .bind(&channel.kind)
        .bind(json(Some(channel.config.clone())))
        .bind(channel.is_enabled)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        channel_from_row(&row)
    }

    async fn update_channel(
        &self,
        id: i64,
        channel: &NewChannel,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredChannel> {
        let row = sqlx::query(sql!(
            "UPDATE notification_channels SET name = $2, type = $3, config = $4, is_enabled = $5, \
             updated_at = $6 WHERE id = $1 RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(id)
        .bind(&channel.name)
        .bind(&channel.kind)
        .bind(json(Some(channel.config.clone())))
        .bind(channel.is_enabled)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("channel"))?;
        channel_from_row(&row)
    }

    async fn delete_channel(&self, id: i64) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM notification_channels WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("channel"));
        }
        Ok(())
    }

    async fn channel(&self, id: i64) -> StoreResult<Option<StoredChannel>> {
        let row = sqlx::query(sql!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(channel_from_row).transpose()
    }

    async fn list_channels(&self) -> StoreResult<Vec<StoredChannel>> {
        let rows = sqlx::query(sql!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(channel_from_row).collect()
    }

    async fn channels_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<StoredChannel>> {
        // The id lists of a rule are short: filtering the (small) channel table here keeps the
        // statement the same on both backends.
        let mut channels = self.list_channels().await?;
        channels.retain(|channel| ids.contains(&channel.id));
        Ok(channels)
    }

    async fn create_template(
        &self,
        template: &NewTemplate,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredTemplate> {
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query(sql!(
            "INSERT INTO notification_templates (name, channel_type, subject_template, \
             body_template, is_default, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {TEMPLATE_COLUMNS}"
        ))
        .bind(&template.name)
        .bind(&template.channel_type)
        .bind(&template.subject_template)
        .bind(&template.body_template)
        .bind(template.is_default)
        .bind(ts(now))
        .fetch_one(&mut *transaction)
        .await?;
        let stored = template_from_row(&row)?;
        clear_other_defaults(&mut transaction, &stored).await?;
        transaction.commit().await?;
        Ok(stored)
    }

    async fn update_template(
        &self,
        id: i64,
        template: &NewTemplate,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredTemplate> {
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query(sql!(
            "UPDATE notification_templates SET name = $2, channel_type = $3, \
             subject_template = $4, body_template = $5, is_default = $6, updated_at = $7 \
             WHERE id = $1 RETURNING {TEMPLATE_COLUMNS}"
        ))
        .bind(id)
        .bind(&template.name)
        .bind(&template.channel_type)
        .bind(&template.subject_template)
        .bind(&template.body_template)
        .bind(template.is_default)
        .bind(ts(now))
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or(StoreError::NotFound("template"))?;
        let stored = template_from_row(&row)?;
        clear_other_defaults(&mut transaction, &stored).await?;
        transaction.commit().await?;
        Ok(stored)
    }

    async fn delete_template(&self, id: i64) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM notification_templates WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("template"));
        }
        Ok(())
    }

    async fn template(&self, id: i64) -> StoreResult<Option<StoredTemplate>> {
        let row = sqlx::query(sql!(
            "SELECT {TEMPLATE_COLUMNS} FROM notification_templates WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(template_from_row).transpose()
    }

    async fn list_templates(&self) -> StoreResult<Vec<StoredTemplate>> {
        let rows = sqlx::query(sql!(
            "SELECT {TEMPLATE_COLUMNS} FROM notification_templates ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(template_from_row).collect()
    }

    async fn default_template(&self, channel_type: &str) -> StoreResult<Option<StoredTemplate>> {
        let row = sqlx::query(sql!(
            "SELECT {TEMPLATE_COLUMNS} FROM notification_templates \
             WHERE is_default AND channel_type IN ($1, 'all') \
             ORDER BY CASE WHEN channel_type = $1 THEN 0 ELSE 1 END, updated_at DESC, id DESC \
             LIMIT 1"
        ))
        .bind(channel_type)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(template_from_row).transpose()
    }

    async fn insert_notification_log(&self, log: &NewNotificationLog) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO notification_logs (alert_id, channel_id, event, status, response_code, \
             error, retries, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(log.alert_id)
        .bind(log.channel_id)
        .bind(&log.event)
        .bind(&log.status)
        .bind(log.response_code)
        .bind(&log.error)
        .bind(log.retries)
        .bind(ts(log.sent_at))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn record_delivery(
        &self,
        logs: &[NewNotificationLog],
        events: &[NewAlertEvent],
    ) -> StoreResult<()> {
        let mut transaction = self.pool.begin().await?;
        for log in logs {
            sqlx::query(
                "INSERT INTO notification_logs (alert_id, channel_id, event, status, \
                 response_code, error, retries, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(log.alert_id)
            .bind(log.channel_id)
            .bind(&log.event)
            .bind(&log.status)
            .bind(log.response_code)
            .bind(&log.error)
            .bind(log.retries)
            .bind(ts(log.sent_at))
            .execute(&mut *transaction)
            .await?;
        }
        for event in events {
            sqlx::query(
                "INSERT INTO alert_events (alert_id, kind, at, actor_id, detail) \
                 SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM alerts WHERE id = $1)",
            )
            .bind(event.alert_id)
            .bind(event.kind.as_str())
            .bind(ts(event.at))
            .bind(event.actor_id)
            .bind(json(event.detail.clone()))
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn list_notification_logs(
        &self,
        alert_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<NotificationLog>> {
        let rows = sqlx::query(sql!(
            "SELECT {LOG_COLUMNS} FROM notification_logs WHERE ($1 IS NULL OR alert_id = $1) \
             ORDER BY sent_at DESC, id DESC LIMIT $2"
        ))
        .bind(alert_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(log_from_row).collect()
    }
}

const SILENCE_COLUMNS: &str = "id, name, comment, matchers, starts_at, ends_at, schedule, \
     duration_seconds, is_enabled, created_by, created_at, updated_at";

fn silence_from_row(row: &BackendRow) -> StoreResult<Silence> {
    let columns: ScheduleColumns = (
        get_opt_ts(row, "starts_at")?,
        get_opt_ts(row, "ends_at")?,
        row.try_get("schedule")?,
        row.try_get("duration_seconds")?,
    );
    Ok(Silence {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        comment: row.try_get("comment")?,
        matchers: decode_matchers(get_json(row, "matchers")?)?,
        schedule: schedule_from_columns(columns)?,
        is_enabled: row.try_get("is_enabled")?,
        created_by: row.try_get("created_by")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

#[async_trait]
impl SilenceStore for Backend {
    async fn create_silence(
        &self,
        silence: &NewSilence,
        now: DateTime<Utc>,
    ) -> StoreResult<Silence> {
        let (starts_at, ends_at, schedule, duration_seconds) = schedule_columns(&silence.schedule);
        let row = sqlx::query(sql!(
            "INSERT INTO silences (name, comment, matchers, starts_at, ends_at, schedule, \
             duration_seconds, is_enabled, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {SILENCE_COLUMNS}"
        ))
        .bind(&silence.name)
        .bind(&silence.comment)
        .bind(json(Some(encode_matchers(&silence.matchers))))
        .bind(opt_ts(starts_at))
        .bind(opt_ts(ends_at))
        .bind(schedule)
        .bind(duration_seconds)
        .bind(silence.is_enabled)
        .bind(silence.created_by)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        silence_from_row(&row)
    }

    async fn update_silence(
        &self,
        id: i64,
        silence: &NewSilence,
        now: DateTime<Utc>,
    ) -> StoreResult<Silence> {
        let (starts_at, ends_at, schedule, duration_seconds) = schedule_columns(&silence.schedule);
        let row = sqlx::query(sql!(
            "UPDATE silences SET name = $2, comment = $3, matchers = $4, starts_at = $5, \
             ends_at = $6, schedule = $7, duration_seconds = $8, is_enabled = $9, \
             updated_at = $10 WHERE id = $1 RETURNING {SILENCE_COLUMNS}"
        ))
        .bind(id)
        .bind(&silence.name)
        .bind(&silence.comment)
        .bind(json(Some(encode_matchers(&silence.matchers))))
        .bind(opt_ts(starts_at))
        .bind(opt_ts(ends_at))
        .bind(schedule)
        .bind(duration_seconds)
        .bind(silence.is_enabled)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("silence"))?;
        silence_from_row(&row)
    }

    async fn delete_silence(&self, id: i64) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM silences WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("silence"));
        }
        Ok(())
    }

    async fn silence(&self, id: i64) -> StoreResult<Option<Silence>> {
        let row = sqlx::query(sql!("SELECT {SILENCE_COLUMNS} FROM silences WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(silence_from_row).transpose()
    }

    async fn list_silences(&self) -> StoreResult<Vec<Silence>> {
        let rows = sqlx::query(sql!("SELECT {SILENCE_COLUMNS} FROM silences ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(silence_from_row).collect()
    }

    async fn active_silences(&self, at: DateTime<Utc>) -> StoreResult<Vec<Silence>> {
        // The bounds are checked here; whether a recurring silence is inside one of its windows
        // is the cron schedule's question, answered in Rust.
        let rows = sqlx::query(sql!(
            "SELECT {SILENCE_COLUMNS} FROM silences WHERE is_enabled \
             AND (starts_at IS NULL OR starts_at <= $1) AND (ends_at IS NULL OR ends_at > $1) \
             ORDER BY id"
        ))
        .bind(ts(at))
        .fetch_all(&self.pool)
        .await?;
        let mut active = Vec::new();
        for row in &rows {
            let silence = silence_from_row(row)?;
            if silence::is_active(&silence.schedule, at) {
                active.push(silence);
            }
        }
        Ok(active)
    }
}
