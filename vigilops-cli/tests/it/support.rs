//! A real server on an ephemeral port, and a way to run the built `vigilops` binary against it
//! with its own config directory.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use vigilops_core::client::{AgentClient, ApiClient};
use vigilops_core::clock::SystemClock;
use vigilops_core::config::ServerConfig;
use vigilops_core::protocol::agent::{MetricsReport, RegisterRequest};
use vigilops_core::store::testing::{TempSqlite, fresh_sqlite};

pub(crate) const ADMIN_EMAIL: &str = "admin@example.com";
pub(crate) const ADMIN_PASSWORD: &str = "correct-horse-battery";

pub(crate) struct TestServer {
    pub(crate) url: String,
    runtime: tokio::runtime::Runtime,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<Result<(), vigilops_server::StartError>>>,
    /// `HOME` and `XDG_CONFIG_HOME` of every `vigilops` run.
    pub(crate) config_home: tempfile::TempDir,
    _data_dir: tempfile::TempDir,
    _store: TempSqlite,
}

/// What a `vigilops` run printed and how it exited.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts a zero exit code and returns stdout.
    pub(crate) fn success(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        &self.stdout
    }

    /// Stdout parsed as JSON, after a successful run.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.success())
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:#?}"))
    }
}

impl TestServer {
    pub(crate) fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("build the test runtime");
        let data_dir = tempfile::tempdir().expect("create the data dir");
        let env: HashMap<String, String> = [
            (
                "JWT_SECRET_KEY",
                "cli-integration-test-secret-0123456789abcdef",
            ),
            (
                "VIGILOPS_DATA_DIR",
                data_dir.path().to_str().expect("data dir path is UTF-8"),
            ),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        let config = ServerConfig::from_env(&env).expect("test server config");
        let (store, listener) = runtime.block_on(async {
            let store = fresh_sqlite().await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0");
            (store, listener)
        });
        let url = format!(
            "http://{}",
            listener.local_addr().expect("listener address")
        );
        // Building the app spawns its background writers onto the current runtime.
        let _entered = runtime.enter();
        let app = vigilops_server::App::with_store(
            config,
            Arc::new(store.store.clone()),
            Arc::new(SystemClock),
            None,
        )
        .expect("build the server app");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = runtime.spawn(vigilops_server::serve(app, listener, async move {
            let _ = stopped.await;
        }));
        drop(_entered);
        Self {
            url,
            runtime,
            shutdown: Some(shutdown),
            serving: Some(serving),
            config_home: tempfile::tempdir().expect("create the config home"),
            _data_dir: data_dir,
            _store: store,
        }
    }

    /// Registers the first user, who becomes admin, and returns its access token.
    pub(crate) fn register_admin(&self) -> String {
        let mut client = ApiClient::new(&self.url);
        let tokens = self
            .runtime
            .block_on(client.register(ADMIN_EMAIL, "Ada Admin", ADMIN_PASSWORD))
            .expect("register the admin");
        tokens.access_token
    }

    /// Creates an agent token and returns its plaintext.
    pub(crate) fn agent_token(&self, admin: &str, name: &str) -> String {
        let client = ApiClient::new(&self.url).with_access_token(admin);
        let token = self
            .runtime
            .block_on(client.create_agent_token(name))
            .expect("create an agent token");
        token.token.expect("the create reply carries the plaintext")
    }

    /// Registers `hostname` with the agent protocol and reports one sample; returns the host id.
    pub(crate) fn report_host(&self, agent_token: &str, hostname: &str, cpu_percent: f64) -> i64 {
        let agent = AgentClient::new(&self.url, agent_token);
        self.runtime.block_on(async {
            let registered = agent
                .register(&RegisterRequest {
                    hostname: hostname.to_owned(),
                    ip_address: Some("192.0.2.10".to_owned()),
                    os: Some("Linux".to_owned()),
                    ..RegisterRequest::default()
                })
                .await
                .expect("register the host");
            agent
                .heartbeat(registered.host_id)
                .await
                .expect("send a heartbeat");
            agent
                .metrics(
                    &MetricsReport {
                        host_id: registered.host_id,
                        cpu_percent: Some(cpu_percent),
                        memory_percent: Some(40.0),
                        disk_percent: Some(16.2),
                        ..MetricsReport::default()
                    },
                    None,
                )
                .await
                .expect("send metrics");
            registered.host_id
        })
    }

    /// Whether `agent_token` is accepted by the agent protocol right now.
    pub(crate) fn agent_token_works(&self, agent_token: &str) -> bool {
        let agent = AgentClient::new(&self.url, agent_token);
        let outcome = self.runtime.block_on(agent.register(&RegisterRequest {
            hostname: "probe".to_owned(),
            ..RegisterRequest::default()
        }));
        match outcome {
            Ok(_) => true,
            Err(error) if error.status() == Some(401) || error.status() == Some(403) => false,
            Err(error) => panic!("unexpected error: {error}"),
        }
    }

    /// Where `vigilops login` stores the token in these tests.
    pub(crate) fn credentials_path(&self) -> PathBuf {
        self.config_home.path().join("vigilops/credentials.json")
    }

    /// Runs `vigilops ARGS` against this server, with `stdin` and extra environment variables.
    pub(crate) fn vigilops_with(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        env: &[(&str, &str)],
    ) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vigilops"));
        command
            .args(args)
            .env_remove("VIGILOPS_ACCESS_TOKEN")
            .env_remove("VIGILOPS_TOKEN")
            .env_remove("VIGILOPS_OUTPUT")
            .env("VIGILOPS_SERVER", &self.url)
            .env("HOME", self.config_home.path())
            .env("XDG_CONFIG_HOME", self.config_home.path())
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn vigilops");
        let mut input = child.stdin.take().expect("child stdin");
        if let Some(stdin) = stdin {
            // A command that refuses early may exit before reading its input: a broken pipe
            // then is its answer, not a test failure (its exit code and stderr are checked).
            match input.write_all(stdin.as_bytes()) {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    panic!("write the child's stdin: {error}")
                }
                _ => {}
            }
        }
        drop(input);
        let output = child.wait_with_output().expect("wait for vigilops");
        Run {
            code: output
                .status
                .code()
                .expect("vigilops was killed by a signal"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Runs `vigilops ARGS` with no stdin and the test environment only.
    pub(crate) fn vigilops(&self, args: &[&str]) -> Run {
        self.vigilops_with(args, None, &[])
    }

    /// Runs `vigilops ARGS` authenticated by `VIGILOPS_ACCESS_TOKEN`.
    pub(crate) fn vigilops_as(&self, token: &str, args: &[&str]) -> Run {
        self.vigilops_with(args, None, &[("VIGILOPS_ACCESS_TOKEN", token)])
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(serving) = self.serving.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(10), serving).await
            });
        }
    }
}
