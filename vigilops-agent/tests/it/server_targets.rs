//! Services registered on the server for the host (extension `service-targets`) are checked by
//! the agent next to its configured ones, each target once, with results under the server's ids.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use vigilops_agent::config::ServiceCheckConfig;

use crate::{Script, reporter, start_server};

/// A TCP port that accepts connections for the rest of the test.
async fn listening_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    port
}

/// A TCP port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn tcp_service(name: &str, port: u16) -> ServiceCheckConfig {
    ServiceCheckConfig {
        name: name.to_owned(),
        check_type: "tcp".to_owned(),
        url: String::new(),
        host: "127.0.0.1".to_owned(),
        port,
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        expected_status: None,
        keyword: None,
    }
}

#[tokio::test]
async fn server_services_are_checked_once_per_target_under_their_ids() {
    let configured_port = listening_port().await;
    let shared_port = listening_port().await;
    let down_port = closed_port().await;
    let item = |id: i64, name: &str, port: u16, active: bool| {
        json!({"id": id, "name": name, "type": "tcp", "target": format!("127.0.0.1:{port}"),
               "check_interval": 1, "timeout": 1, "is_active": active})
    };
    let targets = json!({"items": [
        // The configured service, as the agent registered it: checked by its own loop.
        item(500, "cfg-tcp", configured_port, true),
        // An operator's service on the configured target: no second check.
        item(501, "ops-dup", configured_port, true),
        // Two operator services on one new target: one check, reported under both ids.
        item(502, "ops-a", shared_port, true),
        item(503, "ops-b", shared_port, true),
        item(504, "ops-inactive", shared_port + 1, false),
        item(505, "ops-down", down_port, true),
    ]});
    let (server, url) = start_server(Script {
        service_targets: Some(Box::leak(targets.to_string().into_boxed_str())),
        ..Script::default()
    })
    .await;
    let spool = tempfile::tempdir().unwrap();
    let mut agent = reporter(&url, spool.path());
    agent.services = vec![tcp_service("cfg-tcp", configured_port)];
    let ids_checked = |recorded: &crate::Recorded| {
        let mut by_id: BTreeMap<i64, Vec<serde_json::Value>> = BTreeMap::new();
        for (_, _, body) in &recorded.checks {
            by_id
                .entry(body["service_id"].as_i64().unwrap())
                .or_default()
                .push(body.clone());
        }
        by_id
    };
    agent
        .run(server.until(|recorded| {
            let by_id = ids_checked(recorded);
            [502, 503, 505, 100]
                .iter()
                .all(|id| by_id.get(id).is_some_and(|checks| checks.len() >= 2))
        }))
        .await;

    let recorded = server.recorded.lock().unwrap();
    assert!(recorded.target_queries.iter().all(|host_id| *host_id == 42));
    assert!(!recorded.target_queries.is_empty());
    // The configured service was registered (id 100) and checked under that id only.
    assert_eq!(
        recorded.service_registrations,
        [("cfg-tcp".to_owned(), 42, 100)]
    );
    let by_id = ids_checked(&recorded);
    assert_eq!(
        by_id.keys().copied().collect::<Vec<_>>(),
        [100, 502, 503, 505],
        "no check of the configured target under another id, nor of an inactive service"
    );
    for id in [100, 502, 503] {
        assert!(
            by_id[&id].iter().all(|check| check["status"] == "up"),
            "{id}"
        );
    }
    assert!(by_id[&505].iter().all(|check| check["status"] == "down"));
    // One check of the shared target, its result under both ids: the same times.
    let times = |id: i64| -> Vec<serde_json::Value> {
        by_id[&id]
            .iter()
            .map(|check| check["checked_at"].clone())
            .collect()
    };
    let (a, b) = (times(502), times(503));
    let shared = a.len().min(b.len());
    assert_eq!(a[..shared], b[..shared]);
}

#[tokio::test]
async fn an_original_server_without_service_targets_leaves_the_configured_checks() {
    let port = listening_port().await;
    // No `service-targets` route: 404, as an original server answers.
    let (server, url) = start_server(Script::default()).await;
    let spool = tempfile::tempdir().unwrap();
    let mut agent = reporter(&url, spool.path());
    agent.services = vec![tcp_service("cfg-tcp", port)];
    let stats = agent
        .run(server.until(|recorded| recorded.checks.len() >= 2))
        .await;
    let recorded = server.recorded.lock().unwrap();
    assert!(
        recorded
            .checks
            .iter()
            .all(|(status, _, body)| *status == 201 && body["service_id"] == 100)
    );
    assert_eq!(
        stats.refused.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "nothing was refused"
    );
}
