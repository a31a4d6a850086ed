//! What every handler can reach: the store, the clock and the core services.

use std::sync::Arc;
use vigilops_core::ai::service::AiService;
use vigilops_core::alerting::engine::AlertEngine;
use vigilops_core::alerting::service::{AlertService, RuleService, SilenceService};
use vigilops_core::auth::AuthService;
use vigilops_core::clock::Clock;
use vigilops_core::command::CommandService;
use vigilops_core::config::ServerConfig;
use vigilops_core::dashboard::feed::DashboardFeed;
use vigilops_core::host::HostService;
use vigilops_core::ingest::Ingestor;
use vigilops_core::logs::stream::LogStream;
use vigilops_core::notify::service::{ChannelService, TemplateService};
use vigilops_core::remediation::flow::RemediationFlow;
use vigilops_core::remediation::service::RemediationService;
use vigilops_core::report::ReportService;
use vigilops_core::settings::SettingsService;
use vigilops_core::sla::SlaService;
use vigilops_core::store::Store;

/// The shared application state: one allocation behind an `Arc`, so the clone every extractor
/// makes is one reference-count increment rather than one per service (it showed up at 2.5 %
/// of the server's CPU under ingestion load).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// The state over `services`.
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What every handler can reach.
#[derive(Debug)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub auth: AuthService,
    pub ingest: Ingestor,
    /// Evaluates alert rules as readings arrive.
    pub engine: AlertEngine,
    pub hosts: HostService,
    /// Commands queued for hosts' agents.
    pub commands: CommandService,
    /// Alert rules.
    pub rules: RuleService,
    /// Alerts as people handle them.
    pub alerts: AlertService,
    /// Silences and maintenance windows.
    pub silences: SilenceService,
    /// Notification channels and the notification log.
    pub channels: ChannelService,
    /// Notification templates.
    pub templates: TemplateService,
    /// Root cause, log analysis, ops chat, insights and the ops memory.
    pub ai: AiService,
    /// Remediation runs as the REST API reads them.
    pub remediations: RemediationService,
    /// The remediation flow: trigger, approve, reject, retry, runbooks, safety switches.
    pub flow: RemediationFlow,
    /// Daily and weekly reports, on demand and on schedule.
    pub reports: ReportService,
    /// The operator-tunable settings (`/api/v1/settings`).
    pub settings: SettingsService,
    /// Every stored log line, from every replica, for `/ws/logs`.
    pub log_stream: LogStream,
    /// Changes as they happen, from every replica, for `/ws/dashboard`.
    pub dashboard_feed: DashboardFeed,
    /// SLA rules, status, reports and the violation evaluator.
    pub sla: SlaService,
    /// `None` when no Redis is configured.
    pub redis: Option<redis::aio::ConnectionManager>,
}
