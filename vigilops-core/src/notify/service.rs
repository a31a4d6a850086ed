//! What the REST API calls for notifications: channels (config checked per type, secrets masked
//! on every read and kept when the edit form sends the mask back, a test message through the
//! [`Sender`] with a notification-log row), templates (unknown variables and unbalanced braces
//! refused at save time) and the notification log.

use std::sync::Arc;

use super::template::{NotificationTemplate, TemplateError};
use super::wire::{
    ChannelCreate, ChannelUpdate, ChannelView, NotificationLogView, TemplateCreate, TemplateUpdate,
    TemplateView, TestDeliveryView,
};
use super::{
    ChannelConfig, ChannelKind, ConfigError, Notification, NotificationKind, RetryPolicy, Sender,
    Severity, build_channel,
};
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::{NewChannel, NewNotificationLog, NewTemplate, StoredChannel};
use crate::store::{Store, StoreError};

/// What can go wrong in the notification API.
#[derive(Debug, thiserror::Error)]
pub enum NotifyServiceError {
    /// No channel has this id.
    #[error("channel not found")]
    ChannelNotFound,
    /// No template has this id.
    #[error("template not found")]
    TemplateNotFound,
    /// The channel type or config was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The template was refused.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Another field was refused.
    #[error("invalid `{field}`: {message}")]
    Invalid {
        /// The body field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NotifyServiceError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

fn checked_name(name: &str) -> Result<String, NotifyServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(NotifyServiceError::invalid("name", "is required"));
    }
    if name.chars().count() > 255 {
        return Err(NotifyServiceError::invalid(
            "name",
            "must be at most 255 characters",
        ));
    }
    Ok(name.to_owned())
}

/// Notification channels and the notification log.
#[derive(Debug, Clone)]
pub struct ChannelService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    test_sender: Sender,
}

