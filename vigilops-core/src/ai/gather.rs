//! Gathering the evidence around an alert from the store: the metric series of its host and of
//! the hosts it depends on, the checks of the services involved, the error logs in the window
//! (clustered), related alerts, commands run on the host, and similar past incidents.
//!
//! The window is 30 minutes before the alert fired to 30 minutes after (or 5 minutes after it
//! resolved, or now, whichever is first). The first half of the pre-alert part is the baseline
//! that "normal" is judged against.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::cluster::cluster;
use super::correlate::Subject;
use super::evidence::{EvidenceItem, EvidenceRef, log_item, metric_items, number, service_item};
use super::memory::search_terms;
use super::rca::AlertFacts;
use crate::alerting::rule::Severity;
use crate::model::{Aggregate, Alert, LogWindow, MemoryHit, Resolution, ServiceOverview};
use crate::store::{Store, StoreResult};

/// How far before the alert evidence is read.
pub const LOOK_BEHIND: Duration = Duration::minutes(30);
/// How far after the alert evidence is read.
pub const LOOK_AHEAD: Duration = Duration::minutes(30);
/// The part of the pre-alert window that is the baseline.
const BASELINE: Duration = Duration::minutes(15);
/// How many dependency hops are followed upstream.
const MAX_HOPS: usize = 3;
/// Bounds on what is read, so one analysis stays cheap.
const MAX_SAMPLES: i64 = 720;
const MAX_LOGS: i64 = 500;
const MAX_CHECKS: i64 = 360;
const MAX_ALERTS: i64 = 200;
const MAX_MEMORIES: i64 = 5;
/// Log levels that count as evidence.
pub const PROBLEM_LEVELS: [&str; 5] = ["WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"];

/// [`PROBLEM_LEVELS`] as a [`LogWindow`] wants them.
pub fn problem_levels() -> Vec<String> {
    PROBLEM_LEVELS.iter().map(|l| (*l).to_owned()).collect()
}

/// Everything gathered for one alert.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub facts: AlertFacts,
    pub subject: Subject,
    /// Numbered `E1…`, earliest onset first.
    pub items: Vec<EvidenceItem>,
    pub memories: Vec<MemoryHit>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Names of hosts and services, read once per analysis.
struct Names {
    hosts: HashMap<i64, String>,
    services: BTreeMap<i64, ServiceOverview>,
}

impl Names {
    async fn load(store: &dyn Store) -> StoreResult<Self> {
        let services = store
            .services_overview(None)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        Ok(Self {
            hosts: HashMap::new(),
            services,
        })
    }

    async fn host(&mut self, store: &dyn Store, host_id: i64) -> StoreResult<String> {
        if let Some(name) = self.hosts.get(&host_id) {
            return Ok(name.clone());
        }
        let name = store
            .host(host_id)
            .await?
            .map_or_else(|| format!("host-{host_id}"), |h| h.hostname);
        self.hosts.insert(host_id, name.clone());
        Ok(name)
    }

    async fn host_component(&mut self, store: &dyn Store, host_id: i64) -> StoreResult<String> {
        Ok(format!("host:{}", self.host(store, host_id).await?))
    }

    async fn service_component(
        &mut self,
        store: &dyn Store,
        service_id: i64,
    ) -> StoreResult<String> {
        let Some((name, host_id)) = self
            .services
            .get(&service_id)
            .map(|s| (s.name.clone(), s.host_id))
        else {
            return Ok(format!("service:{service_id}"));
        };
        Ok(format!(
            "service:{name}@{}",
            self.host(store, host_id).await?
        ))
    }

    /// The component of a log line's service on a host: the service's when it names one.
    async fn log_component(
        &mut self,
        store: &dyn Store,
        host_id: i64,
        service: Option<&str>,
    ) -> StoreResult<String> {
        match service {
            Some(service) => Ok(format!(
                "service:{service}@{}",
                self.host(store, host_id).await?
            )),
            None => self.host_component(store, host_id).await,
        }
    }
}

