//! The agent → server protocol (`/api/v1/agent/*`), as the original agents 0.1.x/0.2.x speak it
//! and as our agent speaks it with its documented extensions. Unknown keys are ignored everywhere;
//! `null` means absent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient;

/// `POST /api/v1/agent/register`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// Host identity within the token.
    pub hostname: String,
    /// May be `""`; an empty address never overwrites a known one.
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub os_version: Option<String>,
    #[serde(default)]
    pub arch: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub cpu_cores: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub memory_total_mb: Option<i64>,
    #[serde(default)]
    pub agent_version: Option<String>,
    /// An object `{"tag": true}`, not an array.
    #[serde(default)]
    pub tags: Option<Map<String, Value>>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub private_ip: Option<String>,
    #[serde(default)]
    pub public_ip: Option<String>,
    #[serde(default)]
    pub network_info: Option<Value>,
}

/// Reply to `register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    pub host_id: i64,
    /// Defaulted when absent: only `host_id` is essential to an agent (the original agent
    /// failed on a missing `created`; ours must not).
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub created: bool,
}

/// `POST /api/v1/agent/heartbeat`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatRequest {
    #[serde(deserialize_with = "lenient::int")]
    pub host_id: i64,
}

/// Reply to `heartbeat`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    pub status: String,
    pub server_time: DateTime<Utc>,
    /// Seconds between heartbeats the server wants (our agent obeys, clamped to 10–300).
    pub heartbeat_interval: u32,
}

/// One filesystem in `disk_partitions` (0.2.x, plus our inode extension).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskPartition {
    #[serde(default)]
    pub mountpoint: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub fstype: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub total_mb: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub used_mb: Option<i64>,
    #[serde(default)]
    pub percent: Option<f64>,
    /// Extension: inode counts where the platform has them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub inodes_total: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub inodes_used: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inodes_percent: Option<f64>,
}

/// `POST /api/v1/agent/metrics`: one host sample. Every field but `host_id` is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsReport {
    #[serde(deserialize_with = "lenient::int")]
    pub host_id: i64,
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    #[serde(default)]
    pub cpu_load_1: Option<f64>,
    #[serde(default)]
    pub cpu_load_5: Option<f64>,
    #[serde(default)]
    pub cpu_load_15: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub memory_used_mb: Option<i64>,
    #[serde(default)]
    pub memory_percent: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub disk_used_mb: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub disk_total_mb: Option<i64>,
    #[serde(default)]
    pub disk_percent: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub net_bytes_sent: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub net_bytes_recv: Option<i64>,
    #[serde(default)]
    pub net_send_rate_kb: Option<f64>,
    #[serde(default)]
    pub net_recv_rate_kb: Option<f64>,
    #[serde(default)]
    pub net_packet_loss_rate: Option<f64>,
    /// Collection time; the receive time when absent or more than 5 min in the future.
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub disk_partitions: Option<Vec<DiskPartition>>,
    #[serde(default)]
    pub agent_cpu_percent: Option<f64>,
    #[serde(default)]
    pub agent_memory_rss_mb: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub agent_thread_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub agent_uptime_seconds: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub agent_open_files: Option<i64>,
    /// Extension: swap usage.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub swap_used_mb: Option<i64>,
    /// Extension: swap size.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub swap_total_mb: Option<i64>,
    /// Extension: swap usage in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_percent: Option<f64>,
    /// Extension: busy percent (0–100, 1 dp) of each logical CPU over the last interval, in
    /// `/proc/stat` order (`cpu0`, `cpu1`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_per_core: Option<Vec<f64>>,
    /// Extension: seconds since the host booted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub uptime_seconds: Option<i64>,
    /// Extension: I/O rates of each physical block device over the last interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_io: Option<Vec<DiskIo>>,
    /// Extension: the processes using the most CPU and the most memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_processes: Option<TopProcesses>,
}

/// Extension: one block device in `disk_io`; rates over the last interval, 0 after a counter
/// reset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskIo {
    /// Kernel name of the device (`sda`, `nvme0n1`, `vda`).
    pub device: String,
    /// Bytes read per second (1 dp).
    #[serde(default)]
    pub read_bytes_per_sec: f64,
    /// Bytes written per second (1 dp).
    #[serde(default)]
    pub write_bytes_per_sec: f64,
    /// Completed reads per second (1 dp).
    #[serde(default)]
    pub read_ops_per_sec: f64,
    /// Completed writes per second (1 dp).
    #[serde(default)]
    pub write_ops_per_sec: f64,
}

