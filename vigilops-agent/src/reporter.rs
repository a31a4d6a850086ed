//! The agent's main loop: register (retrying forever), heartbeat on the interval the server asks
//! for, collect a metrics sample every `metrics.interval` into the spool, and deliver the spool in
//! order with one `Idempotency-Key` per sample. A 403 on a host-bound call re-registers and
//! carries on; shutdown stops every loop promptly and leaves undelivered samples in the spool.
//!
//! Three tasks share the work so that a slow or unreachable server never delays collection:
//! - the collector ticks on `metrics.interval` and appends to the spool;
//! - the sender drains the spool, oldest first, backing off on failures;
//! - the heartbeat keeps the host online.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use vigilops_core::client::{AgentClient, ClientError};
use vigilops_core::clock::Clock;
use vigilops_core::protocol::agent::RegisterRequest;

use crate::collector::HostCollector;
use crate::config::{AgentConfig, DatabaseConfig, DiscoveryConfig};
use crate::spool::{RecordKind, ServiceRef, Spool, SpoolLimits, SpoolRecord};

/// The heartbeat interval before the server has said which one it wants.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(60);

/// Capped exponential backoff; each delay is drawn between half and all of the capped value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The largest delay.
    pub max: Duration,
}

impl Backoff {
    /// The delay after `failures` consecutive failures (1 for the first), with `jitter` in
    /// `[0, 1)` choosing where between half and all of the capped delay it falls.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let capped = self.initial.saturating_mul(1 << doublings).min(self.max);
        capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    fn next_delay(&self, failures: u32) -> Duration {
        self.delay(failures, rand::random::<f64>())
    }
}

/// Timing knobs of the reporter that the config file does not set; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReporterOptions {
    /// Between registration attempts.
    pub register_backoff: Backoff,
    /// Between attempts to deliver a record after a retryable failure.
    pub send_backoff: Backoff,
    /// Between attempts while the server rejects the token (401).
    pub unauthorized_retry: Duration,
    /// Heartbeat interval until the server names one.
    pub heartbeat_interval: Duration,
    /// When the first sample is taken, if sooner than one interval after start (so a new host
    /// shows data at once); its rates cover the time since start.
    pub first_sample_delay: Option<Duration>,
}

impl Default for ReporterOptions {
    fn default() -> Self {
        Self {
            register_backoff: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(60),
            },
            send_backoff: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(60),
            },
            unauthorized_retry: Duration::from_secs(60),
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            first_sample_delay: Some(Duration::from_secs(1)),
        }
    }
}

/// The heartbeat interval the server asked for, clamped to 10–300 s.
pub fn heartbeat_interval_from_server(seconds: u32) -> Duration {
    Duration::from_secs(u64::from(seconds.clamp(10, 300)))
}

/// What to do with a record after one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The server stored it (any 2xx).
    Delivered,
    /// Try again after the backoff: unreachable, 5xx, 408, 409, 429.
    Retry,
    /// The token was refused (401): keep the record and retry slowly.
    Unauthorized,
    /// The server does not know the host (403): re-register, then retry.
    Reregister,
    /// The body is too large (413): split the batch, or drop a single record.
    TooLarge,
    /// Any other 4xx: it can never succeed, so drop it (and count it).
    Drop,
}

/// Classifies the outcome of posting a record.
pub fn classify<T>(result: &Result<T, ClientError>) -> Delivery {
    match result {
        Ok(_) => Delivery::Delivered,
        // The data endpoints' reply bodies are informative only: any 2xx means stored.
        Err(ClientError::Decode { .. }) => Delivery::Delivered,
        Err(ClientError::Api { status, .. }) => match *status {
            401 => Delivery::Unauthorized,
            403 => Delivery::Reregister,
            408 | 409 | 429 => Delivery::Retry,
            413 => Delivery::TooLarge,
            400..=499 => Delivery::Drop,
            _ => Delivery::Retry,
        },
        Err(_) => Delivery::Retry,
    }
}

