//! The alert engine: evaluates the rules a reading concerns as soon as it is stored, drives
//! each (rule, target)'s state machine ([`super::state`]), records the lifecycle in the store
//! and hands notices to the [`Dispatcher`].
//!
//! One task owns every pair's state and takes observations in arrival order from a bounded
//! queue (ingestion waits when it is full, so nothing is dropped), which makes "one open alert
//! per (rule, target)" a property of one owner rather than of locks. Readings older than
//! [`MAX_READING_AGE`] when they arrive (a spool replayed after an outage) are history: stored,
//! not evaluated, so an old breach does not page anyone now. Time-based rules (host offline,
//! `host_alive`) are evaluated by [`AlertEngine::sweep`], which the server runs under a lease,
//! once per cluster. After a restart the pairs with an open alert are rebuilt from the store,
//! so a persisting breach stays the same alert and is not notified again.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use super::batch::{After, AfterOpen, AfterResolve, Batch, PairKey, Subject};
use super::detect::Sample;
use super::dispatch::{Dispatcher, Notice, NoticeKind, TargetInfo};
use super::rule::{AlertRule, Assessment, Condition, LogMatcher, RuleKind, TargetFacts};
use super::state::{AlertState, Event, Phase, Policy};
use crate::clock::Clock;
use crate::ingest::DbReading;
use crate::model::{
    Aggregate, Alert, AlertEventKind, AlertResolution, AlertStatus, AlertWrites,
    AlertWritesOutcome, Host, HostFilter, HostStatus, MetricSample, MetricValues, NewAlert,
    NewAlertEvent, NewLogEntry, Page, Resolution as SeriesResolution,
};
use crate::store::{Store, StoreError};

/// Readings older than this on arrival are stored but not evaluated.
pub const MAX_READING_AGE: Duration = Duration::minutes(5);
/// How long rules and host facts are reused before they are read again.
const REFRESH: Duration = Duration::seconds(10);
/// How often each replica re-reads the open alerts (see `Worker::reconcile`).
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Most samples kept per series for the baseline and forecast detectors.
const MAX_HISTORY: usize = 4096;
/// Most observations evaluated before their alert writes are committed together: when many
/// are queued (a storm), one transaction per this many rather than one per alert.
const MAX_BATCH: usize = 256;

/// Something the engine should look at.
#[derive(Debug)]
pub enum Observation {
    /// A host sample was stored.
    Metrics(Box<MetricSample>),
    /// A service check was stored.
    Check {
        /// The service.
        service_id: i64,
        /// Its host.
        host_id: i64,
        /// Whether the check said `down`.
        down: bool,
        /// When it was checked.
        at: DateTime<Utc>,
    },
    /// A database sample was stored.
    Db(Box<DbReading>),
    /// Log lines were stored.
    Logs(Vec<NewLogEntry>),
    /// The SLA evaluator's judgement of a service: whether its SLA rule has an open
    /// violation. Told every evaluation (once per cluster), so it is not subject to
    /// [`MAX_READING_AGE`].
    SlaStanding {
        /// The service.
        service_id: i64,
        /// Its host.
        host_id: i64,
        /// The evaluator's judgement.
        standing: crate::sla::Standing,
    },
    /// Someone acknowledged or resolved this alert by hand.
    AlertChanged(i64),
    /// Rules changed: read them again now.
    RulesChanged,
    /// Evaluate the time-based rules.
    Sweep,
    /// Re-read the open alerts now (otherwise every 10 s).
    Reconcile,
    /// Tell the held resolutions that are due now (otherwise every 10 s and on each reading).
    Tick,
    /// Answers once everything queued before has been handled.
    Flush(oneshot::Sender<()>),
}

/// Told of every alert opened and every alert resolved, once per cluster (the replica whose
/// change took effect): to start a remediation, to remember the incident. Must not block: it
/// runs on the engine's task.
pub trait AlertObserver: Send + Sync + std::fmt::Debug {
    /// `alert` was just opened.
    fn alert_fired(&self, _alert: &Alert) {}
    /// Alert `alert_id` was just resolved.
    fn alert_resolved(&self, _alert_id: i64) {}
}

/// The handle ingestion and the REST layer use.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    queue: mpsc::Sender<Observation>,
    dispatcher: Dispatcher,
}

impl AlertEngine {
    /// Starts the engine task on the current runtime; it first rebuilds the state of every
    /// open alert. It ends when every handle is dropped.
    pub fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, dispatcher: Dispatcher) -> Self {
        Self::start_with_observers(store, clock, dispatcher, Vec::new())
    }

    /// [`AlertEngine::start`], telling `observers` of every alert this replica opens or
    /// resolves.
    pub fn start_with_observers(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        dispatcher: Dispatcher,
        observers: Vec<Arc<dyn AlertObserver>>,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(16_384);
        let worker = Worker {
            store,
            clock,
            observers,
            dispatcher: dispatcher.clone(),
            rules: Arc::new(Vec::new()),
            rules_read_at: None,
            pairs: HashMap::new(),
            hosts: HashMap::new(),
            service_names: HashMap::new(),
            history: HashMap::new(),
            batch: Batch::default(),
        };
        tokio::spawn(worker.run(receiver));
        Self { queue, dispatcher }
    }

    /// Queues an observation, waiting while the queue is full.
    pub async fn observe(&self, observation: Observation) {
        if self.queue.send(observation).await.is_err() {
            tracing::warn!("alert engine is shut down; observation dropped");
        }
    }

    /// Someone acknowledged or resolved alert `id` by hand: its pair follows (an acknowledged
    /// alert is not re-notified; after a manual resolve a persisting breach is a new alert).
    pub async fn alert_changed(&self, id: i64) {
        self.observe(Observation::AlertChanged(id)).await;
    }

    /// Re-reads the open alerts that other replicas may have opened or resolved (each replica
    /// does so every 10 s by itself).
    pub async fn reconcile(&self) {
        self.observe(Observation::Reconcile).await;
    }

    /// The SLA evaluator's standing of a service (`sla_violation` and `sla_burn_rate` rules).
    pub async fn sla_standing(
        &self,
        service_id: i64,
        host_id: i64,
        standing: crate::sla::Standing,
    ) {
        self.observe(Observation::SlaStanding {
            service_id,
            host_id,
            standing,
        })
        .await;
    }

    /// Rules were created, changed or deleted: use them from the next reading on.
    pub async fn rules_changed(&self) {
        self.observe(Observation::RulesChanged).await;
    }

    /// Tells the held resolutions that are due (each replica holds its own).
    pub async fn tick(&self) {
        self.observe(Observation::Tick).await;
    }

    /// Evaluates the time-based rules (host offline, `host_alive`).
    pub async fn sweep(&self) {
        self.observe(Observation::Sweep).await;
    }

    /// Resolves once everything observed before has been evaluated and its notices grouped or
    /// handed to a channel.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        self.observe(Observation::Flush(done)).await;
        let _ = wait.await;
        self.dispatcher.flush().await;
    }
}

