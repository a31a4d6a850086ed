//! WeCom (企业微信) group robot (§7.4): a `markdown` message; the key in the URL is the credential.

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use serde_json::json;

use super::http::{PlatformReply, errcode_reply, post_json};
use super::{Channel, ChannelKind, Notification, NotificationKind, Outcome, WeComConfig};

/// WeCom's "api freq out of limit" code (more than 20 messages a minute per robot).
pub const RATE_LIMIT_CODE: i64 = 45_009;

/// WeCom refuses markdown `content` longer than this many bytes.
pub const MAX_CONTENT_BYTES: usize = 4096;

/// Cuts `text` to at most `max` bytes on a UTF-8 boundary.
pub fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The JSON body for `message`.
pub fn body(message: &Notification) -> serde_json::Value {
    let (colour, icon) = match message.kind {
        NotificationKind::Firing => ("warning", "⚠️"),
        NotificationKind::Resolved => ("info", "✅"),
        NotificationKind::Info => ("comment", "ℹ️"),
    };
    let content = format!(
        "## <font color='{colour}'>{icon} {}</font>\n{}",
        message.display_title(),
        message.full_markdown()
    );
    json!({
        "msgtype": "markdown",
        "markdown": {"content": truncate_utf8(&content, MAX_CONTENT_BYTES)},
    })
}

/// Reads `{"errcode":0,"errmsg":"ok"}`.
fn reply(json: &serde_json::Value) -> Option<PlatformReply> {
    errcode_reply(json, "errcode", "errmsg", &[RATE_LIMIT_CODE])
}

/// A WeCom robot.
#[derive(Debug)]
pub struct WeComChannel {
    config: WeComConfig,
    client: reqwest::Client,
}

impl WeComChannel {
    /// A robot from its config.
    pub fn new(config: WeComConfig, client: reqwest::Client) -> Self {
        Self { config, client }
    }
}

#[async_trait]
impl Channel for WeComChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::WeCom
    }

    async fn send(&self, message: &Notification) -> Outcome {
        let url = match reqwest::Url::parse(&self.config.webhook_url) {
            Ok(url) => url,
            Err(error) => {
                return Outcome::Rejected {
                    response_code: None,
                    platform_code: None,
                    message: format!("invalid webhook_url: {error}"),
                };
            }
        };
        let body = body(message).to_string().into_bytes();
        post_json(&self.client, url, HeaderMap::new(), body, Some(reply)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Severity;

    #[test]
    fn truncates_long_content_on_a_character_boundary() {
        let long = "告".repeat(2000); // 6000 bytes
        let message = Notification::new("t", Severity::Warning, NotificationKind::Firing, long);
        let body = body(&message);
        let content = body["markdown"]["content"].as_str().unwrap();
        assert!(content.len() <= MAX_CONTENT_BYTES && content.len() > MAX_CONTENT_BYTES - 3);
        assert!(content.ends_with('告'));
    }
}
