//! The pure part of the service graph (`remediation-and-ai.md` §9): nodes deduplicated by name,
//! their group, and the edges in order of precedence — the stored dependencies, else the
//! connections agents observed, else the original's name heuristics.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{DiscoveredDependency, ServiceDependency, TopologyServiceRow};

/// How an edge was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeOrigin {
    /// A stored dependency (made by hand or applied from AI suggestions).
    Manual,
    /// Connections an agent observed between two services of its host.
    Observed,
    /// Guessed from the services' names.
    Inferred,
}

impl EdgeOrigin {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Observed => "observed",
            Self::Inferred => "inferred",
        }
    }
}

/// One node: the services sharing a name once the `" (:port)"` suffix is stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The id of the first (lowest id) service of the node.
    pub id: i64,
    pub name: String,
    /// The check type of the first service.
    pub check_type: String,
    /// `down` when any service is down, else `up` when any is up, else `unknown`.
    pub status: String,
    pub category: String,
    /// The first service's host.
    pub host: Option<String>,
    pub host_id: Option<i64>,
    /// `database`, `cache`, `mq`, `olap`, `registry`, `web`, `api` or `app`.
    pub group: &'static str,
    /// Every service merged into the node, by id.
    pub service_ids: Vec<i64>,
}

/// One edge between two nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub source: i64,
    pub target: i64,
    /// `calls` or `depends_on`.
    pub edge_type: String,
    pub description: Option<String>,
    pub origin: EdgeOrigin,
    /// The stored dependency's id (manual edges only).
    pub dependency_id: Option<i64>,
}

/// A service name without its `" (:port)"` suffix, trimmed.
pub fn display_name(name: &str) -> &str {
    let trimmed = name.trim();
    if let Some(start) = trimmed.rfind(" (:")
        && trimmed.ends_with(')')
        && trimmed[start + 3..trimmed.len() - 1]
            .chars()
            .all(|c| c.is_ascii_digit())
    {
        return trimmed[..start].trim_end();
    }
    trimmed
}

/// The node group of a name (substrings of the lower-cased name, first match wins).
pub fn node_group(name: &str) -> &'static str {
    const GROUPS: [(&str, &[&str]); 7] = [
        (
            "database",
            &["postgres", "mysql", "mariadb", "mongo", "oracle"],
        ),
        ("cache", &["redis", "memcache"]),
        ("mq", &["rabbitmq", "kafka", "mq"]),
        ("olap", &["clickhouse"]),
        ("registry", &["nacos"]),
        ("web", &["nginx", "frontend", "web"]),
        ("api", &["backend", "api"]),
    ];
    let lower = name.to_lowercase();
    GROUPS
        .iter()
        .find(|(_, words)| words.iter().any(|word| lower.contains(word)))
        .map_or("app", |(group, _)| group)
}