#[async_trait::async_trait]
impl crate::ingest::ReadingObserver for AlertEngine {
    async fn metrics_stored(&self, sample: MetricSample) {
        self.observe(Observation::Metrics(Box::new(sample))).await;
    }

    async fn check_stored(&self, service_id: i64, host_id: i64, down: bool, at: DateTime<Utc>) {
        self.observe(Observation::Check {
            service_id,
            host_id,
            down,
            at,
        })
        .await;
    }

    async fn db_metric_stored(&self, reading: DbReading) {
        self.observe(Observation::Db(Box::new(reading))).await;
    }

    async fn logs_stored(&self, entries: Vec<NewLogEntry>) {
        self.observe(Observation::Logs(entries)).await;
    }
}

#[async_trait::async_trait]
impl crate::sla::SlaStandingObserver for AlertEngine {
    async fn sla_standing(&self, service_id: i64, host_id: i64, standing: crate::sla::Standing) {
        AlertEngine::sla_standing(self, service_id, host_id, standing).await;
    }
}

/// A rule as the engine uses it.
#[derive(Debug)]
struct LoadedRule {
    id: i64,
    rule: Arc<AlertRule>,
    policy: Policy,
}

/// What the engine knows about a host.
#[derive(Debug, Clone)]
struct HostFacts {
    host: Host,
    tags: BTreeMap<String, String>,
    read_at: DateTime<Utc>,
}

/// One (rule, target): its state machine and its open alert.
#[derive(Debug, Default)]
struct Pair {
    state: AlertState,
    alert: Option<Alert>,
    /// Log rules: the last matching line's arrival, and matches since the alert fired.
    last_match: Option<DateTime<Utc>>,
    matches: u64,
    /// When the open alert was last told (fired or repeated).
    last_notified_at: Option<DateTime<Utc>>,
    /// Whether the open alert was escalated.
    escalated: bool,
    /// The resolved notice of the last resolved alert while its telling is held.
    held_notice: Option<Notice>,
}

/// One evaluated target of a rule.
struct Evaluated<'a> {
    rule: &'a LoadedRule,
    target_key: String,
    host: &'a HostFacts,
    service_id: Option<i64>,
    /// The service's or database's name, for service and database targets.
    service_name: Option<String>,
    database_id: Option<i64>,
    metric: Option<String>,
    value: Option<f64>,
    threshold: Option<f64>,
    message: String,
    assessment: Option<Assessment>,
}

struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    observers: Vec<Arc<dyn AlertObserver>>,
    dispatcher: Dispatcher,
    rules: Arc<Vec<LoadedRule>>,
    rules_read_at: Option<DateTime<Utc>>,
    pairs: HashMap<(i64, String), Pair>,
    hosts: HashMap<i64, Arc<HostFacts>>,
    service_names: HashMap<i64, String>,
    history: HashMap<(i64, &'static str), Vec<Sample>>,
    /// The alert writes of the observations drained so far, committed together.
    batch: Batch,
}