/// Counters of one run, logged at shutdown.
#[derive(Debug, Default)]
pub struct RunStats {
    /// Samples collected and spooled.
    pub collected: AtomicU64,
    /// Records the server accepted.
    pub delivered: AtomicU64,
    /// Records refused by the server for good (non-retryable 4xx).
    pub refused: AtomicU64,
    /// Registrations that succeeded (the first one and any re-registration).
    pub registrations: AtomicU64,
}

/// Everything the tasks share.
struct Shared {
    client: AgentClient,
    clock: Arc<dyn Clock>,
    options: ReporterOptions,
    register_request: RegisterRequest,
    host_id: tokio::sync::Mutex<Option<i64>>,
    spool: Mutex<Spool>,
    spooled: Notify,
    stats: Arc<RunStats>,
    /// Service name → (host id, service id) of the latest registration of each service, so
    /// spooled checks are sent under the service's current id.
    services: tokio::sync::Mutex<HashMap<String, (i64, i64)>>,
}

impl Shared {
    fn spool(&self) -> MutexGuard<'_, Spool> {
        // A panic while holding the lock leaves the spool usable: its state is on disk.
        self.spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The body to post for `body` (one part of `record`) under `host_id`: the host id filled
    /// in where the kind carries one, and a service check's `service_id` remapped to the
    /// service's id under `host_id` (registering the service again when it has none there yet,
    /// or when `forbidden` says the server refused the id it has).
    async fn body_to_send(
        &self,
        record: &SpoolRecord,
        body: &serde_json::Value,
        host_id: i64,
        forbidden: bool,
    ) -> Result<serde_json::Value, ClientError> {
        let mut body = body.clone();
        if record.kind.has_host_id()
            && let Some(object) = body.as_object_mut()
        {
            object.insert("host_id".to_owned(), host_id.into());
        }
        if record.kind == RecordKind::Logs {
            crate::logs::set_host_id(&mut body, host_id);
        }
        if let Some(service) = &record.service {
            let service_id = self
                .service_id(service, body.get("service_id"), host_id, forbidden)
                .await?;
            if let Some(object) = body.as_object_mut() {
                object.insert("service_id".to_owned(), service_id.into());
            }
        }
        Ok(body)
    }

    /// The id of `service` under `host_id`. The spooled id is kept only when it was assigned
    /// under this very host id; otherwise the latest registration under `host_id` is used, or
    /// the service is registered again (idempotent on the server: same host and name, same id).
    async fn service_id(
        &self,
        service: &ServiceRef,
        spooled_id: Option<&serde_json::Value>,
        host_id: i64,
        forbidden: bool,
    ) -> Result<i64, ClientError> {
        let mut services = self.services.lock().await;
        if !forbidden {
            if let Some((registered_host, service_id)) = services.get(&service.name)
                && *registered_host == host_id
            {
                return Ok(*service_id);
            }
            if service.host_id == host_id
                && let Some(service_id) = spooled_id.and_then(serde_json::Value::as_i64)
            {
                return Ok(service_id);
            }
        }
        let mut request = service.register.clone();
        request.host_id = Some(host_id);
        let reply = self.client.register_service(&request).await?;
        tracing::info!(
            service = %service.name,
            service_id = reply.service_id,
            host_id,
            "service registered again for spooled checks"
        );
        services.insert(service.name.clone(), (host_id, reply.service_id));
        Ok(reply.service_id)
    }

    /// The registered host id, registering first if needed; `None` when stopped meanwhile.
    async fn host_id(&self, stop: &mut watch::Receiver<bool>) -> Option<i64> {
        self.register_unless(None, stop).await
    }

    /// Registers again because `stale` was refused; another task may already have done it.
    async fn reregister(&self, stale: i64, stop: &mut watch::Receiver<bool>) -> Option<i64> {
        self.register_unless(Some(stale), stop).await
    }

