//! Outbound notifications: one [`Channel`] per kind (one file each), a [`Sender`] that times out,
//! retries transient failures with backoff and records every attempt, templates, secret masking
//! and per-channel rate limits with storm digests.
//!
//! Delivery is judged by the platform's answer, not by the HTTP status alone: DingTalk, Feishu and
//! WeCom answer 200 with an error code in the body (`alerting-and-notifications.md` §8.7).

pub mod compose;
mod config;
pub mod dingtalk;
#[cfg(feature = "notify-email")]
pub mod email;
pub mod feishu;
mod http;
pub mod rate_limit;
mod sender;
#[cfg(feature = "server")]
pub mod service;
pub mod template;
pub mod webhook;
pub mod wecom;
#[cfg(feature = "server")]
pub mod wire;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;

pub use config::{
    ChannelConfig, ChannelKind, ConfigError, DingTalkConfig, EmailConfig, FeishuConfig,
    MASKED_SECRET, SmtpSecurity, WeComConfig, WebhookConfig,
};
pub use sender::{
    AttemptRecord, DeliveryRecord, DeliveryStatus, RetryPolicy, Sender, backoff_delay,
};

/// How bad the event is; the alert rule's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Needs attention.
    Warning,
    /// Needs attention now.
    Critical,
}

impl Severity {
    /// The wire name (`info`, `warning`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// What the message is about, which decides headers and colours (a resolved alert must not
/// look like a fired one, §8.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// An alert fired.
    Firing,
    /// An alert resolved.
    Resolved,
    /// Anything else: remediation reports, test messages, storm digests.
    Info,
}

/// One labelled value shown with the message (host, metric, value, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The label, e.g. `主机`.
    pub name: String,
    /// The value, already formatted.
    pub value: String,
}

/// A link shown under the message (the alert in the UI, an approval page, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The text of the link.
    pub label: String,
    /// The absolute URL.
    pub url: String,
}

/// A channel-independent message; each channel shapes it into its platform's body.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// A one-line title.
    pub title: String,
    /// The severity, used for colours and the email subject.
    pub severity: Severity,
    /// Firing, resolved or informational.
    pub kind: NotificationKind,
    /// The body as Markdown, for the IM channels.
    pub markdown: String,
    /// The body as plain text, for email's text part and the webhook's `text`.
    pub text: String,
    /// Labelled values, in order.
    pub fields: Vec<Field>,
    /// Links, in order.
    pub links: Vec<Link>,
    /// The email subject; `None` uses `[VigilOps 告警] {severity} - {title}`.
    pub subject: Option<String>,
    /// The generic webhook's JSON body when there is no template (the original's alert object,
    /// §7.1); `None` sends `{"text": …}`.
    pub webhook_payload: Option<serde_json::Value>,
}

impl Notification {
    /// A message whose Markdown and text bodies are the same string.
    pub fn new(
        title: impl Into<String>,
        severity: Severity,
        kind: NotificationKind,
        body: impl Into<String>,
    ) -> Self {
        let body = body.into();
        Self {
            title: title.into(),
            severity,
            kind,
            markdown: body.clone(),
            text: body,
            fields: Vec::new(),
            links: Vec::new(),
            subject: None,
            webhook_payload: None,
        }
    }

    /// Adds a field.
    #[must_use]
    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a link.
    #[must_use]
    pub fn with_link(mut self, label: impl Into<String>, url: impl Into<String>) -> Self {
        self.links.push(Link {
            label: label.into(),
            url: url.into(),
        });
        self
    }

    /// The title as the IM channels show it: `[告警]`/`[已恢复]` prefixes tell fired from resolved.
    pub fn display_title(&self) -> String {
        match self.kind {
            NotificationKind::Firing => format!("[告警] {}", self.title),
            NotificationKind::Resolved => format!("[已恢复] {}", self.title),
            NotificationKind::Info => self.title.clone(),
        }
    }

    /// The Markdown body followed by the fields and links as Markdown lines.
    pub fn full_markdown(&self) -> String {
        let mut out = self.markdown.clone();
        for field in &self.fields {
            out.push_str(&format!("\n\n**{}**: {}", field.name, field.value));
        }
        for link in &self.links {
            out.push_str(&format!("\n\n[{}]({})", link.label, link.url));
        }
        out
    }