/// Extension: one process in `top_processes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopProcess {
    /// Process id.
    #[serde(deserialize_with = "lenient::int")]
    pub pid: i64,
    /// Command name (`comm`).
    #[serde(default)]
    pub name: String,
    /// CPU over the last interval, in percent of one CPU (as `top` shows it; 1 dp).
    #[serde(default)]
    pub cpu_percent: f64,
    /// Resident memory in MiB (1 dp).
    #[serde(default)]
    pub rss_mb: f64,
}

/// Extension: the top processes of one sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopProcesses {
    /// Highest CPU first.
    #[serde(default)]
    pub by_cpu: Vec<TopProcess>,
    /// Highest resident memory first.
    #[serde(default)]
    pub by_memory: Vec<TopProcess>,
}

/// Reply to `metrics`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsResponse {
    pub status: String,
    pub metric_id: i64,
}

/// **Extension** `POST /api/v1/agent/metrics/batch`: several host samples in one request, stored
/// together (all or none). Each sample is a `metrics` body and must carry its own `timestamp`;
/// each sample's host must belong to the token. One `Idempotency-Key` covers the whole batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsBatch {
    /// The samples, oldest first (at most 1000).
    pub samples: Vec<MetricsReport>,
}

/// Reply to `metrics/batch`: the stored sample ids, in the order of `samples`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsBatchResponse {
    pub status: String,
    pub received: usize,
    pub metric_ids: Vec<i64>,
}

/// `POST /api/v1/agent/services/register`. The required fields are checked by the ingest layer
/// so a missing one gets the original's 400 text rather than a parse error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceRegisterRequest {
    #[serde(default)]
    pub name: Option<String>,
    /// URL for http, `host:port` for tcp.
    #[serde(default, alias = "url")]
    pub target: Option<String>,
    /// `http` (default) or `tcp`.
    #[serde(default, rename = "type")]
    pub check_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub host_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub check_interval: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub timeout: Option<i64>,
}

/// Reply to `services/register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceRegisterResponse {
    pub service_id: i64,
    pub created: bool,
}

/// The outcome of one service check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Up,
    Down,
}

impl CheckStatus {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// `POST /api/v1/agent/services`: one service check result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceCheckReport {
    #[serde(deserialize_with = "lenient::int")]
    pub service_id: i64,
    pub status: CheckStatus,
    #[serde(default)]
    pub response_time_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub status_code: Option<i64>,
    /// At most 500 characters are kept; longer text is truncated, not rejected.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub checked_at: Option<DateTime<Utc>>,
}

/// **Extension** `POST /api/v1/agent/service-dependencies`: the connections between the services
/// discovered on one host, as the agent's latest discovery pass saw them. Each report replaces
/// the host's previous set (an older one, such as a replay, is ignored). Services are named as
/// registered with `services/register`; an edge naming a service the host does not have is
/// skipped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceDependenciesReport {
    #[serde(deserialize_with = "lenient::int")]
    pub host_id: i64,
    /// When the connections were seen; the receive time when absent.
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub observed_at: Option<DateTime<Utc>>,
    /// The edges; an empty list clears the host's set.
    #[serde(default)]
    pub dependencies: Vec<ServiceDependencyEdge>,
}

/// One edge of a `service-dependencies` report: ESTABLISHED TCP connections from a process of
/// service `from` to the listening port of service `to` on the same host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceDependencyEdge {
    /// The client service's name.
    pub from: String,
    /// The server service's name.
    pub to: String,
    /// How many connections were open.
    #[serde(default, deserialize_with = "lenient::int")]
    pub connections: i64,
}

/// Reply to `service-dependencies`: `status` is `ok`, or `stale` when a newer set was already
/// stored; `stored` counts the edges kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceDependenciesResponse {
    pub status: String,
    pub stored: i64,
}

/// Reply to `services`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceCheckResponse {
    pub status: String,
    pub check_id: i64,
}

/// One slow statement in `slow_queries_detail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlowQuery {
    #[serde(default)]
    pub sql_id: Option<Value>,
    #[serde(default)]
    pub avg_seconds: Option<f64>,
    #[serde(default)]
    pub executions: Option<f64>,
    #[serde(default)]
    pub sql_text: Option<String>,
}

