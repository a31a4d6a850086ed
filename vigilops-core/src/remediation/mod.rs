//! Auto-remediation: runbooks, matching, diagnosis and the safety decision.
//!
//! - [`runbook`]: the YAML shape of a runbook, its load-time validation (every command passes
//!   the safety check with representative label values, placeholders are known), run-time
//!   placeholder filling (one argument per value, checked again), and the built-in output
//!   extractors (no shell parsing).
//! - [`builtin`]: the six built-in runbooks, in the same YAML.
//! - [`matching`]: an alert's type and labels, and the reference's runbook matching order.
//! - [`diagnosis`]: the model's diagnosis (JSON contract, registered runbooks only) or the
//!   rules' (alert type weighed by the correlator), whose confidence feeds the risk.
//! - [`risk`]: the run-level decision from stored history: breaker, cooldown, every risk rule
//!   (most restrictive wins), the hourly cap, kill switch, opt-out and maintenance windows.
//!
//! - [`catalog`]: the cluster's runbooks: built-ins, files, API-defined, parameter values.
//! - [`flow`]: the flow itself: trigger, diagnosis, match, decision, approval, execution on the
//!   host through the agent's command channel, verification, rollback, timeline and memory.
//! - [`service`], [`wire`]: reading runs over REST (list, one, statistics).

pub mod builtin;
pub mod catalog;
pub mod diagnosis;
#[cfg(feature = "notify")]
pub mod flow;
pub mod matching;
pub mod risk;
pub mod runbook;
pub mod service;
pub mod settings;
pub mod wire;
