//! The remediation flow (`remediation-and-ai.md` §1): alert → diagnosis → runbook → safety
//! decision → execution on the alert's host through its agent, or a wait for approval →
//! verification → success, or rollback → the run's log, the alert's timeline and ops memory.
//!
//! Every state change is a compare-and-set on the stored run, so two replicas, or an approval
//! racing a rejection, never both act; every safety input is read from the store, so the
//! decision holds across replicas and restarts. Commands go through the command channel
//! ([`CommandService`]): checked before queueing, checked again by the agent, run by the agent
//! of the alert's host, never by the server.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::catalog::Catalog;
use super::diagnosis::Diagnosis;
use super::matching::{self, AlertFacts, MatchedBy, match_runbook};
use super::risk::{self, BREAKER_FAILURES, BREAKER_WINDOW, Decision, SafetyPolicy, Situation};
use super::runbook::{Extract, ResolvedCommand, Risk, Runbook, StepSpec};
pub use super::settings::FlowSettings;
use crate::ai::service::{AiService, RemediationQuestion};
use crate::alerting::dispatch::{Dispatcher, Notice, NoticeKind, TargetInfo};
use crate::alerting::rule::AlertRule;
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::command::{ANSWER_GRACE, CommandService, QUEUE_TTL, QueueRequest, RemediationStep};
use crate::model::{
    Alert, AlertEventKind, CommandStatus, NewAlertEvent, NewRemediation, Page, Remediation,
    RemediationFilter, RemediationStatus, RemediationUpdate, SilenceTarget,
};
use crate::store::{Store, StoreError};

/// The setting of the global kill switch (`true` unless set otherwise).
pub const AUTOMATIC_SETTING: &str = "remediation.automatic_enabled";
/// Longest output kept per stream of a step in the run's log (the reference's 4096).
pub const MAX_STEP_OUTPUT: usize = 4096;
/// `blocked_reason` of a run waiting for a person.
pub const NEEDS_CONFIRMATION: &str = "Needs human confirmation (risk=confirm)";
/// `blocked_reason` when the host has no agent that runs remediation steps.
pub const NO_AGENT: &str = "No remediation-capable agent on host";
/// `blocked_reason` of a run whose replica stopped while it was moving.
pub const INTERRUPTED: &str = "Interrupted: the server driving it stopped";
/// How long a run may stay in a moving status before it counts as interrupted. Longer than any
/// run can take: every step's timeout is at most an hour and a runbook has a handful.
pub const STALL_AFTER: Duration = Duration::hours(6);

/// The actor of what the flow does by itself.
const SYSTEM: Actor = Actor {
    user_id: None,
    ip_address: None,
};

/// Who started a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// A fired alert.
    Auto,
    /// A person (`POST /alerts/{id}/remediate`, retry).
    Manual(Actor),
}

/// What can go wrong driving remediations.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("Alert not found")]
    AlertNotFound,
    #[error("Remediation log not found")]
    NotFound,
    #[error("A remediation is already in progress for this alert")]
    InProgress,
    /// Approve, reject or retry in a status that does not allow it.
    #[error("Cannot {action} remediation in status: {status}")]
    WrongStatus {
        action: &'static str,
        status: &'static str,
    },
    #[error("the alert has no host to remediate")]
    NoHost,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs remediations.
#[derive(Debug, Clone)]
pub struct RemediationFlow {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    commands: CommandService,
    ai: AiService,
    catalog: Catalog,
    settings: FlowSettings,
    /// Where approval requests and outcomes are told (the alert's rule's channels).
    dispatcher: Option<Dispatcher>,
    /// Told each time a run moves (the dashboard's live feed); set once.
    progress: std::sync::OnceLock<Arc<dyn ProgressObserver>>,
}

/// Told each time a run moves: triggered, pending approval, approved or rejected, executing,
/// and its outcome.
pub trait ProgressObserver: Send + Sync + std::fmt::Debug {
    /// Run `remediation_id` (of `alert_id`) reached `step` (`triggered`, `pending_approval`,
    /// `approved`, `rejected`, `executing`, or a final status).
    fn remediation_moved(&self, remediation_id: i64, alert_id: Option<i64>, step: &str);
}

/// What a run needs to know about its alert.
#[derive(Debug, Clone)]
struct Context {
    alert: Alert,
    host_id: i64,
    hostname: String,
    metric: Option<String>,
    alert_type: String,
    labels: BTreeMap<String, String>,
    /// Host group and tags, for maintenance windows.
    group: Option<String>,
    tags: BTreeMap<String, String>,
}

/// One command of a run, as its log shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    /// `pre_check`, `step`, `verify` or `rollback`.
    pub phase: &'static str,
    pub step: String,
    pub command: String,
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
    pub executed: bool,
    pub duration_ms: Option<i64>,
    /// The command's request id on the command channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// A failure of an optional step does not stop the run.
    pub optional: bool,
}

impl StepResult {
    fn ok(&self) -> bool {
        self.exit_code == 0
    }
}

impl RemediationFlow {
    /// The flow; `dispatcher`, when given, tells the alert's channels of approvals needed and
    /// outcomes.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        commands: CommandService,
        ai: AiService,
        catalog: Catalog,
        settings: FlowSettings,
        dispatcher: Option<Dispatcher>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                commands,
                ai,
                catalog,
                settings,
                dispatcher,
                progress: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Tells `observer` each time a run moves from now on. Only the first observer set is
    /// kept; returns whether this one was.
    pub fn observe_progress(&self, observer: Arc<dyn ProgressObserver>) -> bool {
        self.inner.progress.set(observer).is_ok()
    }