impl Worker {
    async fn run(mut self, mut receiver: mpsc::Receiver<Observation>) {
        self.reconcile().await;
        let mut reconcile = tokio::time::interval(RECONCILE_EVERY);
        reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let observation = tokio::select! {
                observation = receiver.recv() => observation,
                _ = reconcile.tick() => {
                    self.reconcile().await;
                    self.release_held();
                    continue;
                }
            };
            let Some(observation) = observation else {
                break;
            };
            self.handle(observation).await;
            // Whatever else is queued joins the same commit (a storm is written in batches,
            // a lone reading at once).
            let mut drained = 1;
            while drained < MAX_BATCH {
                let Ok(observation) = receiver.try_recv() else {
                    break;
                };
                self.handle(observation).await;
                drained += 1;
            }
            self.commit().await;
        }
        // Shutting down: the held resolutions are told now rather than never.
        self.commit().await;
        for pair in self.pairs.values_mut() {
            if let Some(notice) = pair.held_notice.take() {
                self.dispatcher.notify(notice);
            }
        }
    }

    /// Evaluates one observation. Readings queue their alert writes into the batch; anything
    /// else first commits the batch, so it sees (and acts on) committed alerts only.
    async fn handle(&mut self, observation: Observation) {
        self.refresh_rules(false).await;
        match observation {
            Observation::Metrics(sample) => self.on_metrics(*sample).await,
            Observation::Check {
                service_id,
                host_id,
                down,
                at,
            } => self.on_check(service_id, host_id, down, at).await,
            Observation::SlaStanding {
                service_id,
                host_id,
                standing,
            } => self.on_sla_standing(service_id, host_id, standing).await,
            Observation::Db(reading) => self.on_db(*reading).await,
            Observation::Logs(entries) => self.on_logs(entries).await,
            Observation::AlertChanged(id) => {
                self.commit().await;
                match self.store.alert(id).await {
                    Ok(Some(alert)) => self.on_alert_changed(alert),
                    Ok(None) => {}
                    Err(error) => {
                        tracing::warn!(%error, alert_id = id, "could not read a changed alert")
                    }
                }
            }
            Observation::RulesChanged => {
                self.commit().await;
                self.refresh_rules(true).await;
            }
            Observation::Sweep => {
                self.commit().await;
                self.sweep().await;
            }
            Observation::Reconcile => {
                self.commit().await;
                self.reconcile().await;
            }
            Observation::Tick => {
                self.commit().await;
                self.release_held();
            }
            Observation::Flush(done) => {
                self.commit().await;
                let _ = done.send(());
            }
        }
    }

    /// Tells the held resolutions that are due: targets that stopped reporting after they
    /// cleared still get their resolution told.
    fn release_held(&mut self) {
        let now = self.clock.now();
        for pair in self.pairs.values_mut() {
            if pair.state.held_until().is_some_and(|due| due <= now) {
                let events = pair.state.tick(now);
                if events.contains(&Event::ResolutionDue)
                    && let Some(notice) = pair.held_notice.take()
                {
                    self.dispatcher.notify(notice);
                }
            }
        }
    }

    /// Brings the pairs in line with the open alerts in the store, which every replica shares:
    /// an alert another replica opened is followed (open, already told), one resolved elsewhere
    /// (or by hand) is forgotten. Run at start (a restart rebuilds the state, so a persisting
    /// breach stays one alert) and every [`RECONCILE_EVERY`].
    async fn reconcile(&mut self) {
        let alerts = match self.store.open_alerts().await {
            Ok(alerts) => alerts,
            Err(error) => {
                tracing::warn!(%error, "could not read open alerts; alert state not reconciled");
                return;
            }
        };
        let open: HashMap<(i64, String), Alert> = alerts
            .into_iter()
            .filter_map(|alert| Some(((alert.rule_id?, alert.target_key.clone()), alert)))
            .collect();
        // Forget pairs whose alert is no longer the open one of their (rule, target).
        self.pairs.retain(|key, pair| {
            pair.alert
                .as_ref()
                .is_none_or(|alert| open.get(key).is_some_and(|stored| stored.id == alert.id))
        });
        let now = self.clock.now();
        for (key, alert) in open {
            let pair = self.pairs.entry(key).or_default();
            if pair.alert.is_some() {
                pair.alert = Some(alert);
                continue;
            }
            *pair = Pair {
                state: AlertState::restored(alert.fired_at, alert.acknowledged_at),
                last_notified_at: Some(alert.fired_at),
                // Log alerts resolve after a quiet period counted from now.
                last_match: Some(now),
                alert: Some(alert),
                ..Pair::default()
            };
        }
    }

    async fn refresh_rules(&mut self, force: bool) {
        let now = self.clock.now();
        if !force
            && self
                .rules_read_at
                .is_some_and(|at| now - at < REFRESH && now >= at)
        {
            return;
        }
        match self.store.list_rules(Some(true)).await {
            Ok(stored) => {
                let rules = stored
                    .into_iter()
                    .filter_map(|stored| match AlertRule::from_wire(&stored.rule) {
                        Ok(rule) => Some(LoadedRule {
                            id: stored.id,
                            policy: Policy::for_rule(&rule),
                            rule: Arc::new(rule),
                        }),
                        Err(error) => {
                            tracing::warn!(rule_id = stored.id, %error, "stored rule is invalid; skipped");
                            None
                        }
                    })
                    .collect();
                self.rules = Arc::new(rules);
                self.rules_read_at = Some(now);
            }
            Err(error) => {
                tracing::warn!(%error, "could not read alert rules; keeping the previous ones")
            }
        }
    }

    /// The host's facts, read again when older than [`REFRESH`]. Shared, not copied: this runs
    /// for every reading.
    async fn host(&mut self, host_id: i64) -> Option<Arc<HostFacts>> {
        let now = self.clock.now();
        if let Some(facts) = self.hosts.get(&host_id)
            && now - facts.read_at < REFRESH
            && now >= facts.read_at
        {
            return Some(Arc::clone(facts));
        }
        match self.store.host(host_id).await {
            Ok(Some(host)) => {
                let facts = Arc::new(HostFacts {
                    tags: tags_of(host.tags.as_ref()),
                    host,
                    read_at: now,
                });
                self.hosts.insert(host_id, Arc::clone(&facts));
                Some(facts)
            }
            Ok(None) => {
                self.hosts.remove(&host_id);
                None
            }
            Err(error) => {
                tracing::warn!(%error, host_id, "could not read host; its rules are not evaluated");
                self.hosts.get(&host_id).cloned()
            }
        }
    }

    async fn on_metrics(&mut self, sample: MetricSample) {
        let now = self.clock.now();
        if now - sample.recorded_at > MAX_READING_AGE {
            return;
        }
        let Some(host) = self.host(sample.host_id).await else {
            return;
        };
        let rules = Arc::clone(&self.rules);
        for rule in rules.iter() {
            let RuleKind::HostMetric { metric, condition } = &rule.rule.kind else {
                continue;
            };
            if !applies(rule, &host, None) {
                continue;
            }
            let Some(value) = metric_value(&sample.values, metric, host.host.cpu_cores) else {
                continue;
            };
            let current = Sample {
                at: sample.recorded_at,
                value,
            };
            let history = self
                .history_for(host.host.id, metric, condition, current)
                .await;
            let assessment = condition.assess(current, &history);
            let threshold = match condition {
                Condition::Threshold(threshold) => Some(threshold.trigger),
                Condition::Forecast { limit, .. } => Some(*limit),
                Condition::Baseline { .. } => None,
            };
            let message = describe(metric, value, condition);
            let evaluated = Evaluated {
                rule,
                target_key: format!("host:{}", host.host.id),
                host: &host,
                service_id: None,
                service_name: None,
                database_id: None,
                metric: Some(metric.clone()),
                value: Some(value),
                threshold,
                message,
                assessment,
            };
            self.apply(evaluated, now).await;
        }
    }

    /// The earlier samples a detector needs, kept per (host, metric) and seeded from the store
    /// the first time; empty for plain thresholds.
    async fn history_for(
        &mut self,
        host_id: i64,
        metric: &str,
        condition: &Condition,
        current: Sample,
    ) -> Vec<Sample> {
        let lookback = match condition {
            Condition::Threshold(_) => return Vec::new(),
            Condition::Baseline { config, .. } => config
                .window
                .max(Duration::days(i64::from(config.seasonal_max_days) + 1)),
            Condition::Forecast { config, .. } => config.lookback,
        };
        let Some(name) = super::rule::HOST_METRICS
            .iter()
            .copied()
            .find(|name| *name == metric)
        else {
            return Vec::new();
        };
        let key = (host_id, name);
        if !self.history.contains_key(&key) {
            let seeded = self
                .store
                .metric_series(
                    host_id,
                    current.at - lookback,
                    current.at - Duration::milliseconds(1),
                    SeriesResolution::Raw,
                    Aggregate::Avg,
                    i64::try_from(MAX_HISTORY).unwrap_or(i64::MAX),
                )
                .await
                .map(|points| {
                    points
                        .iter()
                        .filter_map(|point| {
                            metric_value(&point.values, name, None).map(|value| Sample {
                                at: point.recorded_at,
                                value,
                            })
                        })
                        .collect()
                })
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, host_id, "could not read history for a detector");
                    Vec::new()
                });
            self.history.insert(key, seeded);
        }
        let series = self.history.entry(key).or_default();
        let earlier: Vec<Sample> = series
            .iter()
            .copied()
            .filter(|sample| sample.at >= current.at - lookback && sample.at < current.at)
            .collect();
        series.push(current);
        if series.len() > MAX_HISTORY {
            let excess = series.len() - MAX_HISTORY;
            series.drain(..excess);
        }
        earlier
    }

    /// A service's name, cached (names change only when a service is re-registered).
    async fn service_name(&mut self, service_id: i64) -> Option<String> {
        if let Some(name) = self.service_names.get(&service_id) {
            return Some(name.clone());
        }
        match self.store.service_name(service_id).await {
            Ok(Some(name)) => {
                self.service_names.insert(service_id, name.clone());
                Some(name)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, service_id, "could not read a service name");
                None
            }
        }
    }

    async fn on_check(&mut self, service_id: i64, host_id: i64, down: bool, at: DateTime<Utc>) {
        let now = self.clock.now();
        if now - at > MAX_READING_AGE {
            return;
        }
        let Some(host) = self.host(host_id).await else {
            return;
        };
        let rules = Arc::clone(&self.rules);
        let mut name: Option<Option<String>> = None;
        for rule in rules.iter() {
            if !matches!(rule.rule.kind, RuleKind::ServiceDown)
                || !applies(rule, &host, Some(service_id))
            {
                continue;
            }
            if name.is_none() {
                name = Some(self.service_name(service_id).await);
            }
            let service_name = name.clone().flatten();
            let shown = service_name
                .clone()
                .unwrap_or_else(|| format!("service #{service_id}"));
            let evaluated = Evaluated {
                rule,
                target_key: format!("service:{service_id}"),
                host: &host,
                service_id: Some(service_id),
                service_name,
                database_id: None,
                metric: Some("service_down".to_owned()),
                value: Some(if down { 1.0 } else { 0.0 }),
                threshold: Some(1.0),
                message: format!("{shown} is {}", if down { "down" } else { "up" }),
                assessment: Some(if down {
                    Assessment::Violating
                } else {
                    Assessment::Clear
                }),
            };
            self.apply(evaluated, now).await;
        }
    }

    /// `sla_violation` and `sla_burn_rate` rules: the service is the target; the SLA evaluator
    /// has judged it.
    async fn on_sla_standing(
        &mut self,
        service_id: i64,
        host_id: i64,
        standing: crate::sla::Standing,
    ) {
        let now = self.clock.now();
        let Some(host) = self.host(host_id).await else {
            return;
        };
        let rules = Arc::clone(&self.rules);
        let mut name: Option<Option<String>> = None;
        for rule in rules.iter() {
            let (metric, value, threshold, assessment) = match &rule.rule.kind {
                RuleKind::SlaViolation => (
                    "sla_violation",
                    Some(if standing.violated { 1.0 } else { 0.0 }),
                    Some(1.0),
                    Some(if standing.violated {
                        Assessment::Violating
                    } else {
                        Assessment::Clear
                    }),
                ),
                // No checks in a window: neither fires nor resolves.
                RuleKind::SlaBurnRate { window, threshold } => {
                    let rate = standing.burn_rates[window.index()];
                    (
                        window.metric(),
                        rate,
                        Some(threshold.trigger),
                        rate.map(|rate| threshold.assess(rate)),
                    )
                }
                _ => continue,
            };
            let message = match rule.rule.kind {
                RuleKind::SlaBurnRate { window, .. } => format!(
                    "error budget burn rate {:.1} over the last {} and {}",
                    value.unwrap_or_default().min(1e9),
                    human(window.windows().0),
                    human(window.windows().1),
                ),
                _ => standing.message.clone(),
            };
            if !applies(rule, &host, Some(service_id)) {
                continue;
            }
            if name.is_none() {
                name = Some(self.service_name(service_id).await);
            }
            let evaluated = Evaluated {
                rule,
                target_key: format!("service:{service_id}"),
                host: &host,
                service_id: Some(service_id),
                service_name: name.clone().flatten(),
                database_id: None,
                metric: Some(metric.to_owned()),
                value,
                threshold,
                message,
                assessment,
            };
            self.apply(evaluated, now).await;
        }
    }

    /// Database rules: the database is the target.
    async fn on_db(&mut self, reading: DbReading) {
        let now = self.clock.now();
        if now - reading.at > MAX_READING_AGE {
            return;
        }
        let Some(host) = self.host(reading.host_id).await else {
            return;
        };
        let rules = Arc::clone(&self.rules);
        for rule in rules.iter() {
            let RuleKind::DbMetric {
                name,
                db_id,
                condition,
            } = &rule.rule.kind
            else {
                continue;
            };
            if db_id.is_some_and(|id| id != reading.database_id) || !applies(rule, &host, None) {
                continue;
            }
            let Some(value) = reading.values.get(name).copied() else {
                continue;
            };
            let current = Sample {
                at: reading.at,
                value,
            };
            let threshold = match condition {
                Condition::Threshold(threshold) => Some(threshold.trigger),
                Condition::Forecast { limit, .. } => Some(*limit),
                Condition::Baseline { .. } => None,
            };
            let evaluated = Evaluated {
                rule,
                target_key: format!("db:{}", reading.database_id),
                host: &host,
                service_id: None,
                service_name: Some(reading.db_name.clone()),
                database_id: Some(reading.database_id),
                metric: Some(name.clone()),
                value: Some(value),
                threshold,
                message: describe(name, value, condition),
                assessment: condition.assess(current, &[]),
            };
            self.apply(evaluated, now).await;
        }
    }

    /// Log rules: matching lines fire (or update) the host's alert; a quiet period resolves it
    /// (in the sweep).
    async fn on_logs(&mut self, entries: Vec<NewLogEntry>) {
        let now = self.clock.now();
        let rules = Arc::clone(&self.rules);
        let log_rules: Vec<&LoadedRule> = rules
            .iter()
            .filter(|rule| matches!(rule.rule.kind, RuleKind::LogPattern { .. }))
            .collect();
        if log_rules.is_empty() {
            return;
        }
        // (rule index, host) → (matches, the newest matching line)
        let mut hits: BTreeMap<(usize, i64), (u64, String)> = BTreeMap::new();
        for entry in &entries {
            if now - entry.timestamp > MAX_READING_AGE {
                continue;
            }
            for (index, rule) in log_rules.iter().enumerate() {
                let RuleKind::LogPattern { pattern, .. } = &rule.rule.kind else {
                    continue;
                };
                let level = entry.level.as_deref().unwrap_or("");
                if pattern.matches(&entry.message, level, entry.service.as_deref()) {
                    let hit = hits.entry((index, entry.host_id)).or_default();
                    hit.0 += 1;
                    hit.1.clone_from(&entry.message);
                }
            }
        }
        for ((index, host_id), (count, line)) in hits {
            let rule = log_rules[index];
            let Some(host) = self.host(host_id).await else {
                continue;
            };
            if !applies(rule, &host, None) {
                continue;
            }
            let RuleKind::LogPattern { pattern, .. } = &rule.rule.kind else {
                continue;
            };
            let keyword = match &pattern.matcher {
                LogMatcher::Keyword(keyword) => keyword.clone(),
                LogMatcher::Regex(regex) => regex.as_str().to_owned(),
            };
            let shown: String = line.chars().take(200).collect();
            let message = format!("匹配关键字 '{keyword}' in: {shown}");
            let key = (rule.id, format!("host:{host_id}"));
            if self.batch.touches(&key) {
                // Whether the alert was open is a committed fact.
                self.commit().await;
            }
            let was_open = self
                .pairs
                .get(&key)
                .is_some_and(|pair| pair.alert.is_some());
            let evaluated = Evaluated {
                rule,
                target_key: key.1.clone(),
                host: &host,
                service_id: None,
                service_name: None,
                database_id: None,
                metric: None,
                value: Some(count as f64),
                threshold: None,
                message: message.clone(),
                assessment: Some(Assessment::Violating),
            };
            self.apply(evaluated, now).await;
            let Some(pair) = self.pairs.get_mut(&key) else {
                continue;
            };
            pair.last_match = Some(now);
            if !was_open {
                pair.matches = count;
                continue;
            }
            pair.matches += count;
            if let Some(alert) = &pair.alert {
                let (id, matches) = (alert.id, pair.matches as f64);
                if let Err(error) = self
                    .store
                    .update_alert_reading(id, Some(&message), Some(matches))
                    .await
                {
                    tracing::warn!(%error, alert_id = id, "could not update a log alert");
                }
            }
        }
    }

    /// Everything time-based: host offline and `host_alive`, absence of data, the quiet period
    /// of log alerts, repeats and escalations.
    async fn sweep(&mut self) {
        // Each part acts on the alerts the previous one opened or resolved, so commits them.
        self.sweep_hosts().await;
        self.commit().await;
        self.sweep_log_quiet().await;
        self.commit().await;
        self.sweep_reminders().await;
    }

    /// Log alerts whose last match is older than their quiet period resolve.
    async fn sweep_log_quiet(&mut self) {
        let now = self.clock.now();
        let rules = Arc::clone(&self.rules);
        let quiet: Vec<((i64, String), i64)> = self
            .pairs
            .iter()
            .filter_map(|(key, pair)| {
                let rule = rules.iter().find(|rule| rule.id == key.0)?;
                let RuleKind::LogPattern { quiet_period, .. } = &rule.rule.kind else {
                    return None;
                };
                let last = pair.last_match?;
                let host_id = key.1.strip_prefix("host:")?.parse().ok()?;
                (pair.alert.is_some() && now - last >= *quiet_period)
                    .then(|| (key.clone(), host_id))
            })
            .collect();
        for (key, host_id) in quiet {
            let Some(rule) = rules.iter().find(|rule| rule.id == key.0) else {
                continue;
            };
            let Some(host) = self.host(host_id).await else {
                continue;
            };
            let evaluated = Evaluated {
                rule,
                target_key: key.1.clone(),
                host: &host,
                service_id: None,
                service_name: None,
                database_id: None,
                metric: None,
                value: None,
                threshold: None,
                message: String::new(),
                assessment: Some(Assessment::Clear),
            };
            self.apply(evaluated, now).await;
        }
    }

    /// Open, unacknowledged alerts: re-told every `repeat_interval`, and escalated to more
    /// channels once after `escalation.after`.
    async fn sweep_reminders(&mut self) {
        let now = self.clock.now();
        let rules = Arc::clone(&self.rules);
        let mut due = Vec::new();
        let mut escalating = Vec::new();
        for (key, pair) in &mut self.pairs {
            let Some(alert) = &pair.alert else {
                continue;
            };
            if alert.status != AlertStatus::Firing || pair.state.is_flapping() {
                continue;
            }
            let Some(rule) = rules.iter().find(|rule| rule.id == key.0) else {
                continue;
            };
            if let Some(escalation) = &rule.rule.escalation
                && !pair.escalated
                && now - alert.fired_at >= escalation.after
            {
                pair.escalated = true;
                escalating.push((alert.clone(), Arc::clone(&rule.rule), rule.id));
            }
            if let Some(repeat) = rule.rule.repeat_interval
                && now - pair.last_notified_at.unwrap_or(alert.fired_at) >= repeat
            {
                pair.last_notified_at = Some(now);
                due.push((
                    NoticeKind::Repeated,
                    alert.clone(),
                    Arc::clone(&rule.rule),
                    rule.id,
                ));
            }
        }
        for (alert, rule, rule_id) in escalating {
            // Escalated once per alert, whichever replica held the sweep then and whatever
            // restarts came between: the timeline remembers.
            let already = match self.store.alert_events(alert.id).await {
                Ok(events) => events
                    .iter()
                    .any(|event| event.kind == AlertEventKind::Escalated),
                Err(error) => {
                    tracing::warn!(%error, alert_id = alert.id, "could not read the timeline; escalation deferred");
                    if let Some(pair) = self.pairs.get_mut(&(rule_id, alert.target_key.clone())) {
                        pair.escalated = false;
                    }
                    continue;
                }
            };
            if !already {
                due.push((NoticeKind::Escalated, alert, rule, rule_id));
            }
        }
        for (kind, alert, rule, rule_id) in due {
            if kind == NoticeKind::Escalated {
                let channels = rule
                    .escalation
                    .as_ref()
                    .map(|escalation| escalation.channel_ids.clone())
                    .unwrap_or_default();
                self.record(
                    alert.id,
                    AlertEventKind::Escalated,
                    now,
                    serde_json::json!({"channel_ids": channels}),
                )
                .await;
            }
            let target = match alert.host_id {
                Some(host_id) => self.host(host_id).await.map(|host| TargetInfo {
                    hostname: Some(host.host.hostname.clone()),
                    group: host.host.group_name.clone(),
                    tags: host.tags.clone(),
                    ..TargetInfo::default()
                }),
                None => None,
            };
            self.dispatcher.notify(Notice {
                kind,
                alert,
                rule_id,
                rule,
                target: Arc::new(target.unwrap_or_default()),
                suppressed_count: 0,
                note: None,
            });
        }
    }

    /// Host offline, `host_alive` and absence rules, for every host.
    async fn sweep_hosts(&mut self) {
        let now = self.clock.now();
        let rules = Arc::clone(&self.rules);
        let timed: Vec<&LoadedRule> = rules
            .iter()
            .filter(|rule| match &rule.rule.kind {
                RuleKind::HostOffline | RuleKind::Absence { .. } => true,
                RuleKind::HostMetric { metric, .. } => metric == "host_alive",
                _ => false,
            })
            .collect();
        if timed.is_empty() {
            return;
        }
        let mut page = 1;
        loop {
            let filter = HostFilter {
                page: Page {
                    page,
                    page_size: 500,
                },
                ..HostFilter::default()
            };
            let hosts = match self.store.list_hosts(&filter).await {
                Ok((hosts, _)) => hosts,
                Err(error) => {
                    tracing::warn!(%error, "could not list hosts for the alert sweep");
                    return;
                }
            };
            let last = hosts.len() < 500;
            // Absence rules: each host's newest sample within the rule's window.
            let host_ids: Vec<i64> = hosts.iter().map(|host| host.id).collect();
            let mut recent = HashMap::new();
            for rule in &timed {
                if let RuleKind::Absence { after, .. } = &rule.rule.kind {
                    match self.store.latest_metrics(&host_ids, now - *after).await {
                        Ok(latest) => {
                            recent.insert(rule.id, latest);
                        }
                        Err(error) => tracing::warn!(%error, "could not read latest samples"),
                    }
                }
            }
            for host in hosts {
                let facts = Arc::new(HostFacts {
                    tags: tags_of(host.tags.as_ref()),
                    host,
                    read_at: now,
                });
                self.hosts.insert(facts.host.id, Arc::clone(&facts));
                let offline = facts.host.status == HostStatus::Offline;
                for rule in &timed {
                    if !applies(rule, &facts, None) {
                        continue;
                    }
                    let (metric, assessment, value) = match &rule.rule.kind {
                        RuleKind::Absence { metric, after } => {
                            // Unknown (store error): no judgement either way.
                            let Some(latest) = recent.get(&rule.id) else {
                                continue;
                            };
                            // A host that never reported is not "missing data" yet.
                            if now - facts.host.created_at < *after {
                                continue;
                            }
                            let present = latest.get(&facts.host.id).is_some_and(|sample| {
                                metric_value(&sample.values, metric, facts.host.cpu_cores).is_some()
                            });
                            let assessment = if present {
                                Assessment::Clear
                            } else {
                                Assessment::Violating
                            };
                            let minutes = after.num_minutes();
                            let message = if present {
                                format!("{metric} reported again")
                            } else {
                                format!("no {metric} data for {minutes} min")
                            };
                            let evaluated = Evaluated {
                                rule,
                                target_key: format!("host:{}", facts.host.id),
                                host: &facts,
                                service_id: None,
                                service_name: None,
                                database_id: None,
                                message,
                                metric: Some(metric.clone()),
                                value: None,
                                threshold: None,
                                assessment: Some(assessment),
                            };
                            self.apply(evaluated, now).await;
                            continue;
                        }
                        RuleKind::HostMetric { metric, condition } => {
                            let value = if offline { 0.0 } else { 1.0 };
                            let current = Sample { at: now, value };
                            (metric.clone(), condition.assess(current, &[]), value)
                        }
                        _ => (
                            "host_offline".to_owned(),
                            Some(if offline {
                                Assessment::Violating
                            } else {
                                Assessment::Clear
                            }),
                            if offline { 1.0 } else { 0.0 },
                        ),
                    };
                    let evaluated = Evaluated {
                        rule,
                        target_key: format!("host:{}", facts.host.id),
                        host: &facts,
                        service_id: None,
                        service_name: None,
                        database_id: None,
                        message: format!("{metric} = {value}"),
                        metric: Some(metric),
                        value: Some(value),
                        threshold: None,
                        assessment,
                    };
                    self.apply(evaluated, now).await;
                }
            }
            if last {
                break;
            }
            page += 1;
        }
    }

    fn on_alert_changed(&mut self, alert: Alert) {
        let Some(rule_id) = alert.rule_id else {
            return;
        };
        let key = (rule_id, alert.target_key.clone());
        if alert.status == AlertStatus::Resolved {
            // Resolved by hand: a persisting breach starts a new window, on every replica.
            self.batch.clear_pending(key.clone());
        }
        let Some(pair) = self.pairs.get_mut(&key) else {
            return;
        };
        match alert.status {
            AlertStatus::Acknowledged => {
                if let Some(at) = alert.acknowledged_at {
                    let _ = pair.state.acknowledge(at);
                }
                pair.alert = Some(alert);
            }
            AlertStatus::Resolved => {
                // Resolved by hand: the next violation starts a new pending window.
                let policy = self
                    .rules
                    .iter()
                    .find(|rule| rule.id == rule_id)
                    .map(|rule| rule.policy);
                let at = alert.resolved_at.unwrap_or_else(|| self.clock.now());
                if let Some(policy) = policy {
                    let comment = alert
                        .resolution_comment
                        .as_deref()
                        .unwrap_or("resolved by hand");
                    let _ = pair.state.resolve_manually(comment, at, &policy);
                } else {
                    pair.state = AlertState::new();
                }
                pair.alert = None;
            }
            AlertStatus::Firing => pair.alert = Some(alert),
        }
    }

    /// Runs one evaluation through the pair's state machine and carries out its events: opens
    /// and resolves join the batch ([`Worker::commit`] finishes them), the rest happens now.
    async fn apply(&mut self, evaluated: Evaluated<'_>, now: DateTime<Utc>) {
        let key = (evaluated.rule.id, evaluated.target_key.clone());
        if self.batch.touches(&key) {
            // The pair's last change is not committed yet: decide on committed state.
            self.commit().await;
        }
        let policy = &evaluated.rule.policy;
        let windowed = policy.pending > Duration::zero();
        let pair = self.pairs.entry(key.clone()).or_default();
        let mut restarted = false;
        if windowed
            && evaluated.assessment == Some(Assessment::Violating)
            && let Phase::Pending { since } = pair.state.phase()
            && now - since >= policy.pending
        {
            // About to fire: the window is judged from the start the replicas share.
            match self.store.pending_starts(std::slice::from_ref(&key)).await {
                Ok(recorded) => match recorded.first() {
                    Some((_, _, since)) => pair.state.follow_pending(*since),
                    None => {
                        // Another replica saw it recover: the window starts again now.
                        pair.state.follow_pending(now);
                        self.batch.start_pending(key.clone(), now);
                        restarted = true;
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, rule_id = key.0, "could not read the shared pending window; judged from this replica's");
                }
            }
        }
        let before = pair.state.phase();
        let events = pair.state.observe(evaluated.assessment, now, policy);
        if windowed && !restarted {
            share_pending(
                &mut self.batch,
                &key,
                before,
                pair.state.phase(),
                evaluated.assessment,
                now,
            );
        }
        if events.is_empty() {
            if pair.alert.is_none() && pair.state == AlertState::new() {
                self.pairs.remove(&key);
            }
            return;
        }
        let subject = Subject {
            rule_id: evaluated.rule.id,
            rule: Arc::clone(&evaluated.rule.rule),
            target: Arc::new(TargetInfo {
                hostname: Some(evaluated.host.host.hostname.clone()),
                group: evaluated.host.host.group_name.clone(),
                tags: evaluated.host.tags.clone(),
                service: evaluated.service_id.and(evaluated.service_name.clone()),
                metric: evaluated.metric.clone(),
            }),
        };
        let mut flapping = None;
        for event in events {
            match event {
                Event::Fired {
                    notify,
                    suppressed_count,
                } => {
                    let after = AfterOpen {
                        key: key.clone(),
                        subject: subject.clone(),
                        at: now,
                        notify,
                        suppressed_count,
                    };
                    self.batch.open(new_alert(&evaluated, now), after);
                }
                Event::Resolved { notify, .. } => {
                    let open = self.pairs.get_mut(&key).and_then(|pair| pair.alert.take());
                    let Some(open) = open else {
                        continue;
                    };
                    let resolution = AlertResolution {
                        at: now,
                        by: None,
                        comment: None,
                    };
                    let after = AfterResolve {
                        key: key.clone(),
                        subject: subject.clone(),
                        notify,
                    };
                    self.batch.resolve(open.id, resolution, after);
                }
                Event::ResolutionDue => {
                    if let Some(notice) =
                        self.pairs.get_mut(&key).and_then(|p| p.held_notice.take())
                    {
                        self.dispatcher.notify(notice);
                    }
                }
                Event::FlappingStarted { notify } => {
                    flapping = Some((NoticeKind::FlappingStarted, notify));
                }
                Event::FlappingEnded { notify, .. } => {
                    flapping = Some((NoticeKind::FlappingEnded, notify));
                }
                Event::StillFiring { .. } | Event::Acknowledged => {}
            }
        }
        if let Some((kind, notify)) = flapping {
            // It speaks of the alert just opened or resolved: that must be committed first.
            self.commit().await;
            self.flapping(kind, notify, &key, &subject, now).await;
        }
    }

    /// Writes the batch in one transaction, then finishes each open and resolve in the order
    /// they were decided: the pair follows its alert, observers are told, notices go to the
    /// dispatcher. If the batch cannot be written, its items are written one by one, so one
    /// bad item costs only itself.
    async fn commit(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.answer_pending_asks(&mut batch).await;
        let outcome = match self.store.write_alerts(&batch.writes).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::warn!(
                    %error,
                    opens = batch.writes.opens.len(),
                    resolves = batch.writes.resolves.len(),
                    "could not write a batch of alert changes; writing them one by one"
                );
                self.write_one_by_one(&batch.writes).await
            }
        };
        let mut opened = outcome.opened.into_iter();
        let mut resolved = outcome.resolved.into_iter();
        let mut opens = batch.opens.into_iter();
        let mut resolves = batch.resolves.into_iter();
        for step in batch.order {
            match step {
                After::Open => {
                    if let (Some(after), Some(outcome)) = (opens.next(), opened.next()) {
                        self.finish_open(after, outcome).await;
                    }
                }
                After::Resolve => {
                    if let (Some(after), Some(outcome)) = (resolves.next(), resolved.next()) {
                        self.finish_resolve(&after, outcome);
                    }
                }
            }
        }
        for (key, since) in batch.starts.iter().zip(outcome.pending_since) {
            if let (Some(pair), Some(since)) = (self.pairs.get_mut(key), since) {
                pair.state.follow_pending(since);
            }
        }
    }

    /// Looks up the recorded pending starts the batch asks about, in one read, and queues
    /// what follows: another replica's window that a recovery here ends is cleared; a pair
    /// pending here follows the recorded start, or records this reading's time as the start
    /// when another replica ended the window.
    async fn answer_pending_asks(&mut self, batch: &mut Batch) {
        let asks = std::mem::take(&mut batch.asks);
        if asks.is_empty() {
            return;
        }
        let keys: Vec<PairKey> = asks.iter().map(|(key, _)| key.clone()).collect();
        let recorded: HashMap<PairKey, DateTime<Utc>> = match self.store.pending_starts(&keys).await
        {
            Ok(recorded) => recorded
                .into_iter()
                .map(|(rule_id, target_key, since)| ((rule_id, target_key), since))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "could not read the shared pending windows; kept as seen here");
                return;
            }
        };
        for (key, violating_at) in asks {
            match (violating_at, recorded.get(&key)) {
                (None, Some(_)) => batch.clear_pending(key),
                (Some(_), Some(since)) => {
                    if let Some(pair) = self.pairs.get_mut(&key) {
                        pair.state.follow_pending(*since);
                    }
                }
                (Some(at), None) => batch.start_pending(key, at),
                (None, None) => {}
            }
        }
    }

    /// The batch's items through the single-item calls, each its own transaction.
    async fn write_one_by_one(&self, writes: &AlertWrites) -> AlertWritesOutcome {
        let mut outcome = AlertWritesOutcome::default();
        for (id, resolution) in &writes.resolves {
            outcome.resolved.push(
                match self.store.resolve_alert(*id, resolution.clone()).await {
                    Ok(resolved) => Some(resolved),
                    Err(error) => {
                        tracing::warn!(%error, alert_id = id, "could not resolve alert");
                        None
                    }
                },
            );
        }
        if !writes.pending_starts.is_empty() || !writes.pending_clears.is_empty() {
            let pending = AlertWrites {
                pending_starts: writes.pending_starts.clone(),
                pending_clears: writes.pending_clears.clone(),
                ..AlertWrites::default()
            };
            match self.store.write_alerts(&pending).await {
                Ok(written) => outcome.pending_since = written.pending_since,
                Err(error) => {
                    tracing::warn!(%error, "could not share pending windows; kept as seen here");
                }
            }
        }
        for alert in &writes.opens {
            outcome
                .opened
                .push(match self.store.open_alert(alert.clone()).await {
                    Ok(opened) => Some(opened),
                    Err(error) => {
                        tracing::error!(%error, rule_id = alert.rule_id, "could not open alert");
                        None
                    }
                });
        }
        outcome
    }

    /// A committed open: the pair follows the alert (another replica's too, silently).
    async fn finish_open(&mut self, after: AfterOpen, outcome: Option<(Alert, bool)>) {
        let Some((alert, created)) = outcome else {
            tracing::error!(
                rule_id = after.subject.rule_id,
                target = after.key.1,
                "could not open alert: the pair's active alert kept changing"
            );
            return;
        };
        if let Some(pair) = self.pairs.get_mut(&after.key) {
            pair.alert = Some(alert.clone());
            pair.last_notified_at = Some(after.at);
            pair.escalated = false;
        }
        if !created {
            // Another replica opened (and told) this alert: follow it silently.
            return;
        }
        for observer in &self.observers {
            observer.alert_fired(&alert);
        }
        if after.notify {
            let notice = after
                .subject
                .notice(NoticeKind::Fired, alert, after.suppressed_count);
            self.dispatcher.notify(notice);
        } else {
            self.record(
                alert.id,
                AlertEventKind::Suppressed,
                after.at,
                serde_json::json!({"event": "fired", "reason": "cooldown or flapping"}),
            )
            .await;
        }
    }

    /// A committed resolve: told now, or held while the pair holds its resolution.
    fn finish_resolve(&mut self, after: &AfterResolve, outcome: Option<(Alert, bool)>) {
        let Some((alert, true)) = outcome else {
            // Already resolved elsewhere (or by hand), or gone: nothing to tell.
            return;
        };
        for observer in &self.observers {
            observer.alert_resolved(alert.id);
        }
        let notice = after.subject.notice(NoticeKind::Resolved, alert, 0);
        if after.notify {
            self.dispatcher.notify(notice);
        } else if let Some(pair) = self.pairs.get_mut(&after.key)
            && pair.state.held_until().is_some()
        {
            // Told when the hold ends, unless it fires again first.
            pair.held_notice = Some(notice);
        }
    }

    async fn flapping(
        &mut self,
        kind: NoticeKind,
        notify: bool,
        key: &PairKey,
        subject: &Subject,
        now: DateTime<Utc>,
    ) {
        let started = kind == NoticeKind::FlappingStarted;
        let alert = match self.pairs.get(key).and_then(|pair| pair.alert.clone()) {
            Some(alert) => Some(alert),
            // Flapping noticed as the alert resolved: speak of the alert just resolved.
            None => self
                .store
                .list_alerts(&crate::model::AlertFilter {
                    rule_id: Some(key.0),
                    page: Page {
                        page: 1,
                        page_size: 20,
                    },
                    ..crate::model::AlertFilter::default()
                })
                .await
                .ok()
                .and_then(|(alerts, _)| alerts.into_iter().find(|alert| alert.target_key == key.1)),
        };
        let Some(alert) = alert else {
            return;
        };
        if let Err(error) = self.store.set_alert_flapping(alert.id, started).await {
            tracing::warn!(%error, alert_id = alert.id, "could not mark alert flapping");
        }
        self.record(
            alert.id,
            AlertEventKind::Flapping,
            now,
            serde_json::json!({"flapping": started, "notified": notify}),
        )
        .await;
        if notify {
            self.dispatcher.notify(subject.notice(kind, alert, 0));
        }
    }

    async fn record(&self, alert_id: i64, kind: AlertEventKind, at: DateTime<Utc>, detail: Value) {
        let event = NewAlertEvent {
            alert_id,
            kind,
            at,
            actor_id: None,
            detail: Some(detail),
        };
        if let Err(error) = self.store.append_alert_event(event).await {
            log_store_error(&error, alert_id);
        }
    }
}

