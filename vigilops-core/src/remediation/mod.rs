//! Auto-remediation's declarative side: runbooks and the built-ins.
//!
//! - [`runbook`]: the YAML shape of a runbook, its load-time validation (every command passes
//!   the safety check with representative label values, placeholders are known), run-time
//!   placeholder filling (one argument per value, checked again), and the built-in output
//!   extractors (no shell parsing).
//! - [`builtin`]: the six built-in runbooks, in the same YAML.
//!
//! The remediation flow (diagnosis, matching, rate limits, breaker, approvals, execution through
//! the agent, verification, rollback) builds on these.

pub mod builtin;
pub mod runbook;
