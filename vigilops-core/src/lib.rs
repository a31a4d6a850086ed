//! VigilOps core: every piece of domain logic, with no HTTP framework in it.
//!
//! Layout:
//! - [`clock`]: the only place that reads the wall clock, so tests control time.
//! - [`protocol`]: serde wire contracts: the agent protocol and the REST shapes shared with the
//!   CLI, the Python bindings and the web client.
//! - [`model`]: domain types (users, roles, hosts, tokens, metrics, …) independent of any wire format.
//! - [`store`]: narrow storage role traits combined into [`store::Store`], with SQLite and
//!   PostgreSQL backends and one conformance suite run against both.
//! - [`audit`]: the audit trail every mutating call writes to.
//! - [`auth`]: password hashing, JWTs, agent tokens and the login throttle.
//! - [`ingest`]: what happens to an agent report: ownership checks, idempotency, group commit.
//! - [`host`]: reading hosts, their latest metrics and chart series.
//! - [`lease`]: once-per-cluster background jobs.
//! - [`liveness`]: online/offline state of hosts from heartbeats.
//! - [`config`]: layered server configuration with redacted secrets.
//! - `client` (feature `client`): the HTTP client of the REST and agent APIs.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
#[cfg(feature = "store")]
pub mod host;
pub mod ingest;
pub mod lease;
pub mod liveness;
pub mod model;
pub mod protocol;
pub mod store;

#[cfg(feature = "client")]
pub mod client;

pub use clock::{Clock, SystemClock};
pub use store::{Store, StoreError};
