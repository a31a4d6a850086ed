//! Channel configs: the original's `config` shapes per `type` (`alerting-and-notifications.md` §7),
//! plus our optional keys, and the masking of secrets when a channel is read back.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a secret reads as when a channel is read back; on update it means "keep the stored value".
pub const MASKED_SECRET: &str = "******";

/// Why a channel config was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `type` is not one of the five channel types.
    #[error("unknown channel type `{0}`")]
    UnknownKind(String),
    /// The `config` object does not fit the type (a missing key, a wrong value type).
    #[error("invalid `{kind}` channel config: {reason}")]
    Invalid {
        /// The channel type.
        kind: ChannelKind,
        /// What serde said, naming the key.
        reason: String,
    },
    /// A value is present but unusable (a malformed URL, address or header).
    #[error("invalid `{field}` in channel config: {reason}")]
    Field {
        /// The config key.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// This build lacks the feature the channel needs.
    #[error("channel type `{0}` is not supported by this build")]
    Unsupported(ChannelKind),
}

/// The five channel types of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// A generic JSON webhook.
    Webhook,
    /// Email over SMTP.
    Email,
    /// A DingTalk group robot.
    #[serde(rename = "dingtalk")]
    DingTalk,
    /// A Feishu / Lark group bot.
    Feishu,
    /// A WeCom (企业微信) group robot.
    #[serde(rename = "wecom")]
    WeCom,
}

impl ChannelKind {
    /// The wire name (`webhook`, `email`, `dingtalk`, `feishu`, `wecom`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Email => "email",
            Self::DingTalk => "dingtalk",
            Self::Feishu => "feishu",
            Self::WeCom => "wecom",
        }
    }

    /// Parses the wire name.
    pub fn parse(name: &str) -> Result<Self, ConfigError> {
        match name {
            "webhook" => Ok(Self::Webhook),
            "email" => Ok(Self::Email),
            "dingtalk" => Ok(Self::DingTalk),
            "feishu" => Ok(Self::Feishu),
            "wecom" => Ok(Self::WeCom),
            other => Err(ConfigError::UnknownKind(other.to_owned())),
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Webhook: `{url, headers?}`; ours adds `secret` for an HMAC signature header.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// Extra request headers; their values are treated as secrets (they often carry tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// **Ours:** when set, `X-VigilOps-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>` and
    /// `X-VigilOps-Timestamp` are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// DingTalk: `{webhook_url, secret?}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DingTalkConfig {
    /// The robot's URL with its `access_token`.
    pub webhook_url: String,
    /// The "加签" secret (`SEC…`); signing is on when it is non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Feishu / Lark: `{webhook_url, secret?}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeishuConfig {
    /// The bot's hook URL.
    pub webhook_url: String,
    /// The signature secret; signing is on when it is non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// WeCom: `{webhook_url}`; the key in the URL is the credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeComConfig {
    /// The robot's URL with its `key`.
    pub webhook_url: String,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// TLS from the first byte (SMTPS, port 465): the original's `smtp_ssl=true`.
    ImplicitTls,
    /// Plain, then a mandatory STARTTLS (port 587): the original's `smtp_ssl=false`.
    Starttls,
    /// No TLS at all; only for a relay on the same host or network.
    None,
}

/// Email: `{smtp_host, smtp_port=465, smtp_user, smtp_password, smtp_ssl=true, recipients}`;
/// ours adds `smtp_security` (overrides `smtp_ssl`, allows `none`) and `from`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailConfig {
    /// The SMTP server.
    pub smtp_host: String,
    /// Its port.
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// The login, also the `From` address unless `from` is set. Empty means no AUTH.
    #[serde(default)]
    pub smtp_user: String,
    /// The password.
    #[serde(default)]
    pub smtp_password: String,
    /// `true`: implicit TLS; `false`: STARTTLS.
    #[serde(default = "default_true")]
    pub smtp_ssl: bool,
    /// **Ours:** overrides `smtp_ssl` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_security: Option<SmtpSecurity>,
    /// **Ours:** the `From` address when it differs from the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Who receives the mail; empty sends nothing.
    #[serde(default)]
    pub recipients: Vec<String>,
}

fn default_smtp_port() -> u16 {
    465
}

fn default_true() -> bool {
    true
}

