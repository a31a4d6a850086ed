//! The OpenAI-compatible chat-completions client (`POST {AI_API_BASE}/chat/completions` with
//! `Authorization: Bearer {AI_API_KEY}`), DeepSeek by default: one whole reply
//! ([`LlmClient::complete`]) or a stream of deltas ([`LlmClient::stream`]).
//!
//! Each attempt is bounded by [`LlmConfig::attempt_timeout`]. A 429 (after its `Retry-After`),
//! a 5xx, a timeout or a connection failure is retried with exponential backoff and jitter up to
//! [`LlmConfig::attempts`]; any other 4xx and any malformed reply end the call at once. A stream
//! is retried only until its response head arrives: once deltas have been handed out, a failure
//! ends the stream with an error rather than replaying text the caller already has.
//!
//! Before anything is sent the prompt is held to [`LlmConfig::prompt_budget`] (see
//! [`super::budget`]) and `max_tokens` bounds the reply. Every answer carries its [`Usage`]: the
//! provider's `usage` when it sends one, else our estimate, flagged as such.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use rand::Rng;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde_json::{Value, json};

use super::budget::{self, Overflow};
use super::config::LlmConfig;
use super::error::LlmError;
use super::sse::{Leftover, SseDecoder};
use crate::clock::Clock;

/// How much of a provider's error body an error keeps.
const MAX_ERROR_CHARS: usize = 300;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The question, with any collected data (see [`super::prompt`]).
    User,
    /// An earlier answer, in a conversation.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// What it says.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// One chat-completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The conversation, system message first.
    pub messages: Vec<ChatMessage>,
    /// The reply's `max_tokens`; `None` takes [`LlmConfig::max_tokens`].
    pub max_tokens: Option<u32>,
    /// `None` takes [`LlmConfig::temperature`] (the diagnosis uses 0.1).
    pub temperature: Option<f32>,
    /// What to do when the prompt is over the budget.
    pub overflow: Overflow,
}

impl ChatRequest {
    /// A request with the configured defaults, refused when over budget.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            max_tokens: None,
            temperature: None,
            overflow: Overflow::Refuse,
        }
    }

    /// Sets `max_tokens`.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets what to do when over budget.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }
}

/// The tokens one call used, for the caller to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the reply.
    pub completion_tokens: u64,
    /// Their sum, as the provider counts it.
    pub total_tokens: u64,
    /// True when the provider sent no `usage` and these are our estimates ([`super::budget`]).
    pub estimated: bool,
}

impl Usage {
    /// Reads an OpenAI-shaped `usage` object; `None` when absent or not that shape.
    fn from_json(value: &Value) -> Option<Self> {
        let prompt_tokens = value.get("prompt_tokens")?.as_u64()?;
        let completion_tokens = value.get("completion_tokens")?.as_u64()?;
        let total_tokens = value
            .get("total_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(prompt_tokens + completion_tokens);
        Some(Self {
            prompt_tokens,
            completion_tokens,
            total_tokens,
            estimated: false,
        })
    }

    fn estimate(prompt_tokens: usize, completion_tokens: usize) -> Self {
        let prompt_tokens = u64::try_from(prompt_tokens).unwrap_or(u64::MAX);
        let completion_tokens = u64::try_from(completion_tokens).unwrap_or(u64::MAX);
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            estimated: true,
        }
    }
}

/// A whole reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// `choices[0].message.content`.
    pub content: String,
    /// `choices[0].finish_reason` (`stop`, `length`, …) when given.
    pub finish_reason: Option<String>,
    /// The model that answered, when the provider says.
    pub model: Option<String>,
    /// The tokens used.
    pub usage: Usage,
    /// Attempts it took (1 when the first succeeded).
    pub attempts: u32,
}

/// One item of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The next piece of the reply's text.
    Delta(String),
    /// The reply is complete (`data: [DONE]`); always the last item of a successful stream.
    Done {
        /// The last `finish_reason` seen.
        finish_reason: Option<String>,
        /// The tokens used: the final chunk's `usage` when the provider sent it, else estimated.
        usage: Usage,
    },
}

/// A streamed reply: deltas, then [`StreamEvent::Done`], or an error as the last item (a
/// stream that ends without `[DONE]` yields [`LlmError::Truncated`]).
pub struct CompletionStream {
    inner: Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>,
    attempts: u32,
}

