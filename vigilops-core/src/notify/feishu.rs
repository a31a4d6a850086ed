//! Feishu / Lark group bot (§7.3): an `interactive` card, signed in the body when a secret is set.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use serde_json::json;
use sha2::Sha256;

use super::http::{PlatformReply, errcode_reply, post_json};
use super::{Channel, ChannelKind, FeishuConfig, Notification, NotificationKind, Outcome};
use crate::clock::Clock;

/// Feishu's rate-limit codes: 9499 "too many request" and 11232 "frequency limited".
pub const RATE_LIMIT_CODES: [i64; 2] = [9499, 11232];

/// `sign` for `timestamp_s`: Base64(HMAC-SHA256(key = "{ts}\n{secret}", message = empty)).
/// Feishu keys the HMAC with the string to sign, unlike DingTalk.
pub fn sign(timestamp_s: i64, secret: &str) -> String {
    let string_to_sign = format!("{timestamp_s}\n{secret}");
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(string_to_sign.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The JSON body for `message`, with `timestamp` and `sign` when `secret` is non-empty.
pub fn body(message: &Notification, secret: Option<&str>, timestamp_s: i64) -> serde_json::Value {
    let (header, template) = match message.kind {
        NotificationKind::Firing => (
            format!("⚠️ {}", message.display_title()),
            match message.severity {
                super::Severity::Critical => "red",
                super::Severity::Warning => "orange",
                super::Severity::Info => "blue",
            },
        ),
        NotificationKind::Resolved => (format!("✅ {}", message.display_title()), "green"),
        NotificationKind::Info => (message.title.clone(), "blue"),
    };
    let mut body = json!({
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": header}, "template": template},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": message.full_markdown()}}],
        },
    });
    if let Some(secret) = secret.filter(|secret| !secret.is_empty()) {
        body["timestamp"] = json!(timestamp_s.to_string());
        body["sign"] = json!(sign(timestamp_s, secret));
    }
    body
}

/// Reads `{"code":0,…}`, or the older `{"StatusCode":0,…}`.
fn reply(json: &serde_json::Value) -> Option<PlatformReply> {
    errcode_reply(json, "code", "msg", &RATE_LIMIT_CODES)
        .or_else(|| errcode_reply(json, "StatusCode", "StatusMessage", &RATE_LIMIT_CODES))
}

/// A Feishu / Lark bot.
#[derive(Debug)]
pub struct FeishuChannel {
    config: FeishuConfig,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl FeishuChannel {
    /// A bot from its config; `clock` gives the signing timestamp.
    pub fn new(config: FeishuConfig, client: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            client,
            clock,
        }
    }
}

#[async_trait]
impl Channel for FeishuChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Feishu
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
        let timestamp_s = self.clock.now().timestamp();
        let body = body(message, self.config.secret.as_deref(), timestamp_s);
        post_json(
            &self.client,
            url,
            HeaderMap::new(),
            body.to_string().into_bytes(),
            Some(reply),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Severity;

    #[test]
    fn signs_like_the_protocol_test_vector() {
        assert_eq!(
            sign(1_700_000_000, "feishu-secret-123"),
            "wAKC6MXbPqtffyEjIIFCeFvDIz3W7u9+zZzoj6JvcJE="
        );
    }

    #[test]
    fn reads_current_and_legacy_replies() {
        assert!(matches!(
            reply(&serde_json::json!({"code": 0, "data": {}, "msg": "success"})),
            Some(PlatformReply::Ok)
        ));
        assert!(matches!(
            reply(&serde_json::json!({"Extra": null, "StatusCode": 0, "StatusMessage": "success"})),
            Some(PlatformReply::Ok)
        ));
        assert!(matches!(
            reply(&serde_json::json!({"code": 9499, "msg": "too many request"})),
            Some(PlatformReply::RateLimited(9499, _))
        ));
        assert!(matches!(
            reply(&serde_json::json!({"code": 19021, "msg": "sign match fail"})),
            Some(PlatformReply::Error(19021, _))
        ));
        assert!(reply(&serde_json::json!({"ok": true})).is_none());
    }

    #[test]
    fn resolved_cards_are_green_and_unsigned_bodies_carry_no_sign() {
        let message =
            Notification::new("CPU", Severity::Critical, NotificationKind::Resolved, "ok");
        let body = body(&message, None, 1);
        assert_eq!(body["card"]["header"]["template"], "green");
        assert_eq!(
            body["card"]["header"]["title"]["content"],
            "✅ [已恢复] CPU"
        );
        assert!(body.get("sign").is_none() && body.get("timestamp").is_none());
    }
}
