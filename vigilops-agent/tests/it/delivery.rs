//! Spool delivery corner cases against the fake server: spooled service checks follow their
//! service to its id under a new host id, and a log batch answered 413 is split, not dropped.

use serde_json::{Value, json};
use vigilops_agent::spool::{RecordKind, ServiceRef, Spool, SpoolLimits, SpoolRecord};
use vigilops_core::clock::{Clock, SystemClock};
use vigilops_core::protocol::agent::ServiceRegisterRequest;

use crate::{Script, reporter, start_server};

/// Writes `records` into a spool in `dir`, as a previous run of the agent would have left them.
fn leave_in_spool(dir: &std::path::Path, records: &[SpoolRecord]) {
    let mut spool = Spool::open(
        dir,
        SpoolLimits {
            max_bytes: 1 << 20,
            max_age: std::time::Duration::from_secs(3600),
        },
    )
    .unwrap();
    for record in records {
        spool.push(record).unwrap();
    }
}

fn check_record(key: &str, host_id: i64, service_id: i64) -> SpoolRecord {
    SpoolRecord {
        kind: RecordKind::ServiceCheck,
        key: key.to_owned(),
        created_at: SystemClock.now(),
        body: json!({"service_id": service_id, "status": "up", "response_time_ms": 1.5}),
        service: Some(ServiceRef {
            name: "web".into(),
            host_id,
            register: ServiceRegisterRequest {
                name: Some("web".into()),
                target: Some("http://localhost:8080".into()),
                check_type: Some("http".into()),
                host_id: Some(host_id),
                check_interval: Some(30),
                timeout: Some(10),
            },
        }),
    }
}

fn log_record(key: &str, messages: &[&str]) -> SpoolRecord {
    let entries: Vec<Value> = messages
        .iter()
        .map(|message| json!({"host_id": 0, "message": message, "timestamp": "2026-02-21T10:00:00Z"}))
        .collect();
    SpoolRecord {
        kind: RecordKind::Logs,
        key: key.to_owned(),
        created_at: SystemClock.now(),
        body: json!({ "logs": entries }),
        service: None,
    }
}

#[tokio::test]
async fn a_check_spooled_under_an_old_host_id_goes_to_the_service_under_the_new_one() {
    let (server, url) = start_server(Script::default()).await;
    let spool = tempfile::tempdir().unwrap();
    // Spooled by a run that knew this host as 7 and the service as 5.
    leave_in_spool(spool.path(), &[check_record("check-1", 7, 5)]);
    reporter(&url, spool.path())
        .run(server.until(|recorded| !recorded.checks.is_empty()))
        .await;

    let recorded = server.recorded.lock().unwrap();
    // The host is 42 now, so the service was registered under it before the check was sent.
    assert_eq!(
        recorded.service_registrations,
        [("web".to_owned(), 42, 100)]
    );
    assert_eq!(recorded.checks.len(), 1);
    let (status, key, body) = &recorded.checks[0];
    assert_eq!((*status, key.as_str()), (201, "check-1"));
    assert_eq!(body["service_id"], 100, "never the stale id 5");
    assert_eq!(body["status"], "up");
}

