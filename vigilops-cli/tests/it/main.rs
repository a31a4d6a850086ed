//! End-to-end tests of the `vigilops` binary against the real server, started in-process on
//! `127.0.0.1:0` over a fresh SQLite store.

mod auth;
mod hosts;
mod support;
mod tokens;