    async fn register_unless(
        &self,
        stale: Option<i64>,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<i64> {
        let mut current = self.host_id.lock().await;
        if let Some(host_id) = *current
            && Some(host_id) != stale
        {
            return Some(host_id);
        }
        if let Some(stale) = stale {
            tracing::warn!(
                host_id = stale,
                "server no longer knows this host; registering again"
            );
        }
        let mut failures = 0u32;
        loop {
            let attempt = tokio::select! {
                result = self.client.register(&self.register_request) => result,
                () = stopped(stop) => return None,
            };
            match attempt {
                Ok(reply) => {
                    tracing::info!(
                        host_id = reply.host_id,
                        created = reply.created,
                        hostname = %self.register_request.hostname,
                        "registered"
                    );
                    self.stats.registrations.fetch_add(1, Ordering::Relaxed);
                    *current = Some(reply.host_id);
                    return Some(reply.host_id);
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = self.options.register_backoff.next_delay(failures);
                    tracing::warn!(%error, failures, retry_in = ?delay, "registration failed");
                    if sleep_or_stop(delay, stop).await {
                        return None;
                    }
                }
            }
        }
    }
}

/// Resolves once the stop flag is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the sender was dropped, which also means stop.
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Sleeps for `duration`; returns true when stopped first.
async fn sleep_or_stop(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        () = stopped(stop) => true,
    }
}

/// Opens the configured spool, or keeps reports in memory when the directory is unusable.
pub fn open_spool(config: &AgentConfig) -> Spool {
    let limits = SpoolLimits {
        max_bytes: config.spool.max_bytes,
        max_age: config.spool.max_age,
    };
    match Spool::open(&config.spool.dir, limits) {
        Ok(spool) => {
            tracing::info!(dir = %config.spool.dir.display(), pending_bytes = spool.pending_bytes(), "spool opened");
            spool
        }
        Err(error) => {
            tracing::warn!(%error, "spool directory unusable; reports are kept in memory and lost on restart");
            Spool::in_memory(limits)
        }
    }
}

/// Everything one run of the agent needs, assembled by [`Reporter::from_config`] (tests replace
/// parts of it).
pub struct Reporter {
    /// The server connection.
    pub client: AgentClient,
    /// The source of timestamps.
    pub clock: Arc<dyn Clock>,
    /// The body sent at every registration.
    pub register_request: RegisterRequest,
    /// The metric collectors, with their baseline already taken.
    pub collector: HostCollector,
    /// Where samples wait for delivery.
    pub spool: Spool,
    /// Time between two samples.
    pub metrics_interval: Duration,
    /// Timing knobs.
    pub options: ReporterOptions,
    /// Databases to sample (`databases:`), each on its own interval.
    pub databases: Vec<DatabaseConfig>,
    /// Host service discovery (`discovery:`).
    pub discovery: DiscoveryConfig,
    /// Configured service checks (`services:`), each on its own interval.
    pub services: Vec<crate::config::ServiceCheckConfig>,
    /// Log files to tail (`log_sources:`).
    pub log_sources: Vec<crate::config::LogSourceConfig>,
    /// Where the log offsets are saved (used only with a persistent spool: offsets saved past
    /// lines held in a memory spool would skip them after a restart).
    pub log_offsets: Option<std::path::PathBuf>,
    /// Log tailing knobs.
    pub log_options: crate::logs::LogOptions,
    /// The command channel (agent WebSocket); `None` turns it off.
    pub remote: Option<crate::remote::RemoteOptions>,
}

impl std::fmt::Debug for Reporter {
    // Written by hand: the client's own `Debug` would print the agent token.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Reporter")
            .field("register_request", &self.register_request)
            .field("metrics_interval", &self.metrics_interval)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// Assembles a run from the config: takes the first readings, gathers the host facts, opens
    /// the spool (or falls back to memory). `started` is when the process started.
    pub fn from_config(config: &AgentConfig, clock: Arc<dyn Clock>, started: Instant) -> Self {
        let collector = HostCollector::new(started);
        let memory_total_mb = crate::collector::memory::total_megabytes_now();
        let facts = crate::host_info::gather(collector.logical_cpus(), memory_total_mb);
        Self {
            client: AgentClient::new(&config.server.url, &config.server.token)
                .with_user_agent(concat!("vigilops-agent/", env!("CARGO_PKG_VERSION")))
                .with_gzip(config.server.gzip),
            clock,
            register_request: crate::host_info::register_request(&config.host, &facts),
            collector,
            spool: open_spool(config),
            metrics_interval: config.metrics.interval,
            options: ReporterOptions::default(),
            databases: config.databases.clone(),
            discovery: config.discovery.clone(),
            services: config.services.clone(),
            log_sources: config.log_sources.clone(),
            log_offsets: Some(config.spool.dir.join("offsets.json")),
            log_options: crate::logs::LogOptions::default(),
            remote: Some(crate::remote::RemoteOptions::new(
                &config.server.url,
                &config.server.token,
                config.remediation.enabled,
            )),
        }
    }

