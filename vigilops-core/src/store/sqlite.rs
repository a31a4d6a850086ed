//! The SQLite backend: the embedded default, one file in the data directory, in WAL mode.
//!
//! Timestamps are stored as INTEGER microseconds since the Unix epoch (UTC), which keeps range
//! scans on indexes and time bucketing plain integer arithmetic. JSON is stored as TEXT.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, SqliteConnection, SqlitePool};
use std::collections::HashMap;
use std::str::FromStr;

use super::codec::{metric_fields, values_placeholders};
use super::{
    AgentTokenStore, AuditStore, ClaimedRows, CommandStore, DbMetricStore, HostStore,
    IdempotencyClaim, IdempotencyState, IdempotencyStore, LeaseStore, LogStore, MetricStore,
    ServiceStore, Store, StoreError, StoreResult, ThrottleStore, TrendStore, UserStore,
};
use crate::model::{
    AgentCommand, AgentToken, Aggregate, AuditEntry, AuditFilter, CommandOutcome, DashboardCounts,
    DbPoint, DiscoveredDependency, Host, HostFilter, HostRegistration, HostStatus, LatestMetrics,
    LogEntry, MetricPoint, MetricSample, MetricValues, MonitoredDatabase, NewAgentCommand,
    NewAuditEntry, NewDbMetric, NewDiscoveredDependency, NewLogEntry, NewServiceCheck, NewUser,
    Page, Resolution, Role, Service, ServiceRegistration, TrendRows, User, UserUpdate,
};

/// Builds a statement from trusted fragments: only column lists and constants of this file are
/// interpolated, never input, which travels as bind parameters.
macro_rules! sql {
    ($($arg:tt)*) => {
        AssertSqlSafe(format!($($arg)*))
    };
}

// After `sql!`, which it uses.
mod ai;
mod alert_engine;
mod alerting;
mod logs;
mod remediation;
mod report;
mod retention;
mod rollup;
mod service_rollup;
mod services;
mod sla;
mod topology;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A store on an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database `url` names (`sqlite://PATH` or a bare path) and
    /// applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let url = if url.starts_with("sqlite:") {
            url.to_owned()
        } else {
            format!("sqlite://{url}")
        };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The underlying pool, for tests and benchmarks that seed data directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// A timestamp as stored: microseconds since the epoch.
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {value} out of range")))
}

fn opt_from_micros(value: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    value.map(from_micros).transpose()
}

fn json_text(value: Option<&Value>) -> Option<String> {
    value.map(Value::to_string)
}

fn json_column(row: &SqliteRow, column: &str) -> StoreResult<Option<Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| {
        serde_json::from_str(&text)
            .map_err(|error| StoreError::Corrupt(format!("column `{column}`: {error}")))
    })
    .transpose()
}

const USER_COLUMNS: &str =
    "id, email, name, password_hash, role, is_active, created_at, updated_at";

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        role: role
            .parse::<Role>()
            .map_err(|error| StoreError::Corrupt(error.to_string()))?,
        is_active: row.try_get("is_active")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
    })
}

const TOKEN_COLUMNS: &str =
    "id, name, token_hash, token_prefix, is_active, created_by, created_at, last_used_at";

fn token_from_row(row: &SqliteRow) -> StoreResult<AgentToken> {
    Ok(AgentToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        token_prefix: row.try_get("token_prefix")?,
        is_active: row.try_get("is_active")?,
        created_by: row.try_get("created_by")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        last_used_at: opt_from_micros(row.try_get("last_used_at")?)?,
    })
}

const HOST_COLUMNS: &str = "id, token_id, hostname, display_name, ip_address, private_ip, public_ip, \
     network_info, os, os_version, arch, cpu_cores, memory_total_mb, agent_version, status, tags, \
     group_name, last_heartbeat, created_at, updated_at";

fn host_from_row(row: &SqliteRow) -> StoreResult<Host> {
    let status: String = row.try_get("status")?;
    Ok(Host {
        id: row.try_get("id")?,
        token_id: row.try_get("token_id")?,
        hostname: row.try_get("hostname")?,
        display_name: row.try_get("display_name")?,
        ip_address: row.try_get("ip_address")?,
        private_ip: row.try_get("private_ip")?,
        public_ip: row.try_get("public_ip")?,
        network_info: json_column(row, "network_info")?,
        os: row.try_get("os")?,
        os_version: row.try_get("os_version")?,
        arch: row.try_get("arch")?,
        cpu_cores: row.try_get("cpu_cores")?,
        memory_total_mb: row.try_get("memory_total_mb")?,
        agent_version: row.try_get("agent_version")?,
        status: HostStatus::parse(&status),
        tags: json_column(row, "tags")?,
        group_name: row.try_get("group_name")?,
        last_heartbeat: opt_from_micros(row.try_get("last_heartbeat")?)?,
        created_at: from_micros(row.try_get("created_at")?)?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
    })
}

fn metric_values_from_row(row: &SqliteRow) -> StoreResult<MetricValues> {
    Ok(MetricValues {
        cpu_percent: row.try_get("cpu_percent")?,
        cpu_load_1: row.try_get("cpu_load_1")?,
        cpu_load_5: row.try_get("cpu_load_5")?,
        cpu_load_15: row.try_get("cpu_load_15")?,
        memory_used_mb: row.try_get("memory_used_mb")?,
        memory_percent: row.try_get("memory_percent")?,
        disk_used_mb: row.try_get("disk_used_mb")?,
        disk_total_mb: row.try_get("disk_total_mb")?,
        disk_percent: row.try_get("disk_percent")?,
        net_bytes_sent: row.try_get("net_bytes_sent")?,
        net_bytes_recv: row.try_get("net_bytes_recv")?,
        net_send_rate_kb: row.try_get("net_send_rate_kb")?,
        net_recv_rate_kb: row.try_get("net_recv_rate_kb")?,
        net_packet_loss_rate: row.try_get("net_packet_loss_rate")?,
    })
}