/// The first `-`/`_`-separated word of the lower-cased name.
pub fn name_prefix(name: &str) -> String {
    name.to_lowercase()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Groups services into nodes by display name, in order of each node's first service.
pub fn nodes(services: &[TopologyServiceRow]) -> Vec<Node> {
    let mut sorted: Vec<&TopologyServiceRow> = services.iter().collect();
    sorted.sort_by_key(|service| service.id);
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut nodes: Vec<Node> = Vec::new();
    for service in sorted {
        let name = display_name(&service.name);
        if let Some(&index) = by_name.get(name) {
            let node = &mut nodes[index];
            node.service_ids.push(service.id);
            node.status = merged_status(&node.status, &service.status).to_owned();
            continue;
        }
        by_name.insert(name, nodes.len());
        nodes.push(Node {
            id: service.id,
            name: name.to_owned(),
            check_type: service.check_type.clone(),
            status: merged_status("unknown", &service.status).to_owned(),
            category: service.category.clone(),
            host: service.hostname.clone(),
            host_id: service.host_id,
            group: node_group(name),
            service_ids: vec![service.id],
        });
    }
    nodes
}

/// The status of a node with statuses `current` and `next`: down wins, then up.
fn merged_status<'a>(current: &'a str, next: &'a str) -> &'a str {
    let rank = |status: &str| match status.to_lowercase().as_str() {
        "down" => 2,
        "up" => 1,
        _ => 0,
    };
    match rank(current).max(rank(next)) {
        2 => "down",
        1 => "up",
        _ => "unknown",
    }
}

/// Maps every service id to its node id.
fn node_of(nodes: &[Node]) -> HashMap<i64, i64> {
    nodes
        .iter()
        .flat_map(|node| node.service_ids.iter().map(|&service| (service, node.id)))
        .collect()
}

/// The edges of the graph and how they were obtained: the stored dependencies when there are
/// any, else the observed ones when there are any, else the inferred ones. Edges between
/// services that are not nodes (inactive) and self-loops after merging are left out.
pub fn edges(
    nodes: &[Node],
    stored: &[ServiceDependency],
    observed: &[DiscoveredDependency],
) -> (Vec<Edge>, EdgeOrigin) {
    let node_of = node_of(nodes);
    if !stored.is_empty() {
        let mut seen = BTreeSet::new();
        let edges = stored
            .iter()
            .filter_map(|dependency| {
                let source = *node_of.get(&dependency.source_service_id)?;
                let target = *node_of.get(&dependency.target_service_id)?;
                (source != target && seen.insert((source, target))).then(|| Edge {
                    source,
                    target,
                    edge_type: dependency.dependency_type.clone(),
                    description: dependency.description.clone(),
                    origin: EdgeOrigin::Manual,
                    dependency_id: Some(dependency.id),
                })
            })
            .collect();
        return (edges, EdgeOrigin::Manual);
    }
    if !observed.is_empty() {
        // Connections between the same two nodes (several hosts, several ports) add up.
        let mut connections: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        for dependency in observed {
            let (Some(&source), Some(&target)) = (
                node_of.get(&dependency.source_service_id),
                node_of.get(&dependency.target_service_id),
            ) else {
                continue;
            };
            if source != target {
                *connections.entry((source, target)).or_default() += dependency.connections;
            }
        }
        let edges = connections
            .into_iter()
            .map(|((source, target), count)| Edge {
                source,
                target,
                edge_type: "calls".to_owned(),
                description: Some(format!("observed: {count} connection(s)")),
                origin: EdgeOrigin::Observed,
                dependency_id: None,
            })
            .collect();
        return (edges, EdgeOrigin::Observed);
    }
    (inferred_edges(nodes), EdgeOrigin::Inferred)
}

const INFRASTRUCTURE_WORDS: [&str; 10] = [
    "nginx",
    "httpd",
    "apache",
    "caddy",
    "traefik",
    "haproxy",
    "keepalived",
    "crond",
    "ntpd",
    "envoy",
];
const BUSINESS_WORDS: [&str; 6] = ["backend", "api", "service", "app", "admin", "job"];

/// Whether `word` is a whole word of `lower` (words are runs of letters, digits and `_`).
fn has_word(lower: &str, word: &str) -> bool {
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|part| part == word)
}

