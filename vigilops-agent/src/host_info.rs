//! What the agent tells the server about its host when it registers: identity, platform, size and
//! local addresses. Addresses come from the local interfaces only; no external site is ever asked
//! for a public address (defect 6 of the original agent).

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Map, Value, json};
use vigilops_core::protocol::agent::RegisterRequest;

use crate::config::HostConfig;

/// Facts about the host, gathered once at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFacts {
    /// The system hostname.
    pub hostname: String,
    /// `Linux`, `Darwin`, `Windows`, … as Python's `platform.system()` names it.
    pub os: String,
    /// Kernel release, e.g. `6.8.0-45-generic`.
    pub os_version: String,
    /// Machine architecture, e.g. `x86_64`.
    pub arch: String,
    /// Logical CPUs.
    pub cpu_cores: Option<i64>,
    /// Physical memory in MiB.
    pub memory_total_mb: Option<i64>,
    /// IPv4 addresses by interface name.
    pub addresses: Vec<(String, Ipv4Addr)>,
}

/// How an address is reported in `network_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// 127.0.0.0/8.
    Loopback,
    /// RFC 1918, link-local and carrier-grade NAT ranges.
    Private,
    /// Anything else.
    Public,
}

impl AddressKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::Public => "public",
        }
    }
}

/// Classifies an IPv4 address.
pub fn classify(address: Ipv4Addr) -> AddressKind {
    let [first, second, ..] = address.octets();
    let carrier_grade_nat = first == 100 && (64..128).contains(&second);
    if address.is_loopback() {
        AddressKind::Loopback
    } else if address.is_private()
        || address.is_link_local()
        || carrier_grade_nat
        || address.is_unspecified()
    {
        AddressKind::Private
    } else {
        AddressKind::Public
    }
}

