//! The LLM settings: the original's environment names and defaults (remediation-and-ai.md §5),
//! plus ours for timeouts, retries and the prompt budget. The API key never shows in `Debug`.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use super::error::LlmError;

/// The original's default provider.
pub const DEFAULT_PROVIDER: &str = "deepseek";
/// DeepSeek's OpenAI-compatible endpoint.
pub const DEFAULT_API_BASE: &str = "https://api.deepseek.com/v1";
/// DeepSeek's chat model.
pub const DEFAULT_MODEL: &str = "deepseek-chat";
/// The original's `AI_MAX_TOKENS`.
pub const DEFAULT_MAX_TOKENS: u32 = 2000;
/// Prompt tokens allowed per request by default: well inside DeepSeek's 64K context, leaving room
/// for the reply.
pub const DEFAULT_PROMPT_BUDGET: usize = 32_000;

/// An API key whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ApiKey(<redacted>)")
    }
}

/// Where to send chat completions and how patiently.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// `AI_PROVIDER`; informational (every provider is spoken to as OpenAI-compatible).
    pub provider: String,
    /// `AI_API_BASE`, without a trailing `/`; requests go to `{api_base}/chat/completions`.
    pub api_base: String,
    /// `AI_API_KEY`; `None` means AI is off ([`LlmError::NotConfigured`]).
    pub api_key: Option<ApiKey>,
    /// `AI_MODEL`.
    pub model: String,
    /// `AI_MAX_TOKENS`: the `max_tokens` sent when a request sets none (the reply's budget).
    pub max_tokens: u32,
    /// The temperature sent when a request sets none (the original's 0.3).
    pub temperature: f32,
    /// `VIGILOPS_AI_PROMPT_BUDGET`: the estimated prompt tokens a request may carry.
    pub prompt_budget: usize,
    /// `VIGILOPS_AI_TIMEOUT_SECONDS`: one attempt's limit (30 s like the original); for a stream,
    /// the limit until the response head and then between two chunks.
    pub attempt_timeout: Duration,
    /// `VIGILOPS_AI_ATTEMPTS`: attempts in all, at least 1 (the original's 3).
    pub attempts: u32,
    /// The delay before the second attempt; each later one doubles.
    pub base_delay: Duration,
    /// No backoff is longer; a `Retry-After` longer than this ends the call instead of waiting.
    pub max_delay: Duration,
    /// Each backoff is scaled by a random factor in `[1 - jitter, 1 + jitter]`.
    pub jitter: f64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            provider: DEFAULT_PROVIDER.to_owned(),
            api_base: DEFAULT_API_BASE.to_owned(),
            api_key: None,
            model: DEFAULT_MODEL.to_owned(),
            max_tokens: DEFAULT_MAX_TOKENS,
            temperature: 0.3,
            prompt_budget: DEFAULT_PROMPT_BUDGET,
            attempt_timeout: Duration::from_secs(30),
            attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            jitter: 0.2,
        }
    }
}

fn non_empty<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
}

fn parse<T: std::str::FromStr>(
    env: &HashMap<String, String>,
    name: &str,
    default: T,
) -> Result<T, LlmError>
where
    T::Err: fmt::Display,
{
    match non_empty(env, name) {
        None => Ok(default),
        Some(value) => value
            .parse()
            .map_err(|error: T::Err| LlmError::InvalidConfig {
                name: name.to_owned(),
                reason: error.to_string(),
            }),
    }
}

