//! REST shapes of `/api/v1` read and written by the web client, the CLI and the Python bindings.
//! They follow the original server's JSON so its web client keeps working.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{AgentToken, AuditEntry, Host, LatestMetrics, MetricPoint, MetricValues, User};

/// Every error body: `{"detail": "…"}` (validation errors carry a list instead).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub detail: Value,
}

/// A page of a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

/// `POST /auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `POST /auth/register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRegisterRequest {
    pub email: String,
    pub name: String,
    pub password: String,
}

/// `POST /auth/refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A token pair as returned by register, login and refresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: String,
}

/// A user as `/auth/me` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role.as_str().to_owned(),
            is_active: user.is_active,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// `POST /agent-tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentTokenCreate {
    pub name: String,
}

/// An agent token. `token` (the plaintext) is present only in the create response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentTokenView {
    pub id: i64,
    pub name: String,
    pub token_prefix: String,
    pub is_active: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<AgentToken> for AgentTokenView {
    fn from(token: AgentToken) -> Self {
        Self {
            id: token.id,
            name: token.name,
            token_prefix: token.token_prefix,
            is_active: token.is_active,
            created_by: token.created_by,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            token: None,
        }
    }
}

/// The host metric values; `null` where the agent sent none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricValuesView {
    pub cpu_percent: Option<f64>,
    pub cpu_load_1: Option<f64>,
    pub cpu_load_5: Option<f64>,
    pub cpu_load_15: Option<f64>,
    pub memory_used_mb: Option<f64>,
    pub memory_percent: Option<f64>,
    pub disk_used_mb: Option<f64>,
    pub disk_total_mb: Option<f64>,
    pub disk_percent: Option<f64>,
    pub net_bytes_sent: Option<f64>,
    pub net_bytes_recv: Option<f64>,
    pub net_send_rate_kb: Option<f64>,
    pub net_recv_rate_kb: Option<f64>,
    pub net_packet_loss_rate: Option<f64>,
}

impl From<MetricValues> for MetricValuesView {
    fn from(values: MetricValues) -> Self {
        Self {
            cpu_percent: values.cpu_percent,
            cpu_load_1: values.cpu_load_1,
            cpu_load_5: values.cpu_load_5,
            cpu_load_15: values.cpu_load_15,
            memory_used_mb: values.memory_used_mb,
            memory_percent: values.memory_percent,
            disk_used_mb: values.disk_used_mb,
            disk_total_mb: values.disk_total_mb,
            disk_percent: values.disk_percent,
            net_bytes_sent: values.net_bytes_sent,
            net_bytes_recv: values.net_bytes_recv,
            net_send_rate_kb: values.net_send_rate_kb,
            net_recv_rate_kb: values.net_recv_rate_kb,
            net_packet_loss_rate: values.net_packet_loss_rate,
        }
    }
}

/// One point of a host chart (`id` = 0 for an aggregated bucket, `recorded_at` = bucket start).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricPointView {
    pub id: i64,
    pub host_id: i64,
    #[serde(flatten)]
    pub values: MetricValuesView,
    pub recorded_at: DateTime<Utc>,
}

impl From<MetricPoint> for MetricPointView {
    fn from(point: MetricPoint) -> Self {
        Self {
            id: point.id,
            host_id: point.host_id,
            values: point.values.into(),
            recorded_at: point.recorded_at,
        }
    }
}

/// A host's latest sample: the non-null metric values, extension fields, and `recorded_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestMetricsView {
    /// Metric name → value, for every value the agent sent.
    #[serde(flatten)]
    pub values: serde_json::Map<String, Value>,
    pub recorded_at: DateTime<Utc>,
}

impl From<LatestMetrics> for LatestMetricsView {
    fn from(latest: LatestMetrics) -> Self {
        let mut values = match serde_json::to_value(MetricValuesView::from(latest.values)) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        values.retain(|_, value| !value.is_null());
        if let Some(Value::Object(extra)) = latest.extra {
            for (key, value) in extra {
                values.entry(key).or_insert(value);
            }
        }
        Self {
            values,
            recorded_at: latest.recorded_at,
        }
    }
}