    /// Runs the agent until `shutdown` resolves, then stops every loop and returns the counters.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Arc<RunStats> {
        let stats = Arc::new(RunStats::default());
        let log_offsets = self.log_offsets.filter(|_| self.spool.is_persistent());
        let shared = Arc::new(Shared {
            client: self.client,
            clock: self.clock,
            options: self.options,
            register_request: self.register_request,
            host_id: tokio::sync::Mutex::new(None),
            spool: Mutex::new(self.spool),
            spooled: Notify::new(),
            stats: Arc::clone(&stats),
            services: tokio::sync::Mutex::default(),
        });
        let (stop_sender, stop) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(collect_loop(
                Arc::clone(&shared),
                self.collector,
                self.metrics_interval,
                stop.clone(),
            )),
            tokio::spawn(send_loop(Arc::clone(&shared), stop.clone())),
            tokio::spawn(heartbeat_loop(Arc::clone(&shared), stop.clone())),
        ];
        let handle = AgentHandle {
            shared: Arc::clone(&shared),
        };
        tasks.extend(crate::db::spawn_loops(&handle, &self.databases, &stop));
        tasks.extend(crate::discovery::spawn_loop(
            &handle,
            &self.discovery,
            &stop,
        ));
        tasks.extend(crate::checks::spawn_loops(&handle, &self.services, &stop));
        if let Some(remote) = self.remote {
            tasks.extend(crate::remote::spawn_loop(&handle, remote, &stop));
        }
        tasks.extend(crate::logs::spawn_loop(
            &handle,
            &self.log_sources,
            log_offsets,
            self.log_options,
            &stop,
        ));
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_sender.send(true);
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "agent task ended abnormally");
            }
        }
        let spool = shared.spool();
        tracing::info!(
            collected = stats.collected.load(Ordering::Relaxed),
            delivered = stats.delivered.load(Ordering::Relaxed),
            refused = stats.refused.load(Ordering::Relaxed),
            spool_dropped = spool.dropped(),
            spool_pending_bytes = spool.pending_bytes(),
            persistent = spool.is_persistent(),
            "stopped"
        );
        drop(spool);
        stats
    }
}

async fn collect_loop(
    shared: Arc<Shared>,
    collector: HostCollector,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let first = shared
        .options
        .first_sample_delay
        .map_or(interval, |delay| delay.min(interval));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + first, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut collector = Some(collector);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stopped(&mut stop) => return,
        }
        let timestamp = shared.clock.now();
        let mut owned = match collector.take() {
            Some(owned) => owned,
            None => HostCollector::new(Instant::now()),
        };
        // Reading /proc and calling statvfs block, so they run off the async workers, and a stuck
        // filesystem cannot hold up shutdown.
        let collection = tokio::task::spawn_blocking(move || {
            let report = owned.collect(0, timestamp);
            (owned, report)
        });
        let collected = tokio::select! {
            collected = collection => collected,
            () = stopped(&mut stop) => return,
        };
        let report = match collected {
            Ok((owned, report)) => {
                collector = Some(owned);
                report
            }
            Err(error) => {
                tracing::error!(%error, "collection panicked; starting a fresh collector");
                continue;
            }
        };
        let record = match serde_json::to_value(&report) {
            Ok(body) => SpoolRecord {
                kind: RecordKind::Metrics,
                key: uuid::Uuid::new_v4().to_string(),
                created_at: timestamp,
                body,
                service: None,
            },
            Err(error) => {
                tracing::error!(%error, "failed to encode a metrics sample; sample lost");
                continue;
            }
        };
        let pushed = shared.spool().push(&record);
        match pushed {
            Ok(()) => {
                shared.stats.collected.fetch_add(1, Ordering::Relaxed);
                shared.spooled.notify_one();
            }
            Err(error) => {
                tracing::error!(%error, key = %record.key, "failed to spool a metrics sample; sample lost")
            }
        }
    }
}

