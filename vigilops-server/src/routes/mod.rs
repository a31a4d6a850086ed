//! One module per resource, each returning an `OpenApiRouter<AppState>` whose handlers carry
//! their OpenAPI description.

pub(crate) mod agent;
pub(crate) mod agent_tokens;
pub(crate) mod agent_ws;
pub(crate) mod ai;
pub(crate) mod alert_rules;
pub(crate) mod alerts;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod commands;
pub(crate) mod dashboard;
pub(crate) mod databases;
pub(crate) mod health;
pub(crate) mod hosts;
pub(crate) mod logs;
pub(crate) mod notification_channels;
pub(crate) mod notification_templates;
pub(crate) mod remediations;
pub(crate) mod reports;
pub(crate) mod runbooks;
pub(crate) mod server_groups;
pub(crate) mod servers;
pub(crate) mod services;
pub(crate) mod settings;
pub(crate) mod silences;
pub(crate) mod sla;
pub(crate) mod spa;
pub(crate) mod topology;
pub(crate) mod users;
