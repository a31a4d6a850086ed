//! The PostgreSQL backend: for clusters of several server replicas sharing one database.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};
use std::collections::HashMap;
use std::str::FromStr;

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

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A store on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(32)
            .min_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool and applies pending migrations.
    pub async fn from_pool(pool: PgPool) -> StoreResult<Self> {
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The underlying pool, for tests and benchmarks that seed data directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

const USER_COLUMNS: &str =
    "id, email, name, password_hash, role, is_active, created_at, updated_at";

fn user_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<User> {
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
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const TOKEN_COLUMNS: &str =
    "id, name, token_hash, token_prefix, is_active, created_by, created_at, last_used_at";

fn token_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<AgentToken> {
    Ok(AgentToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        token_prefix: row.try_get("token_prefix")?,
        is_active: row.try_get("is_active")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

const HOST_COLUMNS: &str = "id, token_id, hostname, display_name, ip_address, private_ip, public_ip, \
     network_info, os, os_version, arch, cpu_cores, memory_total_mb, agent_version, status, tags, \
     group_name, last_heartbeat, created_at, updated_at";

fn host_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<Host> {
    let status: String = row.try_get("status")?;
    Ok(Host {
        id: row.try_get("id")?,
        token_id: row.try_get("token_id")?,
        hostname: row.try_get("hostname")?,
        display_name: row.try_get("display_name")?,
        ip_address: row.try_get("ip_address")?,
        private_ip: row.try_get("private_ip")?,
        public_ip: row.try_get("public_ip")?,
        network_info: row.try_get("network_info")?,
        os: row.try_get("os")?,
        os_version: row.try_get("os_version")?,
        arch: row.try_get("arch")?,
        cpu_cores: row.try_get("cpu_cores")?,
        memory_total_mb: row.try_get("memory_total_mb")?,
        agent_version: row.try_get("agent_version")?,
        status: HostStatus::parse(&status),
        tags: row.try_get("tags")?,
        group_name: row.try_get("group_name")?,
        last_heartbeat: row.try_get("last_heartbeat")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn metric_values_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<MetricValues> {
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

/// The metric value columns, in [`super::codec::metric_fields`] order.
const METRIC_VALUE_COLUMNS: [&str; 14] = super::codec::METRIC_COLUMNS;

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: NewUser, now: DateTime<Utc>) -> StoreResult<User> {
        let mut transaction = self.pool.begin().await?;
        // Serialises concurrent first registrations so exactly one becomes the admin.
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *transaction)
            .await?;
        let any_user: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
            .fetch_one(&mut *transaction)
            .await?;
        let role = if any_user { user.role } else { Role::Admin };
        let row = sqlx::query(sql!(
            "INSERT INTO users (email, name, password_hash, role, is_active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, TRUE, $5, $5) RETURNING {USER_COLUMNS}"
        ))
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(&mut *transaction)
        .await?;
        let created = user_from_row(&row)?;
        transaction.commit().await?;
        Ok(created)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(sql!(
            "SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)"
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
        let mut transaction = self.pool.begin().await?;
        // Locks the active admins, so two admins demoting each other serialise here and the
        // second sees that only one is left.
        let admins: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR UPDATE",
        )
        .fetch_all(&mut *transaction)
        .await?;
        let Some(current) = sqlx::query(sql!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?
        else {
            return Err(StoreError::NotFound("user"));
        };
        let current = user_from_row(&current)?;
        let stays_admin = update.role.unwrap_or(current.role) == Role::Admin
            && update.is_active.unwrap_or(current.is_active);
        if admins == [id] && !stays_admin {
            return Err(StoreError::Conflict("last active admin".to_owned()));
        }
        let row = sqlx::query(sql!(
            "UPDATE users SET name = COALESCE($2, name), role = COALESCE($3, role), \
                is_active = COALESCE($4, is_active), updated_at = $5 \
             WHERE id = $1 RETURNING {USER_COLUMNS}"
        ))
        .bind(id)
        .bind(update.name)
        .bind(update.role.map(Role::as_str))
        .bind(update.is_active)
        .bind(now)
        .fetch_one(&mut *transaction)
        .await?;
        let updated = user_from_row(&row)?;
        transaction.commit().await?;
        Ok(updated)
    }

    async fn delete_user(&self, id: i64) -> StoreResult<()> {
        let mut transaction = self.pool.begin().await?;
        let admins: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR UPDATE",
        )
        .fetch_all(&mut *transaction)
        .await?;
        if admins == [id] {
            return Err(StoreError::Conflict("last active admin".to_owned()));
        }
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound("user"));
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn set_password_hash(&self, id: i64, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let updated =
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(hash)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }
}

#[async_trait]
impl AgentTokenStore for PostgresStore {
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
             VALUES ($1, $2, $3, TRUE, $4, $5) RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(name)
        .bind(token_hash)
        .bind(token_prefix)
        .bind(created_by)
        .bind(now)
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
        let result = sqlx::query("UPDATE agent_tokens SET is_active = FALSE WHERE id = $1")
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
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl HostStore for PostgresStore {
    async fn register_host(
        &self,
        token_id: i64,
        registration: HostRegistration,
        now: DateTime<Utc>,
    ) -> StoreResult<(Host, bool)> {
        // `xmax = 0` is true only for a freshly inserted row, which tells created from updated
        // in the same statement.
        let row = sqlx::query(sql!(
            "INSERT INTO hosts (token_id, hostname, display_name, ip_address, private_ip, public_ip, \
                network_info, os, os_version, arch, cpu_cores, memory_total_mb, agent_version, \
                status, tags, group_name, last_heartbeat, created_at, updated_at) \
             VALUES ($1, $2, $3, COALESCE($4, $16), $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                'online', $14, $15, $17, $17, $17) \
             ON CONFLICT (token_id, hostname) DO UPDATE SET \
                display_name = COALESCE(EXCLUDED.display_name, hosts.display_name), \
                ip_address = COALESCE($4, hosts.ip_address, $16), \
                private_ip = COALESCE(EXCLUDED.private_ip, hosts.private_ip), \
                public_ip = COALESCE(EXCLUDED.public_ip, hosts.public_ip), \
                network_info = COALESCE(EXCLUDED.network_info, hosts.network_info), \
                os = COALESCE(EXCLUDED.os, hosts.os), \
                os_version = COALESCE(EXCLUDED.os_version, hosts.os_version), \
                arch = COALESCE(EXCLUDED.arch, hosts.arch), \
                cpu_cores = COALESCE(EXCLUDED.cpu_cores, hosts.cpu_cores), \
                memory_total_mb = COALESCE(EXCLUDED.memory_total_mb, hosts.memory_total_mb), \
                agent_version = COALESCE(EXCLUDED.agent_version, hosts.agent_version), \
                tags = COALESCE(EXCLUDED.tags, hosts.tags), \
                group_name = COALESCE(EXCLUDED.group_name, hosts.group_name), \
                status = 'online', last_heartbeat = $17, updated_at = $17 \
             RETURNING {HOST_COLUMNS}, (xmax = 0) AS created"
        ))
        .bind(token_id)
        .bind(&registration.hostname)
        .bind(&registration.display_name)
        .bind(&registration.ip_address)
        .bind(&registration.private_ip)
        .bind(&registration.public_ip)
        .bind(&registration.network_info)
        .bind(&registration.os)
        .bind(&registration.os_version)
        .bind(&registration.arch)
        .bind(registration.cpu_cores)
        .bind(registration.memory_total_mb)
        .bind(&registration.agent_version)
        .bind(&registration.tags)
        .bind(&registration.group_name)
        .bind(&registration.fallback_ip_address)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let created: bool = row.try_get("created")?;
        Ok((host_from_row(&row)?, created))
    }

    async fn record_heartbeat(&self, host_id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE hosts SET status = 'online', last_heartbeat = $2, updated_at = $2 WHERE id = $1",
        )
        .bind(host_id)
        .bind(now)
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
        const WHERE: &str = "WHERE ($1::text IS NULL OR status = $1) \
             AND ($2::text IS NULL OR group_name = $2) \
             AND ($3::text IS NULL OR strpos(lower(hostname), lower($3)) > 0)";
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
        let mut transaction = self.pool.begin().await?;
        let result = sqlx::query("DELETE FROM hosts WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound("host"));
        }
        // host_metrics has no foreign key (it would lock the host row for every sample).
        sqlx::query("DELETE FROM host_metrics WHERE host_id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn mark_stale_hosts_offline(&self, cutoff: DateTime<Utc>) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE hosts SET status = 'offline' \
             WHERE status = 'online' AND (last_heartbeat IS NULL OR last_heartbeat < $1) \
             RETURNING id",
        )
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[async_trait]
impl MetricStore for PostgresStore {
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
        .bind(cutoff)
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
        let host_ids: Vec<i64> = samples.iter().map(|sample| sample.host_id).collect();
        let times: Vec<DateTime<Utc>> = samples.iter().map(|sample| sample.recorded_at).collect();
        let extras: Vec<Option<String>> = samples
            .iter()
            .map(|sample| sample.extra.as_ref().map(Value::to_string))
            .collect();
        let mut columns: Vec<Vec<Option<f64>>> =
            (0..14).map(|_| Vec::with_capacity(samples.len())).collect();
        for sample in samples {
            for (column, (_, value)) in columns
                .iter_mut()
                .zip(super::codec::metric_fields(&sample.values))
            {
                column.push(value);
            }
        }
        let aliases = (0..14)
            .map(|index| format!("v{index}"))
            .collect::<Vec<_>>()
            .join(", ");
        let value_params = (0..14)
            .map(|index| format!("${}::float8[]", index + 3))
            .collect::<Vec<_>>()
            .join(", ");
        // One statement, so one round trip and one implicit transaction per batch: number the
        // input, insert the samples, and return the ids in input order. There is no separate
        // "latest" table to keep up to date: the newest sample of a host is one probe of the
        // (host_id, recorded_at) index (see `latest_metrics`), which halves the write cost.
        let statement = sql!(
            "WITH input AS ( \
                SELECT nextval('host_metrics_id_seq') AS id, u.* \
                FROM UNNEST($1::int8[], $2::timestamptz[], {value_params}, $17::text[]) \
                    WITH ORDINALITY AS u(h, t, {aliases}, e, ord) \
             ), inserted AS ( \
                INSERT INTO host_metrics (id, host_id, recorded_at, {columns}, extra) \
                SELECT id, h, t, {aliases}, e::jsonb FROM input \
             ) \
             SELECT id FROM input ORDER BY ord",
            columns = METRIC_VALUE_COLUMNS.join(", "),
        );
        let mut query = sqlx::query_scalar::<_, i64>(statement)
            .bind(&host_ids)
            .bind(&times);
        for column in &columns {
            query = query.bind(column);
        }
        let query = query.bind(&extras);
        if claims.is_empty() {
            let ids = query.fetch_all(&self.pool).await?;
            return checked_ids(ids, samples.len());
        }
        let mut transaction = self.pool.begin().await?;
        let ids = checked_ids(query.fetch_all(&mut *transaction).await?, samples.len())?;
        let completions = claims
            .iter()
            .map(|claimed| {
                let rows = ids.get(claimed.rows.clone()).ok_or_else(|| {
                    StoreError::Corrupt(format!("claim rows {:?} out of range", claimed.rows))
                })?;
                Ok((&claimed.claim, (claimed.claim.reply)(rows)))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        complete_claims(&mut transaction, &completions).await?;
        transaction.commit().await?;
        Ok(ids)
    }

    async fn latest_metrics(
        &self,
        host_ids: &[i64],
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<i64, LatestMetrics>> {
        let columns = METRIC_VALUE_COLUMNS.join(", ");
        // One backward probe of the (host_id, recorded_at) index per host; the newest sample
        // wins, and among samples with the same time the one stored last.
        let rows = sqlx::query(sql!(
            "SELECT h.id AS host_id, m.recorded_at, m.extra, {columns} \
             FROM UNNEST($1::int8[]) AS h(id) \
             CROSS JOIN LATERAL ( \
                SELECT * FROM host_metrics WHERE host_id = h.id AND recorded_at >= $2 \
                ORDER BY recorded_at DESC, id DESC LIMIT 1 \
             ) m"
        ))
        .bind(host_ids)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut latest = HashMap::with_capacity(rows.len());
        for row in rows {
            let host_id: i64 = row.try_get("host_id")?;
            latest.insert(
                host_id,
                LatestMetrics {
                    host_id,
                    recorded_at: row.try_get("recorded_at")?,
                    values: metric_values_from_row(&row)?,
                    extra: row.try_get("extra")?,
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
        let columns = METRIC_VALUE_COLUMNS.join(", ");
        let rows = match resolution.bucket_seconds() {
            None => {
                sqlx::query(sql!(
                    "SELECT * FROM (SELECT id, host_id, recorded_at, {columns} FROM host_metrics \
                     WHERE host_id = $1 AND recorded_at >= $2 AND recorded_at <= $3 \
                     ORDER BY recorded_at DESC, id DESC LIMIT $4) newest \
                     ORDER BY recorded_at, id"
                ))
                .bind(host_id)
                .bind(from)
                .bind(to)
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
                    .iter()
                    .map(|column| format!("{function}({column}) AS {column}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                sqlx::query(sql!(
                    "SELECT * FROM (SELECT 0::int8 AS id, $1::int8 AS host_id, \
                        to_timestamp(floor(extract(epoch FROM recorded_at) / $4) * $4) AS recorded_at, \
                        {aggregated} \
                     FROM host_metrics WHERE host_id = $1 AND recorded_at >= $2 AND recorded_at <= $3 \
                     GROUP BY 3 ORDER BY 3 DESC LIMIT $5) newest ORDER BY recorded_at"
                ))
                .bind(host_id)
                .bind(from)
                .bind(to)
                .bind(seconds as f64)
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
                    recorded_at: row.try_get("recorded_at")?,
                    values: metric_values_from_row(row)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ServiceStore for PostgresStore {
    async fn register_service(
        &self,
        registration: ServiceRegistration,
        now: DateTime<Utc>,
    ) -> StoreResult<(i64, bool)> {
        let row = sqlx::query(
            "INSERT INTO services (host_id, name, type, target, check_interval, timeout, is_active, \
                status, category, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, TRUE, 'unknown', $7, $8, $8) \
             ON CONFLICT (host_id, name) DO UPDATE SET type = EXCLUDED.type, \
                target = EXCLUDED.target, check_interval = EXCLUDED.check_interval, \
                timeout = EXCLUDED.timeout, is_active = TRUE, updated_at = EXCLUDED.updated_at \
             RETURNING id, (xmax = 0) AS created",
        )
        .bind(registration.host_id)
        .bind(&registration.name)
        .bind(&registration.check_type)
        .bind(&registration.target)
        .bind(registration.check_interval)
        .bind(registration.timeout)
        .bind(&registration.category)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("id")?, row.try_get("created")?))
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
        .bind(check.checked_at)
        .fetch_one(&mut *transaction)
        .await?;
        sqlx::query(
            "UPDATE services SET status = $2, last_checked_at = $3, updated_at = $3 \
             WHERE id = $1 AND (last_checked_at IS NULL OR last_checked_at <= $3)",
        )
        .bind(check.service_id)
        .bind(&check.status)
        .bind(check.checked_at)
        .execute(&mut *transaction)
        .await?;
        if let Some(claim) = claim {
            complete_claims(&mut transaction, &[(claim, (claim.reply)(&[id]))]).await?;
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
        // Serialises concurrent reports of one host, so two sets never interleave.
        sqlx::query("SELECT id FROM hosts WHERE id = $1 FOR UPDATE")
            .bind(host_id)
            .fetch_optional(&mut *transaction)
            .await?;
        let newest: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT MAX(observed_at) FROM discovered_dependencies WHERE host_id = $1",
        )
        .bind(host_id)
        .fetch_one(&mut *transaction)
        .await?;
        if newest.is_some_and(|newest| newest > observed_at) {
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
            .bind(observed_at)
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
                    observed_at: row.try_get("observed_at")?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl DbMetricStore for PostgresStore {
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
        .bind(from)
        .bind(to)
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
             ON CONFLICT (host_id, name) DO UPDATE SET db_type = EXCLUDED.db_type, \
                status = 'healthy', updated_at = EXCLUDED.updated_at, \
                slow_queries_detail = CASE WHEN $6 THEN EXCLUDED.slow_queries_detail \
                    ELSE monitored_databases.slow_queries_detail END \
             RETURNING id",
        )
        .bind(metric.host_id)
        .bind(&metric.db_name)
        .bind(&metric.db_type)
        .bind(&metric.slow_queries_detail)
        .bind(now)
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
        .bind(metric.recorded_at)
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
        .bind(&metric.extra)
        .fetch_one(&mut *transaction)
        .await?;
        if let Some(claim) = claim {
            let reply = (claim.reply)(&[database_id, metric_id]);
            complete_claims(&mut transaction, &[(claim, reply)]).await?;
        }
        transaction.commit().await?;
        Ok((database_id, metric_id))
    }
}

#[async_trait]
impl LogStore for PostgresStore {
    async fn insert_logs(
        &self,
        entries: &[NewLogEntry],
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
    ) -> StoreResult<usize> {
        if entries.is_empty() && claim.is_none() {
            return Ok(0);
        }
        let hosts: Vec<i64> = entries.iter().map(|entry| entry.host_id).collect();
        let services: Vec<Option<String>> =
            entries.iter().map(|entry| entry.service.clone()).collect();
        let sources: Vec<Option<String>> =
            entries.iter().map(|entry| entry.source.clone()).collect();
        let levels: Vec<Option<String>> = entries.iter().map(|entry| entry.level.clone()).collect();
        let messages: Vec<String> = entries.iter().map(|entry| entry.message.clone()).collect();
        let times: Vec<DateTime<Utc>> = entries.iter().map(|entry| entry.timestamp).collect();
        let query = sqlx::query(
            "INSERT INTO log_entries (host_id, service, source, level, message, timestamp, created_at) \
             SELECT h, s, src, l, m, t, $7 FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], \
                $5::text[], $6::timestamptz[]) AS u(h, s, src, l, m, t)",
        )
        .bind(&hosts)
        .bind(&services)
        .bind(&sources)
        .bind(&levels)
        .bind(&messages)
        .bind(&times)
        .bind(now);
        let Some(claim) = claim else {
            let result = query.execute(&self.pool).await?;
            return Ok(usize::try_from(result.rows_affected()).unwrap_or(usize::MAX));
        };
        let mut transaction = self.pool.begin().await?;
        let stored = query.execute(&mut *transaction).await?.rows_affected();
        let reply = (claim.reply)(&[i64::try_from(stored).unwrap_or(i64::MAX)]);
        complete_claims(&mut transaction, &[(claim, reply)]).await?;
        transaction.commit().await?;
        Ok(usize::try_from(stored).unwrap_or(usize::MAX))
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
                    timestamp: row.try_get("timestamp")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
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
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<(Vec<AuditEntry>, i64)> {
        const WHERE: &str = "WHERE ($1::int8 IS NULL OR user_id = $1) \
             AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR resource_type = $3)";
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
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok((entries, total))
    }
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
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
        .bind(now)
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
            // Released between our insert and select: let the caller retry as a new request.
            return Ok(IdempotencyState::InProgress);
        };
        let status: Option<i32> = row.try_get("status_code")?;
        if let Some(status) = status {
            let body: Option<String> = row.try_get("body")?;
            return Ok(IdempotencyState::Completed {
                status: u16::try_from(status).unwrap_or(500),
                body: body.unwrap_or_default(),
            });
        }
        let claimed_at: DateTime<Utc> = row.try_get("created_at")?;
        if claimed_at < now - stale_after {
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET created_at = $3 \
                 WHERE token_id = $1 AND key = $2 AND status_code IS NULL AND created_at = $4",
            )
            .bind(token_id)
            .bind(key)
            .bind(now)
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
        .bind(i32::from(status))
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
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}

#[async_trait]
impl ThrottleStore for PostgresStore {
    async fn record_hit(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<i64> {
        let start = now - window;
        let mut transaction = self.pool.begin().await?;
        sqlx::query("DELETE FROM throttle_hits WHERE key = $1 AND hit_at <= $2")
            .bind(key)
            .bind(start)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("INSERT INTO throttle_hits (key, hit_at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        let hits: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM throttle_hits WHERE key = $1 AND hit_at > $2 AND hit_at <= $3",
        )
        .bind(key)
        .bind(start)
        .bind(now)
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
impl LeaseStore for PostgresStore {
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
             WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now + ttl)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

const COMMAND_COLUMNS: &str = "request_id, host_id, command, argv_json, timeout_seconds, status, \
     exit_code, stdout, stderr, duration_ms, requested_by, remediation_id, step, connection_id, \
     created_at, sent_at, finished_at, deadline_at";

/// [`COMMAND_COLUMNS`] qualified with the alias `c`, for statements that join.
const COMMAND_COLUMNS_C: &str = "c.request_id, c.host_id, c.command, c.argv_json, \
     c.timeout_seconds, c.status, c.exit_code, c.stdout, c.stderr, c.duration_ms, c.requested_by, \
     c.remediation_id, c.step, c.connection_id, c.created_at, c.sent_at, c.finished_at, c.deadline_at";

fn command_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<AgentCommand> {
    let status: String = row.try_get("status")?;
    let argv: Value = row.try_get("argv_json")?;
    Ok(AgentCommand {
        request_id: row.try_get("request_id")?,
        host_id: row.try_get("host_id")?,
        command: row.try_get("command")?,
        argv: serde_json::from_value(argv)
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
        connection_id: row.try_get("connection_id")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        finished_at: row.try_get("finished_at")?,
        deadline_at: row.try_get("deadline_at")?,
    })
}

fn commands_from_rows(rows: &[sqlx::postgres::PgRow]) -> StoreResult<Vec<AgentCommand>> {
    let mut commands = rows
        .iter()
        .map(command_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING gives no order; callers get the oldest first.
    commands.sort_by_key(|command| (command.created_at, command.request_id));
    Ok(commands)
}

#[async_trait]
impl CommandStore for PostgresStore {
    async fn insert_command(
        &self,
        command: NewAgentCommand,
        now: DateTime<Utc>,
    ) -> StoreResult<AgentCommand> {
        let row = sqlx::query(sql!(
            "INSERT INTO agent_commands (request_id, host_id, command, argv_json, timeout_seconds, \
             status, requested_by, remediation_id, step, created_at, deadline_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10) RETURNING {COMMAND_COLUMNS}"
        ))
        .bind(command.request_id)
        .bind(command.host_id)
        .bind(&command.command)
        .bind(Value::from(command.argv.clone()))
        .bind(command.timeout_seconds)
        .bind(command.requested_by)
        .bind(command.remediation_id)
        .bind(command.step)
        .bind(now)
        .bind(command.deadline_at)
        .fetch_one(&self.pool)
        .await?;
        command_from_row(&row)
    }

    async fn command(&self, request_id: uuid::Uuid) -> StoreResult<Option<AgentCommand>> {
        let row = sqlx::query(sql!(
            "SELECT {COMMAND_COLUMNS} FROM agent_commands WHERE request_id = $1"
        ))
        .bind(request_id)
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
        // SKIP LOCKED: two replicas racing for one host each take different rows, never the same.
        let rows = sqlx::query(sql!(
            "WITH picked AS (SELECT request_id FROM agent_commands \
                 WHERE host_id = $1 AND status = 'queued' AND (remediation_id IS NULL OR $6) \
                 ORDER BY created_at, request_id \
                 LIMIT $5 FOR UPDATE SKIP LOCKED) \
             UPDATE agent_commands AS c SET status = 'sent', connection_id = $2, sent_at = $3, \
             deadline_at = $3 + make_interval(secs => c.timeout_seconds + $4) \
             FROM picked WHERE c.request_id = picked.request_id \
             RETURNING {COMMAND_COLUMNS_C}"
        ))
        .bind(host_id)
        .bind(connection_id)
        .bind(now)
        .bind(grace.num_milliseconds() as f64 / 1000.0)
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
        .bind(request_id)
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
        .bind(request_id)
        .bind(host_id)
        .bind(outcome.status.as_str())
        .bind(outcome.exit_code)
        .bind(outcome.stdout)
        .bind(outcome.stderr)
        .bind(outcome.duration_ms)
        .bind(now)
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
        .bind(connection_id)
        .bind(now)
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
        .bind(now)
        .bind(queued_reason)
        .bind(sent_reason)
        .bind(format!("\n{sent_reason}"))
        .fetch_all(&self.pool)
        .await?;
        commands_from_rows(&rows)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }
}

/// `ids` if there is one per sample.
fn checked_ids(ids: Vec<i64>, samples: usize) -> StoreResult<Vec<i64>> {
    if ids.len() != samples {
        return Err(StoreError::Corrupt(format!(
            "inserted {} metric rows for {samples} samples",
            ids.len()
        )));
    }
    Ok(ids)
}

/// Completes `claims` (each with its rendered reply) inside the caller's transaction, in one
/// statement. `ClaimLost` if any was taken over meanwhile, so the caller's write rolls back.
async fn complete_claims(
    connection: &mut PgConnection,
    claims: &[(&IdempotencyClaim, String)],
) -> StoreResult<()> {
    if claims.is_empty() {
        return Ok(());
    }
    let tokens: Vec<i64> = claims.iter().map(|(claim, _)| claim.token_id).collect();
    let keys: Vec<&str> = claims.iter().map(|(claim, _)| claim.key.as_str()).collect();
    let claimed: Vec<DateTime<Utc>> = claims.iter().map(|(claim, _)| claim.claimed_at).collect();
    let statuses: Vec<i32> = claims
        .iter()
        .map(|(claim, _)| i32::from(claim.status))
        .collect();
    let bodies: Vec<&str> = claims.iter().map(|(_, body)| body.as_str()).collect();
    let completed = sqlx::query(
        "UPDATE idempotency_keys AS k SET status_code = u.status, body = u.body \
         FROM UNNEST($1::int8[], $2::text[], $3::timestamptz[], $4::int4[], $5::text[]) \
            AS u(token, idem_key, claimed, status, body) \
         WHERE k.token_id = u.token AND k.key = u.idem_key AND k.created_at = u.claimed \
            AND k.status_code IS NULL",
    )
    .bind(&tokens)
    .bind(&keys)
    .bind(&claimed)
    .bind(&statuses)
    .bind(&bodies)
    .execute(connection)
    .await?;
    if completed.rows_affected() != claims.len() as u64 {
        return Err(StoreError::ClaimLost);
    }
    Ok(())
}

#[async_trait]
impl TrendStore for PostgresStore {
    async fn trend_rows(
        &self,
        from: DateTime<Utc>,
        hours: u32,
        rolled_until: Option<DateTime<Utc>>,
    ) -> StoreResult<TrendRows> {
        let (start, end) = (from, from + Duration::hours(i64::from(hours)));
        let (hourly, five_minute) = super::trend_splits(start, end, rolled_until);
        let metrics = sqlx::query(
            "SELECT floor(extract(epoch FROM t - $1) / 3600)::bigint AS bucket, \
                (sum(cpu_sum) / NULLIF(sum(cpu_n), 0))::float8 AS cpu, \
                (sum(mem_sum) / NULLIF(sum(mem_n), 0))::float8 AS mem FROM ( \
                SELECT bucket_start AS t, cpu_percent_sum AS cpu_sum, \
                    cpu_percent_count::bigint AS cpu_n, memory_percent_sum AS mem_sum, \
                    memory_percent_count::bigint AS mem_n \
                FROM host_metrics_1h WHERE bucket_start >= $1 AND bucket_start < $3 \
                UNION ALL \
                SELECT bucket_start, cpu_percent_sum, cpu_percent_count::bigint, \
                    memory_percent_sum, memory_percent_count::bigint \
                FROM host_metrics_5m WHERE bucket_start >= $3 AND bucket_start < $4 \
                UNION ALL \
                SELECT recorded_at, cpu_percent, (cpu_percent IS NOT NULL)::int::bigint, \
                    memory_percent, (memory_percent IS NOT NULL)::int::bigint \
                FROM host_metrics WHERE recorded_at >= $4 AND recorded_at < $2 \
             ) parts GROUP BY bucket",
        )
        .bind(start)
        .bind(end)
        .bind(hourly)
        .bind(five_minute)
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
                "SELECT floor(extract(epoch FROM fired_at - $1) / 3600)::bigint AS bucket, \
                    count(*) AS n FROM alerts \
                 WHERE fired_at >= $1 AND fired_at < $2 GROUP BY bucket",
            )
            .await?,
            error_logs: counts(
                "SELECT floor(extract(epoch FROM timestamp - $1) / 3600)::bigint AS bucket, \
                    count(*) AS n FROM log_entries \
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
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        // Each host's newest sample since the cut-off: one backward probe of the
        // `(host_id, recorded_at)` index per host (LATERAL: with `id IN (…)` PostgreSQL
        // hash-joined the ids against a scan of the whole table), then one aggregate.
        let usage = sqlx::query(
            "SELECT avg(m.cpu_percent) AS cpu, avg(m.memory_percent) AS mem, \
                avg(m.disk_percent) AS disk, \
                COALESCE(sum(CASE WHEN m.cpu_percent >= 90 OR m.memory_percent >= 90 \
                    OR m.disk_percent >= 90 THEN 1 ELSE 0 END), 0) AS near_limit \
             FROM hosts h CROSS JOIN LATERAL ( \
                SELECT x.cpu_percent, x.memory_percent, x.disk_percent FROM host_metrics x \
                WHERE x.host_id = h.id AND x.recorded_at >= $1 \
                ORDER BY x.recorded_at DESC, x.id DESC LIMIT 1) m",
        )
        .bind(since)
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

fn db_point_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<DbPoint> {
    Ok(DbPoint {
        recorded_at: row.try_get("recorded_at")?,
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

fn database_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<MonitoredDatabase> {
    Ok(MonitoredDatabase {
        id: row.try_get("id")?,
        host_id: row.try_get("host_id")?,
        name: row.try_get("name")?,
        db_type: row.try_get("db_type")?,
        status: row.try_get("status")?,
        slow_queries_detail: row.try_get("slow_queries_detail")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
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

fn database_with_newest(
    row: &sqlx::postgres::PgRow,
) -> StoreResult<(MonitoredDatabase, Option<DbPoint>)> {
    let sampled: Option<DateTime<Utc>> = row.try_get("recorded_at")?;
    let newest = sampled.map(|_| db_point_from_row(row)).transpose()?;
    Ok((database_from_row(row)?, newest))
}
