//! Wire shapes of `/api/v1/notification-channels` (with its `logs`) and
//! `/api/v1/notification-templates`, as the original web client sends and reads them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::sender::DeliveryRecord;
use crate::alerting::wire::present;
use crate::model::{NotificationLog, StoredTemplate};

fn webhook() -> String {
    "webhook".to_owned()
}

fn yes() -> bool {
    true
}

/// `POST /notification-channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelCreate {
    pub name: String,
    /// `webhook` (default), `email`, `dingtalk`, `feishu` or `wecom`.
    #[serde(rename = "type", default = "webhook")]
    pub kind: String,
    /// The type's keys (`alerting-and-notifications.md` §7).
    pub config: Value,
    #[serde(default = "yes")]
    pub is_enabled: bool,
}

/// `PUT /notification-channels/{id}`: a secret sent back as `"******"` keeps its stored value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    pub config: Option<Value>,
    pub is_enabled: Option<bool>,
}

/// Channel, with its secrets masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelView {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Secrets read `"******"`.
    pub config: Value,
    pub is_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One row of `GET /notification-channels/logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationLogView {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub channel_id: Option<i64>,
    /// `sent` or `failed`; ours adds `silenced` and `suppressed`.
    pub status: String,
    pub response_code: Option<i64>,
    pub error: Option<String>,
    pub retries: i64,
    pub sent_at: DateTime<Utc>,
    /// **Ours:** `fired`, `resolved`, `test`, `remediation` or `digest`.
    pub event: Option<String>,
}

impl From<NotificationLog> for NotificationLogView {
    fn from(log: NotificationLog) -> Self {
        Self {
            id: log.id,
            alert_id: log.alert_id,
            channel_id: log.channel_id,
            status: log.status,
            response_code: log.response_code,
            error: log.error,
            retries: log.retries,
            sent_at: log.sent_at,
            event: log.event,
        }
    }
}

/// **Ours:** the answer of `POST /notification-channels/{id}/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestDeliveryView {
    /// `sent` or `failed`.
    pub status: String,
    pub response_code: Option<i64>,
    pub error: Option<String>,
    /// Failed attempts.
    pub retries: i64,
    /// Attempts made.
    pub attempts: i64,
    /// The notification-log row written for it.
    pub log_id: i64,
}

impl TestDeliveryView {
    /// The view of a delivery and its log row.
    pub fn new(record: &DeliveryRecord, log_id: i64) -> Self {
        Self {
            status: match record.status() {
                super::DeliveryStatus::Sent => "sent",
                super::DeliveryStatus::Failed => "failed",
            }
            .to_owned(),
            response_code: record.response_code().map(i64::from),
            error: record.error(),
            retries: i64::from(record.retries()),
            attempts: i64::try_from(record.attempts.len()).unwrap_or(i64::MAX),
            log_id,
        }
    }
}

/// `POST /notification-templates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateCreate {
    pub name: String,
    /// One of the five channel types, or `all`.
    pub channel_type: String,
    #[serde(default)]
    pub subject_template: Option<String>,
    pub body_template: String,
    #[serde(default)]
    pub is_default: bool,
}

/// `PUT /notification-templates/{id}`: any subset; `subject_template: null` clears it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TemplateUpdate {
    pub name: Option<String>,
    pub channel_type: Option<String>,
    #[serde(deserialize_with = "present")]
    pub subject_template: Option<Option<String>>,
    pub body_template: Option<String>,
    pub is_default: Option<bool>,
}

impl TemplateUpdate {
    /// The template as it is after this update; validate the result before storing it.
    pub fn apply_to(self, mut template: TemplateCreate) -> TemplateCreate {
        if let Some(name) = self.name {
            template.name = name;
        }
        if let Some(channel_type) = self.channel_type {
            template.channel_type = channel_type;
        }
        if let Some(subject_template) = self.subject_template {
            template.subject_template = subject_template;
        }
        if let Some(body_template) = self.body_template {
            template.body_template = body_template;
        }
        if let Some(is_default) = self.is_default {
            template.is_default = is_default;
        }
        template
    }
}

/// Template: the body fields plus identity and times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateView {
    pub id: i64,
    #[serde(flatten)]
    pub template: TemplateCreate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<StoredTemplate> for TemplateView {
    fn from(stored: StoredTemplate) -> Self {
        Self {
            id: stored.id,
            template: TemplateCreate {
                name: stored.name,
                channel_type: stored.channel_type,
                subject_template: stored.subject_template,
                body_template: stored.body_template,
                is_default: stored.is_default,
            },
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        }
    }
}
