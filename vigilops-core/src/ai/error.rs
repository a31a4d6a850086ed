//! The errors of the LLM client, one variant per thing a caller branches on.

/// Why an LLM call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// `AI_API_KEY` is empty: AI is off. The message is the original's.
    #[error("AI API key not configured")]
    NotConfigured,
    /// A setting could not be used.
    #[error("invalid AI setting `{name}`: {reason}")]
    InvalidConfig {
        /// The environment variable or field.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The provider answered with an error status (after any retries it allowed).
    #[error("llm provider answered {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The provider's `error.message`, or the start of its body.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Every attempt ran out of time (connecting, waiting for the reply, or between stream chunks).
    #[error("llm request timed out after {attempts} attempt(s)")]
    Timeout {
        /// Attempts made.
        attempts: u32,
    },
    /// The provider could not be reached (connection refused, reset, DNS, TLS).
    #[error("failed to reach the llm provider after {attempts} attempt(s): {message}")]
    Connect {
        /// The transport error and its causes.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The reply was not the chat-completions shape (bad JSON, no `choices`).
    #[error("malformed llm reply: {0}")]
    Malformed(String),
    /// The provider reported an error inside a successful reply or a stream.
    #[error("llm provider reported an error: {0}")]
    Provider(String),
    /// A streamed reply ended before `data: [DONE]`.
    #[error("llm stream truncated: {0}")]
    Truncated(String),
    /// The prompt is larger than the budget allows and could not be trimmed to fit.
    #[error("prompt of about {estimated} tokens exceeds the budget of {budget} tokens")]
    BudgetExceeded {
        /// The estimate of the prompt (see [`crate::ai::budget::estimate_tokens`]).
        estimated: usize,
        /// The allowed prompt tokens.
        budget: usize,
    },
}

impl LlmError {
    /// Whether another attempt may succeed: rate limits, server errors, timeouts and connection
    /// failures. Any other 4xx means the request itself is wrong, so it is never retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout { .. } | Self::Connect { .. } => true,
            _ => false,
        }
    }
}