impl EmailConfig {
    /// The effective transport security.
    pub fn security(&self) -> SmtpSecurity {
        self.smtp_security.unwrap_or(if self.smtp_ssl {
            SmtpSecurity::ImplicitTls
        } else {
            SmtpSecurity::Starttls
        })
    }

    /// The `From` address.
    pub fn from_address(&self) -> &str {
        self.from.as_deref().unwrap_or(&self.smtp_user)
    }
}

/// A channel's typed config.
#[derive(Clone, PartialEq, Eq)]
pub enum ChannelConfig {
    /// `webhook`.
    Webhook(WebhookConfig),
    /// `email`.
    Email(EmailConfig),
    /// `dingtalk`.
    DingTalk(DingTalkConfig),
    /// `feishu`.
    Feishu(FeishuConfig),
    /// `wecom`.
    WeCom(WeComConfig),
}

impl ChannelConfig {
    /// Parses the REST shape: a `type` and its `config` object. Unknown keys are ignored, like
    /// the original; a missing required key is an error naming it.
    pub fn from_parts(kind: &str, config: serde_json::Value) -> Result<Self, ConfigError> {
        let kind = ChannelKind::parse(kind)?;
        let invalid = |error: serde_json::Error| ConfigError::Invalid {
            kind,
            reason: error.to_string(),
        };
        let parsed = match kind {
            ChannelKind::Webhook => Self::Webhook(serde_json::from_value(config).map_err(invalid)?),
            ChannelKind::Email => Self::Email(serde_json::from_value(config).map_err(invalid)?),
            ChannelKind::DingTalk => {
                Self::DingTalk(serde_json::from_value(config).map_err(invalid)?)
            }
            ChannelKind::Feishu => Self::Feishu(serde_json::from_value(config).map_err(invalid)?),
            ChannelKind::WeCom => Self::WeCom(serde_json::from_value(config).map_err(invalid)?),
        };
        parsed.validate()?;
        Ok(parsed)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let check_url = |field: &'static str, url: &str| {
            let parsed = reqwest::Url::parse(url).map_err(|error| ConfigError::Field {
                field,
                reason: error.to_string(),
            })?;
            if matches!(parsed.scheme(), "http" | "https") {
                Ok(())
            } else {
                Err(ConfigError::Field {
                    field,
                    reason: format!("scheme `{}` is not http or https", parsed.scheme()),
                })
            }
        };
        match self {
            Self::Webhook(config) => check_url("url", &config.url),
            Self::DingTalk(config) => check_url("webhook_url", &config.webhook_url),
            Self::Feishu(config) => check_url("webhook_url", &config.webhook_url),
            Self::WeCom(config) => check_url("webhook_url", &config.webhook_url),
            Self::Email(config) if config.smtp_host.trim().is_empty() => Err(ConfigError::Field {
                field: "smtp_host",
                reason: "is empty".to_owned(),
            }),
            Self::Email(config) => {
                // Full parsing is lettre's, when the channel is built; this catches the common
                // mistakes at save time, where the user can still fix them.
                let looks_like_address = |address: &str| {
                    address.rsplit_once('@').is_some_and(|(local, domain)| {
                        !local.trim().is_empty() && !domain.trim().is_empty()
                    })
                };
                if !looks_like_address(config.from_address()) {
                    return Err(ConfigError::Field {
                        field: if config.from.is_some() {
                            "from"
                        } else {
                            "smtp_user"
                        },
                        reason: format!("`{}` is not an email address", config.from_address()),
                    });
                }
                match config.recipients.iter().find(|r| !looks_like_address(r)) {
                    Some(bad) => Err(ConfigError::Field {
                        field: "recipients",
                        reason: format!("`{bad}` is not an email address"),
                    }),
                    None => Ok(()),
                }
            }
        }
    }

    /// The channel type.
    pub fn kind(&self) -> ChannelKind {
        match self {
            Self::Webhook(_) => ChannelKind::Webhook,
            Self::Email(_) => ChannelKind::Email,
            Self::DingTalk(_) => ChannelKind::DingTalk,
            Self::Feishu(_) => ChannelKind::Feishu,
            Self::WeCom(_) => ChannelKind::WeCom,
        }
    }

    /// The `config` object as stored, secrets included.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Self::Webhook(config) => serde_json::to_value(config),
            Self::Email(config) => serde_json::to_value(config),
            Self::DingTalk(config) => serde_json::to_value(config),
            Self::Feishu(config) => serde_json::to_value(config),
            Self::WeCom(config) => serde_json::to_value(config),
        };
        // These structs hold only strings, numbers, bools and string maps: serializing cannot fail.
        value.unwrap_or(serde_json::Value::Null)
    }

    /// The config as it may be shown: `secret`, `smtp_password`, webhook header values and the
    /// credentials inside robot URLs (DingTalk's `access_token`, WeCom's `key`, Feishu's hook
    /// token) read [`MASKED_SECRET`]. Absent or empty secrets stay as they are, so the UI can
    /// tell "not set" from "set".
    pub fn masked(&self) -> Self {
        let mut copy = self.clone();
        match &mut copy {
            Self::Webhook(config) => {
                mask_option(&mut config.secret);
                if let Some(headers) = &mut config.headers {
                    for value in headers.values_mut() {
                        mask(value);
                    }
                }
            }
            Self::Email(config) => mask(&mut config.smtp_password),
            Self::DingTalk(config) => {
                mask_option(&mut config.secret);
                config.webhook_url = masked_url(&config.webhook_url);
            }
            Self::Feishu(config) => {
                mask_option(&mut config.secret);
                config.webhook_url = masked_url(&config.webhook_url);
            }
            Self::WeCom(config) => config.webhook_url = masked_url(&config.webhook_url),
        }
        copy
    }

    /// An update as the edit form sends it back: every value still equal to its masked form
    /// keeps the stored value, so a round trip through [`Self::masked`] changes nothing.
    #[must_use]
    pub fn restore_masked(mut self, stored: &Self) -> Self {
        match (&mut self, stored) {
            (Self::Webhook(new), Self::Webhook(old)) => {
                restore_option(&mut new.secret, old.secret.as_ref());
                if let (Some(headers), Some(old_headers)) = (&mut new.headers, &old.headers) {
                    for (name, value) in headers.iter_mut() {
                        if value == MASKED_SECRET
                            && let Some(old_value) = old_headers.get(name)
                        {
                            value.clone_from(old_value);
                        }
                    }
                }
            }
            (Self::Email(new), Self::Email(old)) if new.smtp_password == MASKED_SECRET => {
                new.smtp_password.clone_from(&old.smtp_password);
            }
            (Self::DingTalk(new), Self::DingTalk(old)) => {
                restore_option(&mut new.secret, old.secret.as_ref());
                restore_url(&mut new.webhook_url, &old.webhook_url);
            }
            (Self::Feishu(new), Self::Feishu(old)) => {
                restore_option(&mut new.secret, old.secret.as_ref());
                restore_url(&mut new.webhook_url, &old.webhook_url);
            }
            (Self::WeCom(new), Self::WeCom(old)) => {
                restore_url(&mut new.webhook_url, &old.webhook_url);
            }
            // A changed type keeps nothing of the old config.
            _ => {}
        }
        self
    }
}