async fn send_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            return;
        }
        let head = shared.spool().peek(shared.clock.now());
        let record = match head {
            Ok(Some(record)) => record,
            Ok(None) => {
                tokio::select! {
                    () = shared.spooled.notified() => continue,
                    () = stopped(&mut stop) => return,
                }
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let delay = shared.options.send_backoff.next_delay(failures);
                tracing::error!(%error, retry_in = ?delay, "failed to read the spool");
                if sleep_or_stop(delay, &mut stop).await {
                    return;
                }
                continue;
            }
        };
        if deliver_record(&shared, &record, &mut failures, &mut stop)
            .await
            .is_none()
        {
            return;
        }
    }
}

/// One piece of a record on its way: the whole record, or a part of a batch the server found
/// too large (413).
struct Part {
    /// `Idempotency-Key`: the record's, or for a part `<parent key>.1` / `.2`, so a part resent
    /// after a restart (the record is split the same way again) is stored once.
    key: String,
    /// The body as spooled (ids are filled in when it is sent).
    body: serde_json::Value,
}

/// Splits a batch body in two halves, or `None` when it cannot be split (not a batch, or a
/// batch of one). Only log batches are batches.
pub fn split_batch(
    kind: RecordKind,
    body: &serde_json::Value,
) -> Option<(serde_json::Value, serde_json::Value)> {
    if kind != RecordKind::Logs {
        return None;
    }
    let entries = body.get("logs")?.as_array()?;
    if entries.len() < 2 {
        return None;
    }
    let (first, second) = entries.split_at(entries.len() / 2);
    let half = |entries: &[serde_json::Value]| {
        let mut body = body.clone();
        if let Some(object) = body.as_object_mut() {
            object.insert("logs".to_owned(), entries.to_vec().into());
        }
        body
    };
    Some((half(first), half(second)))
}

/// Delivers the record at the head of the spool, splitting it on 413, and removes it from the
/// spool once every part was delivered or refused for good; `None` when stopped first (the
/// record stays in the spool and is sent again, with the same keys, next time).
async fn deliver_record(
    shared: &Shared,
    record: &SpoolRecord,
    failures: &mut u32,
    stop: &mut watch::Receiver<bool>,
) -> Option<()> {
    let path = record.kind.path();
    let mut parts = vec![Part {
        key: record.key.clone(),
        body: record.body.clone(),
    }];
    let mut delivered_any = false;
    // Set after a 403 on a service check: the service id is re-resolved even if it looks valid.
    let mut service_forbidden = false;
    while let Some(part) = parts.last() {
        let host_id = shared.host_id(stop).await?;
        let result = tokio::select! {
            result = async {
                let body = shared
                    .body_to_send(record, &part.body, host_id, service_forbidden)
                    .await?;
                shared.client.post_json(path, &body, Some(&part.key)).await
            } => result,
            // The record stays in the spool; its key makes a later resend harmless.
            () = stopped(stop) => return None,
        };
        service_forbidden = false;
        match classify(&result) {
            Delivery::Delivered => {
                shared.stats.delivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(key = %part.key, host_id, path, "record delivered");
                parts.pop();
                delivered_any = true;
                *failures = 0;
            }
            Delivery::TooLarge => {
                let Some(part) = parts.pop() else { break };
                match split_batch(record.kind, &part.body) {
                    Some((first, second)) => {
                        tracing::info!(key = %part.key, path, "server found a batch too large; splitting it");
                        // The first half goes first, so entries keep their order.
                        parts.push(Part {
                            key: format!("{}.2", part.key),
                            body: second,
                        });
                        parts.push(Part {
                            key: format!("{}.1", part.key),
                            body: first,
                        });
                    }
                    None => {
                        shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(key = %part.key, path, "server found a single record too large; dropped");
                    }
                }
                *failures = 0;
            }
            Delivery::Drop => {
                shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                if let Err(error) = &result {
                    tracing::warn!(%error, key = %part.key, path, "server refused a record for good; dropped");
                }
                parts.pop();
                *failures = 0;
            }
            Delivery::Reregister => {
                *failures = failures.saturating_add(1);
                if *failures > 1 {
                    let delay = shared.options.send_backoff.next_delay(*failures - 1);
                    if sleep_or_stop(delay, stop).await {
                        return None;
                    }
                }
                service_forbidden = record.service.is_some();
                shared.reregister(host_id, stop).await?;
            }
            Delivery::Unauthorized => {
                if let Err(error) = &result {
                    tracing::error!(%error, path, retry_in = ?shared.options.unauthorized_retry, "agent token refused; keeping records and retrying");
                }
                if sleep_or_stop(shared.options.unauthorized_retry, stop).await {
                    return None;
                }
            }
            Delivery::Retry => {
                *failures = failures.saturating_add(1);
                let delay = shared.options.send_backoff.next_delay(*failures);
                if let Err(error) = &result {
                    tracing::warn!(%error, failures = *failures, path, retry_in = ?delay, "delivery failed; will retry");
                }
                if sleep_or_stop(delay, stop).await {
                    return None;
                }
            }
        }
    }
    let update = if delivered_any {
        shared.spool().ack(&record.key)
    } else {
        shared.spool().drop_head(&record.key)
    };
    if let Err(error) = update {
        tracing::error!(%error, "failed to update the spool");
    }
    Some(())
}