#[tokio::test]
async fn a_forbidden_check_registers_host_and_service_again_and_keeps_its_key() {
    let (server, url) = start_server(Script {
        forbid_first_check: true,
        ..Script::default()
    })
    .await;
    let spool = tempfile::tempdir().unwrap();
    // Spooled under the host id the server is about to hand out (42) as service 5, which the
    // server no longer knows: the 403 must lead to a new host id and a new service id.
    leave_in_spool(spool.path(), &[check_record("check-2", 42, 5)]);
    reporter(&url, spool.path())
        .run(server.until(|recorded| recorded.checks.iter().any(|(s, ..)| *s == 201)))
        .await;

    let recorded = server.recorded.lock().unwrap();
    let hosts: Vec<String> = recorded
        .registrations
        .iter()
        .map(|r| r.hostname.clone())
        .collect();
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    let checks: Vec<(u16, &str, i64)> = recorded
        .checks
        .iter()
        .map(|(status, key, body)| (*status, key.as_str(), body["service_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(checks, [(403, "check-2", 5), (201, "check-2", 100)]);
    assert_eq!(
        recorded.service_registrations,
        [("web".to_owned(), 43, 100)]
    );
}

#[tokio::test]
async fn a_batch_answered_413_is_split_and_a_single_oversized_record_dropped() {
    let (server, url) = start_server(Script {
        max_log_entries: Some(2),
        ..Script::default()
    })
    .await;
    let spool = tempfile::tempdir().unwrap();
    leave_in_spool(
        spool.path(),
        &[
            log_record("batch", &["m0", "m1", "m2", "m3", "m4"]),
            log_record("single", &["too big"]),
            log_record("after", &["m5"]),
        ],
    );
    reporter(&url, spool.path())
        .run(server.until(|recorded| recorded.logs.iter().any(|(_, key, _)| key == "after")))
        .await;

    let recorded = server.recorded.lock().unwrap();
    let posts: Vec<(u16, &str, usize)> = recorded
        .logs
        .iter()
        .map(|(status, key, messages)| (*status, key.as_str(), messages.len()))
        .collect();
    assert_eq!(
        posts,
        [
            (413, "batch", 5),
            (201, "batch.1", 2),
            (413, "batch.2", 3),
            (201, "batch.2.1", 1),
            (201, "batch.2.2", 2),
            (413, "single", 1),
            (201, "after", 1),
        ]
    );
    // Every entry of the split batch arrived once, in order.
    let delivered: Vec<&str> = recorded
        .logs
        .iter()
        .filter(|(status, ..)| *status == 201)
        .flat_map(|(_, _, messages)| messages.iter().map(String::as_str))
        .collect();
    assert_eq!(delivered, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    // The spool moved past the split batch and the dropped record: neither is sent again after
    // a restart. (`after` itself may still be there: the shutdown can cut off its reply, and its
    // key makes the resend harmless.)
    let mut reopened = Spool::open(
        spool.path(),
        SpoolLimits {
            max_bytes: 1 << 20,
            max_age: std::time::Duration::from_secs(3600),
        },
    )
    .unwrap();
    while let Some(record) = reopened.peek(SystemClock.now()).unwrap() {
        assert!(
            record.key != "batch" && record.key != "single",
            "{record:?}"
        );
        reopened.ack(&record.key).unwrap();
    }
}

/// Kills the child process it holds when dropped, so a failing test leaves nothing running.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn discovered_dependencies_reach_the_server() {
    use std::io::BufRead;
    // Another process (python3) listens on all interfaces, so it is a discovered service of its
    // own; this process listens too (another service) and connects to it: an edge from this
    // process's service to python3's.
    let mut child = Child(
        std::process::Command::new("python3")
            .args([
                "-c",
                "import socket,time\n\
                 s=socket.socket()\n\
                 s.bind(('0.0.0.0',0))\n\
                 s.listen()\n\
                 print(s.getsockname()[1],flush=True)\n\
                 c,_=s.accept()\n\
                 time.sleep(30)\n",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs"),
    );
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let python_port: u16 = line.trim().parse().unwrap();
    let own_listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let _connection = std::net::TcpStream::connect(("127.0.0.1", python_port)).unwrap();

    // Named after the interpreter's `comm` (`python3`, or `python3.11` on some systems).
    let target_suffix = format!(" (:{python_port})");
    let (server, url) = start_server(Script::default()).await;
    let spool = tempfile::tempdir().unwrap();
    let reaches = |recorded: &crate::Recorded| {
        recorded
            .dependencies
            .iter()
            .any(|body| to_target(body, &target_suffix).is_some())
    };
    reporter(&url, spool.path())
        .run(server.until(reaches))
        .await;

    let recorded = server.recorded.lock().unwrap();
    let (body, edge) = recorded
        .dependencies
        .iter()
        .find_map(|body| to_target(body, &target_suffix).map(|edge| (body, edge)))
        .unwrap();
    assert_eq!(body["host_id"], 42);
    assert!(body["observed_at"].is_string());
    let target = edge["to"].as_str().unwrap();
    assert!(target.starts_with("python3"), "{target}");
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert!(
        edge["from"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} (:", comm.trim())),
        "{edge}"
    );
    assert!(edge["connections"].as_i64().unwrap() >= 1);
    // Both ends were registered before the edge was sent.
    let registered: Vec<&str> = recorded
        .service_registrations
        .iter()
        .map(|(name, ..)| name.as_str())
        .collect();
    assert!(registered.contains(&target), "{registered:?}");
    assert!(registered.contains(&edge["from"].as_str().unwrap()));
    drop(own_listener);
}

/// The edge of a dependencies report whose target service name ends with `suffix`.
fn to_target<'a>(body: &'a Value, suffix: &str) -> Option<&'a Value> {
    body["dependencies"].as_array()?.iter().find(|edge| {
        edge["to"]
            .as_str()
            .is_some_and(|name| name.ends_with(suffix))
    })
}
