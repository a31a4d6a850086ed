//! Integration tests of vigilops-core: the store conformance story on both backends.

// Helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod command;
mod store;