/// What the database and discovery loops use of a running reporter: the client, the clock, the
/// registered host id and the spool.
#[derive(Clone)]
pub struct AgentHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AgentHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AgentHandle")
            .finish_non_exhaustive()
    }
}

impl AgentHandle {
    /// The server connection (for calls that are not spooled, such as `services/register`).
    pub fn client(&self) -> &AgentClient {
        &self.shared.client
    }

    /// The source of timestamps.
    pub fn clock(&self) -> &dyn Clock {
        self.shared.clock.as_ref()
    }

    /// The registered host id, waiting for registration; `None` when stopped meanwhile.
    pub async fn host_id(&self, stop: &mut watch::Receiver<bool>) -> Option<i64> {
        self.shared.host_id(stop).await
    }

    /// Registers again because `stale` was refused (403); `None` when stopped meanwhile.
    pub async fn reregister(&self, stale: i64, stop: &mut watch::Receiver<bool>) -> Option<i64> {
        self.shared.reregister(stale, stop).await
    }

    /// Like [`Self::spool`], but returns whether the record is safely in the spool (for callers
    /// that keep the data until then, such as the log tailer).
    pub fn try_spool(
        &self,
        kind: RecordKind,
        timestamp: DateTime<Utc>,
        body: serde_json::Value,
    ) -> Result<(), crate::spool::SpoolError> {
        self.push(&SpoolRecord {
            kind,
            key: uuid::Uuid::new_v4().to_string(),
            created_at: timestamp,
            body,
            service: None,
        })
    }

    /// Appends a record (new `Idempotency-Key`, `created_at` = `timestamp`) for in-order
    /// delivery; a failure is logged and the record is lost.
    pub fn spool(&self, kind: RecordKind, timestamp: DateTime<Utc>, body: serde_json::Value) {
        if let Err(error) = self.try_spool(kind, timestamp, body) {
            tracing::error!(%error, path = kind.path(), "failed to spool a record; record lost");
        }
    }

    /// Appends a service check result for `service`, whose `service_id` in `body` was assigned
    /// under `service.host_id`; it is remapped at delivery if the host id has changed by then.
    pub fn spool_service_check(
        &self,
        timestamp: DateTime<Utc>,
        body: serde_json::Value,
        service: ServiceRef,
    ) {
        let pushed = self.push(&SpoolRecord {
            kind: RecordKind::ServiceCheck,
            key: uuid::Uuid::new_v4().to_string(),
            created_at: timestamp,
            body,
            service: Some(service),
        });
        if let Err(error) = pushed {
            tracing::error!(%error, "failed to spool a service check; record lost");
        }
    }

