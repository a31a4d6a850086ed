//! The PostgreSQL side of the services pages' reads: the filtered list with its counts, one
//! service, and its recent checks.
//!
//! `sqlite/services.rs` holds the same statements; only the value encodings at the top of
//! each file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::{ServiceCatalogStore, StoreResult};
use super::PostgresStore as Backend;
use super::ai::check_from_row;
use crate::model::{ServiceCheckPoint, ServiceCounts, ServiceFilter, ServiceHostInfo, ServiceInfo};

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    Ok(row.try_get(column)?)
}

fn get_json(row: &BackendRow, column: &str) -> StoreResult<Option<Value>> {
    Ok(row.try_get(column)?)
}

// ---- Shared with sqlite/services.rs from here on ----------------------------------------

/// A stored status as the REST contract names it: `up`, `down` or `unknown`.
const STATUS: &str =
    "CASE WHEN lower(s.status) IN ('up', 'down') THEN lower(s.status) ELSE 'unknown' END";

/// `$1` host, `$2` category, `$3` status; each ignored when null.
const FILTER: &str = "WHERE ($1 IS NULL OR s.host_id = $1) AND ($2 IS NULL OR s.category = $2) \
     AND ($3 IS NULL OR CASE WHEN lower(s.status) IN ('up', 'down') THEN lower(s.status) \
        ELSE 'unknown' END = $3)";

/// The columns of [`ServiceInfo`], with its checks counted from the parameter `since`.
fn service_select(since: &str) -> String {
    format!(
        "SELECT s.id, s.host_id, s.name, s.type, s.target, s.check_interval, s.timeout, \
            s.expected_status, s.is_active, {STATUS} AS status, s.category, s.tags, \
            s.created_at, s.updated_at, h.id AS host_ref, h.hostname AS host_name, \
            h.ip_address AS host_ip, h.status AS host_status, \
            (SELECT count(*) FROM service_checks c \
             WHERE c.service_id = s.id AND c.checked_at >= {since}) AS recent_checks, \
            (SELECT count(*) FROM service_checks c \
             WHERE c.service_id = s.id AND c.checked_at >= {since} AND lower(c.status) = 'up') \
                AS recent_up_checks \
         FROM services s LEFT JOIN hosts h ON h.id = s.host_id"
    )
}

fn service_from_row(row: &BackendRow) -> StoreResult<ServiceInfo> {
    let host = match row.try_get::<Option<i64>, _>("host_ref")? {
        Some(id) => Some(ServiceHostInfo {
            id,
            hostname: row.try_get("host_name")?,
            ip: row.try_get("host_ip")?,
            status: row.try_get("host_status")?,
        }),
        None => None,
    };
    Ok(ServiceInfo {
        id: row.try_get("id")?,
        host_id: row.try_get("host_id")?,
        name: row.try_get("name")?,
        check_type: row.try_get("type")?,
        target: row.try_get("target")?,
        check_interval: row.try_get("check_interval")?,
        timeout: row.try_get("timeout")?,
        expected_status: row.try_get("expected_status")?,
        is_active: row.try_get("is_active")?,
        status: row.try_get("status")?,
        category: row.try_get("category")?,
        tags: get_json(row, "tags")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
        host,
        recent_checks: row.try_get("recent_checks")?,
        recent_up_checks: row.try_get("recent_up_checks")?,
    })
}

#[async_trait]
impl ServiceCatalogStore for Backend {
    async fn list_services(
        &self,
        filter: &ServiceFilter,
        since: DateTime<Utc>,
    ) -> StoreResult<(Vec<ServiceInfo>, ServiceCounts)> {
        let counts = sqlx::query(AssertSqlSafe(format!(
            "SELECT count(*) AS total, \
                COALESCE(sum(CASE WHEN s.category = 'middleware' THEN 1 ELSE 0 END), 0) \
                    AS middleware, \
                COALESCE(sum(CASE WHEN s.category = 'business' THEN 1 ELSE 0 END), 0) \
                    AS business, \
                COALESCE(sum(CASE WHEN s.category = 'infrastructure' THEN 1 ELSE 0 END), 0) \
                    AS infrastructure, \
                COALESCE(sum(CASE WHEN {STATUS} = 'up' THEN 1 ELSE 0 END), 0) AS healthy, \
                COALESCE(sum(CASE WHEN {STATUS} = 'down' THEN 1 ELSE 0 END), 0) AS unhealthy \
             FROM services s {FILTER}"
        )))
        .bind(filter.host_id)
        .bind(&filter.category)
        .bind(&filter.status)
        .fetch_one(&self.pool)
        .await?;
        let counts = ServiceCounts {
            total: counts.try_get("total")?,
            middleware: counts.try_get("middleware")?,
            business: counts.try_get("business")?,
            infrastructure: counts.try_get("infrastructure")?,
            healthy: counts.try_get("healthy")?,
            unhealthy: counts.try_get("unhealthy")?,
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{} {FILTER} ORDER BY s.id LIMIT $5 OFFSET $6",
            service_select("$4")
        )))
        .bind(filter.host_id)
        .bind(&filter.category)
        .bind(&filter.status)
        .bind(ts(since))
        .bind(filter.page.limit())
        .bind(filter.page.offset())
        .fetch_all(&self.pool)
        .await?;
        let services = rows
            .iter()
            .map(service_from_row)
            .collect::<StoreResult<_>>()?;
        Ok((services, counts))
    }

    async fn service_info(
        &self,
        id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<ServiceInfo>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{} WHERE s.id = $1",
            service_select("$2")
        )))
        .bind(id)
        .bind(ts(since))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(service_from_row).transpose()
    }

    async fn recent_service_checks(
        &self,
        service_id: i64,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ServiceCheckPoint>> {
        let rows = sqlx::query(
            "SELECT id, service_id, status, response_time_ms, status_code, error, checked_at \
             FROM service_checks WHERE service_id = $1 AND checked_at >= $2 \
             ORDER BY checked_at DESC, id DESC LIMIT $3",
        )
        .bind(service_id)
        .bind(ts(since))
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(check_from_row).collect()
    }
}
