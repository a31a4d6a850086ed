//! The VigilOps HTTP server: REST, the agent protocol, OpenAPI docs and the embedded web UI
//! over `vigilops-core`. Handlers only translate HTTP to one core call and back.
//!
//! - [`router`] builds the whole `axum::Router` for a state (tests drive it with `oneshot`).
//! - [`App::start`] opens the store and Redis and starts the core services.
//! - [`serve`] runs the server and its once-per-cluster background jobs until shutdown.

mod error;
mod extract;
mod openapi;
mod routes;
mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use chrono::Duration;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::decompression::RequestDecompressionLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;
use vigilops_core::ai::LlmClient;
use vigilops_core::ai::memory::MemoryServiceClient;
use vigilops_core::ai::service::AiService;
use vigilops_core::alerting::dispatch::{DispatchConfig, Dispatcher};
use vigilops_core::alerting::engine::AlertEngine;
use vigilops_core::alerting::service::{AlertService, RuleService, SilenceService};
use vigilops_core::auth::{AuthService, JwtConfig};
use vigilops_core::bus::{Bus, InProcessBus, RedisBus};
use vigilops_core::clock::{Clock, SystemClock};
use vigilops_core::command::CommandService;
use vigilops_core::config::{ConfigError, ServerConfig};
use vigilops_core::dashboard::feed::{DashboardFeed, LiveEvent};
use vigilops_core::host::HostService;
use vigilops_core::ingest::{BatchConfig, IngestConfig, Ingestor, Observers};
use vigilops_core::lease::{Lease, process_holder_id};
use vigilops_core::logs::stream::LogStream;
use vigilops_core::notify::service::{ChannelService, TemplateService};
use vigilops_core::remediation::catalog::Catalog;
use vigilops_core::remediation::flow::RemediationFlow;
use vigilops_core::remediation::service::RemediationService;
use vigilops_core::report::ReportService;
use vigilops_core::settings::{self, SettingsService};
use vigilops_core::sla::SlaService;
use vigilops_core::store::{self, Store, StoreError};
use vigilops_core::{retention, rollup};

pub use error::ApiError;
pub use state::AppState;

/// Largest accepted request body, after gzip decompression.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("failed to open the database: {0}")]
    Store(#[from] StoreError),
    /// Redis could not be reached.
    #[error("failed to connect to Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The listening socket failed.
    #[error("failed to serve: {0}")]
    Io(#[from] std::io::Error),
}

/// The whole router: API routes, OpenAPI JSON at `/api/openapi.json`, Swagger UI at
/// `/api/docs`, and the web UI for every other path.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(openapi::base())
        .merge(routes::health::router())
        .merge(routes::auth::router())
        .merge(routes::agent_tokens::router())
        .merge(routes::hosts::router())
        .merge(routes::agent::router())
        .merge(routes::agent_ws::router())
        .merge(routes::commands::router())
        .merge(routes::audit::router())
        .merge(routes::alert_rules::router())
        .merge(routes::alerts::router())
        .merge(routes::notification_channels::router())
        .merge(routes::notification_templates::router())
        .merge(routes::silences::router())
        .merge(routes::ai::router())
        .merge(routes::remediations::router())
        .merge(routes::runbooks::router())
        .merge(routes::users::router())
        .merge(routes::settings::router())
        .merge(routes::dashboard::router())
        .merge(routes::databases::router())
        .merge(routes::services::router())
        .merge(routes::logs::router())
        .merge(routes::sla::router())
        .merge(routes::reports::router())
        .merge(routes::topology::router())
        .merge(routes::servers::router())
        .merge(routes::server_groups::router())
        .split_for_parts();
    api.merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi))
        .fallback(routes::spa::fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new().gzip(true))
        .with_state(state)
}

/// A started application: its state and what background jobs need.
#[derive(Debug, Clone)]
pub struct App {
    pub state: AppState,
}

