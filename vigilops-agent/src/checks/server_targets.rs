//! Checks of the services registered on the server for this host (by an operator, or by this
//! agent's discovery), from the extension `GET /api/v1/agent/service-targets?host_id=N`: fetched
//! at start and every [`POLL_INTERVAL`], merged with the configured services, and each distinct
//! target checked once on its interval, its results spooled under the server's service id(s).
//!
//! Merging: a server service with the name of a configured service *is* that service (the agent
//! registered it), and one with the type and target of a configured service is already checked
//! by it, so neither gets a second check; several server services with one type and target share
//! one check whose result goes to each id. An original server answers 404: the agent then checks
//! its configured services only, and says so once at debug level.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigilops_core::client::ClientError;
use vigilops_core::protocol::agent::ServiceTarget;

use super::{Checker, SpooledCheck};
use crate::config::{ServiceCheckConfig, resolve_target};
use crate::reporter::{AgentHandle, wait_stopped};
use crate::spool::RecordKind;

/// How often the list is fetched again.
pub const POLL_INTERVAL: Duration = Duration::from_secs(60);

/// One check run for the server: what to check, and the service ids its results go to.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerCheck {
    /// The check, named after the first server service with this target.
    pub config: ServiceCheckConfig,
    /// The server's service ids that share the target, ascending.
    pub service_ids: Vec<i64>,
}

/// The identity of a check: its type and its target as written.
fn check_key(check_type: &str, target: &str) -> (String, String) {
    (check_type.trim().to_owned(), target.trim().to_owned())
}

/// The checks to run for the server's `items` (pure): inactive services and those a configured
/// service already checks (same name, or same type and target) are left out, and each other type
/// and target is checked once, for every id that has it.
pub fn plan(items: &[ServiceTarget], configured: &[ServiceCheckConfig]) -> Vec<ServerCheck> {
    let configured_names: std::collections::HashSet<&str> = configured
        .iter()
        .map(|service| service.name.as_str())
        .collect();
    let configured_targets: std::collections::HashSet<(String, String)> = configured
        .iter()
        .map(|service| check_key(&service.check_type, &service.target()))
        .collect();
    let mut checks: BTreeMap<(String, String), ServerCheck> = BTreeMap::new();
    let mut items: Vec<&ServiceTarget> = items.iter().filter(|item| item.is_active).collect();
    items.sort_by_key(|item| item.id);
    for item in items {
        let key = check_key(&item.check_type, &item.target);
        if configured_names.contains(item.name.as_str()) || configured_targets.contains(&key) {
            continue;
        }
        checks
            .entry(key)
            .and_modify(|check| check.service_ids.push(item.id))
            .or_insert_with(|| ServerCheck {
                config: check_config(item),
                service_ids: vec![item.id],
            });
    }
    checks.into_values().collect()
}

/// The check of a server service, as if it had been configured.
fn check_config(item: &ServiceTarget) -> ServiceCheckConfig {
    let seconds = |value: i64| Duration::from_secs(u64::try_from(value.max(1)).unwrap_or(1));
    let resolved = resolve_target(&item.target);
    ServiceCheckConfig {
        name: item.name.clone(),
        check_type: item.check_type.trim().to_owned(),
        url: resolved.url,
        host: resolved.host,
        port: resolved.port,
        interval: seconds(item.check_interval),
        timeout: seconds(item.timeout),
        expected_status: None,
        keyword: None,
    }
}

/// Starts the loop that keeps the server's services checked; it ends when `stop` is set.
pub fn spawn_loop(
    handle: &AgentHandle,
    configured: &[ServiceCheckConfig],
    poll_interval: Duration,
    stop: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(targets_loop(
        handle.clone(),
        configured.to_vec(),
        poll_interval,
        stop.clone(),
    ))
}

/// A running check: its config, the ids it reports under, and its task.
struct Running {
    config: ServiceCheckConfig,
    ids: watch::Sender<Vec<i64>>,
    task: JoinHandle<()>,
}

async fn targets_loop(
    handle: AgentHandle,
    configured: Vec<ServiceCheckConfig>,
    poll_interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(poll_interval.max(Duration::from_millis(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut running: HashMap<(String, String), Running> = HashMap::new();
    let mut said_unsupported = false;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = wait_stopped(&mut stop) => break,
        }
        let Some(host_id) = handle.host_id(&mut stop).await else {
            break;
        };
        let reply = tokio::select! {
            reply = handle.client().service_targets(host_id) => reply,
            () = wait_stopped(&mut stop) => break,
        };
        let items = match reply {
            Ok(reply) => reply.items,
            Err(ClientError::Api {
                status: 404 | 405, ..
            }) => {
                if !said_unsupported {
                    tracing::debug!(
                        "server has no service-targets (an original server); checking configured services only"
                    );
                    said_unsupported = true;
                }
                Vec::new()
            }
            Err(ClientError::Api { status: 403, .. }) => {
                if handle.reregister(host_id, &mut stop).await.is_none() {
                    break;
                }
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "failed to fetch the server's service targets; keeping the current checks");
                continue;
            }
        };
        reconcile(&handle, &mut running, plan(&items, &configured), &stop);
    }
    // Every check loop ends on the same stop.
    for (_, check) in running.drain() {
        let _ = check.task.await;
    }
}

