//! Integration tests of vigilops-core: the store conformance story on both backends, and the
//! notification channels and the LLM client against local servers.

// Helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "ai")]
mod ai;
mod command;
#[cfg(feature = "notify")]
mod notify;
mod remediation_migration;
mod store;
