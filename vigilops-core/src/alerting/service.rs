//! What the REST API calls for alerting: rules (validated by [`crate::alerting::rule`], audited,
//! builtins seeded once and never deleted), alerts (list, detail with timeline, acknowledge,
//! resolve by hand) and silences (schedules checked at save time). The evaluation engine uses the
//! store directly.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::alerting::rule::{FieldError, InvalidRule, builtin_rules, normalize};
use crate::alerting::silence::{self, MAX_RECURRING_SECONDS};
use crate::alerting::wire::{
    AlertEventView, AlertRuleCreate, AlertRuleUpdate, AlertRuleView, AlertView, SilenceCreate,
    SilenceUpdate, SilenceView,
};
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::{
    AlertFilter, AlertResolution, AlertStatus, BuiltinRule, NewSilence, SilenceSchedule,
    SilenceTarget,
};
use crate::protocol::rest::PageOf;
use crate::store::{Store, StoreError};

/// Stable keys of the original's five builtins, in [`builtin_rules`] order.
pub const BUILTIN_KEYS: [&str; 5] = [
    "cpu_high",
    "memory_high",
    "disk_high",
    "host_offline",
    "service_down",
];

/// Longest comment kept on a manual resolution, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// What can go wrong in the alerting API.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// No rule has this id.
    #[error("alert rule not found")]
    RuleNotFound,
    /// No alert has this id.
    #[error("alert not found")]
    AlertNotFound,
    /// No silence has this id.
    #[error("silence not found")]
    SilenceNotFound,
    /// The body was refused; one entry per field at fault.
    #[error("invalid input: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// Builtin rules are never deleted.
    #[error("cannot delete built-in rule")]
    BuiltinRule,
    /// A resolved alert cannot be acknowledged or resolved again.
    #[error("alert already resolved")]
    AlreadyResolved,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<InvalidRule> for AlertingError {
    fn from(invalid: InvalidRule) -> Self {
        Self::Invalid(invalid.errors)
    }
}

impl From<StoreError> for AlertingError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

