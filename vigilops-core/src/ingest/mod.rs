//! What happens to an agent report: token authentication, host ownership, validation,
//! idempotency, and storage (metrics through group commit).
//!
//! Architecture invariant: this module knows nothing of HTTP. The server maps [`IngestError`]
//! to status codes and bodies; everything else about the agent protocol is decided here.

mod agent_auth;
pub mod batcher;
pub mod category;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::Arc;

use crate::auth::agent_token;
use crate::clock::Clock;
use crate::model::{
    HostRegistration, MetricSample, MetricValues, NewDbMetric, NewDiscoveredDependency,
    NewLogEntry, NewServiceCheck, ServiceRegistration,
};
use crate::protocol::agent::{
    DbMetricsReport, DbMetricsResponse, HeartbeatRequest, HeartbeatResponse, LogBatch,
    LogBatchResponse, MetricsBatch, MetricsBatchResponse, MetricsReport, MetricsResponse,
    RegisterRequest, RegisterResponse, ServiceCheckReport, ServiceCheckResponse,
    ServiceDependenciesReport, ServiceDependenciesResponse, ServiceRegisterRequest,
    ServiceRegisterResponse, ServiceTarget, ServiceTargetsResponse, is_valid_idempotency_key,
};
use crate::store::{IdempotencyClaim, IdempotencyState, Store, StoreError};
use agent_auth::AgentCaches;
pub use batcher::{BatchConfig, BatchError, MetricBatcher};

/// Most log entries in one batch.
pub const MAX_LOG_BATCH: usize = 10_000;
/// Most samples in one `metrics/batch` request (about 3 MiB of JSON from our agent, well under
/// the 10 MiB body limit).
pub const MAX_METRICS_BATCH: usize = 1000;

/// The most edges one `service-dependencies` report may carry.
pub const MAX_DEPENDENCY_EDGES: usize = 10_000;
/// Longest kept service-check error text, in characters.
pub const MAX_CHECK_ERROR_CHARS: usize = 500;
/// How far in the future a data timestamp may be before the receive time replaces it.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
/// An unfinished idempotent request older than this is considered dead and may be retried.
pub const IDEMPOTENCY_STALE_AFTER: Duration = Duration::seconds(60);

/// Why an agent request was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// No bearer credentials at all (403).
    #[error("Not authenticated")]
    NotAuthenticated,
    /// Unknown, malformed or revoked token (401).
    #[error("Invalid or revoked agent token")]
    InvalidToken,
    /// The host is unknown or belongs to another token (403).
    #[error("Host {0} is not registered with this agent token")]
    HostNotOwned(i64),
    /// The service is unknown or belongs to another token's host (403).
    #[error("Service {0} is not registered with this agent token")]
    ServiceNotOwned(i64),
    /// A required field is missing, with the original's message (400).
    #[error("{0}")]
    BadRequest(&'static str),
    /// A field has an invalid value (422).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Too many entries in one batch (413).
    #[error("Too many log entries in one batch (max {MAX_LOG_BATCH})")]
    TooLarge,
    /// Too many samples in one `metrics/batch` request (413, so an agent splits the batch).
    #[error("Too many samples in one batch (max {MAX_METRICS_BATCH})")]
    TooManySamples,
    /// The same `Idempotency-Key` is being processed (409).
    #[error("Request with this Idempotency-Key is in progress")]
    IdempotencyInProgress,
    /// The `Idempotency-Key` header is malformed (400).
    #[error("Invalid Idempotency-Key")]
    InvalidIdempotencyKey,
    /// Storage failed (500; the agent retries).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The metric writer failed (500).
    #[error(transparent)]
    Batch(#[from] BatchError),
}

/// An authenticated agent: the token it presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentIdentity {
    pub token_id: i64,
}

/// A reply to replay or send: status code and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    pub status: u16,
    pub body: String,
}

/// Tunables of the ingest path.
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    /// Heartbeat interval announced to agents, in seconds.
    pub heartbeat_interval: u32,
    /// Metric group-commit settings.
    pub batch: BatchConfig,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: 60,
            batch: BatchConfig::default(),
        }
    }
}

/// Told about readings once they are stored (the alert engine), so the rules they concern are
/// evaluated on arrival rather than by a periodic sweep.
#[async_trait::async_trait]
pub trait ReadingObserver: Send + Sync + std::fmt::Debug {
    /// A host sample was stored (without its `extra` detail).
    async fn metrics_stored(&self, sample: MetricSample);
    /// A service check was stored.
    async fn check_stored(&self, service_id: i64, host_id: i64, down: bool, at: DateTime<Utc>);
    /// A database sample was stored.
    async fn db_metric_stored(&self, reading: DbReading);
    /// A batch of log lines was stored.
    async fn logs_stored(&self, entries: Vec<NewLogEntry>);
}

