//! End to end: the real `vigilops-server` binary with no configuration but a data directory,
//! the real HTTP client, the original agent's bodies; then a restart that keeps everything.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use vigilops_core::client::{AgentClient, ApiClient, HostQuery};
use vigilops_core::protocol::agent::{MetricsReport, RegisterRequest};

use crate::support::{example, tempdir::TempDir};

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigilops-server"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("JWT_SECRET_KEY")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vigilops-server");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("a line on stdout").unwrap();
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .trim_end_matches('/')
            .to_owned();
        let second = lines.next().unwrap().unwrap();
        assert!(
            second.contains("register") && second.contains("admin"),
            "the login hint is printed: {second}"
        );
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[tokio::test]
async fn binary_starts_on_sqlite_ingests_and_survives_a_restart() {
    let data = TempDir::new();
    let server = Server::start(&data.0);
    let mut api = ApiClient::new(&server.url);
    let health = api.health().await.unwrap();
    assert_eq!(
        (
            health.status.as_str(),
            health.database_backend.as_str(),
            health.checks.redis.as_str()
        ),
        ("ok", "sqlite", "disabled")
    );
    api.register("ops@example.com", "Ops", "correct-horse")
        .await
        .unwrap();
    let token = api.create_agent_token("e2e").await.unwrap().token.unwrap();

    let agent = AgentClient::new(&server.url, &token);
    let register: RegisterRequest = serde_json::from_value(example("register.json")).unwrap();
    let host = agent.register(&register).await.unwrap();
    assert!(host.created);
    let mut report: MetricsReport = serde_json::from_value(example("metrics.json")).unwrap();
    report.host_id = host.host_id;
    report.timestamp = None;
    agent.metrics(&report, Some("e2e-1")).await.unwrap();
    agent.heartbeat(host.host_id).await.unwrap();
    let hosts = api.list_hosts(&HostQuery::default()).await.unwrap();
    assert_eq!(hosts.total, 1);
    assert_eq!(
        hosts.items[0].latest_metrics.as_ref().unwrap().values["cpu_percent"],
        99.5
    );
    server.stop();

    // Same data directory: the same secret, users, tokens and data.
    let server = Server::start(&data.0);
    let mut api = ApiClient::new(&server.url);
    api.login("ops@example.com", "correct-horse").await.unwrap();
    let hosts = api.list_hosts(&HostQuery::default()).await.unwrap();
    assert_eq!(hosts.items[0].hostname, "upstream-testhost");
    let agent = AgentClient::new(&server.url, &token);
    let again = agent.register(&register).await.unwrap();
    assert_eq!((again.host_id, again.created), (host.host_id, false));
    let points = api.host_metrics(host.host_id, 1, "raw").await.unwrap();
    assert_eq!(points.len(), 1);
    server.stop();
}