impl App {
    /// Opens the store (SQLite in the data directory, or `DATABASE_URL`), connects Redis when
    /// configured, and starts the core services.
    pub async fn start(config: ServerConfig) -> Result<Self, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ConfigError::Io {
            path: config.data_dir.clone(),
            source,
        })?;
        let store = store::open(&config.effective_database_url()).await?;
        let (redis, bus): (_, Arc<dyn Bus>) = match &config.redis_url {
            None => (None, Arc::new(InProcessBus::new())),
            Some(url) => {
                let client = redis::Client::open(url.0.as_str())?;
                let manager = redis::aio::ConnectionManager::new(client.clone()).await?;
                let bus = Arc::new(RedisBus::new(client, manager.clone()));
                (Some(manager), bus)
            }
        };
        let app = Self::with_store_and_bus(config, store, Arc::new(SystemClock), redis, bus)?;
        // The original's builtin rules, once per database (replicas starting together are safe).
        let seeded = app.state.rules.seed_builtins().await?;
        if seeded > 0 {
            tracing::info!(seeded, "created the builtin alert rules");
        }
        Ok(app)
    }

    /// Builds the application over an already opened store with the single-node bus.
    pub fn with_store(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        redis: Option<redis::aio::ConnectionManager>,
    ) -> Result<Self, ConfigError> {
        Self::with_store_and_bus(config, store, clock, redis, Arc::new(InProcessBus::new()))
    }

    /// Builds the application over an already opened store and a bus between replicas (tests
    /// run two "replicas" over one database and one Redis this way).
    pub fn with_store_and_bus(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        redis: Option<redis::aio::ConnectionManager>,
        bus: Arc<dyn Bus>,
    ) -> Result<Self, ConfigError> {
        let secret = config.resolve_jwt_secret()?;
        let jwt = JwtConfig::new(
            secret.0.into_bytes(),
            &config.jwt_algorithm,
            Duration::minutes(config.access_token_minutes),
            Duration::days(config.refresh_token_days),
        )
        .map_err(|error| ConfigError::Invalid {
            name: "JWT_ALGORITHM".to_owned(),
            reason: error.to_string(),
        })?;
        let writers = if store.backend_name() == "postgres" {
            4
        } else {
            1
        };
        let dispatcher = Dispatcher::start(
            Arc::clone(&store),
            Arc::clone(&clock),
            vigilops_core::notify::http_client(),
            DispatchConfig::default(),
        );
        let llm = LlmClient::new(config.llm.clone(), Arc::clone(&clock)).map_err(|error| {
            ConfigError::Invalid {
                name: "AI_API_BASE".to_owned(),
                reason: error.to_string(),
            }
        })?;
        let memory_service = config
            .memory_api_url
            .as_deref()
            .map(MemoryServiceClient::new)
            .transpose()
            .map_err(|error| ConfigError::Invalid {
                name: "MEMORY_API_URL".to_owned(),
                reason: error.to_string(),
            })?;
        let ai = AiService::new(Arc::clone(&store), Arc::clone(&clock), llm, memory_service);
        let log_stream = LogStream::start(Arc::clone(&bus));
        let dashboard_feed = DashboardFeed::start(Arc::clone(&bus));
        let commands = CommandService::new(Arc::clone(&store), Arc::clone(&clock), bus);
        let catalog = Catalog::load(
            Arc::clone(&store),
            Arc::clone(&clock),
            config.remediation.runbook_dir.as_deref(),
        )
        .map_err(|error| ConfigError::Invalid {
            name: "built-in runbooks".to_owned(),
            reason: error.to_string(),
        })?;
        let flow = RemediationFlow::new(
            Arc::clone(&store),
            Arc::clone(&clock),
            commands.clone(),
            ai.clone(),
            catalog,
            config.remediation.clone(),
            Some(dispatcher.clone()),
        );
        let engine = AlertEngine::start_with_observers(
            Arc::clone(&store),
            Arc::clone(&clock),
            dispatcher,
            vec![
                Arc::new(ai.clone()),
                Arc::new(flow.clone()),
                Arc::new(dashboard_feed.clone()),
            ],
        );
        flow.observe_progress(Arc::new(dashboard_feed.clone()));
        let ingest = Ingestor::start(
            Arc::clone(&store),
            Arc::clone(&clock),
            IngestConfig {
                heartbeat_interval: 60,
                batch: BatchConfig {
                    writers,
                    ..BatchConfig::default()
                },
            },
        )
        .with_observer(Arc::new(Observers(vec![
            Arc::new(engine.clone()),
            Arc::new(log_stream.clone()),
        ])));
        let reports = ReportService::new(
            Arc::clone(&store),
            Arc::clone(&clock),
            ai.clone(),
            config.report_tz,
        );
        let state = AppState::new(state::Services {
            auth: AuthService::new(
                Arc::clone(&store),
                Arc::clone(&clock),
                jwt,
                config.allow_registration,
            ),
            hosts: HostService::new(Arc::clone(&store), Arc::clone(&clock)),
            commands,
            rules: RuleService::new(Arc::clone(&store), Arc::clone(&clock)),
            alerts: AlertService::new(Arc::clone(&store), Arc::clone(&clock)),
            silences: SilenceService::new(Arc::clone(&store), Arc::clone(&clock)),
            channels: ChannelService::with_default_client(Arc::clone(&store), Arc::clone(&clock)),
            templates: TemplateService::new(Arc::clone(&store), Arc::clone(&clock)),
            ai,
            remediations: RemediationService::new(Arc::clone(&store), Arc::clone(&clock)),
            reports,
            flow,
            settings: SettingsService::new(Arc::clone(&store), Arc::clone(&clock))
                .with_default(
                    settings::HEARTBEAT_TIMEOUT,
                    config.heartbeat_timeout_seconds,
                )
                .with_default(settings::LOG_RETENTION_DAYS, config.log_retention_days)
                .with_default(
                    settings::DB_METRIC_RETENTION_DAYS,
                    config.db_metric_retention_days,
                ),
            log_stream,
            dashboard_feed,
            sla: SlaService::new(Arc::clone(&store), Arc::clone(&clock))
                .with_observer(Arc::new(engine.clone())),
            ingest,
            engine,
            store,
            clock,
            config: Arc::new(config),
            redis,
        });
        Ok(Self { state })
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, running the background jobs (offline
/// sweep, idempotency-key purge) under cluster-wide leases.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let state = app.state.clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let holder = process_holder_id();
    let wait = |mut receiver: tokio::sync::watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stop| *stop).await;
    };
    let sweeper = tokio::spawn(vigilops_core::liveness::run_offline_sweeper(
        Arc::clone(&state.store),
        Arc::clone(&state.clock),
        Lease::new(
            Arc::clone(&state.store),
            Arc::clone(&state.clock),
            "offline-sweep",
            holder.clone(),
            Duration::seconds(45),
        ),
        Duration::seconds(state.config.heartbeat_timeout_seconds),
        {
            let feed = state.dashboard_feed.clone();
            move |hosts: &[i64]| {
                for &host_id in hosts {
                    feed.publish_later(LiveEvent::HostOffline { host_id });
                }
            }
        },
        wait(stopped.clone()),
    ));
    let purger = tokio::spawn(purge_idempotency_keys(
        state.clone(),
        holder.clone(),
        wait(stopped.clone()),
    ));
    let expirer = tokio::spawn(expire_commands(
        state.clone(),
        holder.clone(),
        wait(stopped.clone()),
    ));
    let anomaly_scanner = state.config.ai_auto_scan.then(|| {
        tokio::spawn(scan_logs(
            state.clone(),
            holder.clone(),
            wait(stopped.clone()),
        ))
    });
    let retention = tokio::spawn(purge_metrics(
        state.clone(),
        holder.clone(),
        wait(stopped.clone()),
    ));
    let rollup = tokio::spawn(roll_up_metrics(
        state.clone(),
        holder.clone(),
        wait(stopped.clone()),
    ));
    let sla_evaluator = tokio::spawn(evaluate_sla(
        state.clone(),
        holder.clone(),
        wait(stopped.clone()),
    ));
    let report_scheduler = tokio::spawn(schedule_reports(
        state.clone(),
        holder.clone(),
        wait(stopped.clone()),
    ));
    let alert_sweeper = tokio::spawn(sweep_alerts(state.clone(), holder, wait(stopped)));
    // Wakes this replica's agent sessions when another replica queues for their host.
    let listener_task = match state.commands.start_listener().await {
        Ok(task) => Some(task),
        Err(error) => {
            tracing::warn!(%error, "command notifications unavailable; agents poll every 5 s");
            None
        }
    };
    let result = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    let _ = stop.send(true);
    let _ = sweeper.await;
    let _ = purger.await;
    let _ = expirer.await;
    let _ = alert_sweeper.await;
    let _ = retention.await;
    let _ = rollup.await;
    let _ = sla_evaluator.await;
    let _ = report_scheduler.await;
    if let Some(scanner) = anomaly_scanner {
        let _ = scanner.await;
    }
    if let Some(task) = listener_task {
        task.abort();
    }
    result.map_err(StartError::Io)
}