fn mask(value: &mut String) {
    if !value.is_empty() {
        MASKED_SECRET.clone_into(value);
    }
}

fn mask_option(value: &mut Option<String>) {
    if let Some(value) = value {
        mask(value);
    }
}

fn restore_option(value: &mut Option<String>, stored: Option<&String>) {
    if value.as_deref() == Some(MASKED_SECRET) {
        *value = stored.cloned();
    }
}

fn restore_url(url: &mut String, stored: &str) {
    if *url == masked_url(stored) && *url != stored {
        stored.clone_into(url);
    }
}

/// The URL with every query value and a Feishu hook token replaced by [`MASKED_SECRET`].
fn masked_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        // Not a URL (refused at save time anyway): show nothing of it.
        return MASKED_SECRET.to_owned();
    };
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(name, _)| (name.into_owned(), MASKED_SECRET.to_owned()))
        .collect();
    if !pairs.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let path = parsed.path().to_owned();
    if let Some((prefix, token)) = path.rsplit_once("/hook/")
        && !token.is_empty()
    {
        parsed.set_path(&format!("{prefix}/hook/{MASKED_SECRET}"));
    }
    parsed.to_string()
}

fn redacted(f: &mut fmt::Formatter<'_>, name: &str, masked: &serde_json::Value) -> fmt::Result {
    write!(f, "{name}({masked})")
}

