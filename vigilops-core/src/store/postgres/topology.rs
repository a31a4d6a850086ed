//! The PostgreSQL side of the topology: manual dependencies, per-user layouts, servers, server
//! groups and their memberships (tables of migration 0001).
//!
//! `sqlite/topology.rs` holds the same statements; only the value encodings at the top of
//! each file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow as BackendRow;
use sqlx::{AssertSqlSafe, Row};

use super::super::{StoreError, StoreResult, TopologyStore};
use super::PostgresStore as Backend;
use crate::model::{
    DiscoveredDependency, GroupMember, NewGroupMember, NewServer, NewServerGroup,
    NewServiceDependency, NginxUpstream, Page, Server, ServerGroup, ServerSummary,
    ServiceDependency, TopologyServiceRow,
};

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    Ok(row.try_get(column)?)
}

fn get_opt_ts(row: &BackendRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(row.try_get(column)?)
}

/// A JSON value as bound (JSONB).
fn json(value: Option<&Value>) -> Option<&Value> {
    value
}

fn get_json(row: &BackendRow, column: &str) -> StoreResult<Option<Value>> {
    Ok(row.try_get(column)?)
}

// ---- Shared with sqlite/topology.rs from here on -------------------------------------------

const DEPENDENCY_COLUMNS: &str = "id, source_service_id, target_service_id, dependency_type, \
     description, origin, created_at";

/// The agent host a server is linked to: the stored link, else the host with its hostname.
const LINKED_HOST: &str =
    "COALESCE(s.host_id, (SELECT MIN(h2.id) FROM hosts h2 WHERE h2.hostname = s.hostname))";

/// A server with its figures; `WHERE`/`ORDER BY` follow.
fn server_select() -> String {
    format!(
        "SELECT s.id, s.hostname, s.ip_address, s.label, s.tags, s.is_simulated, s.created_at, \
            s.updated_at, h.id AS linked_host_id, COALESCE(h.status, s.status) AS status, \
            COALESCE(h.last_heartbeat, s.last_seen) AS last_seen, \
            (SELECT COUNT(*) FROM server_services m WHERE m.server_id = s.id) AS service_count, \
            (SELECT AVG(m.cpu_percent) FROM server_services m WHERE m.server_id = s.id) AS cpu_avg, \
            (SELECT AVG(m.mem_mb) FROM server_services m WHERE m.server_id = s.id) AS mem_avg, \
            (SELECT COUNT(*) FROM alerts a WHERE a.host_id = h.id AND a.status <> 'resolved') \
                AS alert_count \
         FROM servers s LEFT JOIN hosts h ON h.id = {LINKED_HOST}"
    )
}

/// A membership with both ends; `WHERE`/`ORDER BY` follow.
fn member_select() -> String {
    format!(
        "SELECT m.id, m.server_id, m.group_id, s.hostname, s.ip_address, \
            COALESCE(h.status, s.status) AS server_status, g.name AS group_name, g.category, \
            m.port, m.pid, m.status, m.cpu_percent, m.mem_mb, m.created_at, m.updated_at \
         FROM server_services m JOIN servers s ON s.id = m.server_id \
         JOIN service_groups g ON g.id = m.group_id \
         LEFT JOIN hosts h ON h.id = {LINKED_HOST}"
    )
}

const GROUP_COLUMNS: &str = "id, name, category, created_at";

fn dependency_from_row(row: &BackendRow) -> StoreResult<ServiceDependency> {
    Ok(ServiceDependency {
        id: row.try_get("id")?,
        source_service_id: row.try_get("source_service_id")?,
        target_service_id: row.try_get("target_service_id")?,
        dependency_type: row.try_get("dependency_type")?,
        description: row.try_get("description")?,
        origin: row.try_get("origin")?,
        created_at: get_ts(row, "created_at")?,
    })
}