/// A host as the host list and detail show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostView {
    pub id: i64,
    pub hostname: String,
    pub display_name: Option<String>,
    pub ip_address: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub network_info: Option<Value>,
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub arch: Option<String>,
    pub cpu_cores: Option<i64>,
    pub memory_total_mb: Option<i64>,
    pub agent_version: Option<String>,
    /// `online` or `offline`.
    pub status: String,
    pub tags: Option<Value>,
    pub group_name: Option<String>,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `null` after 600 s without data.
    pub latest_metrics: Option<LatestMetricsView>,
}

impl HostView {
    /// The view of `host` with its latest snapshot, if fresh.
    pub fn new(host: Host, latest: Option<LatestMetrics>) -> Self {
        Self {
            id: host.id,
            hostname: host.hostname,
            display_name: host.display_name,
            ip_address: host.ip_address,
            private_ip: host.private_ip,
            public_ip: host.public_ip,
            network_info: host.network_info,
            os: host.os,
            os_version: host.os_version,
            arch: host.arch,
            cpu_cores: host.cpu_cores,
            memory_total_mb: host.memory_total_mb,
            agent_version: host.agent_version,
            status: host.status.as_str().to_owned(),
            tags: host.tags,
            group_name: host.group_name,
            last_heartbeat: host.last_heartbeat,
            created_at: host.created_at,
            updated_at: host.updated_at,
            latest_metrics: latest.map(LatestMetricsView::from),
        }
    }
}

/// One audit-log row.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditLogView {
    pub id: i64,
    pub user_id: Option<i64>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// A JSON document as a string.
    pub detail: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditLogView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            user_id: entry.user_id,
            action: entry.action,
            resource_type: entry.resource_type,
            resource_id: entry.resource_id,
            detail: entry.detail,
            ip_address: entry.ip_address,
            created_at: entry.created_at,
        }
    }
}

/// The component checks of `/health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthChecks {
    pub api: String,
    /// `ok` or `error`.
    pub database: String,
    /// `ok`, `error`, or `disabled` without Redis.
    pub redis: String,
}

/// `GET /health` and `/api/v1/health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthResponse {
    /// `ok` or `degraded`.
    pub status: String,
    pub checks: HealthChecks,
    pub timestamp: DateTime<Utc>,
    /// `sqlite` or `postgres`.
    pub database_backend: String,
    pub version: String,
}

/// Body of `POST /api/v1/hosts/{id}/commands`: a diagnostic command for the host's agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueCommandRequest {
    /// A read-only diagnostic command, split like a shell would but run without one
    /// (`df -h`, `journalctl -u nginx -n 100`). Metacharacters are refused.
    pub command: String,
    /// Seconds, 1–3600 (default 60).
    #[serde(default)]
    pub timeout: Option<i64>,
}

/// A command queued for a host's agent and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentCommandView {
    pub request_id: uuid::Uuid,
    pub host_id: i64,
    pub command: String,
    /// The argument vector the agent runs (no shell).
    pub argv: Vec<String>,
    /// Seconds.
    pub timeout: i32,
    /// `queued`, `sent`, `running`, `succeeded`, `failed`, `rejected`, `timed_out` or `lost`.
    pub status: String,
    pub exit_code: Option<i32>,
    /// At most 64 Ki characters each; longer output is cut with a marker.
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: Option<i64>,
    pub requested_by: Option<i64>,
    pub remediation_id: Option<i64>,
    pub step: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<crate::model::AgentCommand> for AgentCommandView {
    fn from(command: crate::model::AgentCommand) -> Self {
        Self {
            request_id: command.request_id,
            host_id: command.host_id,
            command: command.command,
            argv: command.argv,
            timeout: command.timeout_seconds,
            status: command.status.as_str().to_owned(),
            exit_code: command.exit_code,
            stdout: command.stdout,
            stderr: command.stderr,
            duration_ms: command.duration_ms,
            requested_by: command.requested_by,
            remediation_id: command.remediation_id,
            step: command.step,
            created_at: command.created_at,
            sent_at: command.sent_at,
            finished_at: command.finished_at,
        }
    }
}
