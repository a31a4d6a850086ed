//! Domain types shared by the store, the ingest path and the server. They carry no serde
//! derives: the wire shapes live in [`crate::protocol`] and convert from these.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

#[cfg(feature = "server")]
mod ai;
#[cfg(feature = "server")]
mod alerting;
mod remediation;
#[cfg(feature = "server")]
mod report;
mod sla;
mod topology;
#[cfg(feature = "server")]
pub use ai::*;
#[cfg(feature = "server")]
pub use alerting::*;
pub use remediation::*;
#[cfg(feature = "server")]
pub use report::*;
pub use sla::*;
pub use topology::*;

/// What a user may do. Ordered: a higher role may do everything a lower one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything an operator sees.
    Viewer,
    /// Also acts on alerts and remediations.
    Operator,
    /// Also manages users, agent tokens and settings.
    Admin,
}

impl Role {
    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A role name that is not one of `admin`, `operator`, `viewer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "viewer" => Ok(Self::Viewer),
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// A person who logs in to the web UI or the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// PHC string: argon2id for new hashes, bcrypt (`$2b$…`) for users migrated from the original.
    pub password_hash: String,
    pub role: Role,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One hour of the dashboard's trends.
#[derive(Debug, Clone, PartialEq)]
pub struct HourTrend {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// Averages over every host sample of the hour; `None` without samples.
    pub avg_cpu: Option<f64>,
    pub avg_mem: Option<f64>,
    /// Alerts fired in the hour.
    pub alert_count: i64,
    /// Log lines of level ERROR, CRITICAL or FATAL in the hour.
    pub error_log_count: i64,
}

/// The dashboard summary's figures (`/ws/dashboard`), as of one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashboardCounts {
    pub hosts_total: i64,
    pub hosts_online: i64,
    pub services_total: i64,
    pub services_up: i64,
    /// Active services whose status is `down`.
    pub services_down: i64,
    /// Alerts fired since the cut-off.
    pub recent_alerts: i64,
    /// Alerts firing now (open and not acknowledged).
    pub alerts_firing: i64,
    /// Of those, the `critical` ones.
    pub critical_firing: i64,
    /// ERROR, CRITICAL and FATAL lines since the cut-off.
    pub recent_error_logs: i64,
    /// Means over each host's newest sample since the cut-off; `None` without one.
    pub avg_cpu: Option<f64>,
    pub avg_memory: Option<f64>,
    pub avg_disk: Option<f64>,
    /// Hosts whose newest sample since the cut-off has CPU, memory or disk at 90 % or more.
    pub hosts_near_limit: i64,
}

/// Per hour-bucket rows of the trends, before they are laid out hour by hour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendRows {
    /// `(bucket, avg cpu, avg memory)`.
    pub metrics: Vec<(i64, Option<f64>, Option<f64>)>,
    /// `(bucket, count)`.
    pub alerts: Vec<(i64, i64)>,
    /// `(bucket, count)`.
    pub error_logs: Vec<(i64, i64)>,
}

impl TrendRows {
    /// One entry per hour from `from`, oldest first; hours without rows have no averages and
    /// zero counts; rows outside the range are ignored.
    pub fn by_hour(&self, from: DateTime<Utc>, hours: u32) -> Vec<HourTrend> {
        (0..i64::from(hours))
            .map(|bucket| {
                let metrics = self.metrics.iter().find(|(b, ..)| *b == bucket);
                let count = |rows: &[(i64, i64)]| {
                    rows.iter()
                        .find(|(b, _)| *b == bucket)
                        .map_or(0, |(_, count)| *count)
                };
                HourTrend {
                    hour: from + chrono::Duration::hours(bucket),
                    avg_cpu: metrics.and_then(|(_, cpu, _)| *cpu),
                    avg_mem: metrics.and_then(|(_, _, mem)| *mem),
                    alert_count: count(&self.alerts),
                    error_log_count: count(&self.error_logs),
                }
            })
            .collect()
    }
}

/// Changes to a user: each `Some` field is written, `None` leaves the stored value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// A user to create. The role is the one asked for; the store makes the very first user an admin.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
}

/// A bearer token agents authenticate with. Only its hash is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentToken {
    pub id: i64,
    pub name: String,
    pub token_hash: String,
    /// `vop_` plus the first four hex characters, for display.
    pub token_prefix: String,
    pub is_active: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Whether a host is reporting heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    Online,
    Offline,
}

impl HostStatus {
    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline => "offline",
        }
    }

    /// Reads the stored spelling; anything unknown counts as offline.
    pub fn parse(text: &str) -> Self {
        if text == "online" {
            Self::Online
        } else {
            Self::Offline
        }
    }
}

/// A monitored machine, created by its agent's `register`.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub id: i64,
    /// The agent token that registered the host; only that token may write its data.
    pub token_id: Option<i64>,
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
    pub status: HostStatus,
    pub tags: Option<Value>,
    pub group_name: Option<String>,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a `register` call may set on a host; `None` leaves the stored value alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostRegistration {
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
    pub tags: Option<Value>,
    pub group_name: Option<String>,
    /// Recorded only when the host has no address yet (the request's peer address).
    pub fallback_ip_address: Option<String>,
}

/// Which hosts to list.
#[derive(Debug, Clone, Default)]
pub struct HostFilter {
    pub status: Option<HostStatus>,
    pub group_name: Option<String>,
    /// Case-insensitive substring of the hostname.
    pub search: Option<String>,
    pub page: Page,
}

/// A page of a list: 1-based page number and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub page_size: u32,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: 20,
        }
    }
}

impl Page {
    /// Rows to skip.
    pub fn offset(self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.page_size)
    }

    /// Rows to return.
    pub fn limit(self) -> i64 {
        i64::from(self.page_size)
    }
}

/// The numeric values of one host sample, all optional as on the wire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricValues {
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

/// One host sample to store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSample {
    pub host_id: i64,
    pub recorded_at: DateTime<Utc>,
    pub values: MetricValues,
    /// Every non-null field of the report that is not a core value (disk partitions, agent
    /// self-metrics), kept as a JSON object.
    pub extra: Option<Value>,
}

/// A stored or aggregated sample, as charts read it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// 0 for an aggregated bucket.
    pub id: i64,
    pub host_id: i64,
    pub recorded_at: DateTime<Utc>,
    pub values: MetricValues,
}

/// The most recent sample of a host, as the host list and the alert rules read it.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestMetrics {
    pub host_id: i64,
    pub recorded_at: DateTime<Utc>,
    pub values: MetricValues,
    pub extra: Option<Value>,
}

/// The time resolution of a metric series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Raw,
    OneMinute,
    FiveMinutes,
    OneHour,
    OneDay,
}

impl Resolution {
    /// Bucket width in seconds; `None` for raw samples.
    pub fn bucket_seconds(self) -> Option<i64> {
        match self {
            Self::Raw => None,
            Self::OneMinute => Some(60),
            Self::FiveMinutes => Some(300),
            Self::OneHour => Some(3_600),
            Self::OneDay => Some(86_400),
        }
    }

    /// Parses the `interval` query value (`raw`, `1min`, `5min`, `1h`, `1d`).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "raw" => Some(Self::Raw),
            "1min" | "1m" => Some(Self::OneMinute),
            "5min" | "5m" => Some(Self::FiveMinutes),
            "1h" => Some(Self::OneHour),
            "1d" => Some(Self::OneDay),
            _ => None,
        }
    }
}

/// How to aggregate samples inside a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregate {
    #[default]
    Avg,
    Max,
}

/// A service as registered by an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRegistration {
    pub host_id: i64,
    pub name: String,
    pub target: String,
    pub check_type: String,
    pub check_interval: i64,
    pub timeout: i64,
    pub category: String,
}

/// A stored service of a host, as the host's agent needs it to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: i64,
    pub host_id: i64,
    pub name: String,
    /// `http` or `tcp`.
    pub check_type: String,
    /// URL for http, `host:port` for tcp.
    pub target: String,
    /// Seconds between checks.
    pub check_interval: i64,
    /// Seconds one check may take.
    pub timeout: i64,
    pub is_active: bool,
}

/// Which services to list (`GET /services`).
#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    /// `up`, `down` or `unknown` (the stored status, normalised).
    pub status: Option<String>,
    /// `middleware`, `business` or `infrastructure`.
    pub category: Option<String>,
    pub host_id: Option<i64>,
    pub page: Page,
}

/// The host a listed service runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHostInfo {
    pub id: i64,
    pub hostname: String,
    pub ip: Option<String>,
    pub status: String,
}

/// A service as the services pages read it: every stored field, its host, and its checks of
/// the last 24 hours (for the reference's count-based uptime).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceInfo {
    pub id: i64,
    pub host_id: Option<i64>,
    pub name: String,
    pub check_type: String,
    pub target: String,
    pub check_interval: i64,
    pub timeout: i64,
    pub expected_status: Option<i64>,
    pub is_active: bool,
    /// `up`, `down` or `unknown`.
    pub status: String,
    pub category: String,
    pub tags: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub host: Option<ServiceHostInfo>,
    /// Checks since the `since` the query was given.
    pub recent_checks: i64,
    /// Of those, the `up` ones.
    pub recent_up_checks: i64,
}

/// Counts over every service a filter matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceCounts {
    pub total: i64,
    pub middleware: i64,
    pub business: i64,
    pub infrastructure: i64,
    /// Status `up`.
    pub healthy: i64,
    /// Status `down`.
    pub unhealthy: i64,
}

/// A connection between two services of one host, as an agent reported it (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDiscoveredDependency {
    /// The client service's name.
    pub from: String,
    /// The server service's name.
    pub to: String,
    /// ESTABLISHED connections seen.
    pub connections: i64,
}

/// A stored discovered dependency between two services of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredDependency {
    pub source_service_id: i64,
    pub source_name: String,
    pub target_service_id: i64,
    pub target_name: String,
    pub connections: i64,
    pub observed_at: DateTime<Utc>,
}

/// One service check result to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServiceCheck {
    pub service_id: i64,
    pub status: String,
    pub response_time_ms: Option<f64>,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// One database metric sample to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDbMetric {
    pub host_id: i64,
    pub db_name: String,
    pub db_type: String,
    pub recorded_at: DateTime<Utc>,
    pub connections_total: Option<f64>,
    pub connections_active: Option<f64>,
    pub connections_max: Option<f64>,
    pub database_size_mb: Option<f64>,
    pub slow_queries: Option<f64>,
    pub tables_count: Option<f64>,
    pub transactions_committed: Option<f64>,
    pub transactions_rolled_back: Option<f64>,
    pub qps: Option<f64>,
    pub tablespace_used_pct: Option<f64>,
    pub lock_waits: Option<f64>,
    pub deadlocks: Option<f64>,
    pub extra: Option<Value>,
    /// `Some` replaces the stored list of slow statements (even when empty).
    pub slow_queries_detail: Option<Value>,
}

/// A monitored database, as the agent reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoredDatabase {
    pub id: i64,
    pub host_id: i64,
    pub name: String,
    pub db_type: String,
    pub status: String,
    /// The latest slow statements the agent sent (`[{sql_id, avg_seconds, executions,
    /// sql_text}]`).
    pub slow_queries_detail: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One stored database sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbPoint {
    pub recorded_at: DateTime<Utc>,
    pub connections_total: Option<f64>,
    pub connections_active: Option<f64>,
    pub connections_max: Option<f64>,
    pub database_size_mb: Option<f64>,
    pub slow_queries: Option<f64>,
    pub tables_count: Option<f64>,
    pub transactions_committed: Option<f64>,
    pub transactions_rolled_back: Option<f64>,
    pub qps: Option<f64>,
    pub tablespace_used_pct: Option<f64>,
    pub lock_waits: Option<f64>,
    pub deadlocks: Option<f64>,
}

/// One log line to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLogEntry {
    pub host_id: i64,
    pub service: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
    pub message: String,
    pub timestamp: DateTime<Utc>,
}

/// A stored log line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: i64,
    pub host_id: i64,
    pub service: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
    pub message: String,
    pub timestamp: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Which log lines to search (`GET /logs`), newest first.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Case-insensitive substring of the message.
    pub text: Option<String>,
    pub host_id: Option<i64>,
    /// Exact service name.
    pub service: Option<String>,
    /// Upper-cased levels to keep; empty keeps every level.
    pub levels: Vec<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Inclusive.
    pub to: Option<DateTime<Utc>>,
    pub page: Page,
}

/// A stored log line with its host's name.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub entry: LogEntry,
    pub hostname: Option<String>,
}