    /// The runbooks.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The settings.
    pub fn settings(&self) -> &FlowSettings {
        &self.inner.settings
    }

    /// Starts a run for an alert and returns it as created; the flow continues on a task of its
    /// own. A second run while one is not finished is [`FlowError::InProgress`].
    pub async fn trigger(&self, alert_id: i64, trigger: Trigger) -> Result<Remediation, FlowError> {
        let run = self.create(alert_id, &trigger).await?;
        let flow = self.clone();
        tokio::spawn(async move { flow.drive(run.id).await });
        Ok(run)
    }

    async fn create(&self, alert_id: i64, trigger: &Trigger) -> Result<Remediation, FlowError> {
        let inner = &self.inner;
        let alert = inner
            .store
            .alert(alert_id)
            .await?
            .ok_or(FlowError::AlertNotFound)?;
        let host_id = alert.host_id.ok_or(FlowError::NoHost)?;
        let (status, triggered_by, requested_by) = match trigger {
            Trigger::Auto => (RemediationStatus::Diagnosing, "auto", None),
            Trigger::Manual(actor) => (RemediationStatus::Pending, "manual", actor.user_id),
        };
        let run = inner
            .store
            .create_remediation(NewRemediation {
                alert_id: Some(alert_id),
                host_id: Some(host_id),
                status,
                triggered_by: triggered_by.to_owned(),
                requested_by,
                created_at: inner.clock.now(),
            })
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => FlowError::InProgress,
                other => FlowError::Store(other),
            })?;
        if let Trigger::Manual(actor) = trigger {
            self.audit(
                actor,
                ("trigger_remediation", "remediation", &run.id.to_string()),
                json!({"alert_id": alert_id}),
            )
            .await?;
        }
        self.timeline(
            &run,
            actor_of(trigger),
            json!({"event": "triggered", "remediation_id": run.id, "triggered_by": triggered_by}),
        )
        .await;
        Ok(run)
    }

    /// One run.
    pub async fn get(&self, id: i64) -> Result<Remediation, FlowError> {
        self.inner
            .store
            .remediation(id)
            .await?
            .ok_or(FlowError::NotFound)
    }

    /// Approves a run waiting for it, and executes it (re-checking the breaker, the rate
    /// limiter and every command first). Audited.
    pub async fn approve(
        &self,
        id: i64,
        actor: &Actor,
        comment: Option<String>,
    ) -> Result<Remediation, FlowError> {
        let run = self.review(id, actor, comment, true).await?;
        let flow = self.clone();
        tokio::spawn(async move { flow.continue_approved(id).await });
        Ok(run)
    }

    /// Rejects a run waiting for approval. Audited.
    pub async fn reject(
        &self,
        id: i64,
        actor: &Actor,
        comment: Option<String>,
    ) -> Result<Remediation, FlowError> {
        let run = self.review(id, actor, comment, false).await?;
        self.finished(&run).await;
        Ok(run)
    }

    async fn review(
        &self,
        id: i64,
        actor: &Actor,
        comment: Option<String>,
        approve: bool,
    ) -> Result<Remediation, FlowError> {
        let inner = &self.inner;
        let action = if approve { "approve" } else { "reject" };
        let now = inner.clock.now();
        let update = RemediationUpdate {
            status: Some(if approve {
                RemediationStatus::Approved
            } else {
                RemediationStatus::Rejected
            }),
            approved_by: actor.user_id,
            approved_at: Some(now),
            review_comment: comment.clone(),
            completed_at: (!approve).then_some(now),
            ..RemediationUpdate::default()
        };
        let run = match inner
            .store
            .update_remediation(id, &[RemediationStatus::PendingApproval], update)
            .await
        {
            Ok(run) => run,
            Err(StoreError::NotFound(_)) => return Err(FlowError::NotFound),
            Err(StoreError::Conflict(_)) => {
                let current = self.get(id).await?;
                return Err(FlowError::WrongStatus {
                    action,
                    status: current.status.as_str(),
                });
            }
            Err(other) => return Err(other.into()),
        };
        self.audit(
            actor,
            (
                &format!("{action}_remediation"),
                "remediation",
                &id.to_string(),
            ),
            json!({"comment": comment, "runbook": run.runbook_name}),
        )
        .await?;
        self.timeline(
            &run,
            actor.user_id,
            json!({"event": if approve { "approved" } else { "rejected" }, "remediation_id": id}),
        )
        .await;
        Ok(run)
    }

    /// Starts a new manual run for the alert of a `failed`, `escalated` or `rejected` run.
    pub async fn retry(&self, id: i64, actor: &Actor) -> Result<Remediation, FlowError> {
        let old = self.get(id).await?;
        let retryable = matches!(
            old.status,
            RemediationStatus::Failed | RemediationStatus::Escalated | RemediationStatus::Rejected
        );
        let Some(alert_id) = old.alert_id.filter(|_| retryable) else {
            return Err(FlowError::WrongStatus {
                action: "retry",
                status: old.status.as_str(),
            });
        };
        self.trigger(alert_id, Trigger::Manual(actor.clone())).await
    }

    /// Escalates the runs that waited for approval longer than allowed. Run periodically, once
    /// per cluster.
    pub async fn expire_approvals(&self) -> Result<Vec<Remediation>, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let minutes = inner.settings.approval_minutes;
        let expired = inner
            .store
            .expire_approvals(
                now - Duration::minutes(minutes),
                &format!("Approval expired after {minutes} minutes"),
                now,
            )
            .await?;
        for run in &expired {
            self.finished(run).await;
        }
        Ok(expired)
    }

    /// Fails the runs left moving by a replica that stopped mid-run (each run is driven by a
    /// task of the replica that started or approved it), so none stays `executing` forever and
    /// the alert can be remediated again. Run periodically, once per cluster.
    pub async fn fail_stalled(&self) -> Result<Vec<Remediation>, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let mut failed = Vec::new();
        for status in [
            RemediationStatus::Pending,
            RemediationStatus::Diagnosing,
            RemediationStatus::Approved,
            RemediationStatus::Executing,
            RemediationStatus::Verifying,
        ] {
            let (runs, _) = inner
                .store
                .list_remediations(&RemediationFilter {
                    status: Some(status),
                    page: Page {
                        page: 1,
                        page_size: 100,
                    },
                    ..RemediationFilter::default()
                })
                .await?;
            for run in runs {
                let since = run.started_at.or(run.approved_at).unwrap_or(run.created_at);
                if now - since < STALL_AFTER {
                    continue;
                }
                let update = RemediationUpdate {
                    status: Some(RemediationStatus::Failed),
                    blocked_reason: Some(INTERRUPTED.to_owned()),
                    completed_at: Some(now),
                    ..RemediationUpdate::default()
                };
                match inner
                    .store
                    .update_remediation(run.id, &[status], update)
                    .await
                {
                    Ok(run) => {
                        self.finished(&run).await;
                        failed.push(run);
                    }
                    // It moved on meanwhile: not stalled.
                    Err(StoreError::Conflict(_)) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(failed)
    }

    /// Whether automatic runs are allowed cluster-wide (the kill switch).
    pub async fn automatic_enabled(&self) -> Result<bool, StoreError> {
        Ok(self
            .inner
            .store
            .setting(AUTOMATIC_SETTING)
            .await?
            .and_then(|value| value.as_bool())
            .unwrap_or(true))
    }

    /// Flips the kill switch. Audited.
    pub async fn set_automatic_enabled(
        &self,
        enabled: bool,
        actor: &Actor,
    ) -> Result<(), FlowError> {
        let inner = &self.inner;
        inner
            .store
            .put_setting(AUTOMATIC_SETTING, &json!(enabled), inner.clock.now())
            .await?;
        self.audit(
            actor,
            ("set_remediation_automatic", "setting", AUTOMATIC_SETTING),
            json!({"enabled": enabled}),
        )
        .await?;
        Ok(())
    }

    /// Opts a host out of (or back into) automatic remediation. Audited.
    pub async fn set_opt_out(
        &self,
        host_id: i64,
        opted_out: bool,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner
            .store
            .set_remediation_opt_out(host_id, opted_out)
            .await?;
        self.audit(
            actor,
            ("set_remediation_opt_out", "host", &host_id.to_string()),
            json!({"opted_out": opted_out}),
        )
        .await
    }

    /// Appends an audit row: `(action, resource type, resource id)` and the detail.
    async fn audit(
        &self,
        actor: &Actor,
        (action, resource_type, resource_id): (&str, &str, &str),
        detail: Value,
    ) -> Result<(), StoreError> {
        audit::record(
            self.inner.store.as_ref(),
            self.inner.clock.as_ref(),
            actor,
            action,
            resource_type,
            Some(resource_id.to_owned()),
            Some(detail),
        )
        .await
    }

    /// Diagnosis to decision, then execution when the decision allows it. Errors end the run
    /// as `failed` with the error, never leave it moving forever.
    async fn drive(&self, id: i64) {
        if let Err(error) = self.diagnose_and_decide(id).await {
            tracing::warn!(%error, remediation_id = id, "remediation stopped by an error");
            self.abort(id, &format!("Internal error: {error}")).await;
        }
    }

    async fn continue_approved(&self, id: i64) {
        let result = async {
            let run = self.get(id).await?;
            let context = self.context(&run).await?;
            let runbooks = self.inner.catalog.runbooks().await?;
            let Some(runbook) = run
                .runbook_name
                .as_deref()
                .and_then(|name| runbooks.iter().find(|r| r.name() == name))
            else {
                return self
                    .stop(id, RemediationStatus::Approved, "Runbook no longer exists")
                    .await;
            };
            self.execute(&run, RemediationStatus::Approved, &context, runbook)
                .await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, remediation_id = id, "approved remediation stopped by an error");
            self.abort(id, &format!("Internal error: {error}")).await;
        }
    }

    async fn diagnose_and_decide(&self, id: i64) -> Result<(), FlowError> {
        let inner = &self.inner;
        let mut run = self.get(id).await?;
        if run.status == RemediationStatus::Pending {
            run = inner
                .store
                .update_remediation(
                    id,
                    &[RemediationStatus::Pending],
                    RemediationUpdate {
                        status: Some(RemediationStatus::Diagnosing),
                        ..RemediationUpdate::default()
                    },
                )
                .await?;
        }
        let from = RemediationStatus::Diagnosing;
        let context = self.context(&run).await?;
        let now = inner.clock.now();
        // The breaker first: an open one spares the diagnosis.
        let history = inner
            .store
            .run_history(context.host_id, "", now, BREAKER_WINDOW)
            .await?;
        if history.recent_failures >= BREAKER_FAILURES {
            let reason = format!("Circuit breaker open for host {}", context.hostname);
            let decision = json!({
                "risk": "block",
                "reasons": [format!("{reason}: {} failures within {} minutes",
                    history.recent_failures, BREAKER_WINDOW.num_minutes())],
            });
            self.audit(
                &SYSTEM,
                ("remediation_decision", "remediation", &id.to_string()),
                decision.clone(),
            )
            .await?;
            return self.stop_with(id, from, &reason, Some(decision)).await;
        }
        let runbooks = inner.catalog.runbooks().await?;
        let names: Vec<&str> = runbooks.iter().map(Runbook::name).collect();
        let for_type = match_runbook(&runbooks, None, &context.alert_type, "")
            .filter(|(_, by)| *by == MatchedBy::AlertType)
            .map(|(r, _)| r.name().to_owned());
        let labels_json = json!(context.labels);
        let diagnosis = inner
            .ai
            .diagnose_remediation(
                &context.alert,
                RemediationQuestion {
                    hostname: &context.hostname,
                    alert_type: &context.alert_type,
                    labels: &labels_json,
                    runbooks: &names,
                    runbook_for_type: for_type.as_deref(),
                },
            )
            .await
            .unwrap_or_else(|error| Diagnosis::unavailable(&error.to_string()));
        let message = format!(
            "{} {}",
            context.alert.title,
            context.alert.message.as_deref().unwrap_or("")
        );
        let matched = match_runbook(
            &runbooks,
            diagnosis.suggested_runbook.as_deref(),
            &context.alert_type,
            &message,
        )
        // A log alert's message quotes the log line, which anyone who can write to the log
        // controls (and its type, `log_keyword`, holds the keyword "log"): keywords never pick
        // its runbook. Only a runbook made for the type, or the diagnosis, does.
        .filter(|(_, by)| {
            !(*by == MatchedBy::Keyword && context.metric.as_deref() == Some("log_keyword"))
        });
        let diagnosis_json = serde_json::to_value(&diagnosis).unwrap_or(Value::Null);
        let Some((runbook, matched_by)) = matched else {
            inner
                .store
                .update_remediation(
                    id,
                    &[from],
                    RemediationUpdate {
                        diagnosis: Some(diagnosis_json),
                        ..RemediationUpdate::default()
                    },
                )
                .await?;
            return self.stop(id, from, "No matching runbook found").await;
        };
        let history = inner
            .store
            .run_history(context.host_id, runbook.name(), now, BREAKER_WINDOW)
            .await?;
        let opted_out = inner.store.remediation_opt_out(context.host_id).await?;
        let in_maintenance = self.in_maintenance(&context, now).await?;
        let policy = SafetyPolicy {
            automatic_enabled: self.automatic_enabled().await?,
            max_auto_per_hour: inner.settings.max_auto_per_hour,
        };
        let decision = risk::decide(
            &Situation {
                runbook: runbook.name(),
                base: runbook.risk(),
                cooldown: Duration::seconds(
                    i64::try_from(runbook.spec().cooldown_seconds).unwrap_or(i64::MAX),
                ),
                confidence: diagnosis.confidence,
                history: &history,
                hostname: &context.hostname,
                opted_out,
                in_maintenance,
                allowed_in_maintenance: runbook.spec().allow_in_maintenance,
                manual: run.triggered_by == "manual",
                now,
            },
            &policy,
        );
        let decision_json =
            decision_json(&decision, matched_by, &history, opted_out, in_maintenance);
        // The safety layer's own decisions are audited like people's (no user: the system).
        self.audit(
            &SYSTEM,
            ("remediation_decision", "remediation", &id.to_string()),
            json!({"runbook": runbook.name(), "risk": decision.risk.as_str(),
                   "stopped": decision.stopped, "reasons": decision.reasons}),
        )
        .await?;
        let run = inner
            .store
            .update_remediation(
                id,
                &[from],
                RemediationUpdate {
                    diagnosis: Some(diagnosis_json),
                    runbook_name: Some(runbook.name().to_owned()),
                    risk_level: Some(decision.risk.as_str().to_owned()),
                    decision: Some(decision_json),
                    ..RemediationUpdate::default()
                },
            )
            .await?;
        if let Some(reason) = &decision.stopped {
            return self.stop(id, from, reason).await;
        }
        if decision.risk == Risk::Confirm {
            let run = inner
                .store
                .update_remediation(
                    id,
                    &[from],
                    RemediationUpdate {
                        status: Some(RemediationStatus::PendingApproval),
                        blocked_reason: Some(NEEDS_CONFIRMATION.to_owned()),
                        ..RemediationUpdate::default()
                    },
                )
                .await?;
            self.timeline(
                &run,
                None,
                json!({"event": "pending_approval", "remediation_id": id,
                       "runbook": runbook.name(), "reasons": decision.reasons}),
            )
            .await;
            self.notify(&run).await;
            return Ok(());
        }
        self.execute(&run, from, &context, runbook).await
    }

    /// Runs the runbook on the host: pre-checks, steps (stopping at the first failure), then
    /// verification; rollback when a step or the verification failed.
    async fn execute(
        &self,
        run: &Remediation,
        from: RemediationStatus,
        context: &Context,
        runbook: &Runbook,
    ) -> Result<(), FlowError> {
        let inner = &self.inner;
        let id = run.id;
        let now = inner.clock.now();
        if from == RemediationStatus::Approved {
            // Time passed while it waited: the breaker and the cooldown are checked again.
            let history = inner
                .store
                .run_history(context.host_id, runbook.name(), now, BREAKER_WINDOW)
                .await?;
            if history.recent_failures >= BREAKER_FAILURES {
                let reason = format!("Circuit breaker open for host {}", context.hostname);
                return self.stop(id, from, &reason).await;
            }
            let cooldown = Duration::seconds(
                i64::try_from(runbook.spec().cooldown_seconds).unwrap_or(i64::MAX),
            );
            if history
                .last_run_of_runbook
                .is_some_and(|last| now - last < cooldown)
            {
                let reason = format!("Rate limited: {} on {}", runbook.name(), context.hostname);
                return self.stop(id, from, &reason).await;
            }
        }
        // Every command is resolved and checked before the first one runs.
        let spec = runbook.spec();
        let mut plan = Vec::new();
        for (phase, steps) in [
            ("pre_check", &spec.pre_checks),
            ("step", &spec.steps),
            ("verify", &spec.verify.commands),
            ("rollback", &spec.rollback),
        ] {
            for step in steps.iter().filter(|s| s.for_each.is_none()) {
                match runbook.resolve(step, &context.labels) {
                    Ok(command) => plan.push((phase, command)),
                    Err(error) => return self.stop(id, from, &error.to_string()).await,
                }
            }
        }
        let dry_run = inner.settings.dry_run;
        if !dry_run {
            let seen = inner
                .store
                .remediation_agent_seen_at(context.host_id)
                .await?;
            if seen.is_none_or(|at| now - at > inner.settings.agent_presence) {
                return self.stop(id, from, NO_AGENT).await;
            }
        }
        let run = match inner
            .store
            .update_remediation(
                id,
                &[from],
                RemediationUpdate {
                    status: Some(RemediationStatus::Executing),
                    started_at: Some(now),
                    executed: Some(!dry_run),
                    ..RemediationUpdate::default()
                },
            )
            .await
        {
            Ok(run) => run,
            // Another executor took it.
            Err(StoreError::Conflict(_)) => return Ok(()),
            Err(other) => return Err(other.into()),
        };
        self.timeline(
            &run,
            None,
            json!({"event": "executing", "remediation_id": id, "runbook": runbook.name(),
                   "dry_run": dry_run}),
        )
        .await;
        let mut executor = Executor {
            flow: self,
            context,
            runbook,
            remediation_id: id,
            step_no: 0,
            results: Vec::new(),
        };
        let mut failure = None;
        for step in &spec.pre_checks {
            if !executor.run_step("pre_check", step).await? {
                failure = Some(format!("Pre-check failed: {}", step.name));
                break;
            }
        }
        // A failed pre-check changed nothing: there is nothing to roll back.
        let mut changed = false;
        if failure.is_none() {
            let mut extracted: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for step in &spec.steps {
                changed = true;
                let ok = match &step.for_each {
                    Some(label) => {
                        let mut all = true;
                        for value in extracted.get(label).cloned().unwrap_or_default() {
                            let mut labels = context.labels.clone();
                            labels.insert(label.clone(), value);
                            all &= executor.run_with("step", step, &labels).await?;
                        }
                        all
                    }
                    None => executor.run_step("step", step).await?,
                };
                if let (Some(Extract::ZombieParents), Some(last)) =
                    (step.extract, executor.results.last())
                {
                    extracted.insert(
                        "pid".to_owned(),
                        super::runbook::zombie_parents(&last.stdout),
                    );
                }
                if !ok && !step.optional {
                    failure = Some(format!("Step failed: {}", step.name));
                    break;
                }
            }
        }
        let mut verification = None;
        if failure.is_none() {
            inner
                .store
                .update_remediation(
                    id,
                    &[RemediationStatus::Executing],
                    RemediationUpdate {
                        status: Some(RemediationStatus::Verifying),
                        command_results: Some(json!(executor.results)),
                        ..RemediationUpdate::default()
                    },
                )
                .await?;
            let (passed, reason) = executor.verify().await?;
            verification = Some(passed);
            if !passed {
                failure = Some(format!("Verification failed: {reason}"));
            }
        }
        if failure.is_some() && changed {
            for step in &spec.rollback {
                executor.run_step("rollback", step).await?;
            }
        }
        let status = if failure.is_none() {
            RemediationStatus::Success
        } else {
            RemediationStatus::Failed
        };
        let run = inner
            .store
            .update_remediation(
                id,
                &[RemediationStatus::Executing, RemediationStatus::Verifying],
                RemediationUpdate {
                    status: Some(status),
                    command_results: Some(json!(executor.results)),
                    verification_passed: verification,
                    blocked_reason: failure,
                    completed_at: Some(inner.clock.now()),
                    ..RemediationUpdate::default()
                },
            )
            .await?;
        self.finished(&run).await;
        Ok(())
    }

    /// Ends a run before any step as `escalated` with `reason`.
    async fn stop(&self, id: i64, from: RemediationStatus, reason: &str) -> Result<(), FlowError> {
        self.stop_with(id, from, reason, None).await
    }

    async fn stop_with(
        &self,
        id: i64,
        from: RemediationStatus,
        reason: &str,
        decision: Option<Value>,
    ) -> Result<(), FlowError> {
        let run = self
            .inner
            .store
            .update_remediation(
                id,
                &[from],
                RemediationUpdate {
                    status: Some(RemediationStatus::Escalated),
                    blocked_reason: Some(reason.to_owned()),
                    decision,
                    completed_at: Some(self.inner.clock.now()),
                    ..RemediationUpdate::default()
                },
            )
            .await?;
        self.finished(&run).await;
        Ok(())
    }

    /// Ends a run that hit an internal error as `failed`, whatever non-terminal status it is in.
    async fn abort(&self, id: i64, reason: &str) {
        let moving: Vec<RemediationStatus> = RemediationStatus::ALL
            .into_iter()
            .filter(|s| !s.is_terminal() && *s != RemediationStatus::PendingApproval)
            .collect();
        let update = RemediationUpdate {
            status: Some(RemediationStatus::Failed),
            blocked_reason: Some(reason.to_owned()),
            completed_at: Some(self.inner.clock.now()),
            ..RemediationUpdate::default()
        };
        match self
            .inner
            .store
            .update_remediation(id, &moving, update)
            .await
        {
            Ok(run) => self.finished(&run).await,
            Err(error) => {
                tracing::warn!(%error, remediation_id = id, "could not fail a remediation")
            }
        }
    }

    /// A run reached a terminal status: the alert's timeline, its channels (unless a person
    /// rejected it) and the ops memory learn of it.
    async fn finished(&self, run: &Remediation) {
        if run.status != RemediationStatus::Rejected {
            self.notify(run).await;
        }
        self.timeline(
            run,
            run.approved_by
                .filter(|_| run.status == RemediationStatus::Rejected),
            json!({"event": run.status.as_str(), "remediation_id": run.id,
                   "runbook": run.runbook_name, "reason": run.blocked_reason,
                   "verification_passed": run.verification_passed, "executed": run.executed}),
        )
        .await;
        let Some(alert_id) = run.alert_id else {
            return;
        };
        let inner = &self.inner;
        let remembered = async {
            let Some(alert) = inner.store.alert(alert_id).await? else {
                return Ok(());
            };
            let hostname = match alert.host_id {
                Some(id) => inner.store.host(id).await?.map(|h| h.hostname),
                None => None,
            };
            inner
                .ai
                .remember_remediation(run, &alert, hostname.as_deref().unwrap_or("unknown"))
                .await
                .map_err(|error| StoreError::Backend(Box::new(error)))
        }
        .await;
        if let Err(error) = remembered {
            tracing::warn!(%error, remediation_id = run.id, "could not remember a remediation");
        }
    }

    /// Tells the alert's rule's channels about the run (never grouped, silences apply).
    async fn notify(&self, run: &Remediation) {
        let Some(dispatcher) = &self.inner.dispatcher else {
            return;
        };
        let store = &self.inner.store;
        let notice = async {
            let Some(alert) = run.alert_id.map(|id| store.alert(id)) else {
                return Ok(None);
            };
            let Some(alert) = alert.await? else {
                return Ok(None);
            };
            let Some(rule_id) = alert.rule_id else {
                return Ok(None);
            };
            let Some(stored) = store.rule(rule_id).await? else {
                return Ok(None);
            };
            let Ok(rule) = AlertRule::from_wire(&stored.rule) else {
                return Ok(None);
            };
            let host = match alert.host_id {
                Some(id) => store.host(id).await?,
                None => None,
            };
            let service = match alert.service_id {
                Some(id) => store.service_name(id).await?,
                None => None,
            };
            let target = TargetInfo {
                hostname: host.as_ref().map(|h| h.hostname.clone()),
                group: host.as_ref().and_then(|h| h.group_name.clone()),
                tags: crate::alerting::engine::tags_of(host.as_ref().and_then(|h| h.tags.as_ref())),
                service,
                metric: Some(stored.rule.metric.clone()),
            };
            Ok::<_, StoreError>(Some(Notice {
                kind: NoticeKind::Remediation,
                alert,
                rule_id,
                rule: Arc::new(rule),
                target: Arc::new(target),
                suppressed_count: 0,
                note: Some(note(run)),
            }))
        }
        .await;
        match notice {
            Ok(Some(notice)) => dispatcher.notify(notice),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, remediation_id = run.id, "could not notify a remediation")
            }
        }
    }

    async fn timeline(&self, run: &Remediation, actor_id: Option<i64>, detail: Value) {
        if let (Some(observer), Some(step)) = (
            self.inner.progress.get(),
            detail.get("event").and_then(Value::as_str),
        ) {
            observer.remediation_moved(run.id, run.alert_id, step);
        }
        let Some(alert_id) = run.alert_id else {
            return;
        };
        let event = NewAlertEvent {
            alert_id,
            kind: AlertEventKind::Remediation,
            at: self.inner.clock.now(),
            actor_id,
            detail: Some(detail),
        };
        if let Err(error) = self.inner.store.append_alert_event(event).await {
            tracing::warn!(%error, alert_id, "could not append a remediation to the timeline");
        }
    }

    async fn context(&self, run: &Remediation) -> Result<Context, FlowError> {
        let store = &self.inner.store;
        let alert_id = run.alert_id.ok_or(FlowError::AlertNotFound)?;
        let alert = store
            .alert(alert_id)
            .await?
            .ok_or(FlowError::AlertNotFound)?;
        let host_id = alert.host_id.ok_or(FlowError::NoHost)?;
        let host = store.host(host_id).await?.ok_or(FlowError::NoHost)?;
        let metric = match alert.rule_id {
            Some(rule_id) => store.rule(rule_id).await?.map(|stored| {
                let rule = stored.rule;
                match rule.rule_type.as_str() {
                    "db_metric" => rule.db_metric_name.unwrap_or(rule.metric),
                    "log_keyword" => "log_keyword".to_owned(),
                    _ => rule.metric,
                }
            }),
            None => None,
        };
        let service_name = match alert.service_id {
            Some(id) => store.service_name(id).await?,
            None => None,
        };
        let labels = matching::labels(&AlertFacts {
            hostname: Some(&host.hostname),
            service_name: service_name.as_deref(),
            service_id: alert.service_id,
            metric: metric.as_deref(),
            db_name: None,
            threshold: alert.threshold,
        });
        let alert_type = matching::alert_type(metric.as_deref().unwrap_or("unknown"));
        Ok(Context {
            host_id,
            hostname: host.hostname.clone(),
            metric,
            alert_type,
            labels,
            group: host.group_name.clone(),
            tags: crate::alerting::engine::tags_of(host.tags.as_ref()),
            alert,
        })
    }

    async fn in_maintenance(
        &self,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let silences = self.inner.store.active_silences(now).await?;
        let target = SilenceTarget {
            host_id: Some(context.host_id),
            group_name: context.group.as_deref(),
            tags: &context.tags,
            service_id: context.alert.service_id,
            rule_id: context.alert.rule_id,
        };
        Ok(silences.iter().any(|s| s.matchers.matches(&target)))
    }
}