/// Queues what a windowed pair's evaluation changes in the pending window the replicas share:
/// writes on transitions only (entering the window, leaving it, resolving), and a look-up per
/// batch for readings whose meaning depends on another replica (a recovery of a pair this
/// replica saw no breach of; a breach continuing a window another replica may have ended).
fn share_pending(
    batch: &mut Batch,
    key: &PairKey,
    before: Phase,
    after: Phase,
    assessment: Option<Assessment>,
    now: DateTime<Utc>,
) {
    let violating = assessment == Some(Assessment::Violating);
    match (before, after) {
        (Phase::Ok, Phase::Pending { since }) => batch.start_pending(key.clone(), since),
        (Phase::Pending { .. }, Phase::Ok) | (Phase::Open { .. }, Phase::Ok) => {
            batch.clear_pending(key.clone());
        }
        (Phase::Pending { .. }, Phase::Pending { .. }) if violating => {
            batch.ask_pending(key.clone(), Some(now));
        }
        (Phase::Ok, Phase::Ok) if assessment.is_some() && !violating => {
            batch.ask_pending(key.clone(), None);
        }
        _ => {}
    }
}

/// The alert a firing evaluation opens.
fn new_alert(evaluated: &Evaluated<'_>, now: DateTime<Utc>) -> NewAlert {
    let rule = &evaluated.rule.rule;
    let title = match (&evaluated.service_name, evaluated.service_id) {
        (Some(name), _) => format!("{} - {name}", rule.name),
        (None, Some(service_id)) => format!("{} - service #{service_id}", rule.name),
        (None, None) => format!("{} - {}", rule.name, evaluated.host.host.hostname),
    };
    NewAlert {
        rule_id: evaluated.rule.id,
        target_key: evaluated.target_key.clone(),
        host_id: Some(evaluated.host.host.id),
        service_id: evaluated.service_id,
        database_id: evaluated.database_id,
        severity: rule.severity,
        title,
        message: Some(evaluated.message.clone()),
        metric_value: evaluated.value,
        threshold: evaluated.threshold,
        group_key: Some(format!("rule:{}", evaluated.rule.id)),
        fired_at: now,
    }
}

