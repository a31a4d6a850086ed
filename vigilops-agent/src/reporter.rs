//! The agent's main loop: register (retrying forever), heartbeat on the interval the server asks
//! for, collect a metrics sample every `metrics.interval` into the spool, and deliver the spool in
//! order with one `Idempotency-Key` per sample. A 403 on a host-bound call re-registers and
//! carries on; shutdown stops every loop promptly and leaves undelivered samples in the spool.
//!
//! Four tasks share the work so that a slow or unreachable server never delays collection:
//! - the collector ticks on `metrics.interval` and appends to the metrics spool;
//! - the metrics sender drains that spool, oldest first, several samples per request
//!   (`metrics/batch`, an extension) when more than one is pending, one per request
//!   (`metrics`) when one is, or when the server does not know the extension (404/405);
//! - the sender drains the spool of every other record, oldest first, backing off on failures;
//! - the heartbeat keeps the host online.
//!
//! Metrics samples have a spool of their own (`spool.dir/metrics`) so that consecutive samples
//! can be batched however the other records (checks, logs, …) interleave with them; each spool
//! keeps its own order.

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
/// The most metrics samples sent in one `metrics/batch` request.
pub const DEFAULT_METRICS_BATCH: usize = 100;
/// The extension endpoint for several metrics samples in one request.
pub const METRICS_BATCH_PATH: &str = "metrics/batch";
/// How long the agent posts single samples after a server answered that it has no
/// `metrics/batch` (an original server; it may be upgraded meanwhile).
pub const BATCH_PROBE_INTERVAL: Duration = Duration::from_secs(3600);

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
    /// The most metrics samples in one `metrics/batch` request (1: never batch).
    pub metrics_batch: usize,
    /// How often the services registered on the server for the host are fetched again.
    pub service_targets_poll: Duration,
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
            metrics_batch: DEFAULT_METRICS_BATCH,
            service_targets_poll: crate::checks::server_targets::POLL_INTERVAL,
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
    /// Records the server accepted (each metrics sample of a batch counts).
    pub delivered: AtomicU64,
    /// `metrics/batch` requests the server accepted.
    pub batches: AtomicU64,
    /// Records refused by the server for good (non-retryable 4xx).
    pub refused: AtomicU64,
    /// Registrations that succeeded (the first one and any re-registration).
    pub registrations: AtomicU64,
    /// Spool writes that failed (a full disk): each a record lost. Set when the run ends.
    pub spool_write_failures: AtomicU64,
    /// Spooled records dropped to stay under the spool's size limit. Set when the run ends.
    pub spool_dropped: AtomicU64,
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
    /// The metrics samples, batched on their way.
    metrics_spool: Mutex<Spool>,
    metrics_spooled: Notify,
    /// Until when single samples are posted because the server has no `metrics/batch`.
    batch_unsupported_until: Mutex<Option<tokio::time::Instant>>,
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

    fn metrics_spool(&self) -> MutexGuard<'_, Spool> {
        self.metrics_spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether to send several samples per request: on, unless the server said it has no
    /// `metrics/batch` within the last [`BATCH_PROBE_INTERVAL`].
    fn batching(&self) -> bool {
        if self.options.metrics_batch <= 1 {
            return false;
        }
        let until = *self
            .batch_unsupported_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        until.is_none_or(|until| tokio::time::Instant::now() >= until)
    }

    fn batch_unsupported(&self) {
        *self
            .batch_unsupported_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some(tokio::time::Instant::now() + BATCH_PROBE_INTERVAL);
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

/// Opens the configured spool, or keeps reports in memory when the directory is unusable. It
/// gets three quarters of `spool.max_bytes`; the metrics spool ([`open_metrics_spool`]) the rest.
pub fn open_spool(config: &AgentConfig) -> Spool {
    let max_bytes = config.spool.max_bytes - metrics_spool_bytes(config.spool.max_bytes);
    open_spool_in(&config.spool.dir, max_bytes, config.spool.max_age)
}

/// Opens the spool of metrics samples, `spool.dir/metrics`, with a quarter of `spool.max_bytes`
/// (at a 15 s interval a sample takes a few KiB, so 64 MiB hold days of samples, beyond the
/// default `max_age`).
pub fn open_metrics_spool(config: &AgentConfig) -> Spool {
    open_spool_in(
        &metrics_spool_dir(&config.spool.dir),
        metrics_spool_bytes(config.spool.max_bytes),
        config.spool.max_age,
    )
}

/// Where the metrics samples are spooled, under `spool.dir`.
pub fn metrics_spool_dir(spool_dir: &std::path::Path) -> std::path::PathBuf {
    spool_dir.join("metrics")
}

fn metrics_spool_bytes(max_bytes: u64) -> u64 {
    max_bytes / 4
}

fn open_spool_in(dir: &std::path::Path, max_bytes: u64, max_age: Duration) -> Spool {
    let limits = SpoolLimits { max_bytes, max_age };
    match Spool::open(dir, limits) {
        Ok(spool) => {
            tracing::info!(dir = %dir.display(), pending_bytes = spool.pending_bytes(), "spool opened");
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
    /// Where records other than metrics samples wait for delivery.
    pub spool: Spool,
    /// Where metrics samples wait for delivery.
    pub metrics_spool: Spool,
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
            metrics_spool: open_metrics_spool(config),
            metrics_interval: config.metrics.interval,
            options: ReporterOptions::default(),
            databases: config.databases.clone(),
            discovery: config.discovery.clone(),
            services: config.services.clone(),
            log_sources: config.log_sources.clone(),
            log_offsets: Some(config.spool.dir.join("offsets.json")),
            log_options: crate::logs::LogOptions::default(),
            remote: Some({
                let mut remote = crate::remote::RemoteOptions::new(
                    &config.server.url,
                    &config.server.token,
                    config.remediation.enabled,
                );
                if let Some(path) = &config.remediation.path {
                    remote.command_path.clone_from(path);
                }
                remote
            }),
        }
    }

    /// Runs the agent until `shutdown` resolves, then stops every loop and returns the counters.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Arc<RunStats> {
        let stats = Arc::new(RunStats::default());
        let log_offsets = self.log_offsets.filter(|_| self.spool.is_persistent());
        let metrics_spool = self.metrics_spool;
        let shared = Arc::new(Shared {
            client: self.client,
            clock: self.clock,
            options: self.options,
            register_request: self.register_request,
            host_id: tokio::sync::Mutex::new(None),
            spool: Mutex::new(self.spool),
            spooled: Notify::new(),
            metrics_spool: Mutex::new(metrics_spool),
            metrics_spooled: Notify::new(),
            batch_unsupported_until: Mutex::new(None),
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
            tokio::spawn(metrics_send_loop(Arc::clone(&shared), stop.clone())),
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
        tasks.push(crate::checks::server_targets::spawn_loop(
            &handle,
            &self.services,
            self.options.service_targets_poll,
            &stop,
        ));
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
        let metrics_spool = shared.metrics_spool();
        stats.spool_write_failures.store(
            spool.write_failures() + metrics_spool.write_failures(),
            Ordering::Relaxed,
        );
        stats
            .spool_dropped
            .store(spool.dropped() + metrics_spool.dropped(), Ordering::Relaxed);
        tracing::info!(
            collected = stats.collected.load(Ordering::Relaxed),
            delivered = stats.delivered.load(Ordering::Relaxed),
            batches = stats.batches.load(Ordering::Relaxed),
            refused = stats.refused.load(Ordering::Relaxed),
            spool_dropped = spool.dropped() + metrics_spool.dropped(),
            spool_write_failures = spool.write_failures() + metrics_spool.write_failures(),
            spool_pending_bytes = spool.pending_bytes() + metrics_spool.pending_bytes(),
            persistent = spool.is_persistent() && metrics_spool.is_persistent(),
            "stopped"
        );
        drop(metrics_spool);
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
        let pushed = shared.metrics_spool().push(&record);
        match pushed {
            Ok(()) => {
                shared.stats.collected.fetch_add(1, Ordering::Relaxed);
                shared.metrics_spooled.notify_one();
            }
            Err(error) => {
                let write_failures = shared.metrics_spool().write_failures();
                tracing::error!(%error, key = %record.key, write_failures, "failed to spool a metrics sample; sample lost")
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
        let Some(delivered) = deliver_record(&shared, &record, &mut failures, &mut stop).await
        else {
            return;
        };
        let update = if delivered {
            shared.spool().ack(&record.key)
        } else {
            shared.spool().drop_head(&record.key)
        };
        if let Err(error) = update {
            tracing::error!(%error, "failed to update the spool");
        }
    }
}

/// Drains the metrics spool: the pending samples (up to `metrics_batch`) in one `metrics/batch`
/// request when there are several and the server has the extension, else one by one through
/// `metrics`. A batch is removed from the spool once all of it was delivered or refused.
async fn metrics_send_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            return;
        }
        let max = if shared.batching() {
            shared.options.metrics_batch
        } else {
            1
        };
        let peeked = shared.metrics_spool().peek_batch(shared.clock.now(), max);
        let records = match peeked {
            Ok(records) if records.is_empty() => {
                tokio::select! {
                    () = shared.metrics_spooled.notified() => continue,
                    () = stopped(&mut stop) => return,
                }
            }
            Ok(records) => records,
            Err(error) => {
                failures = failures.saturating_add(1);
                let delay = shared.options.send_backoff.next_delay(failures);
                tracing::error!(%error, retry_in = ?delay, "failed to read the metrics spool");
                if sleep_or_stop(delay, &mut stop).await {
                    return;
                }
                continue;
            }
        };
        if records.len() == 1 || !shared.batching() {
            // One request per sample, each under its own key (a batch in flight at a restart is
            // sent this way too when the server has no `metrics/batch`).
            for record in &records {
                let Some(delivered) =
                    deliver_record(&shared, record, &mut failures, &mut stop).await
                else {
                    return;
                };
                let refused = u64::from(!delivered);
                if let Err(error) = shared.metrics_spool().ack_batch(&record.key, 1, refused) {
                    tracing::error!(%error, "failed to update the metrics spool");
                }
            }
            continue;
        }
        let outcome = deliver_metrics_batch(&shared, &records, &mut failures, &mut stop).await;
        let (finished, refused) = match outcome {
            None => return,
            Some(BatchOutcome::Finished { refused }) => (records.len(), refused),
            // The rest goes one by one on the next rounds; nothing of it was stored.
            Some(BatchOutcome::Unsupported { finished, refused }) => (finished, refused),
        };
        if finished > 0
            && let Err(error) = shared
                .metrics_spool()
                .ack_batch(&records[0].key, finished, refused)
        {
            tracing::error!(%error, "failed to update the metrics spool");
        }
    }
}

/// How a batch of metrics samples went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchOutcome {
    /// Every sample was delivered, or `refused` of them given up on.
    Finished { refused: u64 },
    /// The server has no `metrics/batch` (404/405): the first `finished` samples were done
    /// (delivered in parts before, or refused), the rest must go one by one.
    Unsupported { finished: usize, refused: u64 },
}