/// The headline and lines of a run's notification: runbook, decision, each command with its
/// exit code, verification, outcome.
fn note(run: &Remediation) -> (String, Vec<String>) {
    let runbook = run.runbook_name.as_deref().unwrap_or("no runbook");
    let headline = match run.status {
        RemediationStatus::PendingApproval => format!("[待审批] 自动修复 {runbook}"),
        RemediationStatus::Success => format!("[自动修复成功] {runbook}"),
        RemediationStatus::Failed => format!("[自动修复失败] {runbook}"),
        RemediationStatus::Escalated => format!("[需人工处理] 自动修复 {runbook}"),
        other => format!("[自动修复 {}] {runbook}", other.as_str()),
    };
    let mut lines = vec![format!(
        "Remediation #{} ({}), risk {}",
        run.id,
        run.triggered_by,
        run.risk_level.as_deref().unwrap_or("-")
    )];
    if let Some(cause) = run
        .diagnosis
        .as_ref()
        .and_then(|d| d["root_cause"].as_str())
    {
        lines.push(format!("Diagnosis: {cause}"));
    }
    if let Some(reasons) = run.decision.as_ref().and_then(|d| d["reasons"].as_array()) {
        let reasons: Vec<&str> = reasons.iter().filter_map(Value::as_str).collect();
        lines.push(format!("Safety: {}", reasons.join("; ")));
    }
    for result in run
        .command_results
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        lines.push(format!(
            "{} `{}` → exit {}",
            result["phase"].as_str().unwrap_or("step"),
            result["command"].as_str().unwrap_or_default(),
            result["exit_code"]
        ));
    }
    if let Some(passed) = run.verification_passed {
        lines.push(format!(
            "Verification: {}",
            if passed { "passed" } else { "failed" }
        ));
    }
    if let Some(reason) = &run.blocked_reason {
        lines.push(format!("Reason: {reason}"));
    }
    if !run.executed && run.started_at.is_some() {
        lines.push("Dry run: nothing was executed on the host".to_owned());
    }
    (headline, lines)
}

