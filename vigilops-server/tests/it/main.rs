//! Integration tests of the server through its router (`oneshot`) on SQLite and PostgreSQL,
//! plus an end-to-end test of the real binary.

// Helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_protocol;
mod ai_scenarios;
mod alert_scenarios;
mod alerting;
mod auth;
mod bad_input;
mod binary;
mod channel_scenarios;
mod commands;
mod dashboard;
mod databases;
mod health;
mod hosts;
mod logs;
mod openapi;
mod platforms;
mod remediation_flow;
mod remediations;
mod reports;
mod route_walk;
mod services;
mod settings;
mod sla;
mod support;
mod topology;
mod users;