fn summary_from_row(row: &BackendRow) -> StoreResult<ServerSummary> {
    Ok(ServerSummary {
        server: Server {
            id: row.try_get("id")?,
            hostname: row.try_get("hostname")?,
            ip_address: row.try_get("ip_address")?,
            label: row.try_get("label")?,
            tags: get_json(row, "tags")?,
            status: row.try_get("status")?,
            last_seen: get_opt_ts(row, "last_seen")?,
            is_simulated: row.try_get("is_simulated")?,
            host_id: row.try_get("linked_host_id")?,
            created_at: get_ts(row, "created_at")?,
            updated_at: get_ts(row, "updated_at")?,
        },
        service_count: row.try_get("service_count")?,
        cpu_avg: row.try_get("cpu_avg")?,
        mem_avg: row.try_get("mem_avg")?,
        alert_count: row.try_get("alert_count")?,
    })
}

fn group_from_row(row: &BackendRow) -> StoreResult<ServerGroup> {
    Ok(ServerGroup {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        category: row.try_get("category")?,
        created_at: get_ts(row, "created_at")?,
    })
}

fn member_from_row(row: &BackendRow) -> StoreResult<GroupMember> {
    Ok(GroupMember {
        id: row.try_get("id")?,
        server_id: row.try_get("server_id")?,
        group_id: row.try_get("group_id")?,
        hostname: row.try_get("hostname")?,
        ip_address: row.try_get("ip_address")?,
        server_status: row.try_get("server_status")?,
        group_name: row.try_get("group_name")?,
        category: row.try_get("category")?,
        port: row.try_get("port")?,
        pid: row.try_get("pid")?,
        status: row.try_get("status")?,
        cpu_percent: row.try_get("cpu_percent")?,
        mem_mb: row.try_get("mem_mb")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

/// `(limit, offset)` of a page, or everything.
fn window(page: Option<Page>) -> (i64, i64) {
    page.map_or((i64::MAX, 0), |page| (page.limit(), page.offset()))
}

#[async_trait]
impl TopologyStore for Backend {
    async fn topology_services(&self) -> StoreResult<Vec<TopologyServiceRow>> {
        let rows = sqlx::query(
            "SELECT s.id, s.name, s.type, s.status, s.category, s.host_id, h.hostname \
             FROM services s LEFT JOIN hosts h ON h.id = s.host_id \
             WHERE s.is_active = $1 ORDER BY s.id",
        )
        .bind(true)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TopologyServiceRow {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    check_type: row.try_get("type")?,
                    status: row.try_get("status")?,
                    category: row.try_get("category")?,
                    host_id: row.try_get("host_id")?,
                    hostname: row.try_get("hostname")?,
                })
            })
            .collect()
    }

    async fn service_dependencies(&self) -> StoreResult<Vec<ServiceDependency>> {
        let rows = sqlx::query(sql!(
            "SELECT {DEPENDENCY_COLUMNS} FROM service_dependencies ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(dependency_from_row).collect()
    }

    async fn all_discovered_dependencies(&self) -> StoreResult<Vec<DiscoveredDependency>> {
        let rows = sqlx::query(
            "SELECT d.source_service_id, source.name AS source_name, d.target_service_id, \
                target.name AS target_name, d.connections, d.observed_at \
             FROM discovered_dependencies d \
             JOIN services source ON source.id = d.source_service_id \
             JOIN services target ON target.id = d.target_service_id \
             ORDER BY d.source_service_id, d.target_service_id",
        )
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
                    observed_at: get_ts(row, "observed_at")?,
                })
            })
            .collect()
    }

    async fn create_service_dependency(
        &self,
        dependency: NewServiceDependency,
        now: DateTime<Utc>,
    ) -> StoreResult<ServiceDependency> {
        for service_id in [dependency.source_service_id, dependency.target_service_id] {
            let known: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM services WHERE id = $1)")
                    .bind(service_id)
                    .fetch_one(&self.pool)
                    .await?;
            if !known {
                return Err(StoreError::NotFound("service"));
            }
        }
        let row = sqlx::query(sql!(
            "INSERT INTO service_dependencies (source_service_id, target_service_id, \
                dependency_type, description, origin, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {DEPENDENCY_COLUMNS}"
        ))
        .bind(dependency.source_service_id)
        .bind(dependency.target_service_id)
        .bind(&dependency.dependency_type)
        .bind(&dependency.description)
        .bind(&dependency.origin)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        dependency_from_row(&row)
    }

    async fn delete_service_dependency(&self, id: i64) -> StoreResult<()> {
        let deleted = sqlx::query("DELETE FROM service_dependencies WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound("dependency"));
        }
        Ok(())
    }

    async fn delete_all_service_dependencies(&self) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM service_dependencies")
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn topology_layout(&self, user_id: i64, name: &str) -> StoreResult<Option<Value>> {
        let row =
            sqlx::query("SELECT positions FROM topology_layouts WHERE user_id = $1 AND name = $2")
                .bind(user_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some(row) => get_json(&row, "positions"),
            None => Ok(None),
        }
    }

    async fn save_topology_layout(
        &self,
        user_id: i64,
        name: &str,
        positions: &Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO topology_layouts (user_id, name, positions, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (user_id, name) DO UPDATE SET positions = excluded.positions, \
                updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(name)
        .bind(json(Some(positions)))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_topology_layouts(&self, user_id: i64) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM topology_layouts WHERE user_id = $1")
                .bind(user_id)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn create_server(&self, server: NewServer, now: DateTime<Utc>) -> StoreResult<Server> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO servers (hostname, ip_address, label, tags, is_simulated, host_id, \
                created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, (SELECT MIN(id) FROM hosts WHERE hostname = $1), $6, $6) \
             RETURNING id",
        )
        .bind(&server.hostname)
        .bind(&server.ip_address)
        .bind(&server.label)
        .bind(json(server.tags.as_ref()))
        .bind(server.is_simulated)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        self.server_summary(id)
            .await?
            .map(|summary| summary.server)
            .ok_or(StoreError::NotFound("server"))
    }

    async fn update_server(
        &self,
        id: i64,
        server: NewServer,
        now: DateTime<Utc>,
    ) -> StoreResult<Server> {
        let updated = sqlx::query(
            "UPDATE servers SET hostname = $2, ip_address = $3, label = $4, tags = $5, \
                is_simulated = $6, host_id = (SELECT MIN(id) FROM hosts WHERE hostname = $2), \
                updated_at = $7 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(&server.hostname)
        .bind(&server.ip_address)
        .bind(&server.label)
        .bind(json(server.tags.as_ref()))
        .bind(server.is_simulated)
        .bind(ts(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("server"));
        }
        self.server_summary(id)
            .await?
            .map(|summary| summary.server)
            .ok_or(StoreError::NotFound("server"))
    }

    async fn delete_server(&self, id: i64) -> StoreResult<()> {
        let deleted = sqlx::query("DELETE FROM servers WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound("server"));
        }
        Ok(())
    }

    async fn server_summary(&self, id: i64) -> StoreResult<Option<ServerSummary>> {
        let row = sqlx::query(sql!("{} WHERE s.id = $1", server_select()))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    async fn list_server_summaries(
        &self,
        page: Option<Page>,
    ) -> StoreResult<(Vec<ServerSummary>, i64)> {
        let (limit, offset) = window(page);
        let rows = sqlx::query(sql!("{} ORDER BY s.id LIMIT $1 OFFSET $2", server_select()))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM servers")
            .fetch_one(&self.pool)
            .await?;
        let servers = rows
            .iter()
            .map(summary_from_row)
            .collect::<StoreResult<_>>()?;
        Ok((servers, total))
    }

    async fn nginx_upstreams(&self, server_id: Option<i64>) -> StoreResult<Vec<NginxUpstream>> {
        let rows = sqlx::query(
            "SELECT id, server_id, upstream_name, backend_address, weight, status \
             FROM nginx_upstreams WHERE ($1 IS NULL OR server_id = $1) ORDER BY id",
        )
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(NginxUpstream {
                    id: row.try_get("id")?,
                    server_id: row.try_get("server_id")?,
                    upstream_name: row.try_get("upstream_name")?,
                    backend_address: row.try_get("backend_address")?,
                    weight: row.try_get("weight")?,
                    status: row.try_get("status")?,
                })
            })
            .collect()
    }

    async fn create_server_group(
        &self,
        group: NewServerGroup,
        now: DateTime<Utc>,
    ) -> StoreResult<ServerGroup> {
        let row = sqlx::query(sql!(
            "INSERT INTO service_groups (name, category, created_at) VALUES ($1, $2, $3) \
             RETURNING {GROUP_COLUMNS}"
        ))
        .bind(&group.name)
        .bind(&group.category)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        group_from_row(&row)
    }

    async fn update_server_group(
        &self,
        id: i64,
        group: NewServerGroup,
    ) -> StoreResult<ServerGroup> {
        let row = sqlx::query(sql!(
            "UPDATE service_groups SET name = $2, category = $3 WHERE id = $1 \
             RETURNING {GROUP_COLUMNS}"
        ))
        .bind(id)
        .bind(&group.name)
        .bind(&group.category)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(group_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound("server group"))
    }

    async fn delete_server_group(&self, id: i64) -> StoreResult<()> {
        let deleted = sqlx::query("DELETE FROM service_groups WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound("server group"));
        }
        Ok(())
    }

    async fn server_group(&self, id: i64) -> StoreResult<Option<ServerGroup>> {
        let row = sqlx::query(sql!(
            "SELECT {GROUP_COLUMNS} FROM service_groups WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(group_from_row).transpose()
    }

    async fn list_server_groups(&self, page: Option<Page>) -> StoreResult<(Vec<ServerGroup>, i64)> {
        let (limit, offset) = window(page);
        let rows = sqlx::query(sql!(
            "SELECT {GROUP_COLUMNS} FROM service_groups ORDER BY id LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM service_groups")
            .fetch_one(&self.pool)
            .await?;
        let groups = rows
            .iter()
            .map(group_from_row)
            .collect::<StoreResult<_>>()?;
        Ok((groups, total))
    }

    async fn group_members(
        &self,
        group_id: Option<i64>,
        server_id: Option<i64>,
    ) -> StoreResult<Vec<GroupMember>> {
        let rows = sqlx::query(sql!(
            "{} WHERE ($1 IS NULL OR m.group_id = $1) AND ($2 IS NULL OR m.server_id = $2) \
             ORDER BY m.group_id, m.server_id",
            member_select()
        ))
        .bind(group_id)
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    async fn add_group_member(
        &self,
        member: NewGroupMember,
        now: DateTime<Utc>,
    ) -> StoreResult<GroupMember> {
        let server: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM servers WHERE id = $1)")
                .bind(member.server_id)
                .fetch_one(&self.pool)
                .await?;
        if !server {
            return Err(StoreError::NotFound("server"));
        }
        let group: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM service_groups WHERE id = $1)")
                .bind(member.group_id)
                .fetch_one(&self.pool)
                .await?;
        if !group {
            return Err(StoreError::NotFound("server group"));
        }
        sqlx::query(
            "INSERT INTO server_services (server_id, group_id, port, pid, status, cpu_percent, \
                mem_mb, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(member.server_id)
        .bind(member.group_id)
        .bind(member.port)
        .bind(member.pid)
        .bind(&member.status)
        .bind(member.cpu_percent)
        .bind(member.mem_mb)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        self.group_members(Some(member.group_id), Some(member.server_id))
            .await?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound("server group member"))
    }

    async fn remove_group_member(&self, group_id: i64, server_id: i64) -> StoreResult<()> {
        let deleted =
            sqlx::query("DELETE FROM server_services WHERE group_id = $1 AND server_id = $2")
                .bind(group_id)
                .bind(server_id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound("server group member"));
        }
        Ok(())
    }
}