macro_rules! redacting_debug {
    ($($ty:ident => $variant:ident),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                redacted(f, stringify!($ty), &ChannelConfig::$variant(self.clone()).masked().to_json())
            }
        }
    )*};
}

redacting_debug!(
    WebhookConfig => Webhook,
    EmailConfig => Email,
    DingTalkConfig => DingTalk,
    FeishuConfig => Feishu,
    WeComConfig => WeCom
);

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, self.kind().as_str(), &self.masked().to_json())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_the_original_shapes_with_defaults() {
        let email = ChannelConfig::from_parts(
            "email",
            json!({"smtp_host": "smtp.example.com", "smtp_user": "ops@example.com",
                   "smtp_password": "pw", "recipients": ["a@example.com"]}),
        )
        .unwrap();
        let ChannelConfig::Email(email) = email else {
            panic!("not email")
        };
        assert_eq!(email.smtp_port, 465);
        assert_eq!(email.security(), SmtpSecurity::ImplicitTls);
        let starttls = ChannelConfig::from_parts(
            "email",
            json!({"smtp_host": "h", "smtp_port": 587, "smtp_ssl": false,
                   "smtp_user": "ops@example.com"}),
        )
        .unwrap();
        let ChannelConfig::Email(starttls) = starttls else {
            panic!("not email")
        };
        assert_eq!(starttls.security(), SmtpSecurity::Starttls);
    }

    #[test]
    fn refuses_unknown_types_missing_keys_and_bad_urls() {
        assert!(matches!(
            ChannelConfig::from_parts("slack", json!({})),
            Err(ConfigError::UnknownKind(kind)) if kind == "slack"
        ));
        let missing = ChannelConfig::from_parts("dingtalk", json!({"secret": "x"})).unwrap_err();
        assert!(missing.to_string().contains("webhook_url"), "{missing}");
        let bad = ChannelConfig::from_parts("webhook", json!({"url": "ftp://x/y"})).unwrap_err();
        assert!(
            matches!(bad, ConfigError::Field { field: "url", .. }),
            "{bad}"
        );
    }

    #[test]
    fn masks_every_secret_and_round_trips_through_the_edit_form() {
        let stored = ChannelConfig::from_parts(
            "dingtalk",
            json!({"webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc123",
                   "secret": "SECxyz"}),
        )
        .unwrap();
        let shown = stored.masked().to_json();
        assert_eq!(
            shown,
            json!({"webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=******",
                   "secret": "******"})
        );
        let rendered_debug = format!("{stored:?}");
        assert!(!rendered_debug.contains("abc123") && !rendered_debug.contains("SECxyz"));

        let back = ChannelConfig::from_parts("dingtalk", shown)
            .unwrap()
            .restore_masked(&stored);
        assert_eq!(back, stored);

        // A new secret typed into the form replaces the stored one.
        let edited = ChannelConfig::from_parts(
            "dingtalk",
            json!({"webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=******",
                   "secret": "SECnew"}),
        )
        .unwrap()
        .restore_masked(&stored);
        let ChannelConfig::DingTalk(edited) = edited else {
            panic!("not dingtalk")
        };
        assert_eq!(edited.secret.as_deref(), Some("SECnew"));
        assert!(edited.webhook_url.ends_with("access_token=abc123"));
    }

    #[test]
    fn masks_webhook_headers_feishu_tokens_and_smtp_passwords() {
        let webhook = ChannelConfig::from_parts(
            "webhook",
            json!({"url": "https://hooks.example.com/x",
                   "headers": {"Authorization": "Bearer t0k"}, "secret": "s"}),
        )
        .unwrap();
        assert_eq!(
            webhook.masked().to_json(),
            json!({"url": "https://hooks.example.com/x",
                   "headers": {"Authorization": "******"}, "secret": "******"})
        );
        let feishu = ChannelConfig::from_parts(
            "feishu",
            json!({"webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/tok-123"}),
        )
        .unwrap();
        assert_eq!(
            feishu.masked().to_json()["webhook_url"],
            "https://open.feishu.cn/open-apis/bot/v2/hook/******"
        );
        let email = ChannelConfig::from_parts(
            "email",
            json!({"smtp_host": "h", "smtp_password": "pw", "smtp_user": "u@example.com"}),
        )
        .unwrap();
        assert_eq!(email.masked().to_json()["smtp_password"], "******");
        assert_eq!(email.masked().to_json()["smtp_user"], "u@example.com");
    }
}
