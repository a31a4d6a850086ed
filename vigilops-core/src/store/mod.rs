//! Storage: narrow role traits, combined into [`Store`], with one backend per database.
//!
//! Architecture invariant: nothing outside this module writes SQL. Each backend owns its
//! migrations (`migrations/<backend>/`, applied at start-up, never edited once landed) and its
//! private row types. [`conformance`] holds the behaviours every backend must show; both
//! backends run it.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::HashMap;

use crate::alerting::wire::AlertRuleCreate;
use crate::model::ServiceRollupResolution;
use crate::model::{
    AgentCommand, AgentToken, Aggregate, AuditEntry, AuditFilter, CommandOutcome, DbPoint,
    DiscoveredDependency, Host, HostFilter, HostRegistration, LatestMetrics, LogEntry, MetricPoint,
    MetricSample, MonitoredDatabase, NewAgentCommand, NewAuditEntry, NewDbMetric,
    NewDiscoveredDependency, NewLogEntry, NewServiceCheck, NewUser, Page, Resolution, Service,
    ServiceRegistration, TrendRows, User, UserUpdate,
};
use crate::model::{
    Alert, AlertEvent, AlertFilter, AlertResolution, AlertWrites, AlertWritesOutcome, BuiltinRule,
    NewAlert, NewAlertEvent, NewChannel, NewNotificationLog, NewSilence, NewTemplate,
    NotificationLog, Silence, StoredAlertRule, StoredChannel, StoredTemplate,
};
use crate::model::{
    CheckCoverage, DashboardCounts, GroupMember, LogContext, LogLine, LogQuery, LogStats,
    LogStatsQuery, NewGroupMember, NewServer, NewServerGroup, NewServiceDependency, NewSlaRule,
    NewSlaViolation, NginxUpstream, Server, ServerGroup, ServerSummary, ServiceCounts,
    ServiceDependency, ServiceFilter, ServiceInfo, SlaRule, SlaServiceInfo, SlaViolation,
    TopologyServiceRow,
};
use crate::model::{
    Insight, InsightFeedback, InsightFilter, LlmCall, LogWindow, Memory, MemoryHit, NewInsight,
    NewLlmCall, NewMemory, ServiceCheckPoint, ServiceOverview, SystemSummary, Verdict,
};
use crate::model::{
    NewRemediation, Remediation, RemediationFilter, RemediationStats, RemediationStatus,
    RemediationUpdate, RunHistory,
};
use crate::model::{NewReport, Report, ReportData, ReportFilter, ReportOutcome};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod ai_codec;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod alerting_codec;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod codec;
#[cfg(any(test, feature = "test-support"))]
pub mod conformance;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod remediation_codec;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(all(feature = "test-support", feature = "sqlite", feature = "postgres"))]
pub mod testing;

/// What can go wrong in a store. Callers branch on `NotFound` and `Conflict`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule would be broken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// An `Idempotency-Key` claim was taken over by another request before the write
    /// completed it; the write was rolled back.
    #[error("idempotency key was taken over by another request")]
    ClaimLost,
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(database_error) = &error
            && database_error.is_unique_violation()
        {
            return Self::Conflict(database_error.message().to_owned());
        }
        Self::Backend(Box::new(error))
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Backend(Box::new(error))
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Users and their credentials.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user. If no user exists yet, the new user becomes an admin whatever role was
    /// asked for; this is decided atomically so two first registrations cannot both win.
    /// A duplicate email is a `Conflict`.
    async fn create_user(&self, user: NewUser, now: DateTime<Utc>) -> StoreResult<User>;
    /// The user with this email, compared case-insensitively.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// The user with this id.
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    /// How many users exist.
    async fn count_users(&self) -> StoreResult<i64>;
    /// A page of users by id, and the total count.
    async fn list_users(&self, page: Page) -> StoreResult<(Vec<User>, i64)>;
    /// Applies `update` (and `updated_at = now`) and returns the user. `NotFound` for an unknown
    /// id; `Conflict("last active admin")` when it would leave no active admin, decided
    /// atomically (two admins demoting each other at once cannot both win).
    async fn update_user(
        &self,
        id: i64,
        update: UserUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;
    /// Deletes a user (what referred to it keeps a null). `NotFound` for an unknown id;
    /// `Conflict("last active admin")` for the last active admin, decided atomically.
    async fn delete_user(&self, id: i64) -> StoreResult<()>;
    /// Replaces a user's password hash. `NotFound` for an unknown id.
    async fn set_password_hash(&self, id: i64, hash: &str, now: DateTime<Utc>) -> StoreResult<()>;
}

/// Agent tokens.
#[async_trait]
pub trait AgentTokenStore: Send + Sync {
    /// Stores a new active token (its hash only).
    async fn create_agent_token(
        &self,
        name: &str,
        token_hash: &str,
        token_prefix: &str,
        created_by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<AgentToken>;
    /// Every token, active or revoked, newest first.
    async fn list_agent_tokens(&self) -> StoreResult<Vec<AgentToken>>;
    /// Soft-revokes a token. `NotFound` for an unknown id.
    async fn revoke_agent_token(&self, id: i64) -> StoreResult<()>;
    /// The token with this hash, active or not.
    async fn agent_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<AgentToken>>;
    /// Records that the token was used.
    async fn touch_agent_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
}

/// Hosts and their liveness.
#[async_trait]
pub trait HostStore: Send + Sync {
    /// Creates the host for (`hostname`, token) or updates it with every non-null field; either
    /// way it becomes online with a fresh heartbeat. Returns the host and whether it was created.
    async fn register_host(
        &self,
        token_id: i64,
        registration: HostRegistration,
        now: DateTime<Utc>,
    ) -> StoreResult<(Host, bool)>;
    /// Records a heartbeat: the host is online as of `now`. `NotFound` for an unknown id.
    async fn record_heartbeat(&self, host_id: i64, now: DateTime<Utc>) -> StoreResult<()>;
    /// One host.
    async fn host(&self, id: i64) -> StoreResult<Option<Host>>;
    /// A filtered page of hosts, ordered by id, and the total count of matches.
    async fn list_hosts(&self, filter: &HostFilter) -> StoreResult<(Vec<Host>, i64)>;
    /// Removes a host and everything it reported. `NotFound` for an unknown id.
    async fn delete_host(&self, id: i64) -> StoreResult<()>;
    /// Marks offline every online host whose last heartbeat is before `cutoff`; returns their ids.
    async fn mark_stale_hosts_offline(&self, cutoff: DateTime<Utc>) -> StoreResult<Vec<i64>>;
}

/// Host metric samples.
#[async_trait]
pub trait MetricStore: Send + Sync {
    /// Deletes at most `batch` of the raw samples recorded before `cutoff`, oldest first
    /// (retention; call again until fewer than `batch` go); returns how many. Each host's
    /// newest sample is kept whatever its age.
    async fn purge_metrics_before(&self, cutoff: DateTime<Utc>, batch: i64) -> StoreResult<u64>;
    /// Stores many samples in one transaction (group commit) and returns their ids in order.
    /// A host's latest sample is its newest one (on equal times, the one stored last), never an
    /// older one stored later.
    /// Each claim in `claims` is completed in the same transaction with the reply rendered from
    /// the ids of its `rows`; if any claim was lost, nothing is stored (`ClaimLost`).
    async fn insert_metrics(
        &self,
        samples: &[MetricSample],
        claims: &[ClaimedRows],
    ) -> StoreResult<Vec<i64>>;
    /// The newest sample of each given host recorded at or after `since`.
    async fn latest_metrics(
        &self,
        host_ids: &[i64],
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<i64, LatestMetrics>>;
    /// Samples of a host in `[from, to]`, oldest first. Raw returns at most `limit` of the
    /// newest samples; aggregated resolutions return one point per bucket (bucket start).
    async fn metric_series(
        &self,
        host_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        resolution: Resolution,
        aggregate: Aggregate,
        limit: i64,
    ) -> StoreResult<Vec<MetricPoint>>;
}

/// A level of host metric rollups (migration 0011): 5-minute buckets computed from raw samples,
/// hourly ones from the 5-minute buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RollupLevel {
    FiveMinutes,
    OneHour,
}

impl RollupLevel {
    /// Both levels, finest first (the order a pass computes them in).
    pub const ALL: [Self; 2] = [Self::FiveMinutes, Self::OneHour];