/// Several observers told in turn (e.g. the alert engine and the live log stream).
#[derive(Debug)]
pub struct Observers(pub Vec<Arc<dyn ReadingObserver>>);

#[async_trait::async_trait]
impl ReadingObserver for Observers {
    async fn metrics_stored(&self, sample: MetricSample) {
        for observer in &self.0 {
            observer.metrics_stored(sample.clone()).await;
        }
    }

    async fn check_stored(&self, service_id: i64, host_id: i64, down: bool, at: DateTime<Utc>) {
        for observer in &self.0 {
            observer.check_stored(service_id, host_id, down, at).await;
        }
    }

    async fn db_metric_stored(&self, reading: DbReading) {
        for observer in &self.0 {
            observer.db_metric_stored(reading.clone()).await;
        }
    }

    async fn logs_stored(&self, entries: Vec<NewLogEntry>) {
        for observer in &self.0 {
            observer.logs_stored(entries.clone()).await;
        }
    }
}

/// A stored database sample, as the alert rules read it.
#[derive(Debug, Clone, PartialEq)]
pub struct DbReading {
    pub host_id: i64,
    pub database_id: i64,
    pub db_name: String,
    /// Every numeric value by name: the body's top-level fields, then `extra`'s.
    pub values: std::collections::BTreeMap<String, f64>,
    pub at: DateTime<Utc>,
}