fn actor_of(trigger: &Trigger) -> Option<i64> {
    match trigger {
        Trigger::Auto => None,
        Trigger::Manual(actor) => actor.user_id,
    }
}

/// The decision as the run's log keeps it: the risk, every reason, and the inputs.
fn decision_json(
    decision: &Decision,
    matched_by: MatchedBy,
    history: &crate::model::RunHistory,
    opted_out: bool,
    in_maintenance: bool,
) -> Value {
    json!({
        "risk": decision.risk.as_str(),
        "stopped": decision.stopped,
        "reasons": decision.reasons,
        "matched_by": match matched_by {
            MatchedBy::Diagnosis => "diagnosis",
            MatchedBy::AlertType => "alert_type",
            MatchedBy::Keyword => "keyword",
        },
        "checks": {
            "recent_failures": history.recent_failures,
            "runs_last_hour": history.runs_last_hour,
            "auto_runs_last_hour": history.auto_runs_last_hour,
            "last_run_of_runbook": history.last_run_of_runbook,
            "opted_out": opted_out,
            "in_maintenance": in_maintenance,
        },
    })
}

/// Runs a run's commands one by one through the command channel and keeps their results.
struct Executor<'a> {
    flow: &'a RemediationFlow,
    context: &'a Context,
    runbook: &'a Runbook,
    remediation_id: i64,
    step_no: i32,
    results: Vec<StepResult>,
}

