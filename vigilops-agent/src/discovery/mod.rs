//! Host service discovery (protocol §7): listening TCP sockets from `/proc/net/tcp{,6}`, mapped to
//! their processes through `/proc/<pid>/fd` socket links and `/proc/<pid>/comm` (never `ss` or
//! `docker`), filtered by the skip rules and named `"<process> (:<port>)"`.
//!
//! Also records ESTABLISHED connections from one discovered service's process to another
//! discovered service's port on this host (dependency edges); [`dependencies`] returns the
//! latest set. They are not sent to the server yet.

pub mod procnet;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use procnet::{SocketEntry, TcpState};
use tokio::sync::watch;
use vigilops_core::client::ClientError;
use vigilops_core::protocol::agent::{
    CheckStatus, ServiceCheckReport, ServiceDependenciesReport, ServiceDependencyEdge,
    ServiceRegisterRequest,
};

use crate::config::DiscoveryConfig;
use crate::reporter::{AgentHandle, wait_stopped};
use crate::spool::{RecordKind, ServiceRef};

/// System daemons never registered (§7).
pub const SKIPPED_PROCESSES: &[&str] = &[
    "sshd",
    "systemd",
    "systemd-resolve",
    "chronyd",
    "dbus-daemon",
    "polkitd",
    "agetty",
    "containerd",
    "dockerd",
    "docker-proxy",
    "rpcbind",
    "nscd",
    "cupsd",
];

/// Web servers and app runtimes, checked over http (§7).
pub const HTTP_PROCESSES: &[&str] = &[
    "nginx", "httpd", "apache2", "caddy", "traefik", "node", "python", "python3", "java",
    "gunicorn", "uvicorn", "php-fpm",
];

/// Ports checked over http (§7), besides 8000–9999.
pub const HTTP_PORTS: &[u16] = &[
    80, 443, 3000, 3001, 5000, 8000, 8001, 8080, 8093, 8123, 8443, 8848, 9090, 13000, 15672, 18000,
    18123, 48080, 48848,
];

/// Why discovery could not read the socket tables.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// `/proc/net/tcp` (or its IPv6 twin) is unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// How a discovered service is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckKind {
    /// GET `http://localhost:<port>`.
    Http,
    /// Connect to `localhost:<port>`.
    Tcp,
}

impl CheckKind {
    /// The `type` sent to `services/register`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Tcp => "tcp",
        }
    }
}

/// One service found listening on this host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiscoveredService {
    /// `"<process> (:<port>)"`.
    pub name: String,
    /// The process name (`/proc/<pid>/comm`).
    pub process: String,
    /// The listening port.
    pub port: u16,
    /// http or tcp.
    pub check: CheckKind,
    /// `http://localhost:<port>` or `localhost:<port>`.
    pub target: String,
    /// Processes holding the listening sockets.
    pub pids: BTreeSet<u32>,
}

/// A connection from one discovered service to another on this host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ServiceDependency {
    /// The client service's name.
    pub from: String,
    /// The server service's name.
    pub to: String,
    /// How many ESTABLISHED connections were seen.
    pub connections: u32,
}

/// One listening socket with its owning process, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The socket.
    pub socket: SocketEntry,
    /// The owning process id and name.
    pub process: Option<(u32, String)>,
}

/// The http-or-tcp rule of §7.
pub fn check_kind(process: &str, port: u16) -> CheckKind {
    if HTTP_PROCESSES.contains(&process)
        || HTTP_PORTS.contains(&port)
        || (8000..=9999).contains(&port)
    {
        CheckKind::Http
    } else {
        CheckKind::Tcp
    }
}