    fn push(&self, record: &SpoolRecord) -> Result<(), crate::spool::SpoolError> {
        let pushed = self.shared.spool().push(record);
        if pushed.is_ok() {
            self.shared.stats.collected.fetch_add(1, Ordering::Relaxed);
            self.shared.spooled.notify_one();
        }
        pushed
    }
}

/// Resolves once the stop flag is set (or its sender is gone); for the loops that take an
/// [`AgentHandle`].
pub async fn wait_stopped(stop: &mut watch::Receiver<bool>) {
    stopped(stop).await;
}

/// Sleeps for `duration`; true when stopped first.
pub async fn sleep_unless_stopped(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    sleep_or_stop(duration, stop).await
}

async fn heartbeat_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut interval = shared.options.heartbeat_interval;
    // Registration marks the host online, so the first heartbeat is due one interval later.
    let Some(mut host_id) = shared.host_id(&mut stop).await else {
        return;
    };
    loop {
        if sleep_or_stop(interval, &mut stop).await {
            return;
        }
        let result = tokio::select! {
            result = shared.client.heartbeat(host_id) => result,
            () = stopped(&mut stop) => return,
        };
        match result {
            Ok(reply) => {
                let wanted = heartbeat_interval_from_server(reply.heartbeat_interval);
                if wanted != interval {
                    tracing::info!(interval = ?wanted, "heartbeat interval set by the server");
                    interval = wanted;
                }
            }
            // A 2xx with another body (an older server): the heartbeat counted.
            Err(ClientError::Decode { .. }) => {}
            Err(ClientError::Api { status: 403, .. }) => {
                match shared.reregister(host_id, &mut stop).await {
                    Some(new_id) => host_id = new_id,
                    None => return,
                }
            }
            Err(error) => tracing::warn!(%error, host_id, "heartbeat failed"),
        }
        // Another task may have re-registered meanwhile.
        if let Some(current) = *shared.host_id.lock().await {
            host_id = current;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let backoff = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        assert_eq!(backoff.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(backoff.delay(2, 1.0), Duration::from_secs(2));
        assert_eq!(backoff.delay(4, 1.0), Duration::from_secs(8));
        assert_eq!(backoff.delay(7, 1.0), Duration::from_secs(60));
        assert_eq!(backoff.delay(1000, 1.0), Duration::from_secs(60));
        assert_eq!(backoff.delay(7, 0.0), Duration::from_secs(30));
        let drawn = backoff.next_delay(3);
        assert!(drawn >= Duration::from_secs(2) && drawn <= Duration::from_secs(4));
    }

    #[test]
    fn heartbeat_interval_is_clamped() {
        assert_eq!(heartbeat_interval_from_server(0), Duration::from_secs(10));
        assert_eq!(heartbeat_interval_from_server(60), Duration::from_secs(60));
        assert_eq!(
            heartbeat_interval_from_server(3600),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn replies_are_classified_as_the_protocol_says() {
        let api = |status| -> Result<(), ClientError> {
            Err(ClientError::Api {
                status,
                detail: String::new(),
            })
        };
        assert_eq!(classify(&Ok::<(), ClientError>(())), Delivery::Delivered);
        assert_eq!(
            classify(&Err::<(), _>(ClientError::Decode {
                url: String::new(),
                reason: String::new()
            })),
            Delivery::Delivered
        );
        for status in [500, 502, 503, 408, 409, 429] {
            assert_eq!(classify(&api(status)), Delivery::Retry, "{status}");
        }
        assert_eq!(classify(&api(401)), Delivery::Unauthorized);
        assert_eq!(classify(&api(403)), Delivery::Reregister);
        for status in [400, 404, 422] {
            assert_eq!(classify(&api(status)), Delivery::Drop, "{status}");
        }
        assert_eq!(classify(&api(413)), Delivery::TooLarge);
    }
}
