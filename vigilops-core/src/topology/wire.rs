//! The REST shapes of `/api/v1/topology`, `/api/v1/servers` and `/api/v1/server-groups`
//! (`rest-api.md` §20), with our additions after the original's fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{GroupMember, NginxUpstream, Server, ServerGroup, ServerSummary};

/// A node of the service graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeView {
    /// The id of the node's first service.
    pub id: i64,
    pub name: String,
    /// The first service's check type.
    #[serde(rename = "type")]
    pub node_type: String,
    pub status: String,
    pub host: Option<String>,
    pub host_id: Option<i64>,
    pub group: String,
    /// **Ours:** the service's category.
    pub category: String,
    /// **Ours:** every service merged into the node (same name on several hosts or ports).
    pub service_ids: Vec<i64>,
}

/// An edge of the service graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EdgeView {
    pub source: i64,
    pub target: i64,
    /// `calls` or `depends_on`.
    #[serde(rename = "type")]
    pub edge_type: String,
    pub description: Option<String>,
    /// The stored dependency's id (stored edges only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `true` for stored dependencies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual: Option<bool>,
    /// **Ours:** `manual` (stored), `observed` (agents saw the connections) or `inferred` (guessed
    /// from the names).
    pub origin: String,
}

/// A host of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopologyHost {
    pub id: i64,
    pub name: String,
}

/// `GET /topology`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopologyView {
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
    pub hosts: Vec<TopologyHost>,
    /// The caller's saved `default` layout: node id → `{x, y}`; `null` when none.
    pub saved_positions: Option<Value>,
    /// Whether stored dependencies exist (then only they are drawn).
    pub has_custom_deps: bool,
    /// **Ours:** where the edges came from: `manual`, `observed` or `inferred`.
    pub edge_origin: String,
}

/// `POST /topology/layout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LayoutRequest {
    /// Node id → `{x, y}`.
    pub positions: Value,
    /// `default` when absent.
    #[serde(default)]
    pub name: Option<String>,
}

/// Reply of `POST /topology/layout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LayoutSaved {
    pub detail: String,
    pub positions: Value,
}

/// A plain `{detail}` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Detail {
    pub detail: String,
}

/// `POST /topology/dependencies`, and one item of `POST /topology/ai-suggest/apply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependencyRequest {
    pub source_service_id: i64,
    pub target_service_id: i64,
    /// `calls` (default) or `depends_on`.
    #[serde(default)]
    pub dependency_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A stored dependency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependencyView {
    pub id: i64,
    pub source_service_id: i64,
    pub target_service_id: i64,
    pub dependency_type: String,
    pub description: Option<String>,
}

/// One suggested dependency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuggestionView {
    /// The source service's name.
    pub source: String,
    /// The target service's name.
    pub target: String,
    /// `calls` or `depends_on`.
    #[serde(rename = "type")]
    pub suggestion_type: String,
    pub description: String,
    /// **Ours:** the ids to send to `/ai-suggest/apply`.
    pub source_service_id: i64,
    pub target_service_id: i64,
}

/// `POST /topology/ai-suggest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuggestionsView {
    pub suggestions: Vec<SuggestionView>,
    pub total: usize,
    pub message: String,
}

/// Reply of `POST /topology/ai-suggest/apply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedView {
    pub detail: String,
    pub created: usize,
}

/// A server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerView {
    pub id: i64,
    pub hostname: String,
    pub ip_address: Option<String>,
    pub label: Option<String>,
    pub tags: Option<Value>,
    /// The linked agent host's status when linked.
    pub status: String,
    pub last_seen: Option<DateTime<Utc>>,
    pub is_simulated: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// **Ours:** the agent host with the same hostname, if any.
    pub host_id: Option<i64>,
}

impl From<Server> for ServerView {
    fn from(server: Server) -> Self {
        Self {
            id: server.id,
            hostname: server.hostname,
            ip_address: server.ip_address,
            label: server.label,
            tags: server.tags,
            status: server.status,
            last_seen: server.last_seen,
            is_simulated: server.is_simulated,
            created_at: server.created_at,
            updated_at: server.updated_at,
            host_id: server.host_id,
        }
    }
}

/// A server with its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerSummaryView {
    #[serde(flatten)]
    pub server: ServerView,
    /// Its memberships in server groups.
    pub service_count: i64,
    pub cpu_avg: Option<f64>,
    pub mem_avg: Option<f64>,
    /// Active alerts of the linked agent host.
    pub alert_count: i64,
}

impl From<ServerSummary> for ServerSummaryView {
    fn from(summary: ServerSummary) -> Self {
        Self {
            server: summary.server.into(),
            service_count: summary.service_count,
            cpu_avg: summary.cpu_avg,
            mem_avg: summary.mem_avg,
            alert_count: summary.alert_count,
        }
    }
}