fn log_store_error(error: &StoreError, alert_id: i64) {
    tracing::warn!(%error, alert_id, "could not append to the alert timeline");
}

/// Whether the rule's selector takes this target.
fn applies(rule: &LoadedRule, host: &HostFacts, service_id: Option<i64>) -> bool {
    rule.rule.selector.matches(&TargetFacts {
        host_id: host.host.id,
        service_id,
        group: host.host.group_name.as_deref(),
        tags: &host.tags,
    })
}

/// A host's tags as strings: `{"env":"prod"}` objects, or `["a","b"]` lists as `a → ""`.
pub(crate) fn tags_of(tags: Option<&Value>) -> BTreeMap<String, String> {
    match tags {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (key.clone(), value)
            })
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|tag| (tag.to_owned(), String::new()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The value of a host metric in a sample (`load_per_cpu` and `host_alive` are derived).
fn metric_value(values: &MetricValues, metric: &str, cpu_cores: Option<i64>) -> Option<f64> {
    let value = match metric {
        "cpu_percent" => values.cpu_percent,
        "cpu_load_1" => values.cpu_load_1,
        "cpu_load_5" => values.cpu_load_5,
        "cpu_load_15" => values.cpu_load_15,
        "memory_used_mb" => values.memory_used_mb,
        "memory_percent" => values.memory_percent,
        "disk_used_mb" => values.disk_used_mb,
        "disk_total_mb" => values.disk_total_mb,
        "disk_percent" => values.disk_percent,
        "net_bytes_sent" => values.net_bytes_sent,
        "net_bytes_recv" => values.net_bytes_recv,
        "net_send_rate_kb" => values.net_send_rate_kb,
        "net_recv_rate_kb" => values.net_recv_rate_kb,
        "net_packet_loss_rate" => values.net_packet_loss_rate,
        "load_per_cpu" => {
            let cores = cpu_cores.filter(|cores| *cores > 0)?;
            values.cpu_load_1.map(|load| load / cores as f64)
        }
        // A host that just reported is alive; offline is judged by the sweep.
        "host_alive" => Some(1.0),
        _ => None,
    };
    value.filter(|value| value.is_finite())
}

/// The alert message: `"{metric} = {value} {operator} {threshold}"` (§3).
fn describe(metric: &str, value: f64, condition: &Condition) -> String {
    match condition {
        Condition::Threshold(threshold) => format!(
            "{metric} = {value} {} {}",
            threshold.operator.as_str(),
            threshold.trigger
        ),
        Condition::Baseline { .. } => format!("{metric} = {value} outside its usual range"),
        Condition::Forecast { limit, within, .. } => format!(
            "{metric} = {value}, trend reaches {limit} within {} h",
            within.num_hours()
        ),
    }
}

/// A window length as people write it: `5 min`, `1 h`.
fn human(span: Duration) -> String {
    if span.num_minutes() % 60 == 0 {
        format!("{} h", span.num_hours())
    } else {
        format!("{} min", span.num_minutes())
    }
}