/// Starts, updates and stops the running checks to match `planned`.
fn reconcile(
    handle: &AgentHandle,
    running: &mut HashMap<(String, String), Running>,
    planned: Vec<ServerCheck>,
    stop: &watch::Receiver<bool>,
) {
    let mut wanted: HashMap<(String, String), ServerCheck> = planned
        .into_iter()
        .map(|check| {
            (
                check_key(&check.config.check_type, &check.config.target()),
                check,
            )
        })
        .collect();
    running.retain(|key, check| {
        let keep = wanted
            .get(key)
            .is_some_and(|planned| planned.config == check.config);
        if !keep {
            tracing::info!(service = %check.config.name, target = %check.config.target(), "server service check stopped");
            check.task.abort();
        }
        keep
    });
    for (key, check) in wanted.drain() {
        if let Some(current) = running.get(&key) {
            current.ids.send_if_modified(|ids| {
                let changed = *ids != check.service_ids;
                if changed {
                    ids.clone_from(&check.service_ids);
                }
                changed
            });
            continue;
        }
        let checker = match Checker::new(check.config.clone()) {
            Ok(checker) => checker,
            Err(error) => {
                tracing::warn!(%error, service = %check.config.name, "server service check skipped");
                continue;
            }
        };
        tracing::info!(service = %check.config.name, service_ids = ?check.service_ids, check_type = %check.config.check_type, target = %check.config.target(), interval = ?check.config.interval, "server service check enabled");
        let (ids, ids_receiver) = watch::channel(check.service_ids);
        let task = tokio::spawn(check_loop(
            handle.clone(),
            checker,
            ids_receiver,
            stop.clone(),
        ));
        running.insert(
            key,
            Running {
                config: check.config,
                ids,
                task,
            },
        );
    }
}

/// Checks one target every interval (the first at once) and spools each result under every id
/// that has the target. The ids are the server's: a check of a service the server no longer has
/// is refused there (403) and dropped.
async fn check_loop(
    handle: AgentHandle,
    checker: Checker,
    ids: watch::Receiver<Vec<i64>>,
    mut stop: watch::Receiver<bool>,
) {
    let name = checker.config.name.clone();
    let mut ticker = tokio::time::interval(checker.config.interval.max(Duration::from_millis(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = wait_stopped(&mut stop) => return,
        }
        let checked_at = handle.clock().now();
        let outcome = tokio::select! {
            outcome = checker.check(handle.clock()) => outcome,
            () = wait_stopped(&mut stop) => return,
        };
        tracing::debug!(service = %name, status = outcome.status.as_str(), "server service checked");
        let spooled = match SpooledCheck::new(&name, &outcome, checked_at) {
            Ok(spooled) => spooled,
            Err(error) => {
                tracing::error!(%error, service = %name, "failed to encode a check result; lost");
                continue;
            }
        };
        let service_ids = ids.borrow().clone();
        for service_id in service_ids {
            handle.spool(
                RecordKind::ServiceCheck,
                checked_at,
                spooled.body_for(service_id),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, name: &str, check_type: &str, target: &str) -> ServiceTarget {
        ServiceTarget {
            id,
            name: name.to_owned(),
            check_type: check_type.to_owned(),
            target: target.to_owned(),
            check_interval: 30,
            timeout: 5,
            is_active: true,
        }
    }

    fn configured(name: &str, check_type: &str, target: &str) -> ServiceCheckConfig {
        let resolved = resolve_target(target);
        ServiceCheckConfig {
            name: name.to_owned(),
            check_type: check_type.to_owned(),
            url: resolved.url,
            host: resolved.host,
            port: resolved.port,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            expected_status: None,
            keyword: None,
        }
    }

    #[test]
    fn the_plan_checks_each_new_target_once_and_leaves_configured_ones_alone() {
        let items = [
            // The configured service itself, as the agent registered it.
            item(1, "web", "http", "http://localhost:8080/health"),
            // An operator's service on the same target as a configured one.
            item(2, "web (ops)", "http", "http://localhost:8080/health"),
            // Two operator services sharing a target: one check for both ids.
            item(7, "db b", "tcp", "localhost:5432"),
            item(3, "db a", "tcp", " localhost:5432 "),
            // A new target.
            item(4, "api", "http", "http://localhost:9000/"),
            // Inactive: not checked.
            ServiceTarget {
                is_active: false,
                ..item(5, "old", "tcp", "localhost:1")
            },
            // Same target as a configured one, but another type: a check of its own.
            item(6, "web tcp", "tcp", "http://localhost:8080/health"),
        ];
        let plan = plan(
            &items,
            &[configured("web", "http", "http://localhost:8080/health")],
        );
        let summary: Vec<(&str, &str, String, Vec<i64>)> = plan
            .iter()
            .map(|check| {
                (
                    check.config.name.as_str(),
                    check.config.check_type.as_str(),
                    check.config.target(),
                    check.service_ids.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("api", "http", "http://localhost:9000/".to_owned(), vec![4]),
                (
                    "web tcp",
                    "tcp",
                    "http://localhost:8080/health".to_owned(),
                    vec![6]
                ),
                ("db a", "tcp", "localhost:5432".to_owned(), vec![3, 7]),
            ]
        );
        let db = &plan[2].config;
        assert_eq!((db.host.as_str(), db.port), ("localhost", 5432));
        assert_eq!(
            (db.interval, db.timeout),
            (Duration::from_secs(30), Duration::from_secs(5))
        );
        assert_eq!(super::plan(&[], &[]), []);
    }
}
