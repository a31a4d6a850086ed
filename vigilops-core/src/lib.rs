//! VigilOps core: every piece of domain logic, with no HTTP framework in it.
//!
//! Layout:
//! - [`clock`]: the only place that reads the wall clock, so tests control time.
//! - [`protocol`]: serde wire contracts: the agent protocol and the REST shapes shared with the
//!   CLI, the Python bindings and the web client.
//! - [`model`]: domain types (users, roles, hosts, tokens, metrics, …) independent of any wire format.
//! - [`store`]: narrow storage role traits combined into [`store::Store`], with SQLite and
//!   PostgreSQL backends and one conformance suite run against both.
//! - [`alerting`]: rule model, detectors and the per-(rule, target) alert state machine.
//! - [`audit`]: the audit trail every mutating call writes to.
//! - [`auth`]: password hashing, JWTs, agent tokens and the login throttle.
//! - [`ingest`]: what happens to an agent report: ownership checks, idempotency, group commit.
//! - [`host`]: reading hosts, their latest metrics and chart series.
//! - [`bus`]: notifications between replicas (in-process, or Redis with feature `redis`).
//! - [`command`]: the command channel to host agents: queue, hand over, record results.
//! - [`lease`]: once-per-cluster background jobs.
//! - [`liveness`]: online/offline state of hosts from heartbeats.
//! - [`sla`]: SLA rules, time-based availability over calendar windows, reports, and the
//!   evaluator that records violations.
//! - [`service_rollup`]: 5-minute and 1-hour rollups of service checks, so raw checks can be
//!   purged while SLA availability and reports of older ranges stay the same.
//! - [`config`]: layered server configuration with redacted secrets.
//! - [`report`]: daily and weekly operations reports, written in the background, on demand or
//!   on schedule once per cluster.
//! - [`topology`]: the service graph (stored, observed or inferred edges), per-user layouts, and
//!   the servers and server groups of the multi-server view, linked to agent hosts by hostname.
//! - `notify` (feature `notify`; email with `notify-email`): notification channels (DingTalk,
//!   Feishu, WeCom, webhook, email), templates, retries and per-channel rate limits.
//! - `safety` (feature `safety`): the command check on parsed argv shared by server and agent.
//! - `client` (feature `client`): the HTTP client of the REST and agent APIs.
//! - `ai` (feature `ai`): the LLM client (OpenAI-compatible, DeepSeek by default), redaction of
//!   secrets before text is sent, and prompt helpers that fence collected text as data.
//!
//! Features: `server` (everything server-side; implied by `sqlite`/`postgres`), `openapi`
//! (schemas on wire types), `redis`, `client`, `safety`, `notify`, `notify-email`,
//! `ai`, `test-support`. The agent adds `safety` to `client`; the CLI and the Python bindings use only
//! `client`, so they build without argon2, JWT, sqlx or utoipa.

#[cfg(feature = "ai")]
pub mod ai;
#[cfg(feature = "server")]
pub mod alerting;
#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "server")]
pub mod auth;
pub mod bus;
pub mod clock;
#[cfg(feature = "server")]
pub mod command;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod dashboard;
#[cfg(feature = "server")]
pub mod databases;
#[cfg(feature = "server")]
pub mod host;
#[cfg(feature = "server")]
pub mod ingest;
#[cfg(feature = "server")]
pub mod lease;
#[cfg(feature = "server")]
pub mod liveness;
#[cfg(feature = "server")]
pub mod logs;
pub mod model;
#[cfg(feature = "notify")]
pub mod notify;
pub mod protocol;
#[cfg(feature = "server")]
pub mod remediation;
#[cfg(feature = "server")]
pub mod report;
#[cfg(feature = "server")]
pub mod retention;
#[cfg(feature = "server")]
pub mod rollup;
#[cfg(feature = "safety")]
pub mod safety;
#[cfg(feature = "server")]
pub mod service_rollup;
#[cfg(feature = "server")]
pub mod services;
#[cfg(feature = "server")]
pub mod settings;
#[cfg(feature = "server")]
pub mod sla;
pub mod stats;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod topology;

#[cfg(feature = "client")]
pub mod client;

pub use clock::{Clock, SystemClock};
#[cfg(feature = "server")]
pub use store::{Store, StoreError};