/// Which lines `GET /logs/stats` counts.
#[derive(Debug, Clone, PartialEq)]
pub struct LogStatsQuery {
    pub host_id: Option<i64>,
    pub service: Option<String>,
    /// Inclusive.
    pub from: DateTime<Utc>,
    /// Inclusive.
    pub to: DateTime<Utc>,
    /// Hourly buckets, else daily (both in UTC).
    pub hourly: bool,
}

/// Log counts by level (a missing level as `UNKNOWN`) and by time bucket (ascending).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogStats {
    pub by_level: Vec<(String, i64)>,
    pub by_time: Vec<(DateTime<Utc>, i64)>,
}

/// A log line with the lines of its host just before and after it (by time, then id).
#[derive(Debug, Clone, PartialEq)]
pub struct LogContext {
    /// Oldest first.
    pub before: Vec<LogEntry>,
    pub line: LogEntry,
    /// Oldest first.
    pub after: Vec<LogEntry>,
}

/// One audit-log row to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub user_id: Option<i64>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// A JSON document as a string, as the original stored it.
    pub detail: Option<String>,
    pub ip_address: Option<String>,
}

/// A stored audit-log row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub user_id: Option<i64>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub detail: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Which audit rows to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub page: Page,
}

/// Where a command queued for a host's agent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    /// Waiting for the host's agent to be connected.
    Queued,
    /// Handed to the agent's connection; no output yet.
    Sent,
    /// The agent streamed output.
    Running,
    /// Finished with exit code 0.
    Succeeded,
    /// Finished with another exit code, or the agent could not start it.
    Failed,
    /// The agent refused it (`command_done`).
    Rejected,
    /// No terminal frame in time, or no agent took it in time.
    TimedOut,
    /// The connection it was sent on dropped before a terminal frame; it may or may not have run.
    Lost,
}