const METRIC_VALUE_COLUMNS: &str = "cpu_percent, cpu_load_1, cpu_load_5, cpu_load_15, \
     memory_used_mb, memory_percent, disk_used_mb, disk_total_mb, disk_percent, net_bytes_sent, \
     net_bytes_recv, net_send_rate_kb, net_recv_rate_kb, net_packet_loss_rate";

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: NewUser, now: DateTime<Utc>) -> StoreResult<User> {
        // One statement: SQLite runs it under its single writer lock, so the first-user check
        // and the insert cannot interleave with another registration.
        let row = sqlx::query(sql!(
            "INSERT INTO users (email, name, password_hash, role, is_active, created_at, updated_at) \
             SELECT $1, $2, $3, CASE WHEN EXISTS (SELECT 1 FROM users) THEN $4 ELSE 'admin' END, \
                1, $5, $5 \
             RETURNING {USER_COLUMNS}"
        ))
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await?;
        user_from_row(&row)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(sql!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1 COLLATE NOCASE"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(sql!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn count_users(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn list_users(&self, page: Page) -> StoreResult<(Vec<User>, i64)> {
        let rows = sqlx::query(sql!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY id LIMIT $1 OFFSET $2"
        ))
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await?;
        let users = rows.iter().map(user_from_row).collect::<StoreResult<_>>()?;
        Ok((users, self.count_users().await?))
    }

    async fn update_user(
        &self,
        id: i64,
        update: UserUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        // One statement under SQLite's single writer lock: the last-admin check and the write
        // cannot interleave with another.
        let row = sqlx::query(sql!(
            "UPDATE users SET name = COALESCE($2, name), role = COALESCE($3, role), \
                is_active = COALESCE($4, is_active), updated_at = $5 \
             WHERE id = $1 AND NOT (role = 'admin' AND is_active = 1 \
                AND (COALESCE($3, role) <> 'admin' OR COALESCE($4, is_active) = 0) \
                AND (SELECT count(*) FROM users WHERE role = 'admin' AND is_active = 1) <= 1) \
             RETURNING {USER_COLUMNS}"
        ))
        .bind(id)
        .bind(update.name)
        .bind(update.role.map(Role::as_str))
        .bind(update.is_active)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => user_from_row(&row),
            None => Err(self.why_unchanged(id).await?),
        }
    }

    async fn delete_user(&self, id: i64) -> StoreResult<()> {
        let deleted = sqlx::query(
            "DELETE FROM users WHERE id = $1 AND NOT (role = 'admin' AND is_active = 1 \
                AND (SELECT count(*) FROM users WHERE role = 'admin' AND is_active = 1) <= 1)",
        )
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Err(self.why_unchanged(id).await?);
        }
        Ok(())
    }

    async fn set_password_hash(&self, id: i64, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let updated =
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(hash)
                .bind(micros(now))
                .execute(&self.pool)
                .await?
                .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }
}

impl SqliteStore {
    /// Why a guarded user write changed nothing: the user is unknown, or the last active admin.
    async fn why_unchanged(&self, id: i64) -> StoreResult<StoreError> {
        Ok(if self.user_by_id(id).await?.is_some() {
            StoreError::Conflict("last active admin".to_owned())
        } else {
            StoreError::NotFound("user")
        })
    }
}