impl LlmConfig {
    /// Reads the settings from environment variables (pass `std::env::vars().collect()`);
    /// unset or empty ones take the defaults. A missing key is not an error here: calls answer
    /// [`LlmError::NotConfigured`].
    pub fn from_env(env: &HashMap<String, String>) -> Result<Self, LlmError> {
        let defaults = Self::default();
        let api_base = non_empty(env, "AI_API_BASE").unwrap_or(DEFAULT_API_BASE);
        let config = Self {
            provider: non_empty(env, "AI_PROVIDER")
                .unwrap_or(DEFAULT_PROVIDER)
                .to_owned(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            api_key: non_empty(env, "AI_API_KEY").map(ApiKey::new),
            model: non_empty(env, "AI_MODEL")
                .unwrap_or(DEFAULT_MODEL)
                .to_owned(),
            max_tokens: parse(env, "AI_MAX_TOKENS", defaults.max_tokens)?,
            prompt_budget: parse(env, "VIGILOPS_AI_PROMPT_BUDGET", defaults.prompt_budget)?,
            attempt_timeout: Duration::from_secs(parse(
                env,
                "VIGILOPS_AI_TIMEOUT_SECONDS",
                defaults.attempt_timeout.as_secs(),
            )?),
            attempts: parse(env, "VIGILOPS_AI_ATTEMPTS", defaults.attempts)?.max(1),
            ..defaults
        };
        config.endpoint()?;
        Ok(config)
    }

    /// A config for `api_base` with `key`, everything else default (tests, explicit setups).
    pub fn new(api_base: &str, key: &str) -> Self {
        Self {
            api_base: api_base.trim_end_matches('/').to_owned(),
            api_key: Some(ApiKey::new(key)),
            ..Self::default()
        }
    }

    /// `{api_base}/chat/completions`, checked to be an http(s) URL.
    pub fn endpoint(&self) -> Result<reqwest::Url, LlmError> {
        let invalid = |reason: String| LlmError::InvalidConfig {
            name: "AI_API_BASE".to_owned(),
            reason,
        };
        let url = reqwest::Url::parse(&format!(
            "{}/chat/completions",
            self.api_base.trim_end_matches('/')
        ))
        .map_err(|error| invalid(error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!("scheme `{}` is not http(s)", url.scheme())));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_originals_and_ai_is_off_without_a_key() {
        let config = LlmConfig::from_env(&env(&[("AI_API_KEY", "  ")])).unwrap();
        assert_eq!(config.provider, "deepseek");
        assert_eq!(
            config.endpoint().unwrap().as_str(),
            "https://api.deepseek.com/v1/chat/completions"
        );
        assert_eq!(config.model, "deepseek-chat");
        assert_eq!(config.max_tokens, 2000);
        assert_eq!(config.api_key, None);
        assert_eq!(config.attempts, 3);
        assert_eq!(config.attempt_timeout, Duration::from_secs(30));
    }

    #[test]
    fn reads_the_originals_names_and_tolerates_a_trailing_slash() {
        let config = LlmConfig::from_env(&env(&[
            ("AI_API_BASE", "http://llm.internal:8000/v1/"),
            ("AI_API_KEY", "sk-live-0123456789abcdef"),
            ("AI_MODEL", "qwen2.5"),
            ("AI_MAX_TOKENS", "512"),
            ("VIGILOPS_AI_ATTEMPTS", "0"),
        ]))
        .unwrap();
        assert_eq!(
            config.endpoint().unwrap().as_str(),
            "http://llm.internal:8000/v1/chat/completions"
        );
        assert_eq!(config.model, "qwen2.5");
        assert_eq!(config.max_tokens, 512);
        assert_eq!(config.attempts, 1);
        assert_eq!(
            config.api_key.as_ref().map(ApiKey::expose),
            Some("sk-live-0123456789abcdef")
        );
    }

    #[test]
    fn debug_never_prints_the_key() {
        let config = LlmConfig::new("https://api.deepseek.com/v1", "sk-live-0123456789abcdef");
        let printed = format!("{config:?}");
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
        assert!(printed.contains("ApiKey(<redacted>)"), "{printed}");
    }

    #[test]
    fn bad_settings_name_the_variable() {
        for (name, value) in [
            ("AI_MAX_TOKENS", "lots"),
            ("AI_API_BASE", "ftp://llm.internal"),
            ("AI_API_BASE", "not a url"),
        ] {
            match LlmConfig::from_env(&env(&[(name, value)])) {
                Err(LlmError::InvalidConfig { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}