impl CommandStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 8] = [
        Self::Queued,
        Self::Sent,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Rejected,
        Self::TimedOut,
        Self::Lost,
    ];

    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed_out",
            Self::Lost => "lost",
        }
    }

    /// Whether nothing more will happen to the command.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::Sent | Self::Running)
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for CommandStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("unknown command status `{text}`"))
    }
}

/// A command to queue for a host's agent, already safety-checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAgentCommand {
    pub request_id: uuid::Uuid,
    pub host_id: i64,
    /// The command as the operator or the runbook wrote it (what an original agent receives).
    pub command: String,
    /// The argument vector the safety check produced.
    pub argv: Vec<String>,
    pub timeout_seconds: i32,
    pub requested_by: Option<i64>,
    pub remediation_id: Option<i64>,
    pub step: Option<i32>,
    /// When a queued command that no agent took gives up.
    pub deadline_at: DateTime<Utc>,
}

/// A command queued for a host's agent and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentCommand {
    pub request_id: uuid::Uuid,
    pub host_id: i64,
    pub command: String,
    pub argv: Vec<String>,
    pub timeout_seconds: i32,
    pub status: CommandStatus,
    pub exit_code: Option<i32>,
    /// Bounded; see `command::MAX_OUTPUT_BYTES`.
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: Option<i64>,
    pub requested_by: Option<i64>,
    pub remediation_id: Option<i64>,
    pub step: Option<i32>,
    /// The agent connection the command was handed to.
    pub connection_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Queued: when it expires untaken. Sent or running: when it times out without an answer.
    pub deadline_at: DateTime<Utc>,
}

/// The terminal result of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOutcome {
    /// A terminal status.
    pub status: CommandStatus,
    pub exit_code: Option<i32>,
    /// When `Some`, replaces the streamed output (`command_result` repeats it in full).
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub duration_ms: Option<i64>,
}