impl ChannelService {
    /// A service over `store`. Test messages make one attempt each: the person who asked waits
    /// for the answer, and a retry schedule would outlast the web client's 15 s timeout.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, client: reqwest::Client) -> Self {
        let policy = RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        };
        Self {
            test_sender: Sender::new(policy, Arc::clone(&clock)),
            store,
            clock,
            client,
        }
    }

    /// A service with its own HTTP client (TLS verified, redirects not followed: a webhook
    /// that redirects is answered, not chased).
    pub fn with_default_client(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self::new(store, clock, super::http_client())
    }

    /// The stored config parsed; a row that no longer parses is corrupt.
    fn parsed(channel: &StoredChannel) -> Result<ChannelConfig, NotifyServiceError> {
        ChannelConfig::from_parts(&channel.kind, channel.config.clone()).map_err(|error| {
            StoreError::Corrupt(format!("notification channel {}: {error}", channel.id)).into()
        })
    }

    /// The channel as it may be shown: secrets masked. A stored config that no longer parses
    /// (a database migrated from the original) is shown with every value masked but the few
    /// known to be harmless, rather than failing the whole list.
    fn view(channel: StoredChannel) -> Result<ChannelView, NotifyServiceError> {
        let masked = match Self::parsed(&channel) {
            Ok(config) => config.masked().to_json(),
            Err(error) => {
                tracing::warn!(channel_id = channel.id, %error, "stored channel config does not parse");
                mask_unparsed(&channel.config)
            }
        };
        Ok(ChannelView {
            id: channel.id,
            name: channel.name,
            kind: channel.kind,
            config: masked,
            is_enabled: channel.is_enabled,
            created_at: channel.created_at,
            updated_at: channel.updated_at,
        })
    }

    async fn stored(&self, id: i64) -> Result<StoredChannel, NotifyServiceError> {
        self.store
            .channel(id)
            .await?
            .ok_or(NotifyServiceError::ChannelNotFound)
    }

    /// Every channel by id, secrets masked.
    pub async fn list(&self) -> Result<Vec<ChannelView>, NotifyServiceError> {
        self.store
            .list_channels()
            .await?
            .into_iter()
            .map(Self::view)
            .collect()
    }

    /// One channel, secrets masked.
    pub async fn get(&self, id: i64) -> Result<ChannelView, NotifyServiceError> {
        Self::view(self.stored(id).await?)
    }

    /// Checks and stores a channel (audited as `create_notification_channel`).
    pub async fn create(
        &self,
        body: ChannelCreate,
        actor: &Actor,
    ) -> Result<ChannelView, NotifyServiceError> {
        let name = checked_name(&body.name)?;
        let config = ChannelConfig::from_parts(&body.kind, body.config)?;
        let channel = self
            .store
            .create_channel(
                &NewChannel {
                    name,
                    kind: config.kind().as_str().to_owned(),
                    config: config.to_json(),
                    is_enabled: body.is_enabled,
                },
                self.clock.now(),
            )
            .await?;
        self.audit(actor, "create_notification_channel", &channel)
            .await?;
        Self::view(channel)
    }

    /// Applies an edit (audited as `update_notification_channel`); config values still equal
    /// to their mask keep the stored secret.
    pub async fn update(
        &self,
        id: i64,
        body: ChannelUpdate,
        actor: &Actor,
    ) -> Result<ChannelView, NotifyServiceError> {
        let current = self.stored(id).await?;
        let config = match body.config {
            None => current.config.clone(),
            Some(config) => {
                let config = ChannelConfig::from_parts(&current.kind, config)?;
                // A stored config that no longer parses has nothing to restore from: the form
                // must then carry every value (a mask left in it fails validation or delivery).
                match Self::parsed(&current) {
                    Ok(stored) => config.restore_masked(&stored),
                    Err(_) => config,
                }
                .to_json()
            }
        };
        let name = match body.name {
            Some(name) => checked_name(&name)?,
            None => current.name.clone(),
        };
        let channel = self
            .store
            .update_channel(
                id,
                &NewChannel {
                    name,
                    kind: current.kind.clone(),
                    config,
                    is_enabled: body.is_enabled.unwrap_or(current.is_enabled),
                },
                self.clock.now(),
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => NotifyServiceError::ChannelNotFound,
                other => other.into(),
            })?;
        self.audit(actor, "update_notification_channel", &channel)
            .await?;
        Self::view(channel)
    }

    /// Deletes a channel and its log rows (audited as `delete_notification_channel`).
    pub async fn delete(&self, id: i64, actor: &Actor) -> Result<(), NotifyServiceError> {
        let channel = self.stored(id).await?;
        self.store
            .delete_channel(id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => NotifyServiceError::ChannelNotFound,
                other => other.into(),
            })?;
        self.audit(actor, "delete_notification_channel", &channel)
            .await
    }

    /// Sends a test message on a channel (enabled or not), records one notification-log row
    /// with its outcome (event `test`, no alert) and returns the delivery (audited as
    /// `test_notification_channel`).
    pub async fn test(
        &self,
        id: i64,
        actor: &Actor,
    ) -> Result<TestDeliveryView, NotifyServiceError> {
        let channel = self.stored(id).await?;
        let config = Self::parsed(&channel)?;
        let sender = build_channel(&config, &self.client, Arc::clone(&self.clock))?;
        let message = Notification::new(
            "VigilOps 测试消息",
            Severity::Info,
            NotificationKind::Info,
            format!(
                "这是一条来自 VigilOps 的测试消息（通道：{}）。This is a test message from VigilOps.",
                channel.name
            ),
        )
        .with_field("channel", channel.name.clone())
        .with_field("type", channel.kind.clone());
        let record = self.test_sender.deliver(sender.as_ref(), &message).await;
        let log_id = self
            .store
            .insert_notification_log(&NewNotificationLog {
                alert_id: None,
                channel_id: Some(channel.id),
                event: Some("test".to_owned()),
                status: TestDeliveryView::new(&record, 0).status,
                response_code: record.response_code().map(i64::from),
                error: record.error(),
                retries: i64::from(record.retries()),
                sent_at: record.finished_at,
            })
            .await?;
        self.audit(actor, "test_notification_channel", &channel)
            .await?;
        Ok(TestDeliveryView::new(&record, log_id))
    }

    /// The newest `limit` notification-log rows, of one alert when given.
    pub async fn logs(
        &self,
        alert_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<NotificationLogView>, NotifyServiceError> {
        let logs = self.store.list_notification_logs(alert_id, limit).await?;
        Ok(logs.into_iter().map(Into::into).collect())
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        channel: &StoredChannel,
    ) -> Result<(), NotifyServiceError> {
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            action,
            "notification_channel",
            Some(channel.id.to_string()),
            Some(serde_json::json!({ "name": channel.name, "type": channel.kind })),
        )
        .await?;
        Ok(())
    }
}

/// Keys of a channel config that never hold a secret.
const HARMLESS_KEYS: &[&str] = &[
    "smtp_host",
    "smtp_port",
    "smtp_user",
    "smtp_ssl",
    "smtp_security",
    "from",
    "recipients",
];

