//! The VigilOps host agent: a small always-on process that collects host metrics and reports them
//! to the VigilOps server over HTTP, speaking the agent protocol (`shared/protocol/agent-protocol.md`)
//! and reading the original agent's YAML config file unchanged.
//!
//! Layout:
//! - [`config`]: the YAML config file (original keys plus our extension keys).
//! - [`collector`]: one module per metric collector and the pure reading → report conversion.
//! - [`host_info`]: the registration body (identity, platform, local addresses).
//! - [`spool`]: the bounded on-disk queue that keeps reports while the server is unreachable.
//! - [`db`]: PostgreSQL and MySQL/MariaDB metrics, one loop per configured database.
//! - [`discovery`]: listening services from `/proc`, registered and re-discovered periodically.
//! - [`reporter`]: registration, heartbeat, the collection loop and in-order delivery.
//! - [`checks`]: HTTP(S) and TCP service checks.
//! - [`logs`]: log file tailing (rotation, multiline, levels, persisted offsets).
//! - [`remote`]: the command channel: a WebSocket to the server, commands re-checked with core's
//!   safety module and run without a shell, with a timeout and an output limit.

pub mod checks;
pub mod collector;
pub mod config;
pub mod db;
pub mod discovery;
pub mod host_info;
pub mod logs;
pub mod remote;
pub mod reporter;
pub mod spool;