    /// The length of one bucket.
    pub fn bucket_seconds(self) -> i64 {
        match self {
            Self::FiveMinutes => 300,
            Self::OneHour => 3600,
        }
    }

    /// The table holding this level.
    pub fn table(self) -> &'static str {
        match self {
            Self::FiveMinutes => "host_metrics_5m",
            Self::OneHour => "host_metrics_1h",
        }
    }
}

/// Host metric rollups: the leased pass that computes them, the late-sample marks that make it
/// recompute an hour, and the chart reads served from them.
#[async_trait]
pub trait MetricRollupStore: Send + Sync {
    /// Recomputes every `level` bucket of every host (or of `host` only) whose start is in
    /// `[from, to)`, from the level below (raw samples for 5 minutes, 5-minute buckets for an
    /// hour), replacing what was there; returns the buckets written. `from` and `to` should be
    /// aligned to the level's bucket, or `to` be the present.
    async fn roll_up_metrics(
        &self,
        level: RollupLevel,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        host: Option<i64>,
    ) -> StoreResult<u64>;
    /// The time of the last completed rollup pass, if any.
    async fn rollup_watermark(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Records a completed rollup pass at `through`.
    async fn set_rollup_watermark(&self, through: DateTime<Utc>) -> StoreResult<()>;
    /// The time of the oldest raw sample of any host (where a first pass starts).
    async fn oldest_raw_metric(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Marks (host, hour start) pairs whose rollups must be recomputed (late samples).
    async fn mark_rollups_dirty(&self, marks: &[(i64, DateTime<Utc>)]) -> StoreResult<()>;
    /// Removes and returns at most `limit` marks, oldest hour first.
    async fn take_dirty_rollups(&self, limit: i64) -> StoreResult<Vec<(i64, DateTime<Utc>)>>;
    /// One host's `level` rollups with a start in `[from, to)`, combined into buckets of
    /// `bucket_seconds` (a multiple of the level's) by `aggregate`: at most `limit` of the
    /// newest buckets, oldest first, each with `id` 0 and its bucket start as `recorded_at`.
    #[allow(clippy::too_many_arguments)]
    async fn rollup_series(
        &self,
        host_id: i64,
        level: RollupLevel,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket_seconds: i64,
        aggregate: Aggregate,
        limit: i64,
    ) -> StoreResult<Vec<MetricPoint>>;
}

/// Services and their checks as reported by agents.
#[async_trait]
pub trait ServiceStore: Send + Sync {
    /// Creates the service for (`host_id`, `name`) or updates its target, type, interval and
    /// timeout and reactivates it. Returns the id and whether it was created.
    async fn register_service(
        &self,
        registration: ServiceRegistration,
        now: DateTime<Utc>,
    ) -> StoreResult<(i64, bool)>;
    /// The host a service belongs to.
    async fn service_host(&self, service_id: i64) -> StoreResult<Option<i64>>;
    /// Every service of `host_id` (active or not), by id.
    async fn host_services(&self, host_id: i64) -> StoreResult<Vec<Service>>;
    /// Stores a check and, unless it is older than the last applied one, copies its status to
    /// the service. Returns the check id. A `claim` is completed in the same transaction with
    /// the reply rendered from `[check id]`.
    async fn insert_service_check(
        &self,
        check: NewServiceCheck,
        claim: Option<&IdempotencyClaim>,
    ) -> StoreResult<i64>;
    /// Replaces the discovered dependencies of `host_id` with `edges` (service names of that
    /// host; edges naming an unknown service are skipped) observed at `observed_at`, unless a
    /// set observed later is already stored (a replay never undoes a newer report). Returns how
    /// many edges were stored, or `None` when the report was older and ignored.
    async fn replace_discovered_dependencies(
        &self,
        host_id: i64,
        edges: &[NewDiscoveredDependency],
        observed_at: DateTime<Utc>,
    ) -> StoreResult<Option<usize>>;
    /// A service's name.
    async fn service_name(&self, service_id: i64) -> StoreResult<Option<String>>;
    /// The services `service_id` depends on: its manual dependencies and those its agent
    /// discovered, each once, by id.
    async fn upstream_services(&self, service_id: i64) -> StoreResult<Vec<i64>>;
    /// The discovered dependencies of `host_id`, by source then target name.
    async fn discovered_dependencies(&self, host_id: i64)
    -> StoreResult<Vec<DiscoveredDependency>>;
}

/// Services as the services pages read them.
#[async_trait]
pub trait ServiceCatalogStore: Send + Sync {
    /// A page of the services `filter` matches, by id, each with its host and its checks since
    /// `since` counted; and the counts over every match.
    async fn list_services(
        &self,
        filter: &ServiceFilter,
        since: DateTime<Utc>,
    ) -> StoreResult<(Vec<ServiceInfo>, ServiceCounts)>;
    /// One service, with its checks since `since` counted.
    async fn service_info(&self, id: i64, since: DateTime<Utc>)
    -> StoreResult<Option<ServiceInfo>>;
    /// The checks of a service since `since`, newest first, at most `limit`.
    async fn recent_service_checks(
        &self,
        service_id: i64,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ServiceCheckPoint>>;
}

/// Monitored databases and their samples.
#[async_trait]
pub trait DbMetricStore: Send + Sync {
    /// Finds or creates the database (`host_id`, `db_name`), marks it healthy, replaces its slow
    /// statements when given, and stores the sample. Returns (database id, metric id). A
    /// `claim` is completed in the same transaction with the reply rendered from
    /// `[database id, metric id]`.
    async fn insert_db_metric(
        &self,
        metric: NewDbMetric,
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
    ) -> StoreResult<(i64, i64)>;
    /// The databases (of `host_id` when given) by id, each with its newest sample.
    async fn list_databases(
        &self,
        host_id: Option<i64>,
    ) -> StoreResult<Vec<(MonitoredDatabase, Option<DbPoint>)>>;
    /// One database with its newest sample.
    async fn database(&self, id: i64) -> StoreResult<Option<(MonitoredDatabase, Option<DbPoint>)>>;
    /// The samples of a database in `[from, to]`, oldest first; when more than `limit`, the
    /// newest `limit`.
    async fn db_points(
        &self,
        id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<DbPoint>>;
}

/// Log lines.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Stores a batch, all or nothing. Returns how many were stored. A `claim` is completed in
    /// the same transaction with the reply rendered from `[count]`.
    async fn insert_logs(
        &self,
        entries: &[NewLogEntry],
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
    ) -> StoreResult<usize>;
    /// The newest `limit` lines of a host, newest first.
    async fn recent_logs(&self, host_id: i64, limit: i64) -> StoreResult<Vec<LogEntry>>;
}

/// Log search for the logs pages.
#[async_trait]
pub trait LogSearchStore: Send + Sync {
    /// A page of the lines `query` matches, newest first (by timestamp, then id), each with its
    /// host's name, and the total count of matches.
    async fn search_logs(&self, query: &LogQuery) -> StoreResult<(Vec<LogLine>, i64)>;
    /// Counts by level (most frequent first) and by time bucket (ascending), in SQL.
    async fn log_stats(&self, query: &LogStatsQuery) -> StoreResult<LogStats>;
    /// Line `id` with up to `before` and `after` lines of its host around it; `None` for an
    /// unknown id.
    async fn log_context(
        &self,
        id: i64,
        before: i64,
        after: i64,
    ) -> StoreResult<Option<LogContext>>;
}

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one row.
    async fn insert_audit(&self, entry: NewAuditEntry, now: DateTime<Utc>) -> StoreResult<i64>;
    /// A filtered page, newest first, and the total count of matches.
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<(Vec<AuditEntry>, i64)>;
}

/// The state of an `Idempotency-Key` when a request arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyState {
    /// First time seen; the caller now owns the key and must complete or release it.
    Started,
    /// Another request with this key is running.
    InProgress,
    /// Done before; replay this status and body.
    Completed { status: u16, body: String },
}

/// A claimed `Idempotency-Key` that a write completes inside its own transaction, so no crash
/// can leave the write stored while the key still looks unfinished (its retry would store it
/// twice). The reply is rendered from the ids the write produced, because they are part of it.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    /// The agent token the key belongs to.
    pub token_id: i64,
    /// The `Idempotency-Key`.
    pub key: String,
    /// When this request claimed the key; if another request has taken the key over since
    /// (the claim went stale), completing fails with `ClaimLost` and the write rolls back.
    pub claimed_at: DateTime<Utc>,
    /// The HTTP status to replay.
    pub status: u16,
    /// Renders the reply body from the ids the write produced.
    pub reply: fn(&[i64]) -> String,
}

