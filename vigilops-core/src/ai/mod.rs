//! The AI engine's foundations: talking to an LLM, and making sure what we send it is safe.
//!
//! - [`config`]: the LLM settings from the original's environment names (`AI_API_BASE`,
//!   `AI_API_KEY`, `AI_MODEL`, `AI_MAX_TOKENS`), with the key redacted in `Debug`.
//! - [`llm`]: the OpenAI-compatible chat-completions client (DeepSeek by default): one reply or a
//!   stream of deltas, a timeout per attempt, retries with backoff on 429/5xx/connection errors,
//!   and the token usage of every call.
//! - [`sse`]: the server-sent-events decoder behind streaming replies (pure, fed bytes).
//! - [`budget`]: the prompt-size estimate and the trimming or refusal of an oversized prompt.
//! - [`redact`]: masks secrets (tokens, passwords, connection-string passwords, private keys,
//!   `Authorization` headers) in text before it leaves for the provider.
//! - [`prompt`]: puts collected text into a prompt only as a delimited, redacted data block.
//! - [`cluster`]: deterministic log clustering (templates with counts) before anything else.
//! - [`evidence`]: facts around an alert, each referring to the stored data it came from.
//! - [`correlate`]: the deterministic correlator (what moved first, which dependency failed
//!   first); root cause without a model, and the model's starting point.
//! - [`rca`]: the root-cause prompt and the checking of the model's reply against the evidence.
//! - [`memory`]: search terms of the built-in memory, incident texts, the external service.
//! - [`log_analysis`], [`chat`]: the prompts and reply parsing of the other two modes.
//! - [`report`]: the operations report prompt and the `【摘要】` summary of its reply.
//! - [`gather`]: reads the evidence around an alert from the store.
//! - [`service`]: the entry points REST calls (root cause, log analysis, chat, insights and
//!   feedback, memory search, system summary, remembering resolved incidents).
//! - [`topology`]: the prompt and reply parsing of the topology's dependency suggestions.
//! - [`wire`]: the REST shapes of `/api/v1/ai`.
//!
//! **Invariant:** collected text (logs, command output, alert messages) reaches a prompt only
//! through [`prompt::DataBlock`], which redacts it and fences it as data.

pub mod budget;
pub mod chat;
pub mod cluster;
pub mod config;
pub mod correlate;
pub mod error;
pub mod evidence;
#[cfg(feature = "server")]
pub mod gather;
pub mod llm;
pub mod log_analysis;
pub mod memory;
pub mod prompt;
pub mod rca;
pub mod redact;
pub mod report;
#[cfg(feature = "server")]
pub mod service;
pub mod sse;
pub mod topology;
pub mod wire;

pub use config::{ApiKey, LlmConfig};
pub use error::LlmError;
pub use llm::{
    ChatMessage, ChatRequest, Completion, CompletionStream, LlmClient, Role, StreamEvent, Usage,
};