/// Runs `job` every `period` on the replica that holds the lease `name` (valid for `ttl`), so
/// once per cluster, until `shutdown` resolves.
async fn run_leased_every<F, Fut>(
    state: &AppState,
    name: &'static str,
    holder: String,
    (ttl, period): (Duration, std::time::Duration),
    shutdown: impl std::future::Future<Output = ()>,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let lease = Lease::new(
        Arc::clone(&state.store),
        Arc::clone(&state.clock),
        name,
        holder,
        ttl,
    );
    let mut ticker = tokio::time::interval(period);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        if matches!(lease.acquire().await, Ok(true)) {
            job().await;
        }
    }
}

/// Forgets idempotency keys older than 24 h, hourly, once per cluster.
async fn purge_idempotency_keys(
    state: AppState,
    holder: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let every = (Duration::minutes(50), std::time::Duration::from_secs(3_600));
    run_leased_every(
        &state,
        "idempotency-purge",
        holder,
        every,
        shutdown,
        || async {
            match state
                .store
                .purge_idempotency(state.clock.now() - Duration::hours(24))
                .await
            {
                Ok(purged) if purged > 0 => tracing::info!(purged, "purged old idempotency keys"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "idempotency purge failed"),
            }
        },
    )
    .await;
}

/// Evaluates the time-based alert rules (host offline, `host_alive`) every 10 s, once per
/// cluster.
async fn sweep_alerts(
    state: AppState,
    holder: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    // The period is the `alert_check_interval` setting, read before each wait, so a change
    // holds from the next sweep on every replica.
    tokio::pin!(shutdown);
    loop {
        let seconds =
            settings::int(state.store.as_ref(), settings::ALERT_CHECK_INTERVAL, None).await;
        let period = std::time::Duration::from_secs(u64::try_from(seconds).unwrap_or(10));
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(period) => {}
        }
        let lease = Lease::new(
            Arc::clone(&state.store),
            Arc::clone(&state.clock),
            "alert-sweep",
            holder.clone(),
            Duration::seconds(seconds.saturating_mul(3)),
        );
        if matches!(lease.acquire().await, Ok(true)) {
            state.engine.sweep().await;
        }
    }
}

