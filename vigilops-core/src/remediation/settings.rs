//! The settings of the remediation flow (`AGENT_ENABLED`, `AGENT_DRY_RUN`, …), read by the
//! server's configuration whatever features the flow itself is built with.

use std::path::PathBuf;

use chrono::Duration;

/// Settings of the flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSettings {
    /// `AGENT_ENABLED`: fired alerts start remediations (manual triggers always work).
    pub enabled: bool,
    /// `AGENT_DRY_RUN`: steps are recorded as "would execute", nothing runs on the host.
    pub dry_run: bool,
    /// `AGENT_MAX_AUTO_PER_HOUR`.
    pub max_auto_per_hour: i64,
    /// How long a run waits for approval before it is escalated.
    pub approval_minutes: i64,
    /// `VIGILOPS_RUNBOOK_DIR`: user-defined runbook files.
    pub runbook_dir: Option<PathBuf>,
    /// How recently a remediation-capable agent must have been seen (it pings every 15 s).
    pub agent_presence: Duration,
    /// How often a running step's result and a verification are polled.
    pub poll_interval: std::time::Duration,
}

impl Default for FlowSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            dry_run: true,
            max_auto_per_hour: 10,
            approval_minutes: 60,
            runbook_dir: None,
            agent_presence: Duration::seconds(60),
            poll_interval: std::time::Duration::from_millis(250),
        }
    }
}