/// A claim completed by the rows `rows` of a multi-row write.
#[derive(Debug, Clone)]
pub struct ClaimedRows {
    /// The claim.
    pub claim: IdempotencyClaim,
    /// Which rows' ids render its reply.
    pub rows: std::ops::Range<usize>,
}

/// Remembered replies of agent requests, keyed by (token, `Idempotency-Key`).
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims the key, or reports its state. A claim older than `stale_after` that never
    /// completed is taken over (its request died).
    async fn begin_idempotent(
        &self,
        token_id: i64,
        key: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> StoreResult<IdempotencyState>;
    /// Stores the reply of a claimed key.
    async fn complete_idempotent(
        &self,
        token_id: i64,
        key: &str,
        status: u16,
        body: &str,
    ) -> StoreResult<()>;
    /// Gives up a claimed key so a retry may run (the request failed).
    async fn release_idempotent(&self, token_id: i64, key: &str) -> StoreResult<()>;
    /// Forgets keys created before `cutoff`; returns how many.
    async fn purge_idempotency(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;
}

/// Sliding-window counters shared by every replica (login throttling).
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Records one hit on `key` at `now` and returns the number of hits in `(now - window, now]`,
    /// this one included.
    async fn record_hit(&self, key: &str, now: DateTime<Utc>, window: Duration)
    -> StoreResult<i64>;
    /// Forgets the hits on `key` (after a successful login).
    async fn clear_hits(&self, key: &str) -> StoreResult<()>;
}

/// Time-bound leases so a background job runs once per cluster.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes or renews the lease `name` for `holder` until `now + ttl`. True when `holder`
    /// holds it afterwards (it was free, expired, or already ours).
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool>;
}