/// Gathers the evidence of `alert` as of `now`.
pub async fn gather(store: &dyn Store, alert: &Alert, now: DateTime<Utc>) -> StoreResult<Gathered> {
    let from = alert.fired_at - LOOK_BEHIND;
    let mut to = (alert.fired_at + LOOK_AHEAD).min(now);
    if let Some(resolved) = alert.resolved_at {
        to = to.min(resolved + Duration::minutes(5));
    }
    let to = to.max(alert.fired_at);
    let baseline_until = from + BASELINE;
    let mut names = Names::load(store).await?;

    // The target and what it depends on.
    let target = match (alert.service_id, alert.host_id) {
        (Some(service_id), _) => names.service_component(store, service_id).await?,
        (None, Some(host_id)) => names.host_component(store, host_id).await?,
        (None, None) => format!("alert:{}", alert.id),
    };
    let upstream_ids = match alert.service_id {
        Some(service_id) => upstream_closure(store, service_id).await?,
        None => BTreeSet::new(),
    };
    let mut upstream = BTreeSet::new();
    for id in &upstream_ids {
        upstream.insert(names.service_component(store, *id).await?);
    }

    // Hosts and services involved.
    let mut hosts: BTreeSet<i64> = alert.host_id.into_iter().collect();
    let mut services: BTreeSet<i64> = upstream_ids.clone();
    services.extend(alert.service_id);
    for id in &upstream_ids {
        if let Some(service) = names.services.get(id) {
            hosts.insert(service.host_id);
        }
    }
    if let Some(host_id) = alert.host_id {
        services.extend(
            names
                .services
                .values()
                .filter(|s| s.host_id == host_id && s.is_active)
                .map(|s| s.id),
        );
    }

    let mut items = Vec::new();
    for &host_id in &hosts {
        let component = names.host_component(store, host_id).await?;
        let points = store
            .metric_series(
                host_id,
                from,
                to,
                Resolution::Raw,
                Aggregate::Avg,
                MAX_SAMPLES,
            )
            .await?;
        items.extend(metric_items(
            host_id,
            &component,
            &points,
            (from, to),
            baseline_until,
        ));
    }
    for &service_id in &services {
        let checks = store
            .service_checks_in_window(service_id, from, to, MAX_CHECKS)
            .await?;
        let component = names.service_component(store, service_id).await?;
        items.extend(service_item(service_id, &component, &checks));
    }
    for &host_id in &hosts {
        let window = LogWindow {
            host_id: Some(host_id),
            service: None,
            levels: problem_levels(),
            from,
            to,
            limit: MAX_LOGS,
        };
        let logs = store.logs_in_window(&window).await?;
        for pattern in cluster(&logs) {
            let service = (pattern.services.len() == 1)
                .then(|| pattern.services.iter().next().cloned())
                .flatten();
            let component = names
                .log_component(store, host_id, service.as_deref())
                .await?;
            items.push(log_item(&component, &pattern, baseline_until));
        }
    }
    for other in store.alerts_in_window(from, to, MAX_ALERTS).await? {
        let related = other.id != alert.id
            && (other.host_id.is_some_and(|h| hosts.contains(&h))
                || other.service_id.is_some_and(|s| services.contains(&s)));
        if !related {
            continue;
        }
        let component = match (other.service_id, other.host_id) {
            (Some(service_id), _) => names.service_component(store, service_id).await?,
            (None, Some(host_id)) => names.host_component(store, host_id).await?,
            (None, None) => continue,
        };
        // An alert that was over before this one fired belongs to an earlier incident.
        let active = other.resolved_at.is_none_or(|at| at >= alert.fired_at);
        items.push(EvidenceItem {
            id: String::new(),
            component,
            reference: EvidenceRef::Alert { alert_id: other.id },
            summary: format!(
                "alert {} \"{}\" ({}) fired at {}",
                other.id,
                other.title,
                other.severity.as_str(),
                other.fired_at.format("%H:%M:%S")
            ),
            onset: Some(other.fired_at),
            anomalous: active,
            strength: match (active, other.severity) {
                (false, _) => 0.1,
                (true, Severity::Critical) => 0.9,
                (true, Severity::Warning) => 0.6,
                (true, Severity::Info) => 0.3,
            },
        });
    }
    if let Some(host_id) = alert.host_id {
        let component = names.host_component(store, host_id).await?;
        for command in store.host_commands(host_id, 50).await? {
            if command.created_at < from || command.created_at > to {
                continue;
            }
            // A change made before the alert is a suspect; one made after is a response.
            let before = command.created_at < alert.fired_at;
            items.push(EvidenceItem {
                id: String::new(),
                component: component.clone(),
                reference: EvidenceRef::Command {
                    request_id: command.request_id.to_string(),
                },
                summary: format!(
                    "command `{}` run on {component} at {} ({}{})",
                    command.argv.join(" ").chars().take(120).collect::<String>(),
                    command.created_at.format("%H:%M:%S"),
                    command.status.as_str(),
                    command
                        .exit_code
                        .map(|c| format!(", exit {c}"))
                        .unwrap_or_default()
                ),
                onset: Some(command.created_at),
                anomalous: before,
                strength: if before { 0.5 } else { 0.1 },
            });
        }
    }

    let mut query = alert.title.clone();
    if let Some(message) = &alert.message {
        query.push(' ');
        query.push_str(message);
    }
    query.push(' ');
    query.push_str(&target);
    let memories = store
        .recall(&search_terms(&query), Some(alert.id), MAX_MEMORIES)
        .await?;
    for hit in &memories {
        items.push(EvidenceItem {
            id: String::new(),
            component: target.clone(),
            reference: EvidenceRef::Memory {
                memory_id: hit.memory.id,
            },
            summary: format!("similar past incident: {}", hit.memory.memory.content),
            onset: None,
            anomalous: false,
            strength: 0.0,
        });
    }

    items.sort_by(|a, b| {
        (a.onset.is_none(), a.onset)
            .cmp(&(b.onset.is_none(), b.onset))
            .then(a.component.cmp(&b.component))
            .then(b.strength.total_cmp(&a.strength))
    });
    number(&mut items);

    let facts = AlertFacts {
        id: alert.id,
        title: alert.title.clone(),
        severity: alert.severity.as_str().to_owned(),
        status: alert.status.as_str().to_owned(),
        message: alert.message.clone(),
        metric_value: alert.metric_value,
        threshold: alert.threshold,
        fired_at: alert.fired_at.to_rfc3339(),
        target: target.clone(),
    };
    Ok(Gathered {
        facts,
        subject: Subject {
            fired_at: alert.fired_at,
            target,
            upstream,
        },
        items,
        memories,
        from,
        to,
    })
}

/// The services `service_id` depends on, following up to [`MAX_HOPS`] hops.
async fn upstream_closure(store: &dyn Store, service_id: i64) -> StoreResult<BTreeSet<i64>> {
    let mut seen = BTreeSet::new();
    let mut frontier = vec![service_id];
    for _ in 0..MAX_HOPS {
        let mut next = Vec::new();
        for id in frontier {
            for upstream in store.upstream_services(id).await? {
                if upstream != service_id && seen.insert(upstream) {
                    next.push(upstream);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(seen)
}