/// The `Idempotency-Key` of a batch: derived from its first sample's key and its size, which the
/// spool keeps the same across restarts, so a resent batch is stored once.
pub fn batch_key(first_key: &str, count: usize) -> String {
    format!("{first_key}.b{count}")
}

/// The `metrics/batch` body of `records` under `host_id`.
fn batch_body(records: &[SpoolRecord], host_id: i64) -> serde_json::Value {
    let samples: Vec<serde_json::Value> = records
        .iter()
        .map(|record| {
            let mut body = record.body.clone();
            if let Some(object) = body.as_object_mut() {
                object.insert("host_id".to_owned(), host_id.into());
            }
            body
        })
        .collect();
    serde_json::json!({ "samples": samples })
}

/// Posts `records` (metrics samples, oldest first) as one batch. A 413, or another 4xx that
/// refuses the batch for good, splits it in halves (keys `<key>.1` / `<key>.2`, in order) until
/// the part fits or a single sample is left, which is dropped; so one bad sample costs only
/// itself. Retries, re-registration and 401 behave as for single records. `None` when stopped
/// first (the batch stays in the spool and is sent again, with the same keys, next time).
async fn deliver_metrics_batch(
    shared: &Shared,
    records: &[SpoolRecord],
    failures: &mut u32,
    stop: &mut watch::Receiver<bool>,
) -> Option<BatchOutcome> {
    let first_key = records.first().map(|record| record.key.as_str())?;
    let mut parts = vec![(batch_key(first_key, records.len()), 0..records.len())];
    let mut finished = 0usize;
    let mut refused = 0u64;
    while let Some((key, range)) = parts.last().cloned() {
        let host_id = shared.host_id(stop).await?;
        let body = batch_body(&records[range.clone()], host_id);
        let result = tokio::select! {
            result = shared.client.post_json(METRICS_BATCH_PATH, &body, Some(&key)) => result,
            () = stopped(stop) => return None,
        };
        if let Err(ClientError::Api {
            status: 404 | 405, ..
        }) = &result
        {
            tracing::info!(
                retry_batching_in = ?BATCH_PROBE_INTERVAL,
                "server has no metrics/batch (an original server); posting samples one by one"
            );
            shared.batch_unsupported();
            return Some(BatchOutcome::Unsupported { finished, refused });
        }
        let samples = range.len() as u64;
        match classify(&result) {
            Delivery::Delivered => {
                shared.stats.delivered.fetch_add(samples, Ordering::Relaxed);
                shared.stats.batches.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%key, host_id, samples, "metrics batch delivered");
                parts.pop();
                finished = range.end;
                *failures = 0;
            }
            Delivery::TooLarge | Delivery::Drop => {
                parts.pop();
                if range.len() > 1 {
                    if let Err(error) = &result {
                        tracing::info!(%error, %key, samples, "server refused a metrics batch; splitting it");
                    }
                    let middle = range.start + range.len() / 2;
                    // The first half goes first, so samples keep their order.
                    parts.push((format!("{key}.2"), middle..range.end));
                    parts.push((format!("{key}.1"), range.start..middle));
                } else {
                    shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                    refused += 1;
                    finished = range.end;
                    if let Err(error) = &result {
                        tracing::warn!(%error, %key, "server refused a metrics sample for good; dropped");
                    }
                }
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
                shared.reregister(host_id, stop).await?;
            }
            Delivery::Unauthorized => {
                if let Err(error) = &result {
                    tracing::error!(%error, retry_in = ?shared.options.unauthorized_retry, "agent token refused; keeping samples and retrying");
                }
                if sleep_or_stop(shared.options.unauthorized_retry, stop).await {
                    return None;
                }
            }
            Delivery::Retry => {
                *failures = failures.saturating_add(1);
                let delay = shared.options.send_backoff.next_delay(*failures);
                if let Err(error) = &result {
                    tracing::warn!(%error, failures = *failures, retry_in = ?delay, "metrics batch delivery failed; will retry");
                }
                if sleep_or_stop(delay, stop).await {
                    return None;
                }
            }
        }
    }
    Some(BatchOutcome::Finished { refused })
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

/// Delivers one record, splitting it on 413, until every part was delivered or refused for
/// good; returns whether any part was delivered (else the caller counts it as dropped), or
/// `None` when stopped first (the record stays in the spool and is sent again, with the same
/// keys, next time).
async fn deliver_record(
    shared: &Shared,
    record: &SpoolRecord,
    failures: &mut u32,
    stop: &mut watch::Receiver<bool>,
) -> Option<bool> {
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
                let current = shared.reregister(host_id, stop).await?;
                if record.kind == RecordKind::ServiceCheck
                    && record.service.is_none()
                    && current == host_id
                {
                    // The host is still this agent's, so it is the service id the server
                    // refuses (a server-side service deleted meanwhile), and a check that names
                    // no service of ours cannot be remapped: it can never be stored.
                    shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(key = %part.key, path, "server refused the service of a check for good; dropped");
                    parts.pop();
                    *failures = 0;
                }
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
    Some(delivered_any)
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