impl std::fmt::Debug for CompletionStream {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CompletionStream")
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl CompletionStream {
    /// Attempts it took to get the response head.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Reads the whole stream into one [`Completion`].
    pub async fn collect_completion(mut self) -> Result<Completion, LlmError> {
        let mut content = String::new();
        while let Some(event) = self.next().await {
            match event? {
                StreamEvent::Delta(delta) => content.push_str(&delta),
                StreamEvent::Done {
                    finish_reason,
                    usage,
                } => {
                    return Ok(Completion {
                        content,
                        finish_reason,
                        model: None,
                        usage,
                        attempts: self.attempts,
                    });
                }
            }
        }
        Err(LlmError::Truncated("stream ended before [DONE]".to_owned()))
    }
}

impl Stream for CompletionStream {
    type Item = Result<StreamEvent, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(context)
    }
}

/// Why one attempt failed, and when the provider asked us to come back.
struct Failure {
    error: LlmError,
    retry_after: Option<Duration>,
}

impl From<LlmError> for Failure {
    fn from(error: LlmError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// The chat-completions client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LlmClient {
    config: LlmConfig,
    endpoint: reqwest::Url,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl LlmClient {
    /// A client for `config`; `clock` reads the date form of `Retry-After`. A missing key is not
    /// an error here (every call answers [`LlmError::NotConfigured`]); a bad base URL is.
    pub fn new(config: LlmConfig, clock: Arc<dyn Clock>) -> Result<Self, LlmError> {
        let endpoint = config.endpoint()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.attempt_timeout)
            .build()
            .map_err(|error| LlmError::InvalidConfig {
                name: "http client".to_owned(),
                reason: error.to_string(),
            })?;
        Ok(Self {
            config,
            endpoint,
            http,
            clock,
        })
    }

    /// The settings.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Whether a key is set (AI on).
    pub fn is_configured(&self) -> bool {
        self.config.api_key.is_some()
    }

    /// Sends `request` and waits for the whole reply.
    pub async fn complete(&self, request: ChatRequest) -> Result<Completion, LlmError> {
        let (headers, body, prompt_estimate) = self.prepare(request, false)?;
        let ((content, finish_reason, model, usage), attempts) = self
            .with_retries(|| async {
                let response = self.send(headers.clone(), body.clone()).await?;
                let text = response.text().await.map_err(|error| transport(&error))?;
                parse_reply(&text)
            })
            .await?;
        let usage = usage.unwrap_or_else(|| {
            Usage::estimate(prompt_estimate, budget::estimate_text_tokens(&content))
        });
        Ok(Completion {
            content,
            finish_reason,
            model,
            usage,
            attempts,
        })
    }

    /// Sends `request` with `"stream": true` and hands out the reply as it arrives.
    pub async fn stream(&self, request: ChatRequest) -> Result<CompletionStream, LlmError> {
        let (headers, body, prompt_estimate) = self.prepare(request, true)?;
        let (response, attempts) = self
            .with_retries(|| self.send(headers.clone(), body.clone()))
            .await?;
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if is_json {
            // A provider that ignores `stream`, or reports an error with a 200, answers with one
            // JSON body: hand it out as one delta, or as the error it is.
            let text = tokio::time::timeout(self.config.attempt_timeout, response.text())
                .await
                .map_err(|_elapsed| LlmError::Timeout { attempts })?
                .map_err(|error| with_attempts(transport(&error).error, attempts))?;
            let (content, finish_reason, _model, usage) =
                parse_reply(&text).map_err(|failure| failure.error)?;
            let usage = usage.unwrap_or_else(|| {
                Usage::estimate(prompt_estimate, budget::estimate_text_tokens(&content))
            });
            let mut events = Vec::new();
            if !content.is_empty() {
                events.push(Ok(StreamEvent::Delta(content)));
            }
            events.push(Ok(StreamEvent::Done {
                finish_reason,
                usage,
            }));
            return Ok(CompletionStream {
                inner: Box::pin(futures::stream::iter(events)),
                attempts,
            });
        }
        let state = StreamState {
            body: Box::pin(response.bytes_stream()),
            decoder: SseDecoder::new(),
            queue: VecDeque::new(),
            finished: false,
            idle_timeout: self.config.attempt_timeout,
            attempts,
            prompt_estimate,
            completion_text: TextTokens::default(),
            finish_reason: None,
            usage: None,
        };
        let inner = futures::stream::unfold(state, StreamState::next_item);
        Ok(CompletionStream {
            inner: Box::pin(inner),
            attempts,
        })
    }

    /// The headers and JSON body of a request, after the key check and the budget.
    fn prepare(
        &self,
        mut request: ChatRequest,
        stream: bool,
    ) -> Result<(HeaderMap, Bytes, usize), LlmError> {
        let key = self
            .config
            .api_key
            .as_ref()
            .ok_or(LlmError::NotConfigured)?;
        let prompt_estimate = budget::fit(
            &mut request.messages,
            self.config.prompt_budget,
            request.overflow,
        )?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
            .map_err(|_| LlmError::InvalidConfig {
                name: "AI_API_KEY".to_owned(),
                reason: "not a valid header value".to_owned(),
            })?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static(if stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        let mut body = json!({
            "model": self.config.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens.unwrap_or(self.config.max_tokens),
            "temperature": request.temperature.unwrap_or(self.config.temperature),
            "stream": stream,
        });
        if stream {
            // Ask for the final usage chunk (OpenAI's option; DeepSeek sends it either way).
            body["stream_options"] = json!({"include_usage": true});
        }
        let body = serde_json::to_vec(&body)
            .map_err(|error| LlmError::Malformed(format!("request not serializable: {error}")))?;
        Ok((headers, Bytes::from(body), prompt_estimate))
    }

    /// One POST; a non-2xx answer becomes an [`LlmError::Http`] with any `Retry-After`.
    async fn send(&self, headers: HeaderMap, body: Bytes) -> Result<reqwest::Response, Failure> {
        let response = self
            .http
            .post(self.endpoint.clone())
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|error| transport(&error))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = retry_after(response.headers(), self.clock.as_ref());
        let text = response.text().await.unwrap_or_default();
        Err(Failure {
            error: LlmError::Http {
                status: status.as_u16(),
                message: provider_message(&text),
                attempts: 1,
            },
            retry_after,
        })
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts run out.
    async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<(T, u32), LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let allowed = self.config.attempts.max(1);
        let mut number = 0;
        loop {
            number += 1;
            let failure = match tokio::time::timeout(self.config.attempt_timeout, attempt()).await {
                Ok(Ok(value)) => return Ok((value, number)),
                Ok(Err(failure)) => failure,
                Err(_elapsed) => LlmError::Timeout { attempts: number }.into(),
            };
            let error = with_attempts(failure.error, number);
            if !error.is_retryable() || number >= allowed {
                return Err(error);
            }
            let delay = match failure.retry_after {
                // Honour the provider's wait, unless it is longer than we are prepared to wait.
                Some(after) if after > self.config.max_delay => return Err(error),
                Some(after) => after,
                None => backoff_delay(&self.config, number, rand::rng().random::<f64>()),
            };
            tracing::warn!(attempt = number, %error, ?delay, "llm attempt failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// The delay after failed attempt `attempt` (1 after the first): `base_delay` doubled per
/// attempt, capped at `max_delay`, scaled by the jitter for a `unit` sample in `[0, 1)`. Pure,
/// so tests pin the schedule.
pub fn backoff_delay(config: &LlmConfig, attempt: u32, unit: f64) -> Duration {
    let multiplier = 2_u32.saturating_pow(attempt.saturating_sub(1));
    let nominal = config
        .base_delay
        .saturating_mul(multiplier)
        .min(config.max_delay);
    let jitter = config.jitter.clamp(0.0, 1.0);
    let scale = 1.0 - jitter + 2.0 * jitter * unit.clamp(0.0, 1.0);
    nominal.mul_f64(scale).min(config.max_delay)
}

/// `Retry-After` as seconds or an HTTP date, or OpenAI's `retry-after-ms`.
fn retry_after(headers: &HeaderMap, clock: &dyn Clock) -> Option<Duration> {
    if let Some(millis) = headers
        .get("retry-after-ms")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|millis| millis.is_finite() && *millis >= 0.0)
    {
        return Some(Duration::from_secs_f64(millis / 1000.0));
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = chrono::DateTime::<chrono::Utc>::from(httpdate::parse_http_date(value).ok()?);
    Some((at - clock.now()).to_std().unwrap_or(Duration::ZERO))
}

/// A transport error as a failure: a timeout, or a connection problem.
fn transport(error: &reqwest::Error) -> Failure {
    let error = if error.is_timeout() {
        LlmError::Timeout { attempts: 1 }
    } else {
        LlmError::Connect {
            message: error_chain(error),
            attempts: 1,
        }
    };
    error.into()
}

fn with_attempts(error: LlmError, number: u32) -> LlmError {
    match error {
        LlmError::Http {
            status, message, ..
        } => LlmError::Http {
            status,
            message,
            attempts: number,
        },
        LlmError::Timeout { .. } => LlmError::Timeout { attempts: number },
        LlmError::Connect { message, .. } => LlmError::Connect {
            message,
            attempts: number,
        },
        other => other,
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The provider's `error.message` (OpenAI's shape), else its `message`/`detail`, else the body.
fn provider_message(text: &str) -> String {
    let json = serde_json::from_str::<Value>(text).ok();
    let message = json.as_ref().and_then(|json| {
        json.pointer("/error/message")
            .or_else(|| json.get("error"))
            .or_else(|| json.get("message"))
            .or_else(|| json.get("detail"))
            .and_then(Value::as_str)
    });
    truncate(message.unwrap_or(text).trim())
}

type Reply = (String, Option<String>, Option<String>, Option<Usage>);

/// Reads a whole chat-completions reply: content, finish reason, model, usage.
fn parse_reply(text: &str) -> Result<Reply, Failure> {
    let json: Value = serde_json::from_str(text)
        .map_err(|error| LlmError::Malformed(format!("reply is not JSON: {error}")))?;
    if let Some(error) = json.get("error").filter(|error| !error.is_null()) {
        return Err(LlmError::Provider(provider_message(&error_json(error))).into());
    }
    let choice = json
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
        .ok_or_else(|| LlmError::Malformed("reply has no choices".to_owned()))?;
    let content = choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| LlmError::Malformed("choice has no message content".to_owned()))?;
    Ok((
        content.to_owned(),
        choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        json.get("model").and_then(Value::as_str).map(str::to_owned),
        json.get("usage").and_then(Usage::from_json),
    ))
}

/// An `error` member as the JSON `provider_message` reads.
fn error_json(error: &Value) -> String {
    json!({ "error": error }).to_string()
}

/// Counts a reply's text for the estimate without keeping it.
#[derive(Debug, Default)]
struct TextTokens {
    ascii: usize,
    other: usize,
}

impl TextTokens {
    fn add(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_ascii() {
                self.ascii += 1;
            } else {
                self.other += 1;
            }
        }
    }

    fn estimate(&self) -> usize {
        self.ascii.div_ceil(3) + self.other
    }
}

/// The decoding state of a streamed reply.
struct StreamState {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    decoder: SseDecoder,
    queue: VecDeque<Result<StreamEvent, LlmError>>,
    /// Nothing more is read once `[DONE]`, an error or the end was seen.
    finished: bool,
    idle_timeout: Duration,
    attempts: u32,
    prompt_estimate: usize,
    completion_text: TextTokens,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl StreamState {
    async fn next_item(mut self) -> Option<(Result<StreamEvent, LlmError>, Self)> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some((item, self));
            }
            if self.finished {
                return None;
            }
            match tokio::time::timeout(self.idle_timeout, self.body.next()).await {
                Err(_elapsed) => self.fail(LlmError::Timeout {
                    attempts: self.attempts,
                }),
                Ok(Some(Err(error))) => self.fail(LlmError::Truncated(format!(
                    "stream broke off: {}",
                    error_chain(&error)
                ))),
                Ok(Some(Ok(bytes))) => {
                    for data in self.decoder.push(&bytes) {
                        self.data(&data);
                        if self.finished {
                            break;
                        }
                    }
                }
                Ok(None) => {
                    match self.decoder.finish() {
                        Leftover::Event(data) => self.data(&data),
                        Leftover::PartialLine(_) | Leftover::Nothing => {}
                    }
                    if !self.finished {
                        self.fail(LlmError::Truncated("stream ended before [DONE]".to_owned()));
                    }
                }
            }
        }
    }

    fn fail(&mut self, error: LlmError) {
        self.finished = true;
        self.queue.push_back(Err(error));
    }

    /// One event's data: `[DONE]` or a chunk.
    fn data(&mut self, data: &str) {
        if data.trim() == "[DONE]" {
            let usage = self.usage.unwrap_or_else(|| {
                Usage::estimate(self.prompt_estimate, self.completion_text.estimate())
            });
            self.finished = true;
            self.queue.push_back(Ok(StreamEvent::Done {
                finish_reason: self.finish_reason.take(),
                usage,
            }));
            return;
        }
        let chunk: Value = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(error) => {
                return self.fail(LlmError::Malformed(format!(
                    "stream chunk is not JSON: {error}"
                )));
            }
        };
        if let Some(error) = chunk.get("error").filter(|error| !error.is_null()) {
            return self.fail(LlmError::Provider(provider_message(&error_json(error))));
        }
        if let Some(usage) = chunk.get("usage").and_then(Usage::from_json) {
            self.usage = Some(usage);
        }
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            return self.fail(LlmError::Malformed(
                "stream chunk has no choices".to_owned(),
            ));
        };
        // The usage-only final chunk has an empty `choices`.
        if let Some(choice) = choices.first() {
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_owned());
            }
            if let Some(delta) = choice
                .pointer("/delta/content")
                .and_then(Value::as_str)
                .filter(|delta| !delta.is_empty())
            {
                self.completion_text.add(delta);
                self.queue
                    .push_back(Ok(StreamEvent::Delta(delta.to_owned())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn backoff_doubles_within_the_jitter_and_is_capped() {
        let config = LlmConfig::default();
        assert_eq!(backoff_delay(&config, 1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff_delay(&config, 2, 0.5), Duration::from_secs(2));
        assert_eq!(backoff_delay(&config, 3, 0.5), Duration::from_secs(4));
        assert_eq!(backoff_delay(&config, 2, 0.0), Duration::from_millis(1600));
        assert_eq!(backoff_delay(&config, 2, 1.0), Duration::from_millis(2400));
        assert_eq!(backoff_delay(&config, 40, 1.0), config.max_delay);
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds() {
        let clock = ManualClock::new(
            chrono::DateTime::parse_from_rfc3339("2026-11-27T09:00:00Z")
                .unwrap()
                .into(),
        );
        let headers = |name: &'static str, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static(value));
            headers
        };
        assert_eq!(
            retry_after(&headers("retry-after", "7"), &clock),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers("retry-after", "Fri, 27 Nov 2026 09:00:20 GMT"),
                &clock
            ),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            retry_after(
                &headers("retry-after", "Fri, 27 Nov 2026 08:00:00 GMT"),
                &clock
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(&headers("retry-after-ms", "250"), &clock),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after(&headers("retry-after", "soon"), &clock), None);
        assert_eq!(retry_after(&HeaderMap::new(), &clock), None);
    }

    #[test]
    fn provider_messages_are_read_from_the_openai_error_shape() {
        assert_eq!(
            provider_message(r#"{"error":{"message":"Insufficient Balance","type":"x"}}"#),
            "Insufficient Balance"
        );
        assert_eq!(provider_message(r#"{"detail":"nope"}"#), "nope");
        assert_eq!(
            provider_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(provider_message(&"x".repeat(400)).chars().count(), 301);
    }

    #[test]
    fn whole_replies_need_a_choice_with_content() {
        let ok = parse_reply(
            r#"{"model":"deepseek-chat","choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#,
        )
        .ok()
        .unwrap();
        assert_eq!(ok.0, "hi");
        assert_eq!(ok.1.as_deref(), Some("stop"));
        assert_eq!(ok.2.as_deref(), Some("deepseek-chat"));
        assert_eq!(ok.3.map(|usage| usage.total_tokens), Some(6));
        for bad in ["{", r#"{"choices":[]}"#, r#"{"choices":[{"message":{}}]}"#] {
            assert!(
                matches!(
                    parse_reply(bad),
                    Err(Failure {
                        error: LlmError::Malformed(_),
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_reply(r#"{"error":{"message":"overloaded"}}"#),
            Err(Failure { error: LlmError::Provider(message), .. }) if message == "overloaded"
        ));
    }
}