/// The numeric values of a database sample by name; a top-level field wins over `extra`.
fn db_values(metric: &NewDbMetric) -> std::collections::BTreeMap<String, f64> {
    let mut values: std::collections::BTreeMap<String, f64> = metric
        .extra
        .as_ref()
        .and_then(Value::as_object)
        .map(|extra| {
            extra
                .iter()
                .filter_map(|(name, value)| Some((name.clone(), value.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let fields = [
        ("connections_total", metric.connections_total),
        ("connections_active", metric.connections_active),
        ("connections_max", metric.connections_max),
        ("database_size_mb", metric.database_size_mb),
        ("slow_queries", metric.slow_queries),
        ("tables_count", metric.tables_count),
        ("transactions_committed", metric.transactions_committed),
        ("transactions_rolled_back", metric.transactions_rolled_back),
        ("qps", metric.qps),
        ("tablespace_used_pct", metric.tablespace_used_pct),
        ("lock_waits", metric.lock_waits),
        ("deadlocks", metric.deadlocks),
    ];
    for (name, value) in fields {
        if let Some(value) = value.filter(|value| value.is_finite()) {
            values.insert(name.to_owned(), value);
        }
    }
    values
}

/// The agent ingestion service.
#[derive(Debug, Clone)]
pub struct Ingestor {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    batcher: MetricBatcher,
    caches: Arc<AgentCaches>,
    config: IngestConfig,
    observer: Option<Arc<dyn ReadingObserver>>,
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

impl Ingestor {
    /// Starts the service (and its metric writers) on the current runtime.
    pub fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: IngestConfig) -> Self {
        let batcher = MetricBatcher::start(&store, config.batch);
        Self {
            store,
            clock,
            batcher,
            caches: Arc::new(AgentCaches::default()),
            config,
            observer: None,
        }
    }

    /// Tells `observer` about every stored reading from now on.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn ReadingObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Authenticates the `Authorization` header value (`None` when absent).
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<AgentIdentity, IngestError> {
        let header = authorization.ok_or(IngestError::NotAuthenticated)?;
        let (scheme, token) = header
            .trim()
            .split_once(' ')
            .ok_or(IngestError::NotAuthenticated)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(IngestError::NotAuthenticated);
        }
        let token = token.trim();
        if !agent_token::is_well_formed(token) {
            return Err(IngestError::InvalidToken);
        }
        let hash = agent_token::hash(token);
        let now = self.clock.now();
        let cached = match self.caches.token(&hash, now) {
            Some(cached) => cached,
            None => {
                let found = self
                    .store
                    .agent_token_by_hash(&hash)
                    .await?
                    .filter(|token| token.is_active);
                self.caches.put_token(hash, found.clone(), now);
                found
            }
        };
        let token = cached.ok_or(IngestError::InvalidToken)?;
        if self.caches.should_touch(token.id, now)
            && let Err(error) = self.store.touch_agent_token(token.id, now).await
        {
            tracing::warn!(%error, token_id = token.id, "failed to record token use");
        }
        Ok(AgentIdentity { token_id: token.id })
    }

    /// Checks that `host_id` exists and belongs to the agent's token.
    pub async fn check_host(
        &self,
        identity: AgentIdentity,
        host_id: i64,
    ) -> Result<(), IngestError> {
        let now = self.clock.now();
        let owner = match self.caches.host_owner(host_id, now) {
            Some(owner) => owner,
            None => {
                let owner = self.store.host(host_id).await?.map(|host| host.token_id);
                self.caches.put_host_owner(host_id, owner, now);
                owner
            }
        };
        if owner == Some(Some(identity.token_id)) {
            Ok(())
        } else {
            Err(IngestError::HostNotOwned(host_id))
        }
    }

    /// Drops every cached token lookup, so a revocation takes effect on this replica at once
    /// (other replicas follow within the cache lifetime).
    pub fn forget_tokens(&self) {
        self.caches.forget_tokens();
    }

    /// Drops what is cached about a host (after it was deleted).
    pub fn forget_host(&self, host_id: i64) {
        self.caches.forget_host(host_id);
    }

    /// A data timestamp, or the receive time when absent or too far in the future.
    /// Marks the hours of stored late samples for the next rollup pass. A failure only leaves
    /// those hours' rollups without the samples (raw charts still show them), so it is logged.
    async fn mark_late(&self, late: &[(i64, DateTime<Utc>)]) {
        if late.is_empty() {
            return;
        }
        if let Err(error) = self.store.mark_rollups_dirty(late).await {
            tracing::warn!(%error, hours = late.len(), "could not mark late samples for rollup");
        }
    }

    fn data_time(&self, sent: Option<DateTime<Utc>>) -> DateTime<Utc> {
        let now = self.clock.now();
        match sent {
            Some(at) if at > now + MAX_CLOCK_SKEW => {
                tracing::warn!(sent = %at, received = %now, "agent clock ahead; using receive time");
                now
            }
            Some(at) => at,
            None => now,
        }
    }

    /// `register`: creates or refreshes the host of (`hostname`, token).
    pub async fn register(
        &self,
        identity: AgentIdentity,
        request: RegisterRequest,
        peer_ip: Option<String>,
    ) -> Result<RegisterResponse, IngestError> {
        let hostname = request.hostname.trim().to_owned();
        if hostname.is_empty() {
            return Err(IngestError::Invalid {
                field: "hostname",
                message: "hostname must not be empty".to_owned(),
            });
        }
        if hostname.chars().count() > 255 {
            return Err(IngestError::Invalid {
                field: "hostname",
                message: "hostname must have at most 255 characters".to_owned(),
            });
        }
        let registration = HostRegistration {
            hostname,
            display_name: non_empty(request.display_name),
            ip_address: non_empty(request.ip_address),
            private_ip: non_empty(request.private_ip),
            public_ip: non_empty(request.public_ip),
            network_info: request.network_info.filter(|info| !info.is_null()),
            os: request.os,
            os_version: request.os_version,
            arch: request.arch,
            cpu_cores: request.cpu_cores,
            memory_total_mb: request.memory_total_mb,
            agent_version: request.agent_version,
            tags: request.tags.map(Value::Object),
            group_name: non_empty(request.group_name),
            fallback_ip_address: peer_ip,
        };
        let (host, created) = self
            .store
            .register_host(identity.token_id, registration, self.clock.now())
            .await?;
        self.caches
            .put_host_owner(host.id, Some(host.token_id), self.clock.now());
        Ok(RegisterResponse {
            host_id: host.id,
            hostname: host.hostname,
            status: host.status.as_str().to_owned(),
            created,
        })
    }

    /// `heartbeat`: the host is online now.
    pub async fn heartbeat(
        &self,
        identity: AgentIdentity,
        request: HeartbeatRequest,
    ) -> Result<HeartbeatResponse, IngestError> {
        self.check_host(identity, request.host_id).await?;
        let now = self.clock.now();
        self.store
            .record_heartbeat(request.host_id, now)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => IngestError::HostNotOwned(request.host_id),
                other => IngestError::Store(other),
            })?;
        Ok(HeartbeatResponse {
            status: "ok".to_owned(),
            server_time: now,
            heartbeat_interval: self.config.heartbeat_interval,
        })
    }

    /// `metrics`: one host sample, written through group commit.
    /// A `claim` is completed in the sample's transaction.
    pub async fn metrics(
        &self,
        identity: AgentIdentity,
        report: MetricsReport,
        claim: Option<ClaimedKey>,
    ) -> Result<MetricsResponse, IngestError> {
        self.check_host(identity, report.host_id).await?;
        let sample = metric_sample(&report, |sent| self.data_time(sent));
        let observed = self.observer.as_ref().map(|_| MetricSample {
            host_id: sample.host_id,
            recorded_at: sample.recorded_at,
            values: sample.values.clone(),
            extra: None,
        });
        let late = crate::rollup::late_hours(std::slice::from_ref(&sample), self.clock.now());
        let claim = claim.map(|claim| claim.completed_by(reply::metrics));
        let metric_id = self.batcher.submit(sample, claim).await?;
        self.mark_late(&late).await;
        if let (Some(observer), Some(sample)) = (&self.observer, observed) {
            observer.metrics_stored(sample).await;
        }
        Ok(reply::metrics_response(metric_id))
    }

    /// **Extension** `metrics/batch`: several samples, each with its own timestamp, stored
    /// together through group commit (all or none). Every sample's host must belong to the
    /// token; nothing is stored otherwise.
    /// A `claim` is completed in the batch's transaction.
    pub async fn metrics_batch(
        &self,
        identity: AgentIdentity,
        batch: MetricsBatch,
        claim: Option<ClaimedKey>,
    ) -> Result<MetricsBatchResponse, IngestError> {
        if batch.samples.is_empty() {
            return Err(IngestError::Invalid {
                field: "samples",
                message: "a batch needs at least one sample".to_owned(),
            });
        }
        if batch.samples.len() > MAX_METRICS_BATCH {
            return Err(IngestError::TooManySamples);
        }
        if let Some(index) = batch
            .samples
            .iter()
            .position(|sample| sample.timestamp.is_none())
        {
            return Err(IngestError::Invalid {
                field: "samples",
                message: format!(
                    "samples[{index}] has no timestamp; every batched sample needs one"
                ),
            });
        }
        let mut checked = std::collections::HashSet::new();
        for sample in &batch.samples {
            if checked.insert(sample.host_id) {
                self.check_host(identity, sample.host_id).await?;
            }
        }
        let samples: Vec<MetricSample> = batch
            .samples
            .iter()
            .map(|report| metric_sample(report, |sent| self.data_time(sent)))
            .collect();
        let observed: Vec<MetricSample> = if self.observer.is_some() {
            samples
                .iter()
                .map(|sample| MetricSample {
                    host_id: sample.host_id,
                    recorded_at: sample.recorded_at,
                    values: sample.values.clone(),
                    extra: None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let late = crate::rollup::late_hours(&samples, self.clock.now());
        let claim = claim.map(|claim| claim.completed_by(reply::metrics_batch));
        let metric_ids = self.batcher.submit_many(samples, claim).await?;
        self.mark_late(&late).await;
        if let Some(observer) = &self.observer {
            for sample in observed {
                observer.metrics_stored(sample).await;
            }
        }
        Ok(reply::metrics_batch_response(metric_ids))
    }

    /// **Extension** `service-targets`: the services of `host_id` (registered by its agent or
    /// by an operator), for the agent to check and report under their ids.
    pub async fn service_targets(
        &self,
        identity: AgentIdentity,
        host_id: i64,
    ) -> Result<ServiceTargetsResponse, IngestError> {
        self.check_host(identity, host_id).await?;
        let items = self
            .store
            .host_services(host_id)
            .await?
            .into_iter()
            .map(|service| ServiceTarget {
                id: service.id,
                name: service.name,
                check_type: service.check_type,
                target: service.target,
                check_interval: service.check_interval,
                timeout: service.timeout,
                is_active: service.is_active,
            })
            .collect();
        Ok(ServiceTargetsResponse { items })
    }

    /// `services/register`: creates or updates the service (`host_id`, `name`).
    pub async fn register_service(
        &self,
        identity: AgentIdentity,
        request: ServiceRegisterRequest,
    ) -> Result<ServiceRegisterResponse, IngestError> {
        const REQUIRED: &str = "name, target and host_id required";
        let name = non_empty(request.name).ok_or(IngestError::BadRequest(REQUIRED))?;
        let target = non_empty(request.target).ok_or(IngestError::BadRequest(REQUIRED))?;
        let host_id = request.host_id.ok_or(IngestError::BadRequest(REQUIRED))?;
        let check_type = non_empty(request.check_type).unwrap_or_else(|| "http".to_owned());
        if check_type != "http" && check_type != "tcp" {
            return Err(IngestError::Invalid {
                field: "type",
                message: "type must be `http` or `tcp`".to_owned(),
            });
        }
        let check_interval = request.check_interval.unwrap_or(60);
        let timeout = request.timeout.unwrap_or(10);
        if !(1..=86_400).contains(&check_interval) {
            return Err(IngestError::Invalid {
                field: "check_interval",
                message: "check_interval must be between 1 and 86400 seconds".to_owned(),
            });
        }
        if !(1..=3_600).contains(&timeout) {
            return Err(IngestError::Invalid {
                field: "timeout",
                message: "timeout must be between 1 and 3600 seconds".to_owned(),
            });
        }
        self.check_host(identity, host_id).await?;
        let category = category::categorize(&name).to_owned();
        let (service_id, created) = self
            .store
            .register_service(
                ServiceRegistration {
                    host_id,
                    name,
                    target,
                    check_type,
                    check_interval,
                    timeout,
                    category,
                },
                self.clock.now(),
            )
            .await?;
        Ok(ServiceRegisterResponse {
            service_id,
            created,
        })
    }

    /// **Extension** `service-dependencies`: replaces the host's discovered dependency edges,
    /// unless a set observed later is already stored.
    pub async fn service_dependencies(
        &self,
        identity: AgentIdentity,
        report: ServiceDependenciesReport,
    ) -> Result<ServiceDependenciesResponse, IngestError> {
        self.check_host(identity, report.host_id).await?;
        if report.dependencies.len() > MAX_DEPENDENCY_EDGES {
            return Err(IngestError::Invalid {
                field: "dependencies",
                message: format!("at most {MAX_DEPENDENCY_EDGES} edges per report"),
            });
        }
        let mut edges = Vec::with_capacity(report.dependencies.len());
        for edge in report.dependencies {
            if edge.from.trim().is_empty() || edge.to.trim().is_empty() {
                return Err(IngestError::Invalid {
                    field: "dependencies",
                    message: "every edge needs `from` and `to`".to_owned(),
                });
            }
            edges.push(NewDiscoveredDependency {
                from: edge.from,
                to: edge.to,
                connections: edge.connections.max(0),
            });
        }
        let observed_at = self.data_time(report.observed_at);
        let stored = self
            .store
            .replace_discovered_dependencies(report.host_id, &edges, observed_at)
            .await?;
        Ok(match stored {
            Some(count) => ServiceDependenciesResponse {
                status: "ok".to_owned(),
                stored: i64::try_from(count).unwrap_or(i64::MAX),
            },
            None => ServiceDependenciesResponse {
                status: "stale".to_owned(),
                stored: 0,
            },
        })
    }

    /// `services`: one check result.
    /// A `claim` is completed in the check's transaction.
    pub async fn service_check(
        &self,
        identity: AgentIdentity,
        report: ServiceCheckReport,
        claim: Option<ClaimedKey>,
    ) -> Result<ServiceCheckResponse, IngestError> {
        let host_id = self
            .store
            .service_host(report.service_id)
            .await?
            .ok_or(IngestError::ServiceNotOwned(report.service_id))?;
        self.check_host(identity, host_id)
            .await
            .map_err(|_| IngestError::ServiceNotOwned(report.service_id))?;
        let error = report
            .error
            .map(|text| text.chars().take(MAX_CHECK_ERROR_CHARS).collect());
        let checked_at = self.data_time(report.checked_at);
        let status = report.status.as_str().to_owned();
        let down = status == "down";
        let check_id = self
            .store
            .insert_service_check(
                NewServiceCheck {
                    service_id: report.service_id,
                    status,
                    response_time_ms: report.response_time_ms,
                    status_code: report.status_code,
                    error,
                    checked_at,
                },
                claim
                    .map(|claim| claim.completed_by(reply::service_check))
                    .as_ref(),
            )
            .await?;
        if let Some(observer) = &self.observer {
            observer
                .check_stored(report.service_id, host_id, down, checked_at)
                .await;
        }
        Ok(reply::service_check_response(check_id))
    }

    /// `db-metrics`: one database sample; the database is found or created by (host, name).
    /// A `claim` is completed in the sample's transaction.
    pub async fn db_metrics(
        &self,
        identity: AgentIdentity,
        report: DbMetricsReport,
        claim: Option<ClaimedKey>,
    ) -> Result<DbMetricsResponse, IngestError> {
        const REQUIRED: &str = "host_id and db_name required";
        let host_id = report
            .host_id
            .filter(|id| *id != 0)
            .ok_or(IngestError::BadRequest(REQUIRED))?;
        let db_name = non_empty(report.db_name).ok_or(IngestError::BadRequest(REQUIRED))?;
        self.check_host(identity, host_id).await?;
        let slow_queries_detail = report
            .slow_queries_detail
            .map(|detail| serde_json::to_value(detail).unwrap_or(Value::Array(Vec::new())));
        let metric = NewDbMetric {
            host_id,
            db_name,
            db_type: non_empty(report.db_type).unwrap_or_else(|| "postgres".to_owned()),
            recorded_at: self.data_time(report.timestamp),
            connections_total: report.connections_total,
            connections_active: report.connections_active,
            connections_max: report.connections_max,
            database_size_mb: report.database_size_mb,
            slow_queries: report.slow_queries,
            tables_count: report.tables_count,
            transactions_committed: report.transactions_committed,
            transactions_rolled_back: report.transactions_rolled_back,
            qps: report.qps,
            tablespace_used_pct: report.tablespace_used_pct,
            lock_waits: report.lock_waits,
            deadlocks: report.deadlocks,
            extra: report.extra.map(Value::Object),
            slow_queries_detail,
        };
        let observed = self.observer.as_ref().map(|_| DbReading {
            host_id,
            database_id: 0,
            db_name: metric.db_name.clone(),
            values: db_values(&metric),
            at: metric.recorded_at,
        });
        let (database_id, metric_id) = self
            .store
            .insert_db_metric(
                metric,
                self.clock.now(),
                claim
                    .map(|claim| claim.completed_by(reply::db_metrics))
                    .as_ref(),
            )
            .await?;
        if let (Some(observer), Some(reading)) = (&self.observer, observed) {
            observer
                .db_metric_stored(DbReading {
                    database_id,
                    ..reading
                })
                .await;
        }
        Ok(reply::db_metrics_response(&[database_id, metric_id]))
    }

    /// `logs`: an all-or-nothing batch; every entry's host must belong to the token.
    /// A `claim` is completed in the batch's transaction.
    pub async fn logs(
        &self,
        identity: AgentIdentity,
        batch: LogBatch,
        claim: Option<ClaimedKey>,
    ) -> Result<LogBatchResponse, IngestError> {
        if batch.logs.len() > MAX_LOG_BATCH {
            return Err(IngestError::TooLarge);
        }
        let mut checked = std::collections::HashSet::new();
        for entry in &batch.logs {
            if checked.insert(entry.host_id) {
                self.check_host(identity, entry.host_id).await?;
            }
        }
        let entries: Vec<NewLogEntry> = batch
            .logs
            .into_iter()
            .map(|entry| NewLogEntry {
                host_id: entry.host_id,
                service: entry.service,
                source: entry.source,
                level: entry.level.map(|level| normalize_level(&level)),
                message: entry.message,
                timestamp: self.data_time(Some(entry.timestamp)),
            })
            .collect();
        let claim = claim.map(|claim| claim.completed_by(reply::logs));
        let received = self
            .store
            .insert_logs(&entries, self.clock.now(), claim.as_ref())
            .await?;
        if let Some(observer) = &self.observer {
            observer.logs_stored(entries).await;
        }
        Ok(LogBatchResponse { received })
    }

    /// Runs a write at most once per (token, `key`): a repeat returns the stored reply, a
    /// concurrent repeat is refused, a failure releases the key for a retry. `operation` gets
    /// the claimed key and must complete it inside its own transaction (see
    /// [`IdempotencyClaim`]), so a crash can never leave the write stored and the key open.
    /// Without a key the operation simply runs.
    pub async fn idempotent_write<T, F, Fut>(
        &self,
        identity: AgentIdentity,
        key: Option<&str>,
        status: u16,
        operation: F,
    ) -> Result<StoredReply, IngestError>
    where
        T: Serialize,
        F: FnOnce(Option<ClaimedKey>) -> Fut,
        Fut: Future<Output = Result<T, IngestError>>,
    {
        let Some(key) = key else {
            let value = operation(None).await?;
            return Ok(StoredReply {
                status,
                body: reply::render(&value),
            });
        };
        let claim = match self.claim(identity, key, status).await? {
            Claim::Replay(reply) => return Ok(reply),
            Claim::Owned(claim) => claim,
        };
        match operation(Some(claim)).await {
            Ok(value) => Ok(StoredReply {
                status,
                body: reply::render(&value),
            }),
            Err(error) => Err(self.released(identity, key, error).await),
        }
    }

    /// Like [`Self::idempotent_write`] for operations that are idempotent by nature (upserts):
    /// the key is completed after the operation, in its own transaction.
    pub async fn idempotent<T, F, Fut>(
        &self,
        identity: AgentIdentity,
        key: Option<&str>,
        status: u16,
        operation: F,
    ) -> Result<StoredReply, IngestError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, IngestError>>,
    {
        let Some(key) = key else {
            let value = operation().await?;
            return Ok(StoredReply {
                status,
                body: reply::render(&value),
            });
        };
        if let Claim::Replay(reply) = self.claim(identity, key, status).await? {
            return Ok(reply);
        }
        match operation().await {
            Ok(value) => {
                let body = reply::render(&value);
                self.store
                    .complete_idempotent(identity.token_id, key, status, &body)
                    .await?;
                Ok(StoredReply { status, body })
            }
            Err(error) => Err(self.released(identity, key, error).await),
        }
    }

    /// Claims `key` for this request, or finds the reply to replay.
    async fn claim(
        &self,
        identity: AgentIdentity,
        key: &str,
        status: u16,
    ) -> Result<Claim, IngestError> {
        if !is_valid_idempotency_key(key) {
            return Err(IngestError::InvalidIdempotencyKey);
        }
        let now = self.clock.now();
        match self
            .store
            .begin_idempotent(identity.token_id, key, now, IDEMPOTENCY_STALE_AFTER)
            .await?
        {
            IdempotencyState::Completed { status, body } => {
                Ok(Claim::Replay(StoredReply { status, body }))
            }
            IdempotencyState::InProgress => Err(IngestError::IdempotencyInProgress),
            IdempotencyState::Started => Ok(Claim::Owned(ClaimedKey {
                token_id: identity.token_id,
                key: key.to_owned(),
                claimed_at: now,
                status,
            })),
        }
    }

    /// Gives the key back after a failed operation and returns the error to answer with: a
    /// claim taken over by a retry meanwhile means that retry is in progress.
    async fn released(
        &self,
        identity: AgentIdentity,
        key: &str,
        error: IngestError,
    ) -> IngestError {
        if let Err(release_error) = self.store.release_idempotent(identity.token_id, key).await {
            tracing::warn!(%release_error, "failed to release idempotency key");
        }
        match error {
            IngestError::Store(StoreError::ClaimLost)
            | IngestError::Batch(BatchError::ClaimLost) => IngestError::IdempotencyInProgress,
            other => other,
        }
    }
}

/// Whether a request runs or replays.
enum Claim {
    Replay(StoredReply),
    Owned(ClaimedKey),
}

/// An `Idempotency-Key` this request claimed; the write it guards completes it.
#[derive(Debug, Clone)]
pub struct ClaimedKey {
    token_id: i64,
    key: String,
    claimed_at: DateTime<Utc>,
    status: u16,
}

impl ClaimedKey {
    /// The store's claim, with the function that renders the reply from the written ids.
    fn completed_by(self, reply: fn(&[i64]) -> String) -> IdempotencyClaim {
        IdempotencyClaim {
            token_id: self.token_id,
            key: self.key,
            claimed_at: self.claimed_at,
            status: self.status,
            reply,
        }
    }
}

/// The replies of the idempotent writes, built from the ids the write produced, so the reply
/// stored inside the write's transaction is exactly the one sent the first time.
mod reply {
    use serde::Serialize;

    use crate::protocol::agent::{
        DbMetricsResponse, LogBatchResponse, MetricsBatchResponse, MetricsResponse,
        ServiceCheckResponse,
    };

    pub(super) fn render(value: &impl Serialize) -> String {
        serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
    }

    fn id(ids: &[i64], index: usize) -> i64 {
        ids.get(index).copied().unwrap_or_default()
    }

    pub(super) fn metrics_response(metric_id: i64) -> MetricsResponse {
        MetricsResponse {
            status: "ok".to_owned(),
            metric_id,
        }
    }

    pub(super) fn metrics(ids: &[i64]) -> String {
        render(&metrics_response(id(ids, 0)))
    }

    pub(super) fn metrics_batch_response(metric_ids: Vec<i64>) -> MetricsBatchResponse {
        MetricsBatchResponse {
            status: "ok".to_owned(),
            received: metric_ids.len(),
            metric_ids,
        }
    }

    pub(super) fn metrics_batch(ids: &[i64]) -> String {
        render(&metrics_batch_response(ids.to_vec()))
    }

    pub(super) fn service_check_response(check_id: i64) -> ServiceCheckResponse {
        ServiceCheckResponse {
            status: "ok".to_owned(),
            check_id,
        }
    }

    pub(super) fn service_check(ids: &[i64]) -> String {
        render(&service_check_response(id(ids, 0)))
    }

    pub(super) fn db_metrics_response(ids: &[i64]) -> DbMetricsResponse {
        DbMetricsResponse {
            status: "ok".to_owned(),
            database_id: id(ids, 0),
            metric_id: id(ids, 1),
        }
    }

    pub(super) fn db_metrics(ids: &[i64]) -> String {
        render(&db_metrics_response(ids))
    }

    pub(super) fn logs(ids: &[i64]) -> String {
        let received = usize::try_from(id(ids, 0)).unwrap_or_default();
        render(&LogBatchResponse { received })
    }
}

/// `WARNING` → `WARN`, `CRITICAL` → `FATAL`, upper-cased, as the agents' tailer does.
pub fn normalize_level(level: &str) -> String {
    let upper = level.trim().to_uppercase();
    match upper.as_str() {
        "WARNING" => "WARN".to_owned(),
        "CRITICAL" => "FATAL".to_owned(),
        _ => upper,
    }
}

/// Converts a report into the sample to store (pure; `time` picks the recorded time).
pub fn metric_sample(
    report: &MetricsReport,
    time: impl FnOnce(Option<DateTime<Utc>>) -> DateTime<Utc>,
) -> MetricSample {
    #[allow(clippy::cast_precision_loss)] // Megabytes and byte counters fit f64's 53 bits.
    let as_f64 = |value: Option<i64>| value.map(|value| value as f64);
    let mut extra = Map::new();
    if let Some(partitions) = &report.disk_partitions {
        extra.insert(
            "disk_partitions".to_owned(),
            serde_json::to_value(partitions).unwrap_or(Value::Null),
        );
    }
    let structured = [
        (
            "cpu_per_core",
            report.cpu_per_core.as_ref().map(serde_json::to_value),
        ),
        ("disk_io", report.disk_io.as_ref().map(serde_json::to_value)),
        (
            "top_processes",
            report.top_processes.as_ref().map(serde_json::to_value),
        ),
    ];
    for (name, value) in structured {
        if let Some(Ok(value)) = value {
            extra.insert(name.to_owned(), value);
        }
    }
    let numbers: [(&str, Option<f64>); 9] = [
        ("uptime_seconds", as_f64(report.uptime_seconds)),
        ("swap_used_mb", as_f64(report.swap_used_mb)),
        ("swap_total_mb", as_f64(report.swap_total_mb)),
        ("swap_percent", report.swap_percent),
        ("agent_cpu_percent", report.agent_cpu_percent),
        ("agent_memory_rss_mb", report.agent_memory_rss_mb),
        ("agent_thread_count", as_f64(report.agent_thread_count)),
        ("agent_uptime_seconds", as_f64(report.agent_uptime_seconds)),
        ("agent_open_files", as_f64(report.agent_open_files)),
    ];
    for (name, value) in numbers {
        if let Some(number) = value.and_then(serde_json::Number::from_f64) {
            extra.insert(name.to_owned(), Value::Number(number));
        }
    }
    MetricSample {
        host_id: report.host_id,
        recorded_at: time(report.timestamp),
        values: MetricValues {
            cpu_percent: report.cpu_percent,
            cpu_load_1: report.cpu_load_1,
            cpu_load_5: report.cpu_load_5,
            cpu_load_15: report.cpu_load_15,
            memory_used_mb: as_f64(report.memory_used_mb),
            memory_percent: report.memory_percent,
            disk_used_mb: as_f64(report.disk_used_mb),
            disk_total_mb: as_f64(report.disk_total_mb),
            disk_percent: report.disk_percent,
            net_bytes_sent: as_f64(report.net_bytes_sent),
            net_bytes_recv: as_f64(report.net_bytes_recv),
            net_send_rate_kb: report.net_send_rate_kb,
            net_recv_rate_kb: report.net_recv_rate_kb,
            net_packet_loss_rate: report.net_packet_loss_rate,
        },
        extra: (!extra.is_empty()).then_some(Value::Object(extra)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_normalised() {
        assert_eq!(normalize_level("warning"), "WARN");
        assert_eq!(normalize_level("Critical"), "FATAL");
        assert_eq!(normalize_level("error"), "ERROR");
    }

    #[test]
    fn report_extension_fields_go_to_extra() {
        let report: MetricsReport = serde_json::from_str(
            r#"{"host_id":1,"cpu_percent":5.5,"memory_used_mb":1052.0,"agent_thread_count":2,
                "disk_partitions":[{"mountpoint":"/","total_mb":10,"used_mb":5,"percent":50.0}]}"#,
        )
        .unwrap();
        let sample = metric_sample(&report, |sent| sent.unwrap_or_default());
        assert_eq!(sample.values.memory_used_mb, Some(1052.0));
        let extra = sample.extra.unwrap();
        assert_eq!(extra["agent_thread_count"], 2.0);
        assert_eq!(extra["disk_partitions"][0]["mountpoint"], "/");
        assert!(extra.get("disk_io").is_none());
    }

    #[test]
    fn agent_detail_extensions_go_to_extra() {
        let report: MetricsReport = serde_json::from_str(
            r#"{"host_id":1,"uptime_seconds":3600.0,"cpu_per_core":[10.5,90.0],
                "disk_io":[{"device":"vda","read_bytes_per_sec":512.0,"write_bytes_per_sec":0,
                            "read_ops_per_sec":1.5,"write_ops_per_sec":0}],
                "top_processes":{"by_cpu":[{"pid":7,"name":"postgres","cpu_percent":150.2,"rss_mb":80.5}],
                                 "by_memory":[]},"future_field":1}"#,
        )
        .unwrap();
        let sample = metric_sample(&report, |sent| sent.unwrap_or_default());
        let extra = sample.extra.unwrap();
        assert_eq!(extra["uptime_seconds"], 3600.0);
        assert_eq!(extra["cpu_per_core"][1], 90.0);
        assert_eq!(extra["disk_io"][0]["device"], "vda");
        assert_eq!(extra["disk_io"][0]["read_ops_per_sec"], 1.5);
        assert_eq!(extra["top_processes"]["by_cpu"][0]["name"], "postgres");
        assert_eq!(extra["top_processes"]["by_memory"], serde_json::json!([]));
    }
}