/// Rolls host metrics up into 5-minute and hourly buckets every minute, once per cluster
/// (`vigilops_core::rollup`).
async fn roll_up_metrics(
    state: AppState,
    holder: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    // A first pass over a deployment's history can take minutes; the lease outlasts it.
    let every = (Duration::minutes(10), rollup::PASS_EVERY);
    run_leased_every(&state, "metric-rollup", holder, every, shutdown, || async {
        match rollup::pass(state.store.as_ref(), state.clock.now()).await {
            Ok(report) if report.late_hours > 0 => {
                tracing::info!(late_hours = report.late_hours, "rolled up late samples");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "metric rollup failed"),
        }
    })
    .await;
}

/// Purges raw host metrics older than the `raw_metrics_retention_days` setting (and what
/// `vigilops_core::retention` covers), hourly, once per cluster.
async fn purge_metrics(
    state: AppState,
    holder: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let every = (Duration::minutes(50), std::time::Duration::from_secs(3600));
    run_leased_every(
        &state,
        "metric-retention",
        holder,
        every,
        shutdown,
        || async {
            if let Err(error) = purge_old_metrics(&state).await {
                tracing::warn!(%error, "metric retention failed");
            }
        },
    )
    .await;
}

/// One retention pass: deletes the raw samples older than `raw_metrics_retention_days` that
/// the rollup pass has summarised (each host's newest stays), then the service checks, log
/// lines, database samples, notification logs and rollups past their periods
/// (`vigilops_core::retention`). Returns the host samples purged.
pub async fn purge_old_metrics(state: &AppState) -> Result<u64, StoreError> {
    let now = state.clock.now();
    let days = settings::int(
        state.store.as_ref(),
        settings::RAW_METRICS_RETENTION_DAYS,
        None,
    )
    .await;
    let mut purged = 0;
    if let Some(cutoff) =
        rollup::raw_purge_cutoff(state.store.as_ref(), now - Duration::days(days)).await?
    {
        purged = retention::purge_raw_metrics(state.store.as_ref(), cutoff).await?;
    }
    if purged > 0 {
        tracing::info!(purged, days, "purged old host metrics");
    }
    let periods = retention::RetentionDays::as_set(
        state.store.as_ref(),
        state.config.log_retention_days,
        state.config.db_metric_retention_days,
    )
    .await;
    for (table, rows) in retention::purge(state.store.as_ref(), now, periods).await? {
        if rows > 0 {
            tracing::info!(table, rows, "purged expired rows");
        }
    }
    Ok(purged)
}

