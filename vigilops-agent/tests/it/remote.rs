//! The command channel end to end: the real server (in-process, SQLite) and the real agent
//! reporter holding its WebSocket. Commands are queued through the REST API (and once straight
//! into the store, bypassing the server's check) and their results read back.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigilops_agent::config::AgentConfig;
use vigilops_agent::reporter::Reporter;
use vigilops_core::clock::SystemClock;
use vigilops_core::config::ServerConfig;
use vigilops_core::model::NewAgentCommand;
use vigilops_core::store::CommandStore;
use vigilops_core::store::testing::fresh_sqlite;

struct Server {
    url: String,
    http: reqwest::Client,
    admin: String,
}

impl Server {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls a command until it reaches a terminal status (or 20 s pass).
    async fn finished(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, command) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/commands/{id}"),
                    None,
                )
                .await;
            let status = command["status"].as_str().unwrap_or_default().to_owned();
            if !["queued", "sent", "running"].contains(&status.as_str())
                || Instant::now() > deadline
            {
                return command;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reach_the_agent_and_come_back_and_the_agent_checks_them_again() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let temp = fresh_sqlite().await;
    let store = Arc::new(temp.store.clone());
    let data_dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "JWT_SECRET_KEY",
            "agent-remote-test-secret-0123456789abcdef",
        ),
        ("VIGILOPS_DATA_DIR", data_dir.path().to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = ServerConfig::from_env(&env).unwrap();
    let app = vigilops_server::App::with_store(config, store.clone(), Arc::new(SystemClock), None)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(vigilops_server::serve(app, listener, async move {
        let _ = server_stopped.await;
    }));

    let http = reqwest::Client::new();
    let tokens: Value = http
        .post(format!("{url}/api/v1/auth/register"))
        .json(&json!({"email": "admin@example.com", "name": "Admin", "password": "correct-horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let server = Server {
        url: url.clone(),
        http,
        admin: tokens["access_token"].as_str().unwrap().to_owned(),
    };
    let (_, token) = server
        .call(
            reqwest::Method::POST,
            "/api/v1/agent-tokens",
            Some(json!({"name": "lab"})),
        )
        .await;
    let token = token["token"].as_str().unwrap().to_owned();

    // The real agent: registers, then holds the command channel.
    let spool = tempfile::tempdir().unwrap();
    let yaml = format!(
        "server: {{url: '{url}', token: {token}}}\nhost: {{name: remote-it}}\nmetrics: {{interval: 60}}\n\
         spool: {{dir: '{}'}}\ndiscovery: {{docker: false, host_services: false}}\n",
        spool.path().display()
    );
    let agent_config = AgentConfig::from_yaml(&yaml, "it.yaml").unwrap();
    let reporter = Reporter::from_config(&agent_config, Arc::new(SystemClock), Instant::now());
    let (stop_agent, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(reporter.run(async move {
        let _ = agent_stopped.await;
    }));
    let host_id = loop {
        let (_, hosts) = server
            .call(reqwest::Method::GET, "/api/v1/hosts", None)
            .await;
        if let Some(id) = hosts["items"][0]["id"].as_i64() {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let commands = format!("/api/v1/hosts/{host_id}/commands");

    // An allowed diagnostic runs on the host and comes back with its exit code and output.
    let (status, queued) = server
        .call(
            reqwest::Method::POST,
            &commands,
            Some(json!({"command": "df -h /"})),
        )
        .await;
    assert_eq!(status, 201, "{queued:?}");
    let done = server
        .finished(queued["request_id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "succeeded", "{done:?}");
    assert_eq!(done["exit_code"], 0);
    assert!(
        done["stdout"].as_str().unwrap().starts_with("Filesystem"),
        "{done:?}"
    );
    assert!(done["duration_ms"].as_i64().is_some());

    // A hostile command is refused by the server and never queued.
    let (status, refused) = server
        .call(
            reqwest::Method::POST,
            &commands,
            Some(json!({"command": "df -h; rm -rf /"})),
        )
        .await;
    assert_eq!(status, 422, "{refused:?}");

    // A command that bypassed the server's check (written straight into the store) is refused
    // by the agent with command_done.
    let sneaked = uuid::Uuid::new_v4();
    let now = vigilops_core::Clock::now(&SystemClock);
    store
        .insert_command(
            NewAgentCommand {
                request_id: sneaked,
                host_id,
                command: "cat /etc/shadow".to_owned(),
                argv: vec!["cat".to_owned(), "/etc/shadow".to_owned()],
                timeout_seconds: 10,
                requested_by: None,
                remediation_id: None,
                step: None,
                deadline_at: now + chrono::Duration::seconds(60),
            },
            now,
        )
        .await
        .unwrap();
    let rejected = server.finished(&sneaked.to_string()).await;
    assert_eq!(rejected["status"], "rejected", "{rejected:?}");
    assert_eq!(rejected["exit_code"], -1);
    assert!(
        rejected["stderr"]
            .as_str()
            .unwrap()
            .starts_with("Command rejected: "),
        "{rejected:?}"
    );

    // A command that outlives its timeout is killed.
    let started = Instant::now();
    let (_, slow) = server
        .call(
            reqwest::Method::POST,
            &commands,
            Some(json!({"command": "vmstat 1 30", "timeout": 1})),
        )
        .await;
    let timed_out = server.finished(slow["request_id"].as_str().unwrap()).await;
    assert_eq!(timed_out["status"], "timed_out", "{timed_out:?}");
    assert!(
        timed_out["stderr"]
            .as_str()
            .unwrap()
            .ends_with("command timed out")
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "killed at its timeout"
    );

    let _ = stop_agent.send(());
    agent.await.unwrap();
    let _ = stop_server.send(());
    serving.await.unwrap().unwrap();
}