#[async_trait]
impl AgentTokenStore for SqliteStore {
    async fn create_agent_token(
        &self,
        name: &str,
        token_hash: &str,
        token_prefix: &str,
        created_by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<AgentToken> {
        let row = sqlx::query(sql!(
            "INSERT INTO agent_tokens (name, token_hash, token_prefix, is_active, created_by, created_at) \
             VALUES ($1, $2, $3, 1, $4, $5) RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(name)
        .bind(token_hash)
        .bind(token_prefix)
        .bind(created_by)
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await?;
        token_from_row(&row)
    }

    async fn list_agent_tokens(&self) -> StoreResult<Vec<AgentToken>> {
        let rows = sqlx::query(sql!(
            "SELECT {TOKEN_COLUMNS} FROM agent_tokens ORDER BY created_at DESC, id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_agent_token(&self, id: i64) -> StoreResult<()> {
        let result = sqlx::query("UPDATE agent_tokens SET is_active = 0 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("agent token"));
        }
        Ok(())
    }

    async fn agent_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<AgentToken>> {
        let row = sqlx::query(sql!(
            "SELECT {TOKEN_COLUMNS} FROM agent_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn touch_agent_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE agent_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(micros(at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl HostStore for SqliteStore {
    async fn register_host(
        &self,
        token_id: i64,
        registration: HostRegistration,
        now: DateTime<Utc>,
    ) -> StoreResult<(Host, bool)> {
        let existed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM hosts WHERE token_id = $1 AND hostname = $2)",
        )
        .bind(token_id)
        .bind(&registration.hostname)
        .fetch_one(&self.pool)
        .await?;
        let row = sqlx::query(sql!(
            "INSERT INTO hosts (token_id, hostname, display_name, ip_address, private_ip, public_ip, \
                network_info, os, os_version, arch, cpu_cores, memory_total_mb, agent_version, \
                status, tags, group_name, last_heartbeat, created_at, updated_at) \
             VALUES ($1, $2, $3, COALESCE($4, $16), $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                'online', $14, $15, $17, $17, $17) \
             ON CONFLICT (token_id, hostname) DO UPDATE SET \
                display_name = COALESCE(excluded.display_name, hosts.display_name), \
                ip_address = COALESCE($4, hosts.ip_address, $16), \
                private_ip = COALESCE(excluded.private_ip, hosts.private_ip), \
                public_ip = COALESCE(excluded.public_ip, hosts.public_ip), \
                network_info = COALESCE(excluded.network_info, hosts.network_info), \
                os = COALESCE(excluded.os, hosts.os), \
                os_version = COALESCE(excluded.os_version, hosts.os_version), \
                arch = COALESCE(excluded.arch, hosts.arch), \
                cpu_cores = COALESCE(excluded.cpu_cores, hosts.cpu_cores), \
                memory_total_mb = COALESCE(excluded.memory_total_mb, hosts.memory_total_mb), \
                agent_version = COALESCE(excluded.agent_version, hosts.agent_version), \
                tags = COALESCE(excluded.tags, hosts.tags), \
                group_name = COALESCE(excluded.group_name, hosts.group_name), \
                status = 'online', last_heartbeat = $17, updated_at = $17 \
             RETURNING {HOST_COLUMNS}"
        ))
        .bind(token_id)
        .bind(&registration.hostname)
        .bind(&registration.display_name)
        .bind(&registration.ip_address)
        .bind(&registration.private_ip)
        .bind(&registration.public_ip)
        .bind(json_text(registration.network_info.as_ref()))
        .bind(&registration.os)
        .bind(&registration.os_version)
        .bind(&registration.arch)
        .bind(registration.cpu_cores)
        .bind(registration.memory_total_mb)
        .bind(&registration.agent_version)
        .bind(json_text(registration.tags.as_ref()))
        .bind(&registration.group_name)
        .bind(&registration.fallback_ip_address)
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await?;
        Ok((host_from_row(&row)?, !existed))
    }

    async fn record_heartbeat(&self, host_id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE hosts SET status = 'online', last_heartbeat = $2, updated_at = $2 WHERE id = $1",
        )
        .bind(host_id)
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("host"));
        }
        Ok(())
    }

    async fn host(&self, id: i64) -> StoreResult<Option<Host>> {
        let row = sqlx::query(sql!("SELECT {HOST_COLUMNS} FROM hosts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(host_from_row).transpose()
    }

    async fn list_hosts(&self, filter: &HostFilter) -> StoreResult<(Vec<Host>, i64)> {
        const WHERE: &str = "WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR group_name = $2) \
             AND ($3 IS NULL OR instr(lower(hostname), lower($3)) > 0)";
        let status = filter.status.map(HostStatus::as_str);
        let total: i64 = sqlx::query_scalar(sql!("SELECT count(*) FROM hosts {WHERE}"))
            .bind(status)
            .bind(&filter.group_name)
            .bind(&filter.search)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(sql!(
            "SELECT {HOST_COLUMNS} FROM hosts {WHERE} ORDER BY id LIMIT $4 OFFSET $5"
        ))
        .bind(status)
        .bind(&filter.group_name)
        .bind(&filter.search)
        .bind(filter.page.limit())
        .bind(filter.page.offset())
        .fetch_all(&self.pool)
        .await?;
        let hosts = rows.iter().map(host_from_row).collect::<StoreResult<_>>()?;
        Ok((hosts, total))
    }

    async fn delete_host(&self, id: i64) -> StoreResult<()> {
        // IMMEDIATE, as for log batches: the cascade reaches the log search index's triggers.
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let result = sqlx::query("DELETE FROM hosts WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("host"));
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn mark_stale_hosts_offline(&self, cutoff: DateTime<Utc>) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE hosts SET status = 'offline' \
             WHERE status = 'online' AND (last_heartbeat IS NULL OR last_heartbeat < $1) \
             RETURNING id",
        )
        .bind(micros(cutoff))
        .fetch_all(&self.pool)
        .await?)
    }
}

#[async_trait]
impl MetricStore for SqliteStore {
    async fn purge_metrics_before(&self, cutoff: DateTime<Utc>, batch: i64) -> StoreResult<u64> {
        // Each host's newest sample stays, whatever its age: it is what the host list shows for
        // a host that stopped reporting. Oldest first, at most `batch` rows per statement.
        let purged = sqlx::query(
            "DELETE FROM host_metrics WHERE id IN ( \
                SELECT old.id FROM host_metrics old WHERE old.recorded_at < $1 AND EXISTS ( \
                    SELECT 1 FROM host_metrics newer WHERE newer.host_id = old.host_id \
                    AND (newer.recorded_at > old.recorded_at \
                        OR (newer.recorded_at = old.recorded_at AND newer.id > old.id))) \
                ORDER BY old.recorded_at LIMIT $2)",
        )
        .bind(micros(cutoff))
        .bind(batch.max(0))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(purged)
    }

    async fn insert_metrics(
        &self,
        samples: &[MetricSample],
        claims: &[ClaimedRows],
    ) -> StoreResult<Vec<i64>> {
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        // Multi-row statements: every statement is a hop to sqlx's SQLite worker thread, so one
        // per chunk rather than one per sample keeps the batch cheap.
        const PER_ROW: usize = 17;
        const CHUNK: usize = 512;
        let mut transaction = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(samples.len());
        for chunk in samples.chunks(CHUNK) {
            let rows = values_placeholders(chunk.len(), PER_ROW);
            let statement = sql!(
                "INSERT INTO host_metrics (host_id, recorded_at, {METRIC_VALUE_COLUMNS}, extra) VALUES {rows}"
            );
            let mut query = sqlx::query(statement);
            for sample in chunk {
                query = query.bind(sample.host_id).bind(micros(sample.recorded_at));
                for (_, value) in metric_fields(&sample.values) {
                    query = query.bind(value);
                }
                query = query.bind(json_text(sample.extra.as_ref()));
            }
            let result = query.execute(&mut *transaction).await?;
            // One statement under SQLite's single writer with AUTOINCREMENT: its rows got
            // consecutive ids, in VALUES order, ending at the last inserted one.
            let last = result.last_insert_rowid();
            let count = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
            ids.extend((last - count + 1)..=last);
        }
        for claimed in claims {
            let rows = ids.get(claimed.rows.clone()).ok_or_else(|| {
                StoreError::Corrupt(format!("claim rows {:?} out of range", claimed.rows))
            })?;
            let reply = (claimed.claim.reply)(rows);
            complete_claim(&mut transaction, &claimed.claim, &reply).await?;
        }
        transaction.commit().await?;
        Ok(ids)
    }

    async fn latest_metrics(
        &self,
        host_ids: &[i64],
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<i64, LatestMetrics>> {
        let mut latest = HashMap::with_capacity(host_ids.len());
        if host_ids.is_empty() {
            return Ok(latest);
        }
        // json_each turns the id list into a table, so one statement serves any page size; each
        // host is one backward probe of the (host_id, recorded_at) index. The newest sample wins,
        // and among samples with the same time the one stored last.
        let ids = Value::from(host_ids.to_vec()).to_string();
        let columns = METRIC_VALUE_COLUMNS;
        let rows = sqlx::query(sql!(
            "SELECT h.value AS host_id, m.recorded_at, m.extra, {columns} \
             FROM json_each($1) AS h \
             JOIN host_metrics m ON m.id = ( \
                SELECT id FROM host_metrics WHERE host_id = h.value AND recorded_at >= $2 \
                ORDER BY recorded_at DESC, id DESC LIMIT 1)"
        ))
        .bind(ids)
        .bind(micros(since))
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let host_id: i64 = row.try_get("host_id")?;
            latest.insert(
                host_id,
                LatestMetrics {
                    host_id,
                    recorded_at: from_micros(row.try_get("recorded_at")?)?,
                    values: metric_values_from_row(&row)?,
                    extra: json_column(&row, "extra")?,
                },
            );
        }
        Ok(latest)
    }

    async fn metric_series(
        &self,
        host_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        resolution: Resolution,
        aggregate: Aggregate,
        limit: i64,
    ) -> StoreResult<Vec<MetricPoint>> {
        let rows = match resolution.bucket_seconds() {
            None => {
                sqlx::query(sql!(
                    "SELECT * FROM (SELECT id, host_id, recorded_at, {METRIC_VALUE_COLUMNS} \
                     FROM host_metrics WHERE host_id = $1 AND recorded_at >= $2 AND recorded_at <= $3 \
                     ORDER BY recorded_at DESC, id DESC LIMIT $4) ORDER BY recorded_at, id"
                ))
                .bind(host_id)
                .bind(micros(from))
                .bind(micros(to))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            Some(seconds) => {
                let function = match aggregate {
                    Aggregate::Avg => "avg",
                    Aggregate::Max => "max",
                };
                let aggregated = METRIC_VALUE_COLUMNS
                    .split(", ")
                    .map(|column| format!("{function}({}) AS {}", column.trim(), column.trim()))
                    .collect::<Vec<_>>()
                    .join(", ");
                sqlx::query(sql!(
                    "SELECT * FROM (SELECT 0 AS id, host_id, (recorded_at / $4) * $4 AS recorded_at, \
                        {aggregated} \
                     FROM host_metrics WHERE host_id = $1 AND recorded_at >= $2 AND recorded_at <= $3 \
                     GROUP BY recorded_at / $4 ORDER BY 3 DESC LIMIT $5) ORDER BY recorded_at"
                ))
                .bind(host_id)
                .bind(micros(from))
                .bind(micros(to))
                .bind(seconds * 1_000_000)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                Ok(MetricPoint {
                    id: row.try_get("id")?,
                    host_id: row.try_get("host_id")?,
                    recorded_at: from_micros(row.try_get("recorded_at")?)?,
                    values: metric_values_from_row(row)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ServiceStore for SqliteStore {
    async fn register_service(
        &self,
        registration: ServiceRegistration,
        now: DateTime<Utc>,
    ) -> StoreResult<(i64, bool)> {
        let existed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM services WHERE host_id = $1 AND name = $2)",
        )
        .bind(registration.host_id)
        .bind(&registration.name)
        .fetch_one(&self.pool)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO services (host_id, name, type, target, check_interval, timeout, is_active, \
                status, category, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, 'unknown', $7, $8, $8) \
             ON CONFLICT (host_id, name) DO UPDATE SET type = excluded.type, \
                target = excluded.target, check_interval = excluded.check_interval, \
                timeout = excluded.timeout, is_active = 1, updated_at = excluded.updated_at \
             RETURNING id",
        )
        .bind(registration.host_id)
        .bind(&registration.name)
        .bind(&registration.check_type)
        .bind(&registration.target)
        .bind(registration.check_interval)
        .bind(registration.timeout)
        .bind(&registration.category)
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await?;
        Ok((id, !existed))
    }

    async fn service_host(&self, service_id: i64) -> StoreResult<Option<i64>> {
        let host: Option<Option<i64>> =
            sqlx::query_scalar("SELECT host_id FROM services WHERE id = $1")
                .bind(service_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(host.flatten())
    }

    async fn host_services(&self, host_id: i64) -> StoreResult<Vec<Service>> {
        let rows: Vec<(i64, String, String, String, i64, i64, bool)> = sqlx::query_as(
            "SELECT id, name, type, target, check_interval, timeout, is_active \
             FROM services WHERE host_id = $1 ORDER BY id",
        )
        .bind(host_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, check_type, target, check_interval, timeout, is_active)| Service {
                    id,
                    host_id,
                    name,
                    check_type,
                    target,
                    check_interval,
                    timeout,
                    is_active,
                },
            )
            .collect())
    }

    async fn insert_service_check(
        &self,
        check: NewServiceCheck,
        claim: Option<&IdempotencyClaim>,
    ) -> StoreResult<i64> {
        let mut transaction = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO service_checks (service_id, status, response_time_ms, status_code, error, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(check.service_id)
        .bind(&check.status)
        .bind(check.response_time_ms)
        .bind(check.status_code)
        .bind(&check.error)
        .bind(micros(check.checked_at))
        .fetch_one(&mut *transaction)
        .await?;
        sqlx::query(
            "UPDATE services SET status = $2, last_checked_at = $3, updated_at = $3 \
             WHERE id = $1 AND (last_checked_at IS NULL OR last_checked_at <= $3)",
        )
        .bind(check.service_id)
        .bind(&check.status)
        .bind(micros(check.checked_at))
        .execute(&mut *transaction)
        .await?;
        if let Some(claim) = claim {
            complete_claim(&mut transaction, claim, &(claim.reply)(&[id])).await?;
        }
        transaction.commit().await?;
        Ok(id)
    }

    async fn replace_discovered_dependencies(
        &self,
        host_id: i64,
        edges: &[NewDiscoveredDependency],
        observed_at: DateTime<Utc>,
    ) -> StoreResult<Option<usize>> {
        let mut transaction = self.pool.begin().await?;
        let newest: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(observed_at) FROM discovered_dependencies WHERE host_id = $1",
        )
        .bind(host_id)
        .fetch_one(&mut *transaction)
        .await?;
        if newest.is_some_and(|newest| newest > micros(observed_at)) {
            return Ok(None);
        }
        sqlx::query("DELETE FROM discovered_dependencies WHERE host_id = $1")
            .bind(host_id)
            .execute(&mut *transaction)
            .await?;
        let mut stored = 0u64;
        for edge in edges {
            stored += sqlx::query(
                "INSERT INTO discovered_dependencies \
                    (host_id, source_service_id, target_service_id, connections, observed_at) \
                 SELECT $1, source.id, target.id, $4, $5 FROM services source \
                 JOIN services target ON target.host_id = source.host_id AND target.name = $3 \
                 WHERE source.host_id = $1 AND source.name = $2 AND source.id <> target.id \
                 ON CONFLICT (host_id, source_service_id, target_service_id) \
                 DO UPDATE SET connections = excluded.connections",
            )
            .bind(host_id)
            .bind(&edge.from)
            .bind(&edge.to)
            .bind(edge.connections)
            .bind(micros(observed_at))
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        }
        transaction.commit().await?;
        Ok(Some(usize::try_from(stored).unwrap_or(usize::MAX)))
    }

    async fn service_name(&self, service_id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM services WHERE id = $1")
                .bind(service_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn upstream_services(&self, service_id: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT target_service_id FROM service_dependencies WHERE source_service_id = $1 \
             UNION \
             SELECT target_service_id FROM discovered_dependencies WHERE source_service_id = $1 \
             ORDER BY 1",
        )
        .bind(service_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn discovered_dependencies(
        &self,
        host_id: i64,
    ) -> StoreResult<Vec<DiscoveredDependency>> {
        let rows = sqlx::query(
            "SELECT d.source_service_id, source.name AS source_name, d.target_service_id, \
                target.name AS target_name, d.connections, d.observed_at \
             FROM discovered_dependencies d \
             JOIN services source ON source.id = d.source_service_id \
             JOIN services target ON target.id = d.target_service_id \
             WHERE d.host_id = $1 ORDER BY source.name, target.name",
        )
        .bind(host_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DiscoveredDependency {
                    source_service_id: row.try_get("source_service_id")?,
                    source_name: row.try_get("source_name")?,
                    target_service_id: row.try_get("target_service_id")?,
                    target_name: row.try_get("target_name")?,
                    connections: row.try_get("connections")?,
                    observed_at: from_micros(row.try_get("observed_at")?)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl DbMetricStore for SqliteStore {
    async fn list_databases(
        &self,
        host_id: Option<i64>,
    ) -> StoreResult<Vec<(MonitoredDatabase, Option<DbPoint>)>> {
        let rows = sqlx::query(sql!(
            "{DATABASE_WITH_NEWEST} WHERE ($1 IS NULL OR d.host_id = $1) ORDER BY d.id"
        ))
        .bind(host_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(database_with_newest).collect()
    }

    async fn database(&self, id: i64) -> StoreResult<Option<(MonitoredDatabase, Option<DbPoint>)>> {
        let row = sqlx::query(sql!("{DATABASE_WITH_NEWEST} WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(database_with_newest).transpose()
    }

    async fn db_points(
        &self,
        id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<DbPoint>> {
        let rows = sqlx::query(sql!(
            "SELECT * FROM (SELECT {DB_POINT_COLUMNS}, id FROM db_metrics \
                WHERE database_id = $1 AND recorded_at >= $2 AND recorded_at <= $3 \
                ORDER BY recorded_at DESC, id DESC LIMIT $4) newest \
             ORDER BY recorded_at, id"
        ))
        .bind(id)
        .bind(micros(from))
        .bind(micros(to))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(db_point_from_row).collect()
    }

    async fn insert_db_metric(
        &self,
        metric: NewDbMetric,
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
    ) -> StoreResult<(i64, i64)> {
        let mut transaction = self.pool.begin().await?;
        let database_id: i64 = sqlx::query_scalar(
            "INSERT INTO monitored_databases (host_id, name, db_type, status, slow_queries_detail, \
                created_at, updated_at) \
             VALUES ($1, $2, $3, 'healthy', $4, $5, $5) \
             ON CONFLICT (host_id, name) DO UPDATE SET db_type = excluded.db_type, \
                status = 'healthy', updated_at = excluded.updated_at, \
                slow_queries_detail = CASE WHEN $6 THEN excluded.slow_queries_detail \
                    ELSE monitored_databases.slow_queries_detail END \
             RETURNING id",
        )
        .bind(metric.host_id)
        .bind(&metric.db_name)
        .bind(&metric.db_type)
        .bind(json_text(metric.slow_queries_detail.as_ref()))
        .bind(micros(now))
        .bind(metric.slow_queries_detail.is_some())
        .fetch_one(&mut *transaction)
        .await?;
        let metric_id: i64 = sqlx::query_scalar(
            "INSERT INTO db_metrics (database_id, recorded_at, connections_total, connections_active, \
                connections_max, database_size_mb, slow_queries, tables_count, \
                transactions_committed, transactions_rolled_back, qps, tablespace_used_pct, \
                lock_waits, deadlocks, extra) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind(database_id)
        .bind(micros(metric.recorded_at))
        .bind(metric.connections_total)
        .bind(metric.connections_active)
        .bind(metric.connections_max)
        .bind(metric.database_size_mb)
        .bind(metric.slow_queries)
        .bind(metric.tables_count)
        .bind(metric.transactions_committed)
        .bind(metric.transactions_rolled_back)
        .bind(metric.qps)
        .bind(metric.tablespace_used_pct)
        .bind(metric.lock_waits)
        .bind(metric.deadlocks)
        .bind(json_text(metric.extra.as_ref()))
        .fetch_one(&mut *transaction)
        .await?;
        if let Some(claim) = claim {
            let reply = (claim.reply)(&[database_id, metric_id]);
            complete_claim(&mut transaction, claim, &reply).await?;
        }
        transaction.commit().await?;
        Ok((database_id, metric_id))
    }
}

#[async_trait]
impl LogStore for SqliteStore {
    async fn insert_logs(
        &self,
        entries: &[NewLogEntry],
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
    ) -> StoreResult<usize> {
        // Multi-row statements, as for metrics: one hop to sqlx's SQLite worker per chunk
        // rather than per line keeps a 1,000-line batch's write lock short.
        const PER_ROW: usize = 7;
        const CHUNK: usize = 500;
        // IMMEDIATE: the write lock is taken (waiting as the busy timeout allows) before the
        // first statement. A deferred transaction reads the search index's shadow tables
        // (migration 0010's FTS5 triggers) before it writes, and such an upgrade fails at once
        // with SQLITE_BUSY when another connection wrote meanwhile.
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in entries.chunks(CHUNK) {
            let rows = values_placeholders(chunk.len(), PER_ROW);
            let mut query = sqlx::query(sql!(
                "INSERT INTO log_entries (host_id, service, source, level, message, timestamp, \
                    created_at) VALUES {rows}"
            ));
            for entry in chunk {
                query = query
                    .bind(entry.host_id)
                    .bind(&entry.service)
                    .bind(&entry.source)
                    .bind(&entry.level)
                    .bind(&entry.message)
                    .bind(micros(entry.timestamp))
                    .bind(micros(now));
            }
            query.execute(&mut *transaction).await?;
        }
        if let Some(claim) = claim {
            let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
            complete_claim(&mut transaction, claim, &(claim.reply)(&[count])).await?;
        }
        transaction.commit().await?;
        Ok(entries.len())
    }

    async fn recent_logs(&self, host_id: i64, limit: i64) -> StoreResult<Vec<LogEntry>> {
        let rows = sqlx::query(
            "SELECT id, host_id, service, source, level, message, timestamp, created_at \
             FROM log_entries WHERE host_id = $1 ORDER BY timestamp DESC, id DESC LIMIT $2",
        )
        .bind(host_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LogEntry {
                    id: row.try_get("id")?,
                    host_id: row.try_get("host_id")?,
                    service: row.try_get("service")?,
                    source: row.try_get("source")?,
                    level: row.try_get("level")?,
                    message: row.try_get("message")?,
                    timestamp: from_micros(row.try_get("timestamp")?)?,
                    created_at: from_micros(row.try_get("created_at")?)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn insert_audit(&self, entry: NewAuditEntry, now: DateTime<Utc>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_logs (user_id, action, resource_type, resource_id, detail, ip_address, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(entry.user_id)
        .bind(&entry.action)
        .bind(&entry.resource_type)
        .bind(&entry.resource_id)
        .bind(&entry.detail)
        .bind(&entry.ip_address)
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<(Vec<AuditEntry>, i64)> {
        const WHERE: &str = "WHERE ($1 IS NULL OR user_id = $1) \
             AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR resource_type = $3)";
        let total: i64 = sqlx::query_scalar(sql!("SELECT count(*) FROM audit_logs {WHERE}"))
            .bind(filter.user_id)
            .bind(&filter.action)
            .bind(&filter.resource_type)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(sql!(
            "SELECT id, user_id, action, resource_type, resource_id, detail, ip_address, created_at \
             FROM audit_logs {WHERE} ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
        ))
        .bind(filter.user_id)
        .bind(&filter.action)
        .bind(&filter.resource_type)
        .bind(filter.page.limit())
        .bind(filter.page.offset())
        .fetch_all(&self.pool)
        .await?;
        let entries = rows
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                    action: row.try_get("action")?,
                    resource_type: row.try_get("resource_type")?,
                    resource_id: row.try_get("resource_id")?,
                    detail: row.try_get("detail")?,
                    ip_address: row.try_get("ip_address")?,
                    created_at: from_micros(row.try_get("created_at")?)?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok((entries, total))
    }
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn begin_idempotent(
        &self,
        token_id: i64,
        key: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> StoreResult<IdempotencyState> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (token_id, key, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (token_id, key) DO NOTHING",
        )
        .bind(token_id)
        .bind(key)
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyState::Started);
        }
        let row = sqlx::query(
            "SELECT status_code, body, created_at FROM idempotency_keys WHERE token_id = $1 AND key = $2",
        )
        .bind(token_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(IdempotencyState::InProgress);
        };
        let status: Option<i64> = row.try_get("status_code")?;
        if let Some(status) = status {
            let body: Option<String> = row.try_get("body")?;
            return Ok(IdempotencyState::Completed {
                status: u16::try_from(status).unwrap_or(500),
                body: body.unwrap_or_default(),
            });
        }
        let claimed_at: i64 = row.try_get("created_at")?;
        if claimed_at < micros(now - stale_after) {
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET created_at = $3 \
                 WHERE token_id = $1 AND key = $2 AND status_code IS NULL AND created_at = $4",
            )
            .bind(token_id)
            .bind(key)
            .bind(micros(now))
            .bind(claimed_at)
            .execute(&self.pool)
            .await?;
            if taken.rows_affected() == 1 {
                return Ok(IdempotencyState::Started);
            }
        }
        Ok(IdempotencyState::InProgress)
    }

    async fn complete_idempotent(
        &self,
        token_id: i64,
        key: &str,
        status: u16,
        body: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status_code = $3, body = $4 WHERE token_id = $1 AND key = $2",
        )
        .bind(token_id)
        .bind(key)
        .bind(i64::from(status))
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release_idempotent(&self, token_id: i64, key: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2 AND status_code IS NULL",
        )
        .bind(token_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn purge_idempotency(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(micros(cutoff))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn record_hit(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<i64> {
        let start = micros(now - window);
        let mut transaction = self.pool.begin().await?;
        sqlx::query("DELETE FROM throttle_hits WHERE key = $1 AND hit_at <= $2")
            .bind(key)
            .bind(start)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("INSERT INTO throttle_hits (key, hit_at) VALUES ($1, $2)")
            .bind(key)
            .bind(micros(now))
            .execute(&mut *transaction)
            .await?;
        let hits: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM throttle_hits WHERE key = $1 AND hit_at > $2 AND hit_at <= $3",
        )
        .bind(key)
        .bind(start)
        .bind(micros(now))
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(hits)
    }

    async fn clear_hits(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttle_hits WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(micros(now + ttl))
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

const COMMAND_COLUMNS: &str = "request_id, host_id, command, argv_json, timeout_seconds, status, \
     exit_code, stdout, stderr, duration_ms, requested_by, remediation_id, step, connection_id, \
     created_at, sent_at, finished_at, deadline_at";

fn uuid_column(row: &SqliteRow, name: &str) -> StoreResult<Option<uuid::Uuid>> {
    let text: Option<String> = row.try_get(name)?;
    text.map(|text| {
        uuid::Uuid::parse_str(&text)
            .map_err(|error| StoreError::Corrupt(format!("{name} `{text}`: {error}")))
    })
    .transpose()
}

fn command_from_row(row: &SqliteRow) -> StoreResult<AgentCommand> {
    let status: String = row.try_get("status")?;
    let argv: String = row.try_get("argv_json")?;
    Ok(AgentCommand {
        request_id: uuid_column(row, "request_id")?
            .ok_or_else(|| StoreError::Corrupt("request_id is null".to_owned()))?,
        host_id: row.try_get("host_id")?,
        command: row.try_get("command")?,
        argv: serde_json::from_str(&argv)
            .map_err(|error| StoreError::Corrupt(format!("argv_json: {error}")))?,
        timeout_seconds: row.try_get("timeout_seconds")?,
        status: status.parse().map_err(StoreError::Corrupt)?,
        exit_code: row.try_get("exit_code")?,
        stdout: row.try_get("stdout")?,
        stderr: row.try_get("stderr")?,
        duration_ms: row.try_get("duration_ms")?,
        requested_by: row.try_get("requested_by")?,
        remediation_id: row.try_get("remediation_id")?,
        step: row.try_get("step")?,
        connection_id: uuid_column(row, "connection_id")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        sent_at: opt_from_micros(row.try_get("sent_at")?)?,
        finished_at: opt_from_micros(row.try_get("finished_at")?)?,
        deadline_at: from_micros(row.try_get("deadline_at")?)?,
    })
}

fn commands_from_rows(rows: &[SqliteRow]) -> StoreResult<Vec<AgentCommand>> {
    let mut commands = rows
        .iter()
        .map(command_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING gives no order; callers get the oldest first.
    commands.sort_by_key(|command| (command.created_at, command.request_id));
    Ok(commands)
}

#[async_trait]
impl CommandStore for SqliteStore {
    async fn insert_command(
        &self,
        command: NewAgentCommand,
        now: DateTime<Utc>,
    ) -> StoreResult<AgentCommand> {
        let argv = serde_json::to_string(&command.argv)
            .map_err(|error| StoreError::Corrupt(format!("argv: {error}")))?;
        let row = sqlx::query(sql!(
            "INSERT INTO agent_commands (request_id, host_id, command, argv_json, timeout_seconds, \
             status, requested_by, remediation_id, step, created_at, deadline_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10) RETURNING {COMMAND_COLUMNS}"
        ))
        .bind(command.request_id.to_string())
        .bind(command.host_id)
        .bind(&command.command)
        .bind(argv)
        .bind(command.timeout_seconds)
        .bind(command.requested_by)
        .bind(command.remediation_id)
        .bind(command.step)
        .bind(micros(now))
        .bind(micros(command.deadline_at))
        .fetch_one(&self.pool)
        .await?;
        command_from_row(&row)
    }

    async fn command(&self, request_id: uuid::Uuid) -> StoreResult<Option<AgentCommand>> {
        let row = sqlx::query(sql!(
            "SELECT {COMMAND_COLUMNS} FROM agent_commands WHERE request_id = $1"
        ))
        .bind(request_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(command_from_row).transpose()
    }

    async fn host_commands(&self, host_id: i64, limit: i64) -> StoreResult<Vec<AgentCommand>> {
        let rows = sqlx::query(sql!(
            "SELECT {COMMAND_COLUMNS} FROM agent_commands WHERE host_id = $1 \
             ORDER BY created_at DESC, request_id DESC LIMIT $2"
        ))
        .bind(host_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(command_from_row).collect()
    }

    async fn claim_queued_commands(
        &self,
        host_id: i64,
        connection_id: uuid::Uuid,
        now: DateTime<Utc>,
        grace: Duration,
        limit: i64,
        remediation_capable: bool,
    ) -> StoreResult<Vec<AgentCommand>> {
        let rows = sqlx::query(sql!(
            "UPDATE agent_commands SET status = 'sent', connection_id = $2, sent_at = $3, \
             deadline_at = $3 + (timeout_seconds * 1000000) + $4 \
             WHERE request_id IN (SELECT request_id FROM agent_commands \
                 WHERE host_id = $1 AND status = 'queued' AND (remediation_id IS NULL OR $6) \
                 ORDER BY created_at, request_id LIMIT $5) \
             AND status = 'queued' RETURNING {COMMAND_COLUMNS}"
        ))
        .bind(host_id)
        .bind(connection_id.to_string())
        .bind(micros(now))
        .bind(grace.num_microseconds().unwrap_or(i64::MAX / 4))
        .bind(limit)
        .bind(remediation_capable)
        .fetch_all(&self.pool)
        .await?;
        commands_from_rows(&rows)
    }

    async fn append_command_output(
        &self,
        host_id: i64,
        request_id: uuid::Uuid,
        stdout: &str,
        stderr: &str,
        max_chars: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE agent_commands SET status = 'running', \
             stdout = CASE WHEN length(stdout) + length($3) <= $5 THEN stdout || $3 ELSE stdout END, \
             stderr = CASE WHEN length(stderr) + length($4) <= $5 THEN stderr || $4 ELSE stderr END \
             WHERE request_id = $1 AND host_id = $2 AND status IN ('sent', 'running')",
        )
        .bind(request_id.to_string())
        .bind(host_id)
        .bind(stdout)
        .bind(stderr)
        .bind(max_chars)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn finish_command(
        &self,
        host_id: i64,
        request_id: uuid::Uuid,
        outcome: CommandOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE agent_commands SET status = $3, exit_code = $4, \
             stdout = COALESCE($5, stdout), stderr = COALESCE($6, stderr), duration_ms = $7, \
             finished_at = $8 \
             WHERE request_id = $1 AND host_id = $2 AND status IN ('sent', 'running')",
        )
        .bind(request_id.to_string())
        .bind(host_id)
        .bind(outcome.status.as_str())
        .bind(outcome.exit_code)
        .bind(outcome.stdout)
        .bind(outcome.stderr)
        .bind(outcome.duration_ms)
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn mark_connection_commands_lost(
        &self,
        connection_id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<AgentCommand>> {
        let rows = sqlx::query(sql!(
            "UPDATE agent_commands SET status = 'lost', finished_at = $2 \
             WHERE connection_id = $1 AND status IN ('sent', 'running') RETURNING {COMMAND_COLUMNS}"
        ))
        .bind(connection_id.to_string())
        .bind(micros(now))
        .fetch_all(&self.pool)
        .await?;
        commands_from_rows(&rows)
    }

    async fn expire_commands(
        &self,
        now: DateTime<Utc>,
        queued_reason: &str,
        sent_reason: &str,
    ) -> StoreResult<Vec<AgentCommand>> {
        let rows = sqlx::query(sql!(
            "UPDATE agent_commands SET \
             stderr = CASE WHEN status = 'queued' THEN $2 \
                           WHEN stderr = '' THEN $3 ELSE stderr || $4 END, \
             status = 'timed_out', exit_code = -1, finished_at = $1 \
             WHERE status IN ('queued', 'sent', 'running') AND deadline_at < $1 \
             RETURNING {COMMAND_COLUMNS}"
        ))
        .bind(micros(now))
        .bind(queued_reason)
        .bind(sent_reason)
        .bind(format!("\n{sent_reason}"))
        .fetch_all(&self.pool)
        .await?;
        commands_from_rows(&rows)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }
}

/// Completes `claim` with `reply` inside the caller's transaction. `ClaimLost` if another
/// request took the key over meanwhile, so the caller's write rolls back.
async fn complete_claim(
    connection: &mut SqliteConnection,
    claim: &IdempotencyClaim,
    reply: &str,
) -> StoreResult<()> {
    let completed = sqlx::query(
        "UPDATE idempotency_keys SET status_code = $4, body = $5 \
         WHERE token_id = $1 AND key = $2 AND created_at = $3 AND status_code IS NULL",
    )
    .bind(claim.token_id)
    .bind(&claim.key)
    .bind(micros(claim.claimed_at))
    .bind(i64::from(claim.status))
    .bind(reply)
    .execute(connection)
    .await?;
    if completed.rows_affected() != 1 {
        return Err(StoreError::ClaimLost);
    }
    Ok(())
}

#[async_trait]
impl TrendStore for SqliteStore {
    async fn trend_rows(
        &self,
        from: DateTime<Utc>,
        hours: u32,
        rolled_until: Option<DateTime<Utc>>,
    ) -> StoreResult<TrendRows> {
        let (start, end) = (
            micros(from),
            micros(from + Duration::hours(i64::from(hours))),
        );
        let (hourly, five_minute) =
            super::trend_splits(from, from + Duration::hours(i64::from(hours)), rolled_until);
        let metrics = sqlx::query(
            "SELECT bucket, sum(cpu_sum) / NULLIF(sum(cpu_n), 0) AS cpu, \
                sum(mem_sum) / NULLIF(sum(mem_n), 0) AS mem FROM ( \
                SELECT (bucket_start - $1) / 3600000000 AS bucket, cpu_percent_sum AS cpu_sum, \
                    cpu_percent_count AS cpu_n, memory_percent_sum AS mem_sum, \
                    memory_percent_count AS mem_n \
                FROM host_metrics_1h WHERE bucket_start >= $1 AND bucket_start < $3 \
                UNION ALL \
                SELECT (bucket_start - $1) / 3600000000, cpu_percent_sum, cpu_percent_count, \
                    memory_percent_sum, memory_percent_count \
                FROM host_metrics_5m WHERE bucket_start >= $3 AND bucket_start < $4 \
                UNION ALL \
                SELECT (recorded_at - $1) / 3600000000, cpu_percent, \
                    CASE WHEN cpu_percent IS NULL THEN 0 ELSE 1 END, memory_percent, \
                    CASE WHEN memory_percent IS NULL THEN 0 ELSE 1 END \
                FROM host_metrics WHERE recorded_at >= $4 AND recorded_at < $2 \
             ) parts GROUP BY bucket",
        )
        .bind(start)
        .bind(end)
        .bind(micros(hourly))
        .bind(micros(five_minute))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("bucket")?,
                row.try_get("cpu")?,
                row.try_get("mem")?,
            ))
        })
        .collect::<StoreResult<_>>()?;
        let counts = |sql: &'static str| async move {
            sqlx::query(sql)
                .bind(start)
                .bind(end)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("bucket")?, row.try_get("n")?)))
                .collect::<StoreResult<Vec<(i64, i64)>>>()
        };
        Ok(TrendRows {
            metrics,
            alerts: counts(
                "SELECT (fired_at - $1) / 3600000000 AS bucket, count(*) AS n FROM alerts \
                 WHERE fired_at >= $1 AND fired_at < $2 GROUP BY bucket",
            )
            .await?,
            error_logs: counts(
                "SELECT (timestamp - $1) / 3600000000 AS bucket, count(*) AS n FROM log_entries \
                 WHERE timestamp >= $1 AND timestamp < $2 \
                 AND upper(level) IN ('ERROR', 'CRITICAL', 'FATAL') GROUP BY bucket",
            )
            .await?,
        })
    }

    async fn dashboard_counts(&self, since: DateTime<Utc>) -> StoreResult<DashboardCounts> {
        let counts = sqlx::query(
            "SELECT \
                (SELECT count(*) FROM hosts) AS hosts_total, \
                (SELECT count(*) FROM hosts WHERE status = 'online') AS hosts_online, \
                (SELECT count(*) FROM services WHERE is_active = TRUE) AS services_total, \
                (SELECT count(*) FROM services WHERE is_active = TRUE AND lower(status) = 'up') \
                    AS services_up, \
                (SELECT count(*) FROM services \
                    WHERE is_active = TRUE AND lower(status) = 'down') AS services_down, \
                (SELECT count(*) FROM alerts WHERE fired_at >= $1) AS recent_alerts, \
                (SELECT count(*) FROM alerts WHERE status = 'firing') AS alerts_firing, \
                (SELECT count(*) FROM alerts WHERE status = 'firing' AND severity = 'critical') \
                    AS critical_firing, \
                (SELECT count(*) FROM log_entries WHERE timestamp >= $1 \
                    AND upper(level) IN ('ERROR', 'CRITICAL', 'FATAL')) AS recent_error_logs",
        )
        .bind(micros(since))
        .fetch_one(&self.pool)
        .await?;
        // Each host's newest sample since the cut-off: one backward probe of the
        // `(host_id, recorded_at)` index per host, then one aggregate over those rows.
        let usage = sqlx::query(
            "SELECT avg(m.cpu_percent) AS cpu, avg(m.memory_percent) AS mem, \
                avg(m.disk_percent) AS disk, \
                COALESCE(sum(CASE WHEN m.cpu_percent >= 90 OR m.memory_percent >= 90 \
                    OR m.disk_percent >= 90 THEN 1 ELSE 0 END), 0) AS near_limit \
             FROM host_metrics m WHERE m.id IN ( \
                SELECT (SELECT x.id FROM host_metrics x \
                        WHERE x.host_id = h.id AND x.recorded_at >= $1 \
                        ORDER BY x.recorded_at DESC, x.id DESC LIMIT 1) \
                FROM hosts h)",
        )
        .bind(micros(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(DashboardCounts {
            hosts_total: counts.try_get("hosts_total")?,
            hosts_online: counts.try_get("hosts_online")?,
            services_total: counts.try_get("services_total")?,
            services_up: counts.try_get("services_up")?,
            services_down: counts.try_get("services_down")?,
            recent_alerts: counts.try_get("recent_alerts")?,
            alerts_firing: counts.try_get("alerts_firing")?,
            critical_firing: counts.try_get("critical_firing")?,
            recent_error_logs: counts.try_get("recent_error_logs")?,
            avg_cpu: usage.try_get("cpu")?,
            avg_memory: usage.try_get("mem")?,
            avg_disk: usage.try_get("disk")?,
            hosts_near_limit: usage.try_get("near_limit")?,
        })
    }
}

/// The columns of a database sample.
const DB_POINT_COLUMNS: &str = "recorded_at, connections_total, connections_active, connections_max, database_size_mb, slow_queries, tables_count, transactions_committed, transactions_rolled_back, qps, tablespace_used_pct, lock_waits, deadlocks";

fn db_point_from_row(row: &SqliteRow) -> StoreResult<DbPoint> {
    Ok(DbPoint {
        recorded_at: from_micros(row.try_get("recorded_at")?)?,
        connections_total: row.try_get("connections_total")?,
        connections_active: row.try_get("connections_active")?,
        connections_max: row.try_get("connections_max")?,
        database_size_mb: row.try_get("database_size_mb")?,
        slow_queries: row.try_get("slow_queries")?,
        tables_count: row.try_get("tables_count")?,
        transactions_committed: row.try_get("transactions_committed")?,
        transactions_rolled_back: row.try_get("transactions_rolled_back")?,
        qps: row.try_get("qps")?,
        tablespace_used_pct: row.try_get("tablespace_used_pct")?,
        lock_waits: row.try_get("lock_waits")?,
        deadlocks: row.try_get("deadlocks")?,
    })
}

fn database_from_row(row: &SqliteRow) -> StoreResult<MonitoredDatabase> {
    Ok(MonitoredDatabase {
        id: row.try_get("id")?,
        host_id: row.try_get("host_id")?,
        name: row.try_get("name")?,
        db_type: row.try_get("db_type")?,
        status: row.try_get("status")?,
        slow_queries_detail: json_column(row, "slow_queries_detail")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
    })
}

/// A database with its newest sample in one statement: each database is one backward probe
/// of the (database_id, recorded_at) index, not a query of its own.
const DATABASE_WITH_NEWEST: &str = "SELECT d.id, d.host_id, d.name, d.db_type, d.status, \
    d.slow_queries_detail, d.created_at, d.updated_at, m.recorded_at, m.connections_total, \
    m.connections_active, m.connections_max, m.database_size_mb, m.slow_queries, m.tables_count, \
    m.transactions_committed, m.transactions_rolled_back, m.qps, m.tablespace_used_pct, \
    m.lock_waits, m.deadlocks \
    FROM monitored_databases d LEFT JOIN db_metrics m ON m.id = ( \
        SELECT id FROM db_metrics WHERE database_id = d.id \
        ORDER BY recorded_at DESC, id DESC LIMIT 1)";

fn database_with_newest(row: &SqliteRow) -> StoreResult<(MonitoredDatabase, Option<DbPoint>)> {
    let sampled: Option<i64> = row.try_get("recorded_at")?;
    let newest = sampled.map(|_| db_point_from_row(row)).transpose()?;
    Ok((database_from_row(row)?, newest))
}