/// The anomaly scan (`AI_AUTO_SCAN=true`): a log analysis of the last hour every
/// `VIGILOPS_AI_SCAN_MINUTES` (30), once per cluster, stored as an `anomaly` insight.
async fn scan_logs(
    state: AppState,
    holder: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let minutes = state.config.ai_scan_minutes;
    let period = std::time::Duration::from_secs(u64::try_from(minutes).unwrap_or(30) * 60);
    // The lease outlives most of the period, so one replica scans per period.
    let every = (Duration::seconds(minutes * 60 * 9 / 10), period);
    run_leased_every(&state, "ai-anomaly-scan", holder, every, shutdown, || async {
        match state.ai.anomaly_scan().await {
            Ok(scan) if scan.success => {
                tracing::info!(log_count = scan.log_count, insight = ?scan.insight_id, "anomaly scan done");
            }
            Ok(scan) => tracing::warn!(error = ?scan.error, "anomaly scan gave no analysis"),
            Err(error) => tracing::warn!(%error, "anomaly scan failed"),
        }
    })
    .await;
}

/// Opens and closes SLA violations as rules' window availability crosses their targets, every
/// 60 s, once per cluster (the store keeps one open violation per rule even if two replicas
/// ever overlap).
async fn evaluate_sla(
    state: AppState,
    holder: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let every = (Duration::seconds(50), std::time::Duration::from_secs(60));
    run_leased_every(&state, "sla-evaluate", holder, every, shutdown, || async {
        match state.sla.evaluate(state.clock.now()).await {
            Ok(evaluation) if evaluation.opened + evaluation.closed > 0 => tracing::info!(
                opened = evaluation.opened,
                closed = evaluation.closed,
                "SLA violations changed"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "SLA evaluation failed"),
        }
    })
    .await;
}

/// The report schedule (`remediation-and-ai.md` §7): every 60 s, once per cluster, writes the
/// due daily (02:00, previous day) and weekly (Monday 03:00, previous 7 days) reports that
/// were not written yet, catching up after downtime, and fails reports whose replica died
/// while writing them.
async fn schedule_reports(
    state: AppState,
    holder: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    // The lease outlives a slow model call; a replica taking over meanwhile is harmless, since
    // a scheduled report is created at most once per period (the store decides).
    let every = (Duration::minutes(5), std::time::Duration::from_secs(60));
    run_leased_every(&state, "report-schedule", holder, every, shutdown, || async {
        match state.reports.run_schedule().await {
            Ok(written) => {
                for report in written {
                    tracing::info!(id = report.id, title = %report.title, status = report.status.as_str(), "scheduled report written");
                }
            }
            Err(error) => tracing::warn!(%error, "report schedule failed"),
        }
    })
    .await;
}

/// Times out commands past their deadline, every 5 s, once per cluster.
async fn expire_commands(
    state: AppState,
    holder: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let every = (Duration::seconds(20), std::time::Duration::from_secs(5));
    run_leased_every(
        &state,
        "command-expiry",
        holder,
        every,
        shutdown,
        || async {
            match state.commands.expire_overdue().await {
                Ok(expired) if !expired.is_empty() => {
                    tracing::info!(count = expired.len(), "timed out agent commands");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "command expiry failed"),
            }
            // Remediations that waited for approval too long are escalated.
            match state.flow.expire_approvals().await {
                Ok(expired) if !expired.is_empty() => {
                    tracing::info!(count = expired.len(), "escalated unapproved remediations");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "approval expiry failed"),
            }
            // Runs whose replica stopped mid-run are failed, so the alert can be retried.
            match state.flow.fail_stalled().await {
                Ok(failed) if !failed.is_empty() => {
                    tracing::warn!(count = failed.len(), "failed interrupted remediations");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "stalled remediation sweep failed"),
            }
        },
    )
    .await;
}
