//! DingTalk group robot (§7.2): a `markdown` message, signed in the URL when a secret is set.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use serde_json::json;
use sha2::Sha256;

use super::http::{PlatformReply, errcode_reply, post_json};
use super::{
    Channel, ChannelKind, ConfigError, DingTalkConfig, Notification, NotificationKind, Outcome,
};
use crate::clock::Clock;

/// DingTalk's "send too fast" code (more than 20 messages a minute per robot).
pub const RATE_LIMIT_CODE: i64 = 130_101;

/// `sign` for `timestamp_ms`: Base64(HMAC-SHA256(key = secret, message = "{ts}\n{secret}")).
pub fn sign(timestamp_ms: i64, secret: &str) -> String {
    let string_to_sign = format!("{timestamp_ms}\n{secret}");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The request URL: `webhook_url` plus `timestamp` and the form-encoded `sign` when signing.
pub fn signed_url(
    webhook_url: &str,
    secret: Option<&str>,
    timestamp_ms: i64,
) -> Result<reqwest::Url, ConfigError> {
    let mut url = reqwest::Url::parse(webhook_url).map_err(|error| ConfigError::Field {
        field: "webhook_url",
        reason: error.to_string(),
    })?;
    if let Some(secret) = secret.filter(|secret| !secret.is_empty()) {
        url.query_pairs_mut()
            .append_pair("timestamp", &timestamp_ms.to_string())
            .append_pair("sign", &sign(timestamp_ms, secret));
    }
    Ok(url)
}

/// The JSON body for `message`: DingTalk shows `title` only in the chat list, so the text opens
/// with it as a heading.
pub fn body(message: &Notification) -> serde_json::Value {
    let icon = match message.kind {
        NotificationKind::Firing => "⚠️ ",
        NotificationKind::Resolved => "✅ ",
        NotificationKind::Info => "",
    };
    let text = format!(
        "## {icon}{}\n\n{}",
        message.display_title(),
        message.full_markdown()
    );
    json!({
        "msgtype": "markdown",
        "markdown": {"title": message.display_title(), "text": text},
    })
}

/// Reads `{"errcode":0,"errmsg":"ok"}`.
fn reply(json: &serde_json::Value) -> Option<PlatformReply> {
    errcode_reply(json, "errcode", "errmsg", &[RATE_LIMIT_CODE])
}

/// A DingTalk robot.
#[derive(Debug)]
pub struct DingTalkChannel {
    config: DingTalkConfig,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl DingTalkChannel {
    /// A robot from its config; `clock` gives the signing timestamp.
    pub fn new(config: DingTalkConfig, client: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            client,
            clock,
        }
    }
}

#[async_trait]
impl Channel for DingTalkChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::DingTalk
    }

    async fn send(&self, message: &Notification) -> Outcome {
        let timestamp_ms = self.clock.now().timestamp_millis();
        let url = match signed_url(
            &self.config.webhook_url,
            self.config.secret.as_deref(),
            timestamp_ms,
        ) {
            Ok(url) => url,
            Err(error) => {
                return Outcome::Rejected {
                    response_code: None,
                    platform_code: None,
                    message: error.to_string(),
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

    #[test]
    fn signs_like_the_protocol_test_vector() {
        assert_eq!(
            sign(1_700_000_000_000, "SECtest0123456789"),
            "yBKp5IlG6qCzcQWmgyRK/ziJBdVNJmHfFE2ST/CzT/g="
        );
        let url = signed_url(
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
            Some("SECtest0123456789"),
            1_700_000_000_000,
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000\
             &sign=yBKp5IlG6qCzcQWmgyRK%2FziJBdVNJmHfFE2ST%2FCzT%2Fg%3D"
        );
    }

    #[test]
    fn leaves_the_url_alone_without_a_secret() {
        for secret in [None, Some("")] {
            let url = signed_url("https://x.test/robot/send?access_token=a", secret, 1).unwrap();
            assert_eq!(url.as_str(), "https://x.test/robot/send?access_token=a");
        }
    }
}