/// The original's name heuristics (`remediation-and-ai.md` §9), each edge once.
pub fn inferred_edges(nodes: &[Node]) -> Vec<Edge> {
    let lower: Vec<String> = nodes.iter().map(|node| node.name.to_lowercase()).collect();
    let prefix: Vec<String> = nodes.iter().map(|node| name_prefix(&node.name)).collect();
    let is_api = |i: usize| lower[i].contains("backend") || lower[i].contains("api");
    let is_frontend = |i: usize| lower[i].contains("frontend");
    let is_nacos = |i: usize| lower[i].contains("nacos");
    let is_business = |i: usize| {
        BUSINESS_WORDS.iter().any(|word| lower[i].contains(word))
            && !INFRASTRUCTURE_WORDS
                .iter()
                .any(|word| lower[i].contains(word))
            && !is_frontend(i)
            && !is_nacos(i)
    };
    let mut seen = BTreeSet::new();
    let mut edges = Vec::new();
    let mut add = |from: usize, to: usize, edge_type: &str, description: &str| {
        let (source, target) = (nodes[from].id, nodes[to].id);
        if source != target && seen.insert((source, target)) {
            edges.push(Edge {
                source,
                target,
                edge_type: edge_type.to_owned(),
                description: Some(description.to_owned()),
                origin: EdgeOrigin::Inferred,
                dependency_id: None,
            });
        }
    };
    let indices = 0..nodes.len();
    for from in indices.clone().filter(|&i| is_frontend(i)) {
        for to in indices.clone().filter(|&i| is_api(i) && !is_frontend(i)) {
            if prefix[from] == prefix[to] {
                add(from, to, "calls", "API 调用");
            }
        }
    }
    for from in indices.clone().filter(|&i| is_api(i)) {
        for to in indices
            .clone()
            .filter(|&i| matches!(nodes[i].group, "database" | "cache"))
        {
            if prefix[from] == prefix[to] {
                add(from, to, "depends_on", "数据依赖");
            }
        }
    }
    let nacos = indices.clone().find(|&i| is_nacos(i));
    let queue = indices
        .clone()
        .find(|&i| lower[i].contains("rabbitmq") || has_word(&lower[i], "mq"));
    for from in indices.filter(|&i| is_business(i)) {
        if let Some(to) = nacos {
            add(from, to, "depends_on", "服务注册");
        }
        if let Some(to) = queue {
            add(from, to, "depends_on", "消息队列");
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn service(id: i64, name: &str, status: &str, host: i64) -> TopologyServiceRow {
        TopologyServiceRow {
            id,
            name: name.to_owned(),
            check_type: "tcp".to_owned(),
            status: status.to_owned(),
            category: "business".to_owned(),
            host_id: Some(host),
            hostname: Some(format!("host-{host}")),
        }
    }

    fn graph(names: &[&str]) -> Vec<Node> {
        let services: Vec<_> = names
            .iter()
            .zip(1..)
            .map(|(name, id)| service(id, name, "up", 1))
            .collect();
        nodes(&services)
    }

    /// Edges as `(source name, target name, type, description)`.
    fn named(nodes: &[Node], edges: &[Edge]) -> Vec<(String, String, String, String)> {
        let name = |id: i64| {
            nodes
                .iter()
                .find(|node| node.id == id)
                .map(|node| node.name.clone())
                .unwrap_or_default()
        };
        edges
            .iter()
            .map(|edge| {
                (
                    name(edge.source),
                    name(edge.target),
                    edge.edge_type.clone(),
                    edge.description.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn display_names_drop_only_a_port_suffix() {
        let check = |input: &str, expected: &str| assert_eq!(display_name(input), expected);
        check("postgres (:5432)", "postgres");
        check("  redis (:6379) ", "redis");
        check("api (v2)", "api (v2)");
        check("web (:80x)", "web (:80x)");
        check("plain", "plain");
    }

    #[test]
    fn groups_follow_the_first_matching_substring() {
        let check = |name: &str, expected: &str| assert_eq!(node_group(name), expected, "{name}");
        check("Shop-Postgres", "database");
        check("redis-cache", "cache");
        check("order-kafka", "mq");
        check("clickhouse", "olap");
        check("nacos", "registry");
        check("shop-frontend", "web");
        check("shop-backend", "api");
        check("payment-api", "api");
        check("cron-worker", "app");
        // `mq` is a substring rule for groups: "rabbitmq" is a queue before anything else.
        check("rabbitmq-api", "mq");
    }

    #[test]
    fn nodes_merge_services_of_one_name_and_keep_the_worst_status() {
        let services = vec![
            service(3, "postgres (:5432)", "up", 2),
            service(1, "postgres (:5433)", "down", 1),
            service(2, "api", "unknown", 1),
            service(4, "api", "up", 2),
        ];
        let nodes = nodes(&services);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].id, 1);
        assert_eq!(nodes[0].name, "postgres");
        assert_eq!(nodes[0].service_ids, vec![1, 3]);
        assert_eq!(nodes[0].status, "down");
        assert_eq!(nodes[0].host.as_deref(), Some("host-1"));
        assert_eq!(nodes[0].group, "database");
        assert_eq!(nodes[1].service_ids, vec![2, 4]);
        assert_eq!(nodes[1].status, "up");
        assert_eq!(nodes[1].group, "api");
    }

    #[test]
    fn inference_follows_the_original_rules() {
        let nodes = graph(&[
            "shop-frontend",
            "shop-backend",
            "shop-postgres",
            "shop-redis",
            "blog-mysql",
            "nacos",
            "rabbitmq",
            "billing-job",
            "nginx-api-gateway",
        ]);
        let (edges, origin) = edges(&nodes, &[], &[]);
        assert_eq!(origin, EdgeOrigin::Inferred);
        let s = |a: &str, b: &str, t: &str, d: &str| {
            (a.to_owned(), b.to_owned(), t.to_owned(), d.to_owned())
        };
        assert_eq!(
            named(&nodes, &edges),
            vec![
                s("shop-frontend", "shop-backend", "calls", "API 调用"),
                s("shop-backend", "shop-postgres", "depends_on", "数据依赖"),
                s("shop-backend", "shop-redis", "depends_on", "数据依赖"),
                s("shop-backend", "nacos", "depends_on", "服务注册"),
                s("shop-backend", "rabbitmq", "depends_on", "消息队列"),
                s("billing-job", "nacos", "depends_on", "服务注册"),
                s("billing-job", "rabbitmq", "depends_on", "消息队列"),
            ]
        );
    }

    #[test]
    fn a_whole_word_mq_is_a_queue_but_not_inside_a_word() {
        let nodes = graph(&["order-service", "mq"]);
        assert_eq!(inferred_edges(&nodes).len(), 1);
        let nodes = graph(&["order-service", "mqtt-broker"]);
        assert!(inferred_edges(&nodes).is_empty());
    }

    #[test]
    fn stored_edges_win_over_observed_which_win_over_inferred() {
        let services = vec![
            service(1, "shop-backend", "up", 1),
            service(2, "shop-postgres (:5432)", "up", 1),
            service(3, "shop-postgres (:5433)", "up", 2),
            service(4, "worker", "up", 1),
        ];
        let nodes = nodes(&services);
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let observed = vec![
            DiscoveredDependency {
                source_service_id: 4,
                source_name: "worker".to_owned(),
                target_service_id: 2,
                target_name: "shop-postgres (:5432)".to_owned(),
                connections: 2,
                observed_at: at,
            },
            DiscoveredDependency {
                source_service_id: 4,
                source_name: "worker".to_owned(),
                target_service_id: 3,
                target_name: "shop-postgres (:5433)".to_owned(),
                connections: 3,
                observed_at: at,
            },
        ];
        let stored = vec![ServiceDependency {
            id: 9,
            source_service_id: 1,
            target_service_id: 3,
            dependency_type: "depends_on".to_owned(),
            description: None,
            origin: "manual".to_owned(),
            created_at: at,
        }];

        let (manual, origin) = edges(&nodes, &stored, &observed);
        assert_eq!(origin, EdgeOrigin::Manual);
        assert_eq!(manual.len(), 1);
        assert_eq!((manual[0].source, manual[0].target), (1, 2));
        assert_eq!(manual[0].dependency_id, Some(9));

        let (seen, origin) = edges(&nodes, &[], &observed);
        assert_eq!(origin, EdgeOrigin::Observed);
        assert_eq!(seen.len(), 1, "both ports of postgres are one node");
        assert_eq!((seen[0].source, seen[0].target), (4, 2));
        assert_eq!(
            seen[0].description.as_deref(),
            Some("observed: 5 connection(s)")
        );

        let (guessed, origin) = edges(&nodes, &[], &[]);
        assert_eq!(origin, EdgeOrigin::Inferred);
        assert_eq!(
            guessed
                .iter()
                .map(|edge| (edge.source, edge.target))
                .collect::<Vec<_>>(),
            vec![(1, 2)]
        );
    }

    proptest::proptest! {
        /// Whatever the names and stored edges, every edge joins two distinct nodes and each
        /// pair appears once.
        #[test]
        fn edges_join_distinct_nodes_once(
            names in proptest::collection::vec("[a-z]{1,6}([-_][a-z]{1,8})?( \\(:[0-9]{2}\\))?", 1..12),
            pairs in proptest::collection::vec((1i64..14, 1i64..14), 0..10),
        ) {
            let services: Vec<_> = names
                .iter()
                .zip(1..)
                .map(|(name, id)| service(id, name, "up", 1))
                .collect();
            let nodes = nodes(&services);
            let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
            let stored: Vec<_> = pairs
                .iter()
                .zip(1..)
                .map(|(&(source, target), id)| ServiceDependency {
                    id,
                    source_service_id: source,
                    target_service_id: target,
                    dependency_type: "calls".to_owned(),
                    description: None,
                    origin: "manual".to_owned(),
                    created_at: at,
                })
                .collect();
            let ids: BTreeSet<i64> = nodes.iter().map(|node| node.id).collect();
            for (edges, _) in [edges(&nodes, &stored, &[]), edges(&nodes, &[], &[])] {
                let mut seen = BTreeSet::new();
                for edge in &edges {
                    proptest::prop_assert!(edge.source != edge.target);
                    proptest::prop_assert!(ids.contains(&edge.source) && ids.contains(&edge.target));
                    proptest::prop_assert!(seen.insert((edge.source, edge.target)));
                }
            }
        }
    }
}