fn is_loopback(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Applies the skip rules and naming of §7 to the listening sockets: one service per port (IPv6
/// duplicates of an IPv4 listener collapse into it), none for port 22, for ports bound only to
/// loopback, for system daemons, or for sockets whose process is unknown (another user's process
/// when the agent is not root).
pub fn services_from_listeners(listeners: &[Listener]) -> Vec<DiscoveredService> {
    let mut by_port: BTreeMap<u16, Vec<&Listener>> = BTreeMap::new();
    for listener in listeners {
        if listener.socket.state == TcpState::Listen {
            by_port
                .entry(listener.socket.local.port())
                .or_default()
                .push(listener);
        }
    }
    let mut services = Vec::new();
    for (port, sockets) in by_port {
        if port == 22
            || sockets
                .iter()
                .all(|listener| is_loopback(listener.socket.local.ip()))
        {
            continue;
        }
        // Prefer the IPv4 socket's process, as the original listed IPv4 first.
        let mut ordered = sockets.clone();
        ordered.sort_by_key(|listener| listener.socket.local.is_ipv6());
        let Some((_, process)) = ordered.iter().find_map(|listener| listener.process.clone())
        else {
            continue;
        };
        if SKIPPED_PROCESSES.contains(&process.as_str()) {
            continue;
        }
        let check = check_kind(&process, port);
        let target = match check {
            CheckKind::Http => format!("http://localhost:{port}"),
            CheckKind::Tcp => format!("localhost:{port}"),
        };
        let pids = sockets
            .iter()
            .filter_map(|listener| listener.process.as_ref().map(|(pid, _)| *pid))
            .collect();
        services.push(DiscoveredService {
            name: format!("{process} (:{port})"),
            process,
            port,
            check,
            target,
            pids,
        });
    }
    services
}

/// Dependency edges: an ESTABLISHED socket owned by a process of service A whose remote end is
/// a port of service B at an address of this host (loopback or any local listening/connected
/// address seen in the tables).
pub fn dependencies_between(
    services: &[DiscoveredService],
    sockets: &[SocketEntry],
    owners: &HashMap<u64, u32>,
) -> Vec<ServiceDependency> {
    let local_addresses: HashSet<IpAddr> = sockets.iter().map(|socket| socket.local.ip()).collect();
    let by_pid: HashMap<u32, &DiscoveredService> = services
        .iter()
        .flat_map(|service| service.pids.iter().map(move |pid| (*pid, service)))
        .collect();
    let by_port: HashMap<u16, &DiscoveredService> = services
        .iter()
        .map(|service| (service.port, service))
        .collect();
    let mut edges: BTreeMap<(String, String), u32> = BTreeMap::new();
    for socket in sockets {
        if socket.state != TcpState::Established {
            continue;
        }
        let remote = socket.remote.ip();
        if !(is_loopback(remote) || local_addresses.contains(&remote)) {
            continue;
        }
        let Some(client) = owners.get(&socket.inode).and_then(|pid| by_pid.get(pid)) else {
            continue;
        };
        let Some(server) = by_port.get(&socket.remote.port()) else {
            continue;
        };
        if client.name != server.name {
            *edges
                .entry((client.name.clone(), server.name.clone()))
                .or_default() += 1;
        }
    }
    edges
        .into_iter()
        .map(|((from, to), connections)| ServiceDependency {
            from,
            to,
            connections,
        })
        .collect()
}

/// One discovery pass over the real `/proc`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovery {
    /// The services, sorted by port.
    pub services: Vec<DiscoveredService>,
    /// The dependency edges between them.
    pub dependencies: Vec<ServiceDependency>,
}

/// Reads the socket tables and process links under `proc_root` (normally `/proc`). Blocking.
pub fn discover(proc_root: &Path) -> Result<Discovery, DiscoveryError> {
    let mut sockets = Vec::new();
    let mut read_any = false;
    let mut first_error = None;
    for (file, ipv6) in [("net/tcp", false), ("net/tcp6", true)] {
        let path = proc_root.join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                read_any = true;
                sockets.extend(procnet::parse_tcp_table(&text, ipv6));
            }
            Err(source) => {
                first_error.get_or_insert(DiscoveryError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
    }
    if !read_any && let Some(error) = first_error {
        return Err(error);
    }
    let wanted: HashSet<u64> = sockets.iter().map(|socket| socket.inode).collect();
    let owners = procnet::socket_owners(proc_root, &wanted);
    let mut names: HashMap<u32, Option<String>> = HashMap::new();
    let listeners: Vec<Listener> = sockets
        .iter()
        .filter(|socket| socket.state == TcpState::Listen)
        .map(|socket| Listener {
            socket: socket.clone(),
            process: owners.get(&socket.inode).and_then(|pid| {
                names
                    .entry(*pid)
                    .or_insert_with(|| procnet::process_name(proc_root, *pid))
                    .clone()
                    .map(|name| (*pid, name))
            }),
        })
        .collect();
    let services = services_from_listeners(&listeners);
    let dependencies = dependencies_between(&services, &sockets, &owners);
    Ok(Discovery {
        services,
        dependencies,
    })
}

static DEPENDENCIES: Mutex<Vec<ServiceDependency>> = Mutex::new(Vec::new());

/// Replaces the recorded dependency edges (called after each discovery pass).
pub fn record_dependencies(edges: Vec<ServiceDependency>) {
    *DEPENDENCIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = edges;
}

/// The dependency edges seen by the latest discovery pass (empty before the first).
pub fn dependencies() -> Vec<ServiceDependency> {
    DEPENDENCIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// The error of the synthetic `down` report for a service that is gone (as 0.2.x sends it).
pub const VANISHED_ERROR: &str = "Service no longer detected by auto-discovery";

/// Starts the discovery loop when host discovery is on (Docker discovery is not built yet).
pub fn spawn_loop(
    handle: &AgentHandle,
    config: &DiscoveryConfig,
    stop: &watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if config.docker {
        tracing::debug!(
            "docker discovery is not supported yet; only host listeners are discovered"
        );
    }
    if !config.host_services {
        return None;
    }
    Some(tokio::spawn(discovery_loop(
        handle.clone(),
        config.clone(),
        stop.clone(),
    )))
}

/// Discovers every `rediscover_interval` (the first at once): registers new services, reports
/// vanished ones down, and records the dependency edges.
async fn discovery_loop(
    handle: AgentHandle,
    config: DiscoveryConfig,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(config.rediscover_interval.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // name → (service id, registration body), for the host id they were registered under.
    let mut registered: BTreeMap<String, (i64, ServiceRegisterRequest)> = BTreeMap::new();
    let mut registered_for: Option<i64> = None;
    // The edges last spooled, and the host id they were spooled for.
    let mut sent_edges: Option<(i64, Vec<ServiceDependency>)> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = wait_stopped(&mut stop) => return,
        }
        let Some(host_id) = handle.host_id(&mut stop).await else {
            return;
        };
        if registered_for != Some(host_id) {
            // A new host id (re-registration): every service is registered again under it.
            registered.clear();
            registered_for = Some(host_id);
        }
        let found = match tokio::task::spawn_blocking(|| discover(Path::new("/proc"))).await {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => {
                tracing::warn!(%error, "discovery failed; retrying next interval");
                continue;
            }
            Err(error) => {
                tracing::error!(%error, "discovery panicked; retrying next interval");
                continue;
            }
        };
        record_dependencies(found.dependencies.clone());
        let current: HashSet<&str> = found
            .services
            .iter()
            .map(|service| service.name.as_str())
            .collect();
        let vanished: Vec<String> = registered
            .keys()
            .filter(|name| !current.contains(name.as_str()))
            .cloned()
            .collect();
        for name in vanished {
            let Some((service_id, request)) = registered.remove(&name) else {
                continue;
            };
            let timestamp = handle.clock().now();
            let report = ServiceCheckReport {
                service_id,
                status: CheckStatus::Down,
                response_time_ms: Some(0.0),
                status_code: None,
                error: Some(VANISHED_ERROR.to_owned()),
                checked_at: Some(timestamp),
            };
            match serde_json::to_value(&report) {
                Ok(body) => {
                    tracing::info!(service = %name, service_id, "discovered service vanished; reported down");
                    let service = ServiceRef {
                        name: name.clone(),
                        host_id,
                        register: request,
                    };
                    handle.spool_service_check(timestamp, body, service);
                }
                Err(error) => {
                    tracing::error!(%error, service = %name, "failed to encode a down report")
                }
            }
        }
        for service in &found.services {
            if registered.contains_key(&service.name) {
                continue;
            }
            let request = ServiceRegisterRequest {
                name: Some(service.name.clone()),
                target: Some(service.target.clone()),
                check_type: Some(service.check.as_str().to_owned()),
                host_id: Some(host_id),
                check_interval: Some(i64::try_from(config.interval.as_secs()).unwrap_or(30)),
                timeout: Some(10),
            };
            let result = tokio::select! {
                result = handle.client().register_service(&request) => result,
                () = wait_stopped(&mut stop) => return,
            };
            match result {
                Ok(reply) => {
                    tracing::info!(service = %service.name, target = %service.target, check = service.check.as_str(), service_id = reply.service_id, created = reply.created, "discovered service registered");
                    registered.insert(service.name.clone(), (reply.service_id, request));
                }
                Err(ClientError::Api { status: 403, .. }) => {
                    if handle.reregister(host_id, &mut stop).await.is_none() {
                        return;
                    }
                    // Registered again next round, under the new host id.
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, service = %service.name, "service registration failed; retrying next interval");
                }
            }
        }
        // Sent after the registrations above, so the server knows every name an edge uses.
        let edges = registered_edges(&found.dependencies, &registered);
        if sent_edges.as_ref() != Some(&(host_id, edges.clone())) {
            let timestamp = handle.clock().now();
            match serde_json::to_value(dependencies_report(&edges, timestamp)) {
                Ok(body) => {
                    tracing::debug!(
                        edges = edges.len(),
                        "service dependencies changed; reporting them"
                    );
                    handle.spool(RecordKind::ServiceDependencies, timestamp, body);
                    sent_edges = Some((host_id, edges));
                }
                Err(error) => {
                    tracing::error!(%error, "failed to encode the service dependencies")
                }
            }
        }
    }
}

/// The edges whose both services are registered (the server skips names it does not know).
pub fn registered_edges<T>(
    edges: &[ServiceDependency],
    registered: &BTreeMap<String, T>,
) -> Vec<ServiceDependency> {
    edges
        .iter()
        .filter(|edge| registered.contains_key(&edge.from) && registered.contains_key(&edge.to))
        .cloned()
        .collect()
}

/// The body of the extension `POST /api/v1/agent/service-dependencies` (host id filled in when
/// it is sent).
pub fn dependencies_report(
    edges: &[ServiceDependency],
    observed_at: chrono::DateTime<chrono::Utc>,
) -> ServiceDependenciesReport {
    ServiceDependenciesReport {
        host_id: 0,
        observed_at: Some(observed_at),
        dependencies: edges
            .iter()
            .map(|edge| ServiceDependencyEdge {
                from: edge.from.clone(),
                to: edge.to.clone(),
                connections: i64::from(edge.connections),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn socket(local: &str, remote: &str, state: TcpState, inode: u64) -> SocketEntry {
        SocketEntry {
            local: local.parse::<SocketAddr>().unwrap(),
            remote: remote.parse::<SocketAddr>().unwrap(),
            state,
            inode,
        }
    }

    fn listener(local: &str, inode: u64, process: Option<(u32, &str)>) -> Listener {
        Listener {
            socket: socket(local, "0.0.0.0:0", TcpState::Listen, inode),
            process: process.map(|(pid, name)| (pid, name.to_owned())),
        }
    }

    #[test]
    fn naming_and_check_kind_follow_the_protocol() {
        let services = services_from_listeners(&[
            listener("0.0.0.0:5432", 1, Some((10, "postgres"))),
            listener("[::]:5432", 2, Some((10, "postgres"))),
            listener("0.0.0.0:80", 3, Some((20, "nginx"))),
            listener("0.0.0.0:8500", 4, Some((30, "consul"))),
            listener("0.0.0.0:6000", 5, Some((40, "node"))),
        ]);
        let summary: Vec<_> = services
            .iter()
            .map(|service| {
                (
                    service.name.as_str(),
                    service.check,
                    service.target.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("nginx (:80)", CheckKind::Http, "http://localhost:80"),
                ("postgres (:5432)", CheckKind::Tcp, "localhost:5432"),
                ("node (:6000)", CheckKind::Http, "http://localhost:6000"),
                ("consul (:8500)", CheckKind::Http, "http://localhost:8500"),
            ]
        );
    }

    #[test]
    fn skip_rules() {
        let services = services_from_listeners(&[
            listener("0.0.0.0:22", 1, Some((1, "sshd"))),
            listener("0.0.0.0:2222", 2, Some((1, "sshd"))),
            listener("127.0.0.1:6379", 3, Some((2, "redis-server"))),
            listener("[::1]:6379", 4, Some((2, "redis-server"))),
            listener("0.0.0.0:111", 5, Some((3, "rpcbind"))),
            listener("0.0.0.0:9000", 6, None),
            listener("[::]:3306", 7, Some((4, "mariadbd"))),
            listener("0.0.0.0:7000", 8, Some((5, "docker-proxy"))),
        ]);
        let names: Vec<_> = services
            .iter()
            .map(|service| service.name.as_str())
            .collect();
        assert_eq!(names, ["mariadbd (:3306)"]);
    }

    #[test]
    fn established_connections_become_edges() {
        let services = services_from_listeners(&[
            listener("0.0.0.0:8000", 1, Some((100, "python3"))),
            listener("0.0.0.0:5432", 2, Some((200, "postgres"))),
        ]);
        let sockets = vec![
            socket("0.0.0.0:8000", "0.0.0.0:0", TcpState::Listen, 1),
            socket("0.0.0.0:5432", "0.0.0.0:0", TcpState::Listen, 2),
            // python3 → postgres, twice; the server side of each too.
            socket(
                "127.0.0.1:41000",
                "127.0.0.1:5432",
                TcpState::Established,
                10,
            ),
            socket(
                "127.0.0.1:41001",
                "127.0.0.1:5432",
                TcpState::Established,
                11,
            ),
            socket(
                "127.0.0.1:5432",
                "127.0.0.1:41000",
                TcpState::Established,
                12,
            ),
            // python3 → a remote postgres: not on this host.
            socket("10.0.0.5:41002", "10.0.0.9:5432", TcpState::Established, 13),
            // An unknown process → postgres.
            socket(
                "127.0.0.1:41003",
                "127.0.0.1:5432",
                TcpState::Established,
                14,
            ),
        ];
        let owners = HashMap::from([
            (1, 100),
            (2, 200),
            (10, 100),
            (11, 100),
            (12, 200),
            (13, 100),
        ]);
        assert_eq!(
            dependencies_between(&services, &sockets, &owners),
            [ServiceDependency {
                from: "python3 (:8000)".into(),
                to: "postgres (:5432)".into(),
                connections: 2,
            }]
        );
    }

    #[test]
    fn only_edges_between_registered_services_are_reported() {
        let edge = |from: &str, to: &str| ServiceDependency {
            from: from.into(),
            to: to.into(),
            connections: 2,
        };
        let registered: BTreeMap<String, i64> = [
            ("api (:8000)".to_owned(), 1),
            ("postgres (:5432)".to_owned(), 2),
        ]
        .into();
        let edges = [
            edge("api (:8000)", "postgres (:5432)"),
            edge("api (:8000)", "redis (:6379)"),
        ];
        let kept = registered_edges(&edges, &registered);
        assert_eq!(kept, [edge("api (:8000)", "postgres (:5432)")]);
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let body = serde_json::to_value(dependencies_report(&kept, at)).unwrap_or_default();
        assert_eq!(
            body["dependencies"],
            serde_json::json!([{"from": "api (:8000)", "to": "postgres (:5432)", "connections": 2}])
        );
        assert_eq!(body["observed_at"], "2027-01-15T08:00:00Z");
    }

    #[test]
    fn dependencies_are_recorded_and_exposed() {
        let edge = ServiceDependency {
            from: "a (:1)".into(),
            to: "b (:2)".into(),
            connections: 1,
        };
        record_dependencies(vec![edge.clone()]);
        assert!(dependencies().contains(&edge));
    }
}