/// Commands queued for hosts' agents: the source of truth every replica shares. The replica
/// holding a host's agent connection hands commands over; any replica may queue or read them.
#[async_trait]
pub trait CommandStore: Send + Sync {
    /// Queues a command. A repeated `request_id` is a `Conflict`.
    async fn insert_command(
        &self,
        command: NewAgentCommand,
        now: DateTime<Utc>,
    ) -> StoreResult<AgentCommand>;
    /// One command.
    async fn command(&self, request_id: uuid::Uuid) -> StoreResult<Option<AgentCommand>>;
    /// The newest `limit` commands of a host, newest first.
    async fn host_commands(&self, host_id: i64, limit: i64) -> StoreResult<Vec<AgentCommand>>;
    /// Atomically moves up to `limit` queued commands of a host to `sent` on `connection_id`,
    /// oldest first, with a deadline of `now + timeout + grace`, and returns them. A command
    /// is claimed by one connection only, even when two replicas race. Remediation steps are
    /// claimed only when `remediation_capable` (the agent announced the capability).
    async fn claim_queued_commands(
        &self,
        host_id: i64,
        connection_id: uuid::Uuid,
        now: DateTime<Utc>,
        grace: Duration,
        limit: i64,
        remediation_capable: bool,
    ) -> StoreResult<Vec<AgentCommand>>;
    /// Appends streamed output to a `sent` or `running` command of this host and marks it
    /// running. Each stream is kept to at most `max_chars` characters; a chunk that does not fit is
    /// dropped (the terminal result carries the complete, bounded output).
    /// False when there is no such unfinished command.
    async fn append_command_output(
        &self,
        host_id: i64,
        request_id: uuid::Uuid,
        stdout: &str,
        stderr: &str,
        max_chars: i64,
    ) -> StoreResult<bool>;
    /// Records the terminal result of an unfinished command of this host. The first terminal
    /// result wins: false (and no change) when the command is unknown, of another host, or
    /// already finished.
    async fn finish_command(
        &self,
        host_id: i64,
        request_id: uuid::Uuid,
        outcome: CommandOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Marks `lost` every `sent`/`running` command handed to `connection_id` (its socket
    /// dropped); queued commands are untouched. Returns them.
    async fn mark_connection_commands_lost(
        &self,
        connection_id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<AgentCommand>>;
    /// Times out every unfinished command whose deadline is before `now`: queued ones with
    /// `queued_reason`, handed-over ones with `sent_reason` as stderr. Returns them.
    async fn expire_commands(
        &self,
        now: DateTime<Utc>,
        queued_reason: &str,
        sent_reason: &str,
    ) -> StoreResult<Vec<AgentCommand>>;
}

/// Alert rules. Builtins are seeded once and can be edited but never deleted.
#[async_trait]
pub trait AlertRuleStore: Send + Sync {
    /// Creates each builtin unless a rule already carries its key or its name (a database
    /// migrated from the original has builtins without keys). Safe when replicas start together.
    /// Returns how many were created.
    async fn seed_builtin_rules(
        &self,
        builtins: &[BuiltinRule],
        now: DateTime<Utc>,
    ) -> StoreResult<usize>;
    /// Stores a (normalized) user rule.
    async fn create_rule(
        &self,
        rule: &AlertRuleCreate,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredAlertRule>;
    /// Replaces every field of a rule (builtins included). `NotFound` for an unknown id.
    async fn update_rule(
        &self,
        id: i64,
        rule: &AlertRuleCreate,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredAlertRule>;
    /// Deletes a user rule; its alerts keep a NULL `rule_id`. `NotFound` for an unknown id,
    /// `Conflict` for a builtin (which is never deleted).
    async fn delete_rule(&self, id: i64) -> StoreResult<()>;
    /// One rule.
    async fn rule(&self, id: i64) -> StoreResult<Option<StoredAlertRule>>;
    /// Every rule by id; `Some(true)` only enabled ones, `Some(false)` only disabled ones.
    async fn list_rules(&self, enabled: Option<bool>) -> StoreResult<Vec<StoredAlertRule>>;
}

/// Alerts and their timelines.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Opens an alert for (rule, target) with a `fired` timeline event, unless one is already
    /// active for the pair: then returns that one unchanged and `false`. Safe against
    /// concurrent callers (the unique open index decides).
    async fn open_alert(&self, alert: NewAlert) -> StoreResult<(Alert, bool)>;
    /// One alert.
    async fn alert(&self, id: i64) -> StoreResult<Option<Alert>>;
    /// A filtered page, newest `fired_at` first (then newest id), and the total count.
    async fn list_alerts(&self, filter: &AlertFilter) -> StoreResult<(Vec<Alert>, i64)>;
    /// Every active alert of a rule.
    async fn open_alerts_for_rule(&self, rule_id: i64) -> StoreResult<Vec<Alert>>;
    /// Every active alert (the engine rebuilds its state from them at start-up).
    async fn open_alerts(&self) -> StoreResult<Vec<Alert>>;
    /// Acknowledges a firing alert (with an `acknowledged` event) and returns it with `true`.
    /// An acknowledged or resolved alert is returned unchanged with `false`. `NotFound` for an
    /// unknown id.
    async fn acknowledge_alert(
        &self,
        id: i64,
        by: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<(Alert, bool)>;
    /// Resolves an active alert (with a `resolved` event carrying who and the comment) and
    /// returns it with `true`. A resolved alert is returned unchanged with `false`. `NotFound`
    /// for an unknown id.
    async fn resolve_alert(
        &self,
        id: i64,
        resolution: AlertResolution,
    ) -> StoreResult<(Alert, bool)>;
    /// Updates the reading of an active alert (log rules: the latest line and match count).
    /// False when the alert is not active.
    async fn update_alert_reading(
        &self,
        id: i64,
        message: Option<&str>,
        metric_value: Option<f64>,
    ) -> StoreResult<bool>;
    /// Marks an alert flapping or not. `NotFound` for an unknown id.
    async fn set_alert_flapping(&self, id: i64, flapping: bool) -> StoreResult<()>;
    /// Links an alert to the alert it is suppressed under, or unlinks it. `NotFound` for an
    /// unknown id.
    async fn set_alert_parent(&self, id: i64, parent_alert_id: Option<i64>) -> StoreResult<()>;
    /// Appends a timeline event. `NotFound` for an unknown alert.
    async fn append_alert_event(&self, event: NewAlertEvent) -> StoreResult<AlertEvent>;
    /// An alert's timeline, oldest first.
    async fn alert_events(&self, alert_id: i64) -> StoreResult<Vec<AlertEvent>>;
}

/// What the alert engine writes in bulk: one transaction per drained batch of observations.
#[async_trait]
pub trait AlertEngineStore: Send + Sync {
    /// Opens and resolves alerts as [`AlertStore::open_alert`] and [`AlertStore::resolve_alert`]
    /// do, item by item (each open with its `fired` event, each resolve with its `resolved`
    /// event; a pair whose active alert exists is returned with `false`, to be followed), all
    /// in one transaction: the resolves first, so a pair resolved and opened again in one batch
    /// gets a new alert. An error writes nothing.
    ///
    /// The pending windows shared by the replicas are written in the same transaction: the
    /// ended ones are deleted first, then each start is recorded unless the pair has one, and
    /// the start that stands is returned.
    async fn write_alerts(&self, writes: &AlertWrites) -> StoreResult<AlertWritesOutcome>;
    /// The recorded start of each of these pairs' pending windows, for the pairs that have one,
    /// in no particular order.
    async fn pending_starts(
        &self,
        pairs: &[(i64, String)],
    ) -> StoreResult<Vec<(i64, String, DateTime<Utc>)>>;
}

/// Notification channels, templates and the notification log.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a channel, config as given.
    async fn create_channel(
        &self,
        channel: &NewChannel,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredChannel>;
    /// Replaces a channel's name, type, config and enabled flag. `NotFound` for an unknown id.
    async fn update_channel(
        &self,
        id: i64,
        channel: &NewChannel,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredChannel>;
    /// Deletes a channel and its log rows. `NotFound` for an unknown id.
    async fn delete_channel(&self, id: i64) -> StoreResult<()>;
    /// One channel.
    async fn channel(&self, id: i64) -> StoreResult<Option<StoredChannel>>;
    /// Every channel, by id.
    async fn list_channels(&self) -> StoreResult<Vec<StoredChannel>>;
    /// The channels with these ids that exist, by id (for a rule's fan-out).
    async fn channels_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<StoredChannel>>;
    /// Stores a template; when it is a default, other templates of its `channel_type` stop
    /// being defaults (in one transaction).
    async fn create_template(
        &self,
        template: &NewTemplate,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredTemplate>;
    /// Replaces a template's fields, with the same default rule. `NotFound` for an unknown id.
    async fn update_template(
        &self,
        id: i64,
        template: &NewTemplate,
        now: DateTime<Utc>,
    ) -> StoreResult<StoredTemplate>;
    /// Deletes a template. `NotFound` for an unknown id.
    async fn delete_template(&self, id: i64) -> StoreResult<()>;
    /// One template.
    async fn template(&self, id: i64) -> StoreResult<Option<StoredTemplate>>;
    /// Every template, by id.
    async fn list_templates(&self) -> StoreResult<Vec<StoredTemplate>>;
    /// The template a channel of `channel_type` uses: the most recently updated default of that
    /// type, else of `all`, else none.
    async fn default_template(&self, channel_type: &str) -> StoreResult<Option<StoredTemplate>>;
    /// Appends a notification-log row; returns its id.
    async fn insert_notification_log(&self, log: &NewNotificationLog) -> StoreResult<i64>;
    /// Records one delivery: its log rows and timeline events, in one transaction (a grouped
    /// message to many alerts is one commit, not two per alert). Events of alerts that no
    /// longer exist are skipped.
    async fn record_delivery(
        &self,
        logs: &[NewNotificationLog],
        events: &[NewAlertEvent],
    ) -> StoreResult<()>;
    /// The newest `limit` rows, of one alert when given, newest first.
    async fn list_notification_logs(
        &self,
        alert_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<NotificationLog>>;
}

/// Silences and maintenance windows.
#[async_trait]
pub trait SilenceStore: Send + Sync {
    /// Stores a silence.
    async fn create_silence(
        &self,
        silence: &NewSilence,
        now: DateTime<Utc>,
    ) -> StoreResult<Silence>;
    /// Replaces a silence's fields (`created_by` is kept). `NotFound` for an unknown id.
    async fn update_silence(
        &self,
        id: i64,
        silence: &NewSilence,
        now: DateTime<Utc>,
    ) -> StoreResult<Silence>;
    /// Deletes a silence. `NotFound` for an unknown id.
    async fn delete_silence(&self, id: i64) -> StoreResult<()>;
    /// One silence.
    async fn silence(&self, id: i64) -> StoreResult<Option<Silence>>;
    /// Every silence, by id.
    async fn list_silences(&self) -> StoreResult<Vec<Silence>>;
    /// The enabled silences in force at `at` (a recurring one only inside one of its windows),
    /// by id. Match them against an alert with [`crate::model::SilenceMatchers::matches`].
    async fn active_silences(&self, at: DateTime<Utc>) -> StoreResult<Vec<Silence>>;
}

/// AI insights, their feedback, and the record of every LLM call.
#[async_trait]
pub trait InsightStore: Send + Sync {
    /// Stores an insight with status `new`.
    async fn insert_insight(&self, insight: NewInsight, now: DateTime<Utc>)
    -> StoreResult<Insight>;
    /// One insight.
    async fn insight(&self, id: i64) -> StoreResult<Option<Insight>>;
    /// A filtered page, newest first (ties by id, newest first), and the total count of matches.
    async fn list_insights(&self, filter: &InsightFilter) -> StoreResult<(Vec<Insight>, i64)>;
    /// Records a person's verdict, replacing an earlier one, and returns the updated insight.
    /// `NotFound` for an unknown id.
    async fn set_insight_feedback(
        &self,
        id: i64,
        feedback: InsightFeedback,
    ) -> StoreResult<Insight>;
    /// Appends one LLM call to the usage record; returns its id.
    async fn record_llm_call(&self, call: NewLlmCall) -> StoreResult<i64>;
    /// The calls made at or after `since`, oldest first, at most `limit`.
    async fn llm_calls(&self, since: DateTime<Utc>, limit: i64) -> StoreResult<Vec<LlmCall>>;
}

/// The built-in ops memory: remembered incidents, recalled by full-text similarity.
#[async_trait]
pub trait MemoryStore: Send + Sync {
    /// Remembers an incident; its `search_text` is indexed for [`MemoryStore::recall`].
    async fn remember(&self, memory: NewMemory) -> StoreResult<Memory>;
    /// The memories whose `search_text` contains any of `terms`, best match first (more and rarer
    /// matching terms rank higher; equal scores newest first), at most `limit`, leaving out those
    /// of `exclude_alert_id` (memories without an alert are kept).
    /// Each term is matched literally as one whole word: no query syntax of the backend
    /// (`OR`, `NEAR`, `*`, quotes, `-`, `:`, `&`, `|`, `!`) is ever interpreted. A term the
    /// backend's tokenizer splits (`a:b`) matches its words as a phrase; a term with no word
    /// characters (`*`) matches nothing. Empty `terms` recall nothing.
    async fn recall(
        &self,
        terms: &[String],
        exclude_alert_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<MemoryHit>>;
    /// The memories of one alert, oldest first.
    async fn alert_memories(&self, alert_id: i64) -> StoreResult<Vec<Memory>>;
    /// Sets the verdict of every memory of `alert_id`; returns how many memories it set (those
    /// that already had this verdict included).
    async fn set_memory_verdict(&self, alert_id: i64, verdict: Verdict) -> StoreResult<u64>;
}

/// Read-only windows over collected data, for evidence gathering and summaries. A negative
/// `limit` is taken as zero.
#[async_trait]
pub trait EvidenceStore: Send + Sync {
    /// The log lines in the window; when more than `window.limit` match, the newest `limit` of
    /// them. Returned oldest first (by timestamp, then id).
    async fn logs_in_window(&self, window: &LogWindow) -> StoreResult<Vec<LogEntry>>;
    /// How many log lines are in the window (ignoring `limit`).
    async fn count_logs(&self, window: &LogWindow) -> StoreResult<i64>;
    /// The checks of a service in `[from, to]`; when more than `limit`, the newest `limit`.
    /// Returned oldest first.
    async fn service_checks_in_window(
        &self,
        service_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ServiceCheckPoint>>;
    /// The alerts active at some point of `[from, to]` (fired at or before `to`, and not resolved
    /// before `from`), oldest `fired_at` first, at most `limit`.
    async fn alerts_in_window(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Alert>>;
    /// Every service (of `host_id` when given) with its current status, by id. Services without
    /// a host (possible only in data migrated from the original) are left out.
    async fn services_overview(&self, host_id: Option<i64>) -> StoreResult<Vec<ServiceOverview>>;
    /// Host, service, alert and log counts; alerts and error logs counted from `since`.
    /// Hosts not `online` count as offline; only active services are counted; CPU and memory
    /// are averaged over each host's newest sample, whatever its age.
    async fn system_summary(&self, since: DateTime<Utc>) -> StoreResult<SystemSummary>;
}

/// Remediation runs, and the facts the safety layer derives from them. Everything the safety
/// layer decides on is read from here, so it holds across replicas and restarts.
#[async_trait]
pub trait RemediationStore: Send + Sync {
    /// Creates a run. While another run of the same alert is not terminal (`rejected`,
    /// `success`, `failed`, `escalated`), creating one is a `Conflict`, decided atomically (two
    /// replicas or two clicks never start two runs of one alert). Runs without an alert never
    /// conflict.
    async fn create_remediation(&self, run: NewRemediation) -> StoreResult<Remediation>;
    /// One run.
    async fn remediation(&self, id: i64) -> StoreResult<Option<Remediation>>;
    /// A filtered page, newest first (by `created_at`, then id), and the total count of matches.
    async fn list_remediations(
        &self,
        filter: &RemediationFilter,
    ) -> StoreResult<(Vec<Remediation>, i64)>;
    /// Applies `update` only if the run's status is one of `expected` (compare and set), and
    /// returns the updated run. `NotFound` for an unknown id; `Conflict` naming the current
    /// status when it is not expected, so an approval racing a rejection, or two executors,
    /// never both win.
    async fn update_remediation(
        &self,
        id: i64,
        expected: &[RemediationStatus],
        update: RemediationUpdate,
    ) -> StoreResult<Remediation>;
    /// The statistics of `GET /remediations/stats`; `today` and `week` are the cut-offs for
    /// `today_count` and `week_count`.
    async fn remediation_stats(
        &self,
        today: DateTime<Utc>,
        week: DateTime<Utc>,
    ) -> StoreResult<RemediationStats>;
    /// What the safety layer needs about `host_id` and `runbook` as of `now` (see
    /// [`RunHistory`]); a run counts from its `started_at`.
    async fn run_history(
        &self,
        host_id: i64,
        runbook: &str,
        now: DateTime<Utc>,
        breaker_window: Duration,
    ) -> StoreResult<RunHistory>;
    /// Moves every `pending_approval` run created before `cutoff` to `escalated` with
    /// `blocked_reason = reason` and `completed_at = now`; returns them, oldest first.
    async fn expire_approvals(
        &self,
        cutoff: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Remediation>>;
    /// Records that a remediation-capable agent of `host_id` was connected at `at`. A time
    /// before the one stored (replicas may record out of order) and an unknown host are ignored.
    async fn touch_remediation_agent(&self, host_id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// When a remediation-capable agent of `host_id` was last seen connected, if ever.
    async fn remediation_agent_seen_at(&self, host_id: i64) -> StoreResult<Option<DateTime<Utc>>>;
    /// Sets whether `host_id` is opted out of automatic remediation. `NotFound` for an unknown
    /// host.
    async fn set_remediation_opt_out(&self, host_id: i64, opted_out: bool) -> StoreResult<()>;
    /// Whether `host_id` is opted out of automatic remediation (`false` for an unknown host).
    async fn remediation_opt_out(&self, host_id: i64) -> StoreResult<bool>;
}

/// Data purged by age (`rest-api.md` §22.7), each by its time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retained {
    Logs,
    DbMetrics,
    ServiceChecks,
    NotificationLogs,
    /// 5-minute host metric rollups.
    MetricRollups5m,
    /// Hourly host metric rollups.
    MetricRollups1h,
}

impl Retained {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Logs,
        Self::DbMetrics,
        Self::ServiceChecks,
        Self::NotificationLogs,
        Self::MetricRollups5m,
        Self::MetricRollups1h,
    ];

    /// The table and its (indexed) time column.
    pub fn table_and_column(self) -> (&'static str, &'static str) {
        match self {
            Self::Logs => ("log_entries", "timestamp"),
            Self::DbMetrics => ("db_metrics", "recorded_at"),
            Self::ServiceChecks => ("service_checks", "checked_at"),
            Self::NotificationLogs => ("notification_logs", "sent_at"),
            Self::MetricRollups5m => ("host_metrics_5m", "bucket_start"),
            Self::MetricRollups1h => ("host_metrics_1h", "bucket_start"),
        }
    }
}

/// Age-based purges, in bounded batches so no statement holds locks for long.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes at most `batch` rows of `what` older than `cutoff`; returns how many.
    async fn purge_batch(
        &self,
        what: Retained,
        cutoff: DateTime<Utc>,
        batch: i64,
    ) -> StoreResult<u64>;
}

/// Service level agreements: one rule per service, the violations the evaluator records, and
/// the time a service's checks cover (`remediation-and-ai.md` §8).
#[async_trait]
pub trait SlaStore: Send + Sync {
    /// Every rule with its service's name and check interval, by id.
    async fn list_sla_rules(&self) -> StoreResult<Vec<SlaRule>>;
    /// One rule.
    async fn sla_rule(&self, id: i64) -> StoreResult<Option<SlaRule>>;
    /// The rule of a service, if it has one.
    async fn service_sla_rule(&self, service_id: i64) -> StoreResult<Option<SlaRule>>;
    /// Creates a rule. `NotFound("service")` for an unknown service; `Conflict` when the
    /// service already has a rule (decided by the database, so two concurrent creations never
    /// both succeed).
    async fn create_sla_rule(&self, rule: NewSlaRule, now: DateTime<Utc>) -> StoreResult<SlaRule>;
    /// Deletes a rule and its violations. `NotFound("SLA rule")` for an unknown id.
    async fn delete_sla_rule(&self, id: i64) -> StoreResult<()>;
    /// A service's name and check interval.
    async fn sla_service(&self, service_id: i64) -> StoreResult<Option<SlaServiceInfo>>;
    /// How much of `[from, to)` the checks of `service_id` cover, each check covering up to
    /// the next one and at most `cap`, and how much of it is `down` (see [`CheckCoverage`]).
    /// Aggregated in the database: no check row is returned, whatever the range.
    async fn check_coverage(
        &self,
        service_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: Duration,
    ) -> StoreResult<CheckCoverage>;
    /// Opens a violation unless its rule already has an open one (at most one open violation
    /// per rule, decided by the database). Returns the open violation and whether it was
    /// created now.
    async fn open_sla_violation(
        &self,
        violation: NewSlaViolation,
        now: DateTime<Utc>,
    ) -> StoreResult<(SlaViolation, bool)>;
    /// Closes an open violation at `ended_at`, recording its duration in seconds. Returns
    /// whether it was open (closing twice is harmless).
    async fn close_sla_violation(&self, id: i64, ended_at: DateTime<Utc>) -> StoreResult<bool>;
    /// Every open violation, oldest first.
    async fn open_sla_violations(&self) -> StoreResult<Vec<SlaViolation>>;
    /// The violations (of `service_id` when given) that overlap `[from, to)`: started before
    /// `to` and not ended before `from`. Newest first, at most `limit`.
    async fn sla_violations(
        &self,
        service_id: Option<i64>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<SlaViolation>>;
}

/// Rollups of service checks (migration 0013): per service and 5-minute or 1-hour bucket, the
/// checks taken in it and the time checks cover in it, computed exactly as
/// [`SlaStore::check_coverage`] computes coverage (a check in an earlier bucket covers into
/// later ones), so the coverage of adjacent buckets sums to the raw coverage of their range and
/// raw checks can be purged without changing older figures (`crate::service_rollup`).
#[async_trait]
pub trait ServiceRollupStore: Send + Sync {
    /// Recomputes, for every service, the 5-minute buckets that intersect `[from, to)` from the
    /// raw checks, then the 1-hour buckets that intersect it from the 5-minute rows, in one
    /// write transaction; returns the rows written. A stored bucket is replaced only by a
    /// recomputation that saw at least as many checks and, with as many, at least as much
    /// covered time: adding checks never shrinks coverage, so this keeps every late check while
    /// a window reaching into purged raw checks cannot shrink a bucket that was computed while
    /// they were stored. Recomputing with the same checks writes the same values.
    async fn roll_service_checks(&self, from: DateTime<Utc>, to: DateTime<Utc>)
    -> StoreResult<u64>;
    /// The coverage summed over the buckets of `resolution` of `service_id` that start in
    /// `[from, to)` (with bucket-aligned ends, the coverage of `[from, to)` as computed when
    /// the buckets were rolled up).
    async fn service_rollup_coverage(
        &self,
        service_id: i64,
        resolution: ServiceRollupResolution,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<CheckCoverage>;
    /// When the oldest stored raw service check was taken (`None` without checks): raw checks
    /// are purged oldest first, so every check from here on is still stored.
    async fn oldest_service_check(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Where the newest 5-minute rollup bucket of any service starts (`None` before the first
    /// rollup): every service is rolled up in the same statement, so the buckets before it
    /// have been rolled up.
    async fn newest_service_rollup(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Deletes at most `batch` buckets of `resolution` that start before `cutoff`, oldest
    /// first; returns how many.
    async fn purge_service_rollups_before(
        &self,
        resolution: ServiceRollupResolution,
        cutoff: DateTime<Utc>,
        batch: i64,
    ) -> StoreResult<u64>;
}

/// Operations reports (`remediation-and-ai.md` §7) and the aggregates they are written from.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Creates a report in status `generating`. A scheduled one (`report.scheduled`) is a
    /// `Conflict` while a `generating` or `completed` report of the same type and period
    /// exists, decided atomically (two replicas never both create it); manual ones never
    /// conflict.
    async fn create_report(&self, report: NewReport) -> StoreResult<Report>;
    /// Ends a `generating` report with `outcome` and returns it. `NotFound` for an unknown id
    /// (deleted meanwhile); `Conflict` when it is no longer `generating` (failed as stalled).
    async fn finish_report(&self, id: i64, outcome: ReportOutcome) -> StoreResult<Report>;
    /// One report.
    async fn report(&self, id: i64) -> StoreResult<Option<Report>>;
    /// A filtered page, newest first (by `created_at`, then id), and the total count of matches.
    async fn list_reports(&self, filter: &ReportFilter) -> StoreResult<(Vec<Report>, i64)>;
    /// Deletes a report. `NotFound` for an unknown id.
    async fn delete_report(&self, id: i64) -> StoreResult<()>;
    /// Fails every report still `generating` that was created before `cutoff` (its replica
    /// died), with `message` as content and summary; returns their ids.
    async fn fail_stalled_reports(
        &self,
        cutoff: DateTime<Utc>,
        message: &str,
    ) -> StoreResult<Vec<i64>>;
    /// The aggregates of `[from, to)` a report is written from (see [`ReportData`]), computed
    /// by the database; every list is bounded.
    async fn report_data(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<ReportData>;
}

/// Aggregates for the dashboard.
#[async_trait]
pub trait TrendStore: Send + Sync {
    /// The hour buckets of `[from, from + hours h)` (bucket `n` is the `n`-th hour from
    /// `from`): average CPU and memory over every host sample, alerts fired, and log lines of
    /// level ERROR, CRITICAL or FATAL. Buckets without rows are absent. `from` is the start of
    /// an hour; `rolled_until` is the last rollup pass ([`trend_splits`]): the averages read
    /// the hourly rollups for the hours it completed, the 5-minute rollups for the buckets it
    /// completed after those, and raw samples for the rest (the same sums and counts, so the
    /// same figures).
    async fn trend_rows(
        &self,
        from: DateTime<Utc>,
        hours: u32,
        rolled_until: Option<DateTime<Utc>>,
    ) -> StoreResult<TrendRows>;
    /// The summary's figures; "recent" counts and the usage averages start at `since`. Usage
    /// is read from each host's newest sample (one index probe per host).
    async fn dashboard_counts(&self, since: DateTime<Utc>) -> StoreResult<DashboardCounts>;
}

/// Where the 24 h trends switch from hourly to 5-minute rollups and from those to raw samples,
/// for a range `[from, end)` and the last rollup pass `rolled_until`: its hour and its 5-minute
/// bucket, clamped to the range (both `from` without a pass).
pub fn trend_splits(
    from: DateTime<Utc>,
    end: DateTime<Utc>,
    rolled_until: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let Some(through) = rolled_until else {
        return (from, from);
    };
    let hourly = crate::rollup::align_down(through, 3600).clamp(from, end);
    let five_minute = crate::rollup::align_down(through, 300).clamp(hourly, end);
    (hourly, five_minute)
}

/// The `settings` table: typed values stored as JSON under a key, shared by every replica.
#[async_trait]
pub trait SettingStore: Send + Sync {
    /// The value stored under `key`, if any. A value that is not JSON text (the original stored
    /// plain strings) reads as a JSON string.
    async fn setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>>;
    /// Stores `value` under `key` (insert or replace).
    async fn put_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// The topology: manual dependencies, per-user layouts, and the hand-kept multi-server tables.
/// A server is linked to the agent host with its hostname (the lowest id when several agents
/// report it), whether the host registered before or after the server was created.
#[async_trait]
pub trait TopologyStore: Send + Sync {
    /// Every active service with its host, by id.
    async fn topology_services(&self) -> StoreResult<Vec<TopologyServiceRow>>;
    /// Every stored dependency, by id.
    async fn service_dependencies(&self) -> StoreResult<Vec<ServiceDependency>>;
    /// Every discovered dependency of every host, by source then target id.
    async fn all_discovered_dependencies(&self) -> StoreResult<Vec<DiscoveredDependency>>;
    /// Stores a dependency. A second one between the same source and target is a `Conflict`.
    async fn create_service_dependency(
        &self,
        dependency: NewServiceDependency,
        now: DateTime<Utc>,
    ) -> StoreResult<ServiceDependency>;
    /// Deletes a dependency. `NotFound` for an unknown id.
    async fn delete_service_dependency(&self, id: i64) -> StoreResult<()>;
    /// Deletes every stored dependency; returns how many.
    async fn delete_all_service_dependencies(&self) -> StoreResult<u64>;
    /// The positions `user_id` saved under `name`.
    async fn topology_layout(&self, user_id: i64, name: &str) -> StoreResult<Option<Value>>;
    /// Saves (insert or replace) the positions of `user_id` under `name`.
    async fn save_topology_layout(
        &self,
        user_id: i64,
        name: &str,
        positions: &Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Deletes every layout of `user_id`; returns how many.
    async fn delete_topology_layouts(&self, user_id: i64) -> StoreResult<u64>;

    /// Creates a server, linked to the agent host with its hostname. A taken hostname is a
    /// `Conflict`.
    async fn create_server(&self, server: NewServer, now: DateTime<Utc>) -> StoreResult<Server>;
    /// Replaces a server's fields. `NotFound` for an unknown id, `Conflict` for a taken hostname.
    async fn update_server(
        &self,
        id: i64,
        server: NewServer,
        now: DateTime<Utc>,
    ) -> StoreResult<Server>;
    /// Deletes a server with its memberships and upstreams. `NotFound` for an unknown id.
    async fn delete_server(&self, id: i64) -> StoreResult<()>;
    /// One server with its figures.
    async fn server_summary(&self, id: i64) -> StoreResult<Option<ServerSummary>>;
    /// Servers with their figures by id: a page when given (with the total), else all.
    async fn list_server_summaries(
        &self,
        page: Option<Page>,
    ) -> StoreResult<(Vec<ServerSummary>, i64)>;
    /// Every nginx upstream, of `server_id` when given, by id.
    async fn nginx_upstreams(&self, server_id: Option<i64>) -> StoreResult<Vec<NginxUpstream>>;

    /// Creates a server group. A taken name is a `Conflict`.
    async fn create_server_group(
        &self,
        group: NewServerGroup,
        now: DateTime<Utc>,
    ) -> StoreResult<ServerGroup>;
    /// Replaces a group's name and category. `NotFound` for an unknown id, `Conflict` for a
    /// taken name.
    async fn update_server_group(&self, id: i64, group: NewServerGroup)
    -> StoreResult<ServerGroup>;
    /// Deletes a group with its memberships. `NotFound` for an unknown id.
    async fn delete_server_group(&self, id: i64) -> StoreResult<()>;
    /// One group.
    async fn server_group(&self, id: i64) -> StoreResult<Option<ServerGroup>>;
    /// Groups by id: a page when given (with the total), else all.
    async fn list_server_groups(&self, page: Option<Page>) -> StoreResult<(Vec<ServerGroup>, i64)>;
    /// Memberships, of one group and/or one server when given, by group then server id.
    async fn group_members(
        &self,
        group_id: Option<i64>,
        server_id: Option<i64>,
    ) -> StoreResult<Vec<GroupMember>>;
    /// Adds a server to a group. `NotFound` naming the unknown server or group; a second
    /// membership of the same pair is a `Conflict`.
    async fn add_group_member(
        &self,
        member: NewGroupMember,
        now: DateTime<Utc>,
    ) -> StoreResult<GroupMember>;
    /// Removes a server from a group. `NotFound` when it is not a member.
    async fn remove_group_member(&self, group_id: i64, server_id: i64) -> StoreResult<()>;
}

/// Everything the server needs from storage.
#[async_trait]
pub trait Store:
    UserStore
    + AgentTokenStore
    + HostStore
    + MetricStore
    + MetricRollupStore
    + ServiceStore
    + ServiceCatalogStore
    + DbMetricStore
    + LogStore
    + LogSearchStore
    + RetentionStore
    + AuditStore
    + IdempotencyStore
    + ThrottleStore
    + LeaseStore
    + CommandStore
    + AlertRuleStore
    + AlertStore
    + AlertEngineStore
    + NotificationStore
    + SilenceStore
    + InsightStore
    + MemoryStore
    + EvidenceStore
    + RemediationStore
    + SettingStore
    + TrendStore
    + SlaStore
    + ServiceRollupStore
    + ReportStore
    + TopologyStore
    + std::fmt::Debug
{
    /// Round-trips to the database; for the health check.
    async fn ping(&self) -> StoreResult<()>;
    /// `sqlite` or `postgres`.
    fn backend_name(&self) -> &'static str;
}

/// Opens the store a URL names: `postgres://…`/`postgresql://…`, or `sqlite://PATH` (created if
/// missing), and applies its migrations.
#[cfg(all(feature = "sqlite", feature = "postgres"))]
pub async fn open(url: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            postgres::PostgresStore::connect(url).await?,
        ))
    } else {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::connect(url).await?,
        ))
    }
}