fn refuse(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// Alert rules.
#[derive(Debug, Clone)]
pub struct RuleService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl RuleService {
    /// A service over `store`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Creates the original's builtins that were never created (call at start-up). Returns
    /// how many were created.
    pub async fn seed_builtins(&self) -> crate::store::StoreResult<usize> {
        let builtins: Vec<BuiltinRule> = BUILTIN_KEYS
            .into_iter()
            .zip(builtin_rules())
            .map(|(key, rule)| BuiltinRule { key, rule })
            .collect();
        self.store
            .seed_builtin_rules(&builtins, self.clock.now())
            .await
    }

    /// Every rule by id, or only enabled (disabled) ones.
    pub async fn list(&self, enabled: Option<bool>) -> Result<Vec<AlertRuleView>, AlertingError> {
        let rules = self.store.list_rules(enabled).await?;
        Ok(rules.into_iter().map(Into::into).collect())
    }

    /// One rule.
    pub async fn get(&self, id: i64) -> Result<AlertRuleView, AlertingError> {
        self.store
            .rule(id)
            .await?
            .map(Into::into)
            .ok_or(AlertingError::RuleNotFound)
    }

    /// Checks and stores a new rule (audited as `create_alert_rule`).
    pub async fn create(
        &self,
        wire: &AlertRuleCreate,
        actor: &Actor,
    ) -> Result<AlertRuleView, AlertingError> {
        let stored = self.checked(wire).await?;
        let rule = self.store.create_rule(&stored, self.clock.now()).await?;
        self.audit(actor, "create_alert_rule", rule.id, &rule.rule.name)
            .await?;
        Ok(rule.into())
    }

    /// Applies a partial update, checks the result and stores it (audited as
    /// `update_alert_rule`). Builtins may be edited.
    pub async fn update(
        &self,
        id: i64,
        update: AlertRuleUpdate,
        actor: &Actor,
    ) -> Result<AlertRuleView, AlertingError> {
        let current = self
            .store
            .rule(id)
            .await?
            .ok_or(AlertingError::RuleNotFound)?;
        let stored = self.checked(&update.apply_to(current.rule)).await?;
        let rule = self
            .store
            .update_rule(id, &stored, self.clock.now())
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => AlertingError::RuleNotFound,
                other => other.into(),
            })?;
        self.audit(actor, "update_alert_rule", rule.id, &rule.rule.name)
            .await?;
        Ok(rule.into())
    }

    /// Deletes a user rule (audited as `delete_alert_rule`); builtins are refused.
    pub async fn delete(&self, id: i64, actor: &Actor) -> Result<(), AlertingError> {
        let rule = self
            .store
            .rule(id)
            .await?
            .ok_or(AlertingError::RuleNotFound)?;
        if rule.is_builtin {
            return Err(AlertingError::BuiltinRule);
        }
        self.store
            .delete_rule(id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => AlertingError::RuleNotFound,
                StoreError::Conflict(_) => AlertingError::BuiltinRule,
                other => other.into(),
            })?;
        self.audit(actor, "delete_alert_rule", id, &rule.rule.name)
            .await
    }

    /// The stored form of a rule, or every field at fault: the rule's own checks, then that
    /// the channels it names exist.
    async fn checked(&self, wire: &AlertRuleCreate) -> Result<AlertRuleCreate, AlertingError> {
        let (stored, rule) = normalize(wire)?;
        let mut errors = Vec::new();
        let mut wanted = rule.channel_ids.clone();
        if let Some(escalation) = &rule.escalation {
            wanted.extend(&escalation.channel_ids);
        }
        if !wanted.is_empty() {
            let known: Vec<i64> = self
                .store
                .channels_by_ids(&wanted)
                .await?
                .iter()
                .map(|channel| channel.id)
                .collect();
            if let Some(missing) = rule.channel_ids.iter().find(|id| !known.contains(id)) {
                errors.push(refuse(
                    "notification_channel_ids",
                    format!("channel {missing} does not exist"),
                ));
            }
            if let Some(missing) = rule
                .escalation
                .iter()
                .flat_map(|escalation| &escalation.channel_ids)
                .find(|id| !known.contains(id))
            {
                errors.push(refuse(
                    "escalation",
                    format!("channel {missing} does not exist"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(stored)
        } else {
            Err(AlertingError::Invalid(errors))
        }
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        id: i64,
        name: &str,
    ) -> Result<(), AlertingError> {
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            action,
            "alert_rule",
            Some(id.to_string()),
            Some(serde_json::json!({ "name": name })),
        )
        .await?;
        Ok(())
    }
}

/// Alerts as people see and handle them.
#[derive(Debug, Clone)]
pub struct AlertService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl AlertService {
    /// A service over `store`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A filtered page, newest `fired_at` first.
    pub async fn list(&self, filter: &AlertFilter) -> Result<PageOf<AlertView>, AlertingError> {
        let (alerts, total) = self.store.list_alerts(filter).await?;
        Ok(PageOf {
            items: alerts.into_iter().map(Into::into).collect(),
            total,
            page: filter.page.page,
            page_size: filter.page.page_size,
        })
    }

    /// One alert with its timeline.
    pub async fn get(&self, id: i64) -> Result<AlertView, AlertingError> {
        let alert = self
            .store
            .alert(id)
            .await?
            .ok_or(AlertingError::AlertNotFound)?;
        let timeline = self.store.alert_events(id).await?;
        let mut view = AlertView::from(alert);
        view.timeline = Some(timeline.into_iter().map(AlertEventView::from).collect());
        Ok(view)
    }

    /// Acknowledges a firing alert (audited as `acknowledge_alert`); acknowledging twice
    /// changes nothing, a resolved alert is refused.
    pub async fn acknowledge(&self, id: i64, actor: &Actor) -> Result<AlertView, AlertingError> {
        let (alert, changed) = self
            .store
            .acknowledge_alert(id, actor.user_id, self.clock.now())
            .await
            .map_err(not_found_alert)?;
        if alert.status == AlertStatus::Resolved {
            return Err(AlertingError::AlreadyResolved);
        }
        if changed {
            audit::record(
                self.store.as_ref(),
                self.clock.as_ref(),
                actor,
                "acknowledge_alert",
                "alert",
                Some(id.to_string()),
                Some(serde_json::json!({ "title": alert.title })),
            )
            .await?;
        }
        Ok(alert.into())
    }

    /// Resolves an active alert by hand with an optional comment (timeline and audit
    /// `resolve_alert`); a resolved alert is refused.
    pub async fn resolve(
        &self,
        id: i64,
        comment: Option<String>,
        actor: &Actor,
    ) -> Result<AlertView, AlertingError> {
        let comment = comment
            .map(|comment| comment.trim().to_owned())
            .filter(|comment| !comment.is_empty());
        if comment
            .as_ref()
            .is_some_and(|comment| comment.chars().count() > MAX_COMMENT_CHARS)
        {
            return Err(AlertingError::Invalid(vec![refuse(
                "comment",
                format!("must be at most {MAX_COMMENT_CHARS} characters"),
            )]));
        }
        let (alert, changed) = self
            .store
            .resolve_alert(
                id,
                AlertResolution {
                    at: self.clock.now(),
                    by: actor.user_id,
                    comment: comment.clone(),
                },
            )
            .await
            .map_err(not_found_alert)?;
        if !changed {
            return Err(AlertingError::AlreadyResolved);
        }
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "resolve_alert",
            "alert",
            Some(id.to_string()),
            Some(serde_json::json!({ "title": alert.title, "comment": comment })),
        )
        .await?;
        Ok(alert.into())
    }
}

fn not_found_alert(error: StoreError) -> AlertingError {
    match error {
        StoreError::NotFound(_) => AlertingError::AlertNotFound,
        other => other.into(),
    }
}

/// Silences and maintenance windows.
#[derive(Debug, Clone)]
pub struct SilenceService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

/// Checks a SilenceCreate and builds what the store keeps, or names every bad field.
pub fn validate_silence(
    wire: &SilenceCreate,
    created_by: Option<i64>,
) -> Result<NewSilence, AlertingError> {
    let mut errors = Vec::new();
    let name = wire.name.trim();
    if name.is_empty() {
        errors.push(refuse("name", "is required"));
    } else if name.chars().count() > 255 {
        errors.push(refuse("name", "must be at most 255 characters"));
    }
    let matchers = &wire.matchers;
    if matchers
        .host_ids
        .iter()
        .chain(&matchers.service_ids)
        .chain(&matchers.rule_ids)
        .any(|id| *id <= 0)
    {
        errors.push(refuse("matchers", "ids must be positive"));
    }
    if matchers
        .group_names
        .iter()
        .any(|name| name.trim().is_empty())
    {
        errors.push(refuse("matchers", "group names must not be empty"));
    }
    if let (Some(start), Some(end)) = (wire.starts_at, wire.ends_at)
        && end <= start
    {
        errors.push(refuse("ends_at", "must be after starts_at"));
    }
    let schedule = match wire
        .schedule
        .as_deref()
        .map(str::trim)
        .filter(|cron| !cron.is_empty())
    {
        Some(cron) => {
            if let Err(message) = silence::parse_cron(cron) {
                errors.push(refuse("schedule", message));
            }
            match wire.duration_seconds {
                Some(seconds) if (60..=MAX_RECURRING_SECONDS).contains(&seconds) => {
                    Some(SilenceSchedule::Recurring {
                        cron: cron.to_owned(),
                        duration_seconds: seconds,
                        starts_at: wire.starts_at,
                        ends_at: wire.ends_at,
                    })
                }
                Some(seconds) => {
                    errors.push(refuse(
                        "duration_seconds",
                        format!("must be between 60 and {MAX_RECURRING_SECONDS}, got {seconds}"),
                    ));
                    None
                }
                None => {
                    errors.push(refuse(
                        "duration_seconds",
                        "is required with a schedule (how long each window lasts)",
                    ));
                    None
                }
            }
        }
        None => {
            if wire.duration_seconds.is_some() {
                errors.push(refuse(
                    "duration_seconds",
                    "applies only to a recurring schedule",
                ));
            }
            match (wire.starts_at, wire.ends_at) {
                (Some(starts_at), Some(ends_at)) => {
                    Some(SilenceSchedule::Once { starts_at, ends_at })
                }
                (None, _) => {
                    errors.push(refuse(
                        "starts_at",
                        "is required without a recurring schedule",
                    ));
                    None
                }
                (_, None) => {
                    errors.push(refuse(
                        "ends_at",
                        "is required without a recurring schedule",
                    ));
                    None
                }
            }
        }
    };
    match schedule {
        Some(schedule) if errors.is_empty() => Ok(NewSilence {
            name: name.to_owned(),
            comment: wire
                .comment
                .as_deref()
                .map(str::trim)
                .filter(|comment| !comment.is_empty())
                .map(str::to_owned),
            matchers: wire.matchers.clone().into(),
            schedule,
            is_enabled: wire.is_enabled,
            created_by,
        }),
        _ => Err(AlertingError::Invalid(errors)),
    }
}

impl SilenceService {
    /// A service over `store`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    fn view(&self, silence: crate::model::Silence) -> SilenceView {
        let active = silence.is_enabled && silence::is_active(&silence.schedule, self.clock.now());
        SilenceView::new(silence, active)
    }

    /// The silences in force at `at` that cover an alert with these facts, by id (the
    /// engine's question before it notifies).
    pub async fn matching(
        &self,
        target: &SilenceTarget<'_>,
        at: DateTime<Utc>,
    ) -> Result<Vec<crate::model::Silence>, AlertingError> {
        let mut silences = self.store.active_silences(at).await?;
        silences.retain(|silence| silence.matchers.matches(target));
        Ok(silences)
    }

    /// Every silence by id.
    pub async fn list(&self) -> Result<Vec<SilenceView>, AlertingError> {
        let silences = self.store.list_silences().await?;
        Ok(silences
            .into_iter()
            .map(|silence| self.view(silence))
            .collect())
    }

    /// One silence.
    pub async fn get(&self, id: i64) -> Result<SilenceView, AlertingError> {
        let silence = self
            .store
            .silence(id)
            .await?
            .ok_or(AlertingError::SilenceNotFound)?;
        Ok(self.view(silence))
    }

    /// Checks and stores a silence (audited as `create_silence`).
    pub async fn create(
        &self,
        wire: &SilenceCreate,
        actor: &Actor,
    ) -> Result<SilenceView, AlertingError> {
        let silence = validate_silence(wire, actor.user_id)?;
        let stored = self
            .store
            .create_silence(&silence, self.clock.now())
            .await?;
        self.audit(actor, "create_silence", stored.id, &stored.name)
            .await?;
        Ok(self.view(stored))
    }

    /// Applies a partial update, checks and stores it (audited as `update_silence`).
    pub async fn update(
        &self,
        id: i64,
        update: SilenceUpdate,
        actor: &Actor,
    ) -> Result<SilenceView, AlertingError> {
        let current = self.get(id).await?;
        let silence = validate_silence(&update.apply_to(current.silence), current.created_by)?;
        let stored = self
            .store
            .update_silence(id, &silence, self.clock.now())
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => AlertingError::SilenceNotFound,
                other => other.into(),
            })?;
        self.audit(actor, "update_silence", stored.id, &stored.name)
            .await?;
        Ok(self.view(stored))
    }

    /// Deletes a silence (audited as `delete_silence`).
    pub async fn delete(&self, id: i64, actor: &Actor) -> Result<(), AlertingError> {
        let current = self.get(id).await?;
        self.store
            .delete_silence(id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => AlertingError::SilenceNotFound,
                other => other.into(),
            })?;
        self.audit(actor, "delete_silence", id, &current.silence.name)
            .await
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        id: i64,
        name: &str,
    ) -> Result<(), AlertingError> {
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            action,
            "silence",
            Some(id.to_string()),
            Some(serde_json::json!({ "name": name })),
        )
        .await?;
        Ok(())
    }
}