/// Interfaces that exist for containers, VMs or tunnels; their addresses are not the host's own.
fn is_virtual_interface(name: &str) -> bool {
    [
        "docker", "br-", "veth", "virbr", "cni", "flannel", "cali", "vxlan", "tun", "tap", "wg",
        "lo",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

/// The host's addresses ordered as the agent prefers them: physical interfaces first, then by name.
fn ordered(addresses: &[(String, Ipv4Addr)]) -> Vec<(String, Ipv4Addr)> {
    let mut ordered = addresses.to_vec();
    ordered.sort_by(|(a_name, a_ip), (b_name, b_ip)| {
        (is_virtual_interface(a_name), a_name, a_ip).cmp(&(
            is_virtual_interface(b_name),
            b_name,
            b_ip,
        ))
    });
    ordered
}

/// Non-empty text or `None`.
fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Builds the `register` body from the config and the gathered facts.
pub fn register_request(config: &HostConfig, facts: &HostFacts) -> RegisterRequest {
    let addresses = ordered(&facts.addresses);
    let first_of = |kind: AddressKind| {
        addresses
            .iter()
            .find(|(_, ip)| classify(*ip) == kind)
            .map(|(_, ip)| ip.to_string())
    };
    let private_ip = non_empty(&config.private_ip).or_else(|| first_of(AddressKind::Private));
    let public_ip = non_empty(&config.public_ip).or_else(|| first_of(AddressKind::Public));
    let ip_address = non_empty(&config.ip)
        .or_else(|| private_ip.clone())
        .or_else(|| public_ip.clone())
        .unwrap_or_default();

    let mut interfaces = Map::new();
    let (mut all_private, mut all_public) = (Vec::new(), Vec::new());
    for (name, ip) in &addresses {
        let kind = classify(*ip);
        match kind {
            AddressKind::Private => all_private.push(ip.to_string()),
            AddressKind::Public => all_public.push(ip.to_string()),
            AddressKind::Loopback => {}
        }
        interfaces
            .entry(name.clone())
            .or_insert_with(|| json!({"ipv4": ip.to_string(), "type": kind.as_str()}));
    }
    let network_info = json!({
        "private_ip": private_ip,
        "public_ip": public_ip,
        "all_private": all_private,
        "all_public": all_public,
        "interfaces": interfaces,
    });

    let tags: Map<String, Value> = config
        .tags
        .iter()
        .map(|tag| (tag.clone(), Value::Bool(true)))
        .collect();
    RegisterRequest {
        hostname: non_empty(&config.name).unwrap_or_else(|| facts.hostname.clone()),
        ip_address: Some(ip_address),
        os: non_empty(&facts.os),
        os_version: non_empty(&facts.os_version),
        arch: non_empty(&facts.arch),
        cpu_cores: facts.cpu_cores,
        memory_total_mb: facts.memory_total_mb,
        agent_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        tags: Some(tags),
        group_name: None,
        display_name: non_empty(&config.display_name),
        private_ip,
        public_ip,
        network_info: Some(network_info),
    }
}

/// The OS name as the original agents send it (`platform.system()`).
fn os_name() -> String {
    match std::env::consts::OS {
        "linux" => "Linux".to_owned(),
        "macos" => "Darwin".to_owned(),
        "windows" => "Windows".to_owned(),
        "freebsd" => "FreeBSD".to_owned(),
        other => other.to_owned(),
    }
}

/// Gathers the facts of this host. `logical_cpus` and `memory_total_mb` come from the collectors
/// (already read at start). Never fails: what cannot be read is left empty.
pub fn gather(logical_cpus: Option<usize>, memory_total_mb: Option<i64>) -> HostFacts {
    let addresses = match sysinfo::Networks::new_with_refreshed_list() {
        Ok(networks) => networks
            .iter()
            .flat_map(|(name, data)| {
                let name = name.to_string_lossy().into_owned();
                data.ip_networks()
                    .iter()
                    .filter_map(move |network| match network.addr {
                        IpAddr::V4(ip) => Some((name.clone(), ip)),
                        IpAddr::V6(_) => None,
                    })
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "could not list network interfaces");
            Vec::new()
        }
    };
    let cpu_cores = logical_cpus
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .and_then(|count| i64::try_from(count).ok());
    HostFacts {
        hostname: sysinfo::System::host_name().unwrap_or_default(),
        os: os_name(),
        os_version: sysinfo::System::kernel_version().unwrap_or_default(),
        arch: std::env::consts::ARCH.to_owned(),
        cpu_cores,
        memory_total_mb,
        addresses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> HostFacts {
        HostFacts {
            hostname: "web-01".into(),
            os: "Linux".into(),
            os_version: "6.8.0-45-generic".into(),
            arch: "x86_64".into(),
            cpu_cores: Some(4),
            memory_total_mb: Some(7941),
            addresses: vec![
                ("lo".into(), Ipv4Addr::LOCALHOST),
                ("docker0".into(), Ipv4Addr::new(172, 17, 0, 1)),
                ("eth1".into(), Ipv4Addr::new(203, 0, 113, 9)),
                ("eth0".into(), Ipv4Addr::new(10, 0, 0, 5)),
            ],
        }
    }

    #[test]
    fn classification() {
        assert_eq!(classify(Ipv4Addr::LOCALHOST), AddressKind::Loopback);
        assert_eq!(
            classify(Ipv4Addr::new(192, 168, 1, 1)),
            AddressKind::Private
        );
        assert_eq!(classify(Ipv4Addr::new(100, 64, 0, 1)), AddressKind::Private);
        assert_eq!(
            classify(Ipv4Addr::new(169, 254, 0, 1)),
            AddressKind::Private
        );
        assert_eq!(classify(Ipv4Addr::new(8, 8, 8, 8)), AddressKind::Public);
    }

    #[test]
    fn register_body_from_facts() {
        let config = HostConfig {
            tags: vec!["prod".into(), "web".into()],
            ..HostConfig::default()
        };
        let request = register_request(&config, &facts());
        assert_eq!(request.hostname, "web-01");
        // The physical interface wins over the Docker bridge.
        assert_eq!(request.ip_address.as_deref(), Some("10.0.0.5"));
        assert_eq!(request.private_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(request.public_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(request.os.as_deref(), Some("Linux"));
        assert_eq!(request.cpu_cores, Some(4));
        assert_eq!(
            serde_json::to_value(&request.tags).unwrap(),
            json!({"prod": true, "web": true})
        );
        let info = request.network_info.unwrap();
        assert_eq!(info["all_private"], json!(["10.0.0.5", "172.17.0.1"]));
        assert_eq!(info["interfaces"]["lo"]["type"], "loopback");
        assert_eq!(info["interfaces"]["eth1"]["type"], "public");
        assert_eq!(request.display_name, None);
    }

    #[test]
    fn configured_values_win() {
        let config = HostConfig {
            name: "custom".into(),
            ip: "192.0.2.7".into(),
            display_name: "Custom host".into(),
            ..HostConfig::default()
        };
        let request = register_request(&config, &facts());
        assert_eq!(request.hostname, "custom");
        assert_eq!(request.ip_address.as_deref(), Some("192.0.2.7"));
        assert_eq!(request.display_name.as_deref(), Some("Custom host"));
    }

    #[test]
    fn no_addresses_sends_an_empty_ip() {
        let facts = HostFacts {
            addresses: vec![("lo".into(), Ipv4Addr::LOCALHOST)],
            ..facts()
        };
        let request = register_request(&HostConfig::default(), &facts);
        assert_eq!(request.ip_address.as_deref(), Some(""));
        assert_eq!(request.public_ip, None);
    }

    #[test]
    fn gathers_this_host() {
        let facts = gather(None, Some(1));
        assert!(!facts.hostname.is_empty());
        assert!(facts.cpu_cores.unwrap() >= 1);
    }
}
