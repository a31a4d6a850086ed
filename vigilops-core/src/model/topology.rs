//! Stored forms of the topology (`remediation-and-ai.md` §9, `rest-api.md` §20): the services
//! the graph is drawn from, manual dependencies, per-user layouts, and the hand-kept
//! multi-server tables (servers, server groups, their membership and nginx upstreams).

use chrono::{DateTime, Utc};
use serde_json::Value;

/// An active service as the topology graph sees it: with its category, status and host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyServiceRow {
    pub id: i64,
    pub name: String,
    /// `http` or `tcp`.
    pub check_type: String,
    /// `up`, `down` or `unknown`.
    pub status: String,
    /// `middleware`, `business` or `infrastructure`.
    pub category: String,
    pub host_id: Option<i64>,
    pub hostname: Option<String>,
}

/// A stored (manual or applied AI-suggested) dependency between two services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDependency {
    pub id: i64,
    pub source_service_id: i64,
    pub target_service_id: i64,
    /// `calls` or `depends_on`.
    pub dependency_type: String,
    pub description: Option<String>,
    /// `manual`, or `ai` for an applied suggestion.
    pub origin: String,
    pub created_at: DateTime<Utc>,
}

/// A dependency to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServiceDependency {
    pub source_service_id: i64,
    pub target_service_id: i64,
    pub dependency_type: String,
    pub description: Option<String>,
    pub origin: String,
}

/// A hand-kept server of the multi-server view.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub id: i64,
    pub hostname: String,
    pub ip_address: Option<String>,
    pub label: Option<String>,
    pub tags: Option<Value>,
    /// The linked agent host's status when linked, else the stored one.
    pub status: String,
    /// The linked agent host's last heartbeat when linked, else the stored one.
    pub last_seen: Option<DateTime<Utc>>,
    pub is_simulated: bool,
    /// The agent host with the same hostname (the lowest id when several agents report it).
    pub host_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A server with the figures of the summary views.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSummary {
    pub server: Server,
    /// Memberships in server groups.
    pub service_count: i64,
    /// Mean `cpu_percent` of its memberships.
    pub cpu_avg: Option<f64>,
    /// Mean `mem_mb` of its memberships.
    pub mem_avg: Option<f64>,
    /// Active alerts of the linked agent host.
    pub alert_count: i64,
}

/// A server to create, or the full replacement of one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServer {
    pub hostname: String,
    pub ip_address: Option<String>,
    pub label: Option<String>,
    pub tags: Option<Value>,
    pub is_simulated: bool,
}

/// A server group (`service_groups`: one kind of service run on several servers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerGroup {
    pub id: i64,
    pub name: String,
    pub category: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A server group to create, or the full replacement of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServerGroup {
    pub name: String,
    pub category: Option<String>,
}

/// A server's membership in a group (`server_services`), with both ends' names.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMember {
    pub id: i64,
    pub server_id: i64,
    pub group_id: i64,
    pub hostname: String,
    pub ip_address: Option<String>,
    /// The server's status (see [`Server::status`]).
    pub server_status: String,
    pub group_name: String,
    pub category: Option<String>,
    pub port: Option<i64>,
    pub pid: Option<i64>,
    /// The service's own status on that server (`running`, …).
    pub status: String,
    pub cpu_percent: f64,
    pub mem_mb: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A membership to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGroupMember {
    pub server_id: i64,
    pub group_id: i64,
    pub port: Option<i64>,
    pub pid: Option<i64>,
    pub status: String,
    pub cpu_percent: f64,
    pub mem_mb: f64,
}

/// An nginx upstream backend seen on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxUpstream {
    pub id: i64,
    pub server_id: i64,
    pub upstream_name: String,
    /// `host:port` (or a bare host) of the backend.
    pub backend_address: String,
    pub weight: i64,
    pub status: String,
}
