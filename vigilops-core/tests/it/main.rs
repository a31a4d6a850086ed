//! Integration tests of vigilops-core: the store conformance story on both backends, and the
//! notification channels against local receivers.

// Helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod command;
#[cfg(feature = "notify")]
mod notify;
mod store;