/// `POST /topology/servers`, `POST /servers`; `PUT /servers/{id}` changes only what is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerRequest {
    pub hostname: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub tags: Option<Value>,
    #[serde(default)]
    pub is_simulated: Option<bool>,
}

/// A server's membership in a group, as a server's detail lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerServiceView {
    pub id: i64,
    pub server_id: i64,
    pub group_id: i64,
    pub group_name: String,
    pub category: Option<String>,
    pub port: Option<i64>,
    pub pid: Option<i64>,
    pub status: String,
    pub cpu_percent: f64,
    pub mem_mb: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<GroupMember> for ServerServiceView {
    fn from(member: GroupMember) -> Self {
        Self {
            id: member.id,
            server_id: member.server_id,
            group_id: member.group_id,
            group_name: member.group_name,
            category: member.category,
            port: member.port,
            pid: member.pid,
            status: member.status,
            cpu_percent: member.cpu_percent,
            mem_mb: member.mem_mb,
            created_at: member.created_at,
            updated_at: member.updated_at,
        }
    }
}

/// An nginx upstream backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpstreamView {
    pub id: i64,
    pub server_id: i64,
    pub upstream_name: String,
    pub backend_address: String,
    pub weight: i64,
    pub status: String,
}

impl From<NginxUpstream> for UpstreamView {
    fn from(upstream: NginxUpstream) -> Self {
        Self {
            id: upstream.id,
            server_id: upstream.server_id,
            upstream_name: upstream.upstream_name,
            backend_address: upstream.backend_address,
            weight: upstream.weight,
            status: upstream.status,
        }
    }
}

/// `GET /topology/servers/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopologyServerDetail {
    pub server: ServerSummaryView,
    pub services: Vec<ServerServiceView>,
    pub upstreams: Vec<UpstreamView>,
}

/// `GET /servers/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerDetail {
    pub server: ServerSummaryView,
    pub services: Vec<ServerServiceView>,
    pub nginx_upstreams: Vec<UpstreamView>,
}

/// A server running a group's service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupServerView {
    pub server_id: i64,
    pub hostname: String,
    pub ip_address: Option<String>,
    pub server_status: String,
    pub port: Option<i64>,
    pub pid: Option<i64>,
    pub service_status: String,
    pub cpu_percent: f64,
    pub mem_mb: f64,
}

impl From<GroupMember> for GroupServerView {
    fn from(member: GroupMember) -> Self {
        Self {
            server_id: member.server_id,
            hostname: member.hostname,
            ip_address: member.ip_address,
            server_status: member.server_status,
            port: member.port,
            pid: member.pid,
            service_status: member.status,
            cpu_percent: member.cpu_percent,
            mem_mb: member.mem_mb,
        }
    }
}

/// A server group with the servers running it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerGroupView {
    pub id: i64,
    pub name: String,
    pub category: Option<String>,
    pub created_at: DateTime<Utc>,
    pub server_count: usize,
    pub servers: Vec<GroupServerView>,
}

impl ServerGroupView {
    /// `group` with its `members`.
    pub fn new(group: ServerGroup, members: Vec<GroupMember>) -> Self {
        Self {
            id: group.id,
            name: group.name,
            category: group.category,
            created_at: group.created_at,
            server_count: members.len(),
            servers: members.into_iter().map(GroupServerView::from).collect(),
        }
    }
}

/// `POST /server-groups`; `PUT /server-groups/{id}` changes only what is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerGroupRequest {
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

/// `POST /server-groups/{id}/servers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMemberRequest {
    pub server_id: i64,
    /// The group of the path when absent; another group is refused (422).
    #[serde(default)]
    pub group_id: Option<i64>,
    #[serde(default)]
    pub port: Option<i64>,
    #[serde(default)]
    pub pid: Option<i64>,
    /// `running` when absent.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    #[serde(default)]
    pub mem_mb: Option<f64>,
}

/// A server-to-server edge of the multi-server view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerEdgeView {
    pub from_server: i64,
    pub to_server: i64,
    /// `nginx_upstream`.
    pub via: String,
    pub upstream: String,
}

/// The counts of the multi-server view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MultiServerSummary {
    pub server_count: usize,
    pub online_count: usize,
    pub offline_count: usize,
    pub service_group_count: i64,
    pub edge_count: usize,
}

/// `GET /topology/multi-server`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MultiServerView {
    pub servers: Vec<ServerSummaryView>,
    pub edges: Vec<ServerEdgeView>,
    pub summary: MultiServerSummary,
}
