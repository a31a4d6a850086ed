//! Wire contracts: what crosses a process boundary as JSON.
//!
//! - [`agent`]: the agent → server protocol of `/api/v1/agent/*`, tolerant of the original agents.
//! - [`agent_ws`]: the frames of the agent WebSocket (commands and their results).
//! - [`rest`]: the REST shapes the web client, the CLI and the Python bindings read and write.
//! - [`lenient`]: deserializers for the loose number and timestamp formats the original agents send.

pub mod agent;
pub mod agent_ws;
pub mod lenient;
pub mod rest;