/// `POST /api/v1/agent/db-metrics`. `host_id` and `db_name` are checked by the ingest layer
/// (400 `host_id and db_name required`); the numeric fields take any JSON number or null.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DbMetricsReport {
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub host_id: Option<i64>,
    #[serde(default)]
    pub db_name: Option<String>,
    /// `postgres` (default), `mysql`, `oracle` or `redis`.
    #[serde(default)]
    pub db_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub connections_total: Option<f64>,
    #[serde(default)]
    pub connections_active: Option<f64>,
    #[serde(default)]
    pub connections_max: Option<f64>,
    #[serde(default)]
    pub database_size_mb: Option<f64>,
    #[serde(default)]
    pub slow_queries: Option<f64>,
    #[serde(default)]
    pub tables_count: Option<f64>,
    #[serde(default)]
    pub transactions_committed: Option<f64>,
    #[serde(default)]
    pub transactions_rolled_back: Option<f64>,
    #[serde(default)]
    pub qps: Option<f64>,
    #[serde(default)]
    pub tablespace_used_pct: Option<f64>,
    #[serde(default)]
    pub lock_waits: Option<f64>,
    #[serde(default)]
    pub deadlocks: Option<f64>,
    /// Present (even as `[]`) means: replace the stored list.
    #[serde(default)]
    pub slow_queries_detail: Option<Vec<SlowQuery>>,
    #[serde(default)]
    pub extra: Option<Map<String, Value>>,
}

/// Reply to `db-metrics`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DbMetricsResponse {
    pub status: String,
    pub database_id: i64,
    pub metric_id: i64,
}

/// One entry of `POST /api/v1/agent/logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntryReport {
    #[serde(deserialize_with = "lenient::int")]
    pub host_id: i64,
    pub message: String,
    /// When the agent read the line.
    #[serde(deserialize_with = "lenient::timestamp")]
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    /// `DEBUG`, `INFO`, `WARN`, `ERROR` or `FATAL`.
    #[serde(default)]
    pub level: Option<String>,
}

/// `POST /api/v1/agent/logs`: an all-or-nothing batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogBatch {
    pub logs: Vec<LogEntryReport>,
}

/// Reply to `logs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogBatchResponse {
    pub received: usize,
}

/// `GET /api/v1/agent/db-targets` reply; we serve no server-managed targets yet.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DbTargetsResponse {
    pub items: Vec<Value>,
}

/// **Extension** `GET /api/v1/agent/service-targets?host_id=N` reply: the services registered on
/// the server for the host (by its agent, or by an operator), for the agent to check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceTargetsResponse {
    pub items: Vec<ServiceTarget>,
}

/// One service in `service-targets`; results go to `POST /api/v1/agent/services` under `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceTarget {
    /// The service id to report results under.
    #[serde(deserialize_with = "lenient::int")]
    pub id: i64,
    pub name: String,
    /// `http` or `tcp`.
    #[serde(rename = "type")]
    pub check_type: String,
    /// URL for http, `host:port` for tcp.
    pub target: String,
    /// Seconds between checks.
    #[serde(deserialize_with = "lenient::int")]
    pub check_interval: i64,
    /// Seconds one check may take.
    #[serde(deserialize_with = "lenient::int")]
    pub timeout: i64,
    /// An inactive service is not checked.
    #[serde(default = "active")]
    pub is_active: bool,
}

fn active() -> bool {
    true
}

/// `GET /api/v1/agent-updates/list` reply; we never serve Python wheels.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentUpdatesResponse {
    pub versions: Vec<Value>,
}

/// The header our agent sends so retries of one record are stored once.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Whether `key` is an acceptable `Idempotency-Key`: 1–128 of `[A-Za-z0-9._:-]`.
pub fn is_valid_idempotency_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_0_1_register_body_parses() {
        let body = r#"{"hostname":"web-01","ip_address":"","os":"Linux","os_version":"6.8.0-45-generic","arch":"x86_64","cpu_cores":4,"memory_total_mb":7941.0,"agent_version":"0.1.0","tags":{"prod":true}}"#;
        let parsed: RegisterRequest = serde_json::from_str(body).unwrap();
        assert_eq!(parsed.hostname, "web-01");
        assert_eq!(parsed.memory_total_mb, Some(7941));
        assert_eq!(parsed.ip_address.as_deref(), Some(""));
    }

    #[test]
    fn unknown_keys_are_ignored_and_nulls_are_absent() {
        let parsed: MetricsReport =
            serde_json::from_str(r#"{"host_id":3,"cpu_percent":null,"future_field":[1,2]}"#)
                .unwrap();
        assert_eq!(parsed.host_id, 3);
        assert_eq!(parsed.cpu_percent, None);
    }

    #[test]
    fn check_status_outside_up_down_is_refused() {
        assert!(
            serde_json::from_str::<ServiceCheckReport>(r#"{"service_id":1,"status":"degraded"}"#)
                .is_err()
        );
    }

    #[test]
    fn idempotency_keys() {
        assert!(is_valid_idempotency_key(
            "0190f3c1-7b9e-7c3a-9d1e-2f4a5b6c7d8e"
        ));
        assert!(is_valid_idempotency_key("a.b_c:d-e"));
        assert!(!is_valid_idempotency_key(""));
        assert!(!is_valid_idempotency_key("has space"));
        assert!(!is_valid_idempotency_key(&"k".repeat(129)));
    }
}