/// A config that does not parse, with every string value masked except under
/// [`HARMLESS_KEYS`].
fn mask_unparsed(config: &serde_json::Value) -> serde_json::Value {
    fn mask(value: &serde_json::Value, harmless: bool) -> serde_json::Value {
        match value {
            serde_json::Value::String(_) if !harmless => {
                serde_json::Value::String(super::MASKED_SECRET.to_owned())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(|item| mask(item, harmless)).collect())
            }
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(key, value)| {
                        (
                            key.clone(),
                            mask(value, harmless || HARMLESS_KEYS.contains(&key.as_str())),
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    mask(config, false)
}

/// Notification templates.
#[derive(Debug, Clone)]
pub struct TemplateService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

/// Checks a template body and builds what the store keeps.
fn checked_template(body: &TemplateCreate) -> Result<NewTemplate, NotifyServiceError> {
    let name = checked_name(&body.name)?;
    let channel_type = body.channel_type.trim();
    if channel_type != "all" && ChannelKind::parse(channel_type).is_err() {
        return Err(NotifyServiceError::invalid(
            "channel_type",
            format!(
                "must be webhook, email, dingtalk, feishu, wecom or all, got {:?}",
                body.channel_type
            ),
        ));
    }
    NotificationTemplate::compile(body.subject_template.as_deref(), &body.body_template)?;
    Ok(NewTemplate {
        name,
        channel_type: channel_type.to_owned(),
        subject_template: body
            .subject_template
            .clone()
            .filter(|subject| !subject.is_empty()),
        body_template: body.body_template.clone(),
        is_default: body.is_default,
    })
}

impl TemplateService {
    /// A service over `store`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Every template by id.
    pub async fn list(&self) -> Result<Vec<TemplateView>, NotifyServiceError> {
        let templates = self.store.list_templates().await?;
        Ok(templates.into_iter().map(Into::into).collect())
    }

    /// Checks and stores a template (audited as `create_notification_template`); a default
    /// replaces the previous default of its channel type.
    pub async fn create(
        &self,
        body: &TemplateCreate,
        actor: &Actor,
    ) -> Result<TemplateView, NotifyServiceError> {
        let template = checked_template(body)?;
        let stored = self
            .store
            .create_template(&template, self.clock.now())
            .await?;
        self.audit(
            actor,
            "create_notification_template",
            stored.id,
            &stored.name,
        )
        .await?;
        Ok(stored.into())
    }

    /// Applies a partial update, checks and stores it (audited as
    /// `update_notification_template`).
    pub async fn update(
        &self,
        id: i64,
        update: TemplateUpdate,
        actor: &Actor,
    ) -> Result<TemplateView, NotifyServiceError> {
        let current: TemplateView = self
            .store
            .template(id)
            .await?
            .ok_or(NotifyServiceError::TemplateNotFound)?
            .into();
        let template = checked_template(&update.apply_to(current.template))?;
        let stored = self
            .store
            .update_template(id, &template, self.clock.now())
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => NotifyServiceError::TemplateNotFound,
                other => other.into(),
            })?;
        self.audit(
            actor,
            "update_notification_template",
            stored.id,
            &stored.name,
        )
        .await?;
        Ok(stored.into())
    }

    /// Deletes a template (audited as `delete_notification_template`).
    pub async fn delete(&self, id: i64, actor: &Actor) -> Result<(), NotifyServiceError> {
        let current = self
            .store
            .template(id)
            .await?
            .ok_or(NotifyServiceError::TemplateNotFound)?;
        self.store
            .delete_template(id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => NotifyServiceError::TemplateNotFound,
                other => other.into(),
            })?;
        self.audit(actor, "delete_notification_template", id, &current.name)
            .await
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        id: i64,
        name: &str,
    ) -> Result<(), NotifyServiceError> {
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            action,
            "notification_template",
            Some(id.to_string()),
            Some(serde_json::json!({ "name": name })),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_unparsable_config_is_shown_with_its_secrets_masked() {
        let stored = json!({"webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=t0k",
            "secret": "SEC1", "smtp_host": "smtp.example.com", "recipients": ["a@example.com"],
            "nested": {"token": "x"}, "port": 465});
        assert_eq!(
            mask_unparsed(&stored),
            json!({"webhook_url": "******", "secret": "******", "smtp_host": "smtp.example.com",
                "recipients": ["a@example.com"], "nested": {"token": "******"}, "port": 465})
        );
    }

    #[test]
    fn templates_are_checked_before_they_are_stored() {
        let template = |channel_type: &str, body: &str| TemplateCreate {
            name: "t".to_owned(),
            channel_type: channel_type.to_owned(),
            subject_template: Some(String::new()),
            body_template: body.to_owned(),
            is_default: false,
        };
        let stored = checked_template(&template(" wecom ", "{title} {{literal}}")).unwrap();
        assert_eq!(stored.channel_type, "wecom");
        assert_eq!(stored.subject_template, None, "an empty subject is none");
        assert!(matches!(
            checked_template(&template("all", "{hostname} {nope}")),
            Err(NotifyServiceError::Template(
                TemplateError::UnknownVariable {
                    field: "body_template",
                    ..
                }
            ))
        ));
        assert!(matches!(
            checked_template(&template("sms", "{title}")),
            Err(NotifyServiceError::Invalid {
                field: "channel_type",
                ..
            })
        ));
    }
}