    /// The text body followed by the fields and links as plain lines.
    pub fn full_text(&self) -> String {
        let mut out = self.text.clone();
        for field in &self.fields {
            out.push_str(&format!("\n{}: {}", field.name, field.value));
        }
        for link in &self.links {
            out.push_str(&format!("\n{}: {}", link.label, link.url));
        }
        out
    }
}

/// The result of one send attempt, as the platform judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The platform accepted the message (HTTP 2xx and its success code; SMTP accepted → 200).
    Delivered {
        /// The HTTP status, or 200 for SMTP.
        response_code: u16,
    },
    /// The platform refused the message for a reason retrying cannot fix (bad signature, bad
    /// webhook key, 4xx). Never retried.
    Rejected {
        /// The HTTP status or SMTP reply code, when there was one.
        response_code: Option<u16>,
        /// The platform's error code (`errcode`, `code`), when it gave one.
        platform_code: Option<i64>,
        /// The platform's error message.
        message: String,
    },
    /// The platform asked us to slow down (HTTP 429 or its rate-limit code). Retried with backoff.
    RateLimited {
        /// The HTTP status.
        response_code: Option<u16>,
        /// The platform's rate-limit code.
        platform_code: Option<i64>,
        /// The platform's error message.
        message: String,
    },
    /// A failure that may pass: connection refused, 5xx, a temporary SMTP reply. Retried.
    Transient {
        /// The HTTP status or SMTP reply code, when there was one.
        response_code: Option<u16>,
        /// What went wrong.
        message: String,
    },
    /// No answer within the per-request timeout. Retried.
    TimedOut,
}

impl Outcome {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Transient { .. } | Self::TimedOut
        )
    }

    /// The status code for the notification log (`response_code`).
    pub fn response_code(&self) -> Option<u16> {
        match self {
            Self::Delivered { response_code } => Some(*response_code),
            Self::Rejected { response_code, .. }
            | Self::RateLimited { response_code, .. }
            | Self::Transient { response_code, .. } => *response_code,
            Self::TimedOut => None,
        }
    }

    /// A one-line description of a failure, `None` when delivered.
    pub fn error_message(&self) -> Option<String> {
        match self {
            Self::Delivered { .. } => None,
            Self::Rejected {
                platform_code: Some(code),
                message,
                ..
            } => Some(format!("rejected by platform: {code} {message}")),
            Self::Rejected { message, .. } => Some(format!("rejected: {message}")),
            Self::RateLimited {
                platform_code,
                message,
                ..
            } => Some(match platform_code {
                Some(code) => format!("rate limited by platform: {code} {message}"),
                None => format!("rate limited: {message}"),
            }),
            Self::Transient { message, .. } => Some(format!("transient failure: {message}")),
            Self::TimedOut => Some("timed out".to_owned()),
        }
    }
}

/// A destination for notifications. `send` makes exactly one attempt and never panics; timeouts
/// and retries belong to [`Sender`].
#[async_trait]
pub trait Channel: Send + Sync + Debug {
    /// The kind of channel.
    fn kind(&self) -> ChannelKind;

    /// One delivery attempt.
    async fn send(&self, message: &Notification) -> Outcome;
}

/// The HTTP client of the notification channels: TLS verified, redirects not followed (a
/// webhook that redirects is answered, not chased).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Builds the channel for a parsed config. `clock` signs the IM requests' timestamps.
pub fn build_channel(
    config: &ChannelConfig,
    client: &reqwest::Client,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Channel>, ConfigError> {
    Ok(match config {
        ChannelConfig::Webhook(config) => Arc::new(webhook::WebhookChannel::new(
            config.clone(),
            client.clone(),
            clock,
        )?),
        ChannelConfig::DingTalk(config) => Arc::new(dingtalk::DingTalkChannel::new(
            config.clone(),
            client.clone(),
            clock,
        )),
        ChannelConfig::Feishu(config) => Arc::new(feishu::FeishuChannel::new(
            config.clone(),
            client.clone(),
            clock,
        )),
        ChannelConfig::WeCom(config) => {
            Arc::new(wecom::WeComChannel::new(config.clone(), client.clone()))
        }
        #[cfg(feature = "notify-email")]
        ChannelConfig::Email(config) => Arc::new(email::EmailChannel::new(config.clone())?),
        #[cfg(not(feature = "notify-email"))]
        ChannelConfig::Email(_) => return Err(ConfigError::Unsupported(ChannelKind::Email)),
    })
}