impl Executor<'_> {
    async fn run_step(&mut self, phase: &'static str, step: &StepSpec) -> Result<bool, FlowError> {
        let labels = self.context.labels.clone();
        self.run_with(phase, step, &labels).await
    }

    /// Runs one command of `step` with `labels`; whether it exited 0.
    async fn run_with(
        &mut self,
        phase: &'static str,
        step: &StepSpec,
        labels: &BTreeMap<String, String>,
    ) -> Result<bool, FlowError> {
        self.step_no += 1;
        let result = match self.runbook.resolve(step, labels) {
            Ok(command) => self.run_command(phase, step, command).await?,
            Err(error) => StepResult {
                phase,
                step: step.name.clone(),
                command: step.run.join(" "),
                exit_code: -1,
                stdout: String::new(),
                stderr: error.to_string(),
                executed: false,
                duration_ms: None,
                request_id: None,
                optional: step.optional,
            },
        };
        let ok = result.ok();
        self.results.push(result);
        Ok(ok)
    }

    async fn run_command(
        &self,
        phase: &'static str,
        step: &StepSpec,
        command: ResolvedCommand,
    ) -> Result<StepResult, FlowError> {
        let inner = &self.flow.inner;
        let text = shlex::try_join(command.argv.iter().map(String::as_str))
            .unwrap_or_else(|_| command.argv.join(" "));
        let mut result = StepResult {
            phase,
            step: command.step.clone(),
            command: text.clone(),
            exit_code: 0,
            stdout: String::new(),
            stderr: String::new(),
            executed: false,
            duration_ms: None,
            request_id: None,
            optional: step.optional,
        };
        if inner.settings.dry_run {
            result.stdout = format!("[DRY RUN] Would execute: {text}");
            return Ok(result);
        }
        let queued = inner
            .commands
            .queue(
                QueueRequest {
                    host_id: self.context.host_id,
                    command: text,
                    timeout_seconds: Some(i64::try_from(command.timeout_seconds).unwrap_or(60)),
                    remediation: Some(RemediationStep {
                        remediation_id: self.remediation_id,
                        step: self.step_no,
                    }),
                },
                &SYSTEM,
            )
            .await;
        let queued = match queued {
            Ok(queued) => queued,
            Err(error) => {
                result.exit_code = -1;
                result.stderr = error.to_string();
                return Ok(result);
            }
        };
        result.request_id = Some(queued.request_id.to_string());
        result.executed = true;
        // The command channel ends every command (taken, answered or timed out); this waits a
        // little longer than its longest path, in case no replica runs the expiry job.
        let give_up = inner.clock.now()
            + QUEUE_TTL
            + Duration::seconds(i64::from(queued.timeout_seconds))
            + ANSWER_GRACE
            + Duration::seconds(30);
        loop {
            let current = inner.store.command(queued.request_id).await?;
            if let Some(done) = current.filter(|c| c.status.is_terminal()) {
                result.exit_code = match (done.status, done.exit_code) {
                    (CommandStatus::Succeeded, _) => 0,
                    (_, Some(code)) if code != 0 => i64::from(code),
                    _ => -1,
                };
                result.stdout = bounded(&done.stdout);
                result.stderr = bounded(&done.stderr);
                if done.status != CommandStatus::Succeeded && result.stderr.is_empty() {
                    result.stderr = format!("command {}", done.status.as_str());
                }
                result.duration_ms = done.duration_ms;
                return Ok(result);
            }
            if inner.clock.now() > give_up {
                result.exit_code = -1;
                result.stderr = "no result from the agent".to_owned();
                return Ok(result);
            }
            tokio::time::sleep(inner.settings.poll_interval).await;
        }
    }

    /// The verification: every verify command exits 0, then the alert's metric comes back under
    /// its threshold and its service is up, within the runbook's time.
    async fn verify(&mut self) -> Result<(bool, String), FlowError> {
        let spec = self.runbook.spec();
        for step in &spec.verify.commands {
            if !self.run_step("verify", step).await? {
                return Ok((false, format!("{} did not succeed", step.name)));
            }
        }
        if spec.verify.fewer_zombies && !self.flow.inner.settings.dry_run {
            let extracting: Vec<&str> = spec
                .steps
                .iter()
                .filter(|s| s.extract == Some(Extract::ZombieParents))
                .map(|s| s.name.as_str())
                .collect();
            let output = |phase: &str, names: &[&str]| {
                self.results
                    .iter()
                    .rev()
                    .find(|r| {
                        r.phase == phase && (names.is_empty() || names.contains(&r.step.as_str()))
                    })
                    .map(|r| super::runbook::zombie_count(&r.stdout))
            };
            let before = output("step", &extracting).unwrap_or(0);
            let after = output("verify", &[]).unwrap_or(before);
            if before > 0 && after >= before {
                return Ok((
                    false,
                    format!("zombies did not decrease ({before} before, {after} after)"),
                ));
            }
        }
        let inner = &self.flow.inner;
        if inner.settings.dry_run {
            return Ok((true, String::new()));
        }
        let within = Duration::seconds(i64::try_from(spec.verify.within_seconds).unwrap_or(120));
        let started = inner.clock.now();
        let deadline = started + within;
        let alert = &self.context.alert;
        if spec.verify.metric_below_threshold
            && let (Some(metric), Some(threshold)) = (&self.context.metric, alert.threshold)
        {
            loop {
                let latest = inner
                    .store
                    .latest_metrics(&[self.context.host_id], started)
                    .await?;
                let value = latest
                    .get(&self.context.host_id)
                    .and_then(|m| crate::ai::evidence::metric_value(&m.values, metric));
                if value.is_some_and(|v| v < threshold) {
                    break;
                }
                if inner.clock.now() > deadline {
                    let seen = value.map_or("no new sample".to_owned(), |v| format!("{v:.1}"));
                    return Ok((
                        false,
                        format!(
                            "{metric} not under {threshold} within {}s (latest: {seen})",
                            within.num_seconds()
                        ),
                    ));
                }
                tokio::time::sleep(inner.settings.poll_interval).await;
            }
        }
        if spec.verify.service_up
            && let Some(service_id) = alert.service_id
        {
            loop {
                let checks = inner
                    .store
                    .service_checks_in_window(service_id, started, inner.clock.now(), 1)
                    .await?;
                if checks.last().is_some_and(|c| c.status == "up") {
                    break;
                }
                if inner.clock.now() > deadline {
                    return Ok((
                        false,
                        format!("service not up within {}s", within.num_seconds()),
                    ));
                }
                tokio::time::sleep(inner.settings.poll_interval).await;
            }
        }
        Ok((true, String::new()))
    }
}

fn bounded(text: &str) -> String {
    if text.chars().count() <= MAX_STEP_OUTPUT {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(MAX_STEP_OUTPUT).collect();
        cut.push_str("\n[truncated]");
        cut
    }
}

#[cfg(feature = "notify")]
impl crate::alerting::engine::AlertObserver for RemediationFlow {
    /// A fired alert starts an automatic run when remediation is enabled (`AGENT_ENABLED`).
    fn alert_fired(&self, alert: &Alert) {
        if !self.inner.settings.enabled || alert.host_id.is_none() {
            return;
        }
        let flow = self.clone();
        let alert_id = alert.id;
        tokio::spawn(async move {
            match flow.trigger(alert_id, Trigger::Auto).await {
                Ok(_) | Err(FlowError::InProgress) => {}
                Err(error) => {
                    tracing::warn!(%error, alert_id, "could not start an automatic remediation");
                }
            }
        });
    }
}
