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
//!
//! **Invariant:** collected text (logs, command output, alert messages) reaches a prompt only
//! through [`prompt::DataBlock`], which redacts it and fences it as data.

pub mod budget;
pub mod config;
pub mod error;
pub mod llm;
pub mod prompt;
pub mod redact;
pub mod sse;

pub use config::{ApiKey, LlmConfig};
pub use error::LlmError;
pub use llm::{
    ChatMessage, ChatRequest, Completion, CompletionStream, LlmClient, Role, StreamEvent, Usage,
};
