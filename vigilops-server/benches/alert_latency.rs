//! Fault-to-notification latency benchmark: the real `vigilops-server` binary (release build) on
//! SQLite or PostgreSQL, a webhook receiver in this process, and one threshold breach at a time.
//! Prints p50/p95/p99/max from the metrics report that breaches a `for 0` rule to the webhook
//! request arriving, and the same for the recovery.
//!
//! Each iteration registers a fresh host and a fresh rule (`cpu_percent > 90`,
//! `duration_seconds: 0`, only that host, the bench's webhook channel), lets the server go quiet,
//! then posts one breaching report over the agent protocol and waits for the fired notification,
//! posts one clear report and waits for the resolved one, and deletes the rule. A fresh (rule,
//! host) pair per iteration is a fresh incident: no cooldown, no flap history, and a fresh
//! notification group, so the figure is what a user sees for a new fault, including the
//! dispatcher's group wait (250 ms by default). A second host breaching the same rule within a
//! minute of a notification is, by design, held for the group's next update (up to 60 s later);
//! that is not measured here.
//!
//! Run: `cargo bench -p vigilops-server --bench alert_latency` (env: `BACKEND=sqlite|postgres|both`,
//! `ITERATIONS=200`, `GAP_MS=300`, `BACKGROUND_RATE=0` reports/s of normal readings from 100
//! other hosts while measuring).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use vigilops_core::client::{AgentClient, ApiClient};
use vigilops_core::protocol::agent::RegisterRequest;
use vigilops_core::store::testing::fresh_postgres;

/// How long one notification may take before the run is declared broken.
const NOTIFICATION_TIMEOUT: Duration = Duration::from_secs(30);

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(data_dir: &std::path::Path, database_url: Option<&str>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigilops-server"));
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .stdout(Stdio::piped());
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    let mut child = command.spawn().expect("start server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

/// When a notification arrived, and the alert object it carried.
type Arrival = (Instant, Value);

/// The webhook receiver's waiters: (alert title, status) → who wants to know when it arrived.
#[derive(Default)]
struct Waiters {
    waiting: Mutex<HashMap<(String, String), oneshot::Sender<Arrival>>>,
}

impl Waiters {
    fn expect(&self, title: &str, status: &str) -> oneshot::Receiver<Arrival> {
        let (sender, receiver) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap()
            .insert((title.to_owned(), status.to_owned()), sender);
        receiver
    }
}

/// Answers every delivery 200 and hands each alert object (a single alert, or each member of a
/// grouped message) to its waiter with the instant the request arrived. Notifications nobody
/// waits for (the builtin rules', e.g. a host of an earlier iteration going offline) are ignored.
async fn receive(State(waiters): State<Arc<Waiters>>, body: Bytes) -> &'static str {
    let arrived = Instant::now();
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return "{}";
    };
    let alerts = match payload.get("alerts").and_then(Value::as_array) {
        Some(members) => members.clone(),
        None => vec![payload],
    };
    let mut waiting = waiters.waiting.lock().unwrap();
    for alert in alerts {
        let key = (
            alert["title"].as_str().unwrap_or_default().to_owned(),
            alert["status"].as_str().unwrap_or_default().to_owned(),
        );
        if let Some(waiter) = waiting.remove(&key) {
            let _ = waiter.send((arrived, alert));
        }
    }
    "{}"
}

async fn start_receiver(waiters: Arc<Waiters>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(waiters);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/hook")
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn summary(name: &str, mut latencies: Vec<Duration>) -> String {
    latencies.sort_unstable();
    format!(
        "{name}: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The REST calls the setup needs beyond what [`ApiClient`] offers.
struct Rest {
    http: reqwest::Client,
    base: String,
    access_token: String,
}

impl Rest {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.access_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// How the background reports fared: the server's load is only real if it accepted them.
#[derive(Default)]
struct BackgroundCounts {
    accepted: std::sync::atomic::AtomicU64,
    refused: std::sync::atomic::AtomicU64,
}

/// Normal readings from 100 hosts at `rate` reports/s until the task is aborted.
fn background(
    agent: Arc<AgentClient>,
    host_ids: Vec<i64>,
    report: Value,
    rate: u32,
    counts: Arc<BackgroundCounts>,
) -> Option<tokio::task::JoinHandle<()>> {
    if rate == 0 || host_ids.is_empty() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate);
        for host_id in host_ids.iter().cycle() {
            ticks.tick().await;
            let mut report = report.clone();
            report["host_id"] = json!(host_id);
            let agent = Arc::clone(&agent);
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                let counter = match agent.post_json("metrics", &report, None).await {
                    Ok(_) => &counts.accepted,
                    Err(_) => &counts.refused,
                };
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
    }))
}

async fn run(backend: &str, iterations: usize, gap: Duration, background_rate: u32) {
    let data_dir = std::env::temp_dir().join(format!("vigilops-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let postgres = if backend == "postgres" {
        fresh_postgres().await
    } else {
        None
    };
    if backend == "postgres" && postgres.is_none() {
        println!("postgres: unreachable, skipped");
        return;
    }
    let database_url = postgres
        .as_ref()
        .map(|pg| format!("{}?sslmode=disable", pg.url));
    let server = start_server(&data_dir, database_url.as_deref());
    let waiters = Arc::new(Waiters::default());
    let hook_url = start_receiver(Arc::clone(&waiters)).await;

    let mut api = ApiClient::new(&server.url);
    api.register("bench@example.com", "Bench", "bench-password")
        .await
        .unwrap();
    let token = api
        .create_agent_token("bench")
        .await
        .unwrap()
        .token
        .unwrap();
    let rest = Rest {
        http: reqwest::Client::new(),
        base: server.url.clone(),
        access_token: api.access_token().unwrap().to_owned(),
    };
    let channel = rest
        .send(
            reqwest::Method::POST,
            "/api/v1/notification-channels",
            Some(json!({"name": "bench receiver", "type": "webhook", "config": {"url": hook_url}})),
        )
        .await;
    let channel_id = channel["id"].as_i64().unwrap();

    let register: RegisterRequest = serde_json::from_str(include_str!(
        "../tests/fixtures/original-agent/register.json"
    ))
    .unwrap();
    let mut report: Value = serde_json::from_str(include_str!(
        "../tests/fixtures/original-agent/metrics.json"
    ))
    .unwrap();
    // Server time, and below every builtin rule's threshold.
    report.as_object_mut().unwrap().remove("timestamp");
    report["cpu_percent"] = json!(20.0);
    let agent = Arc::new(AgentClient::new(&server.url, &token));

    let mut background_hosts = Vec::new();
    if background_rate > 0 {
        for index in 0..100 {
            let mut request = register.clone();
            request.hostname = format!("background-{index:03}");
            background_hosts.push(agent.register(&request).await.unwrap().host_id);
        }
    }
    let counts = Arc::new(BackgroundCounts::default());
    let background = background(
        Arc::clone(&agent),
        background_hosts,
        report.clone(),
        background_rate,
        Arc::clone(&counts),
    );

    let load_before = load_average();
    let mut fired = Vec::with_capacity(iterations);
    let mut resolved = Vec::with_capacity(iterations);
    let mut replies = Vec::with_capacity(iterations);
    for iteration in 0..iterations {
        let name = format!("latency-{iteration:04}");
        let mut request = register.clone();
        request.hostname.clone_from(&name);
        let host_id = agent.register(&request).await.unwrap().host_id;
        let rule = rest
            .send(
                reqwest::Method::POST,
                "/api/v1/alert-rules",
                Some(json!({
                    "name": name, "severity": "critical", "metric": "cpu_percent",
                    "operator": ">", "threshold": 90, "duration_seconds": 0,
                    "cooldown_seconds": 0, "resolve_hold_seconds": 0, "target_filter": {"host_ids": [host_id]},
                    "notification_channel_ids": [channel_id],
                })),
            )
            .await;
        let rule_id = rule["id"].as_i64().unwrap();
        // The engine reads the new rule and the server goes quiet before the fault.
        tokio::time::sleep(gap).await;

        let title = format!("{name} - {name}");
        let mut breach = report.clone();
        breach["host_id"] = json!(host_id);
        breach["cpu_percent"] = json!(95.0);
        let waiter = waiters.expect(&title, "firing");
        let started = Instant::now();
        agent.post_json("metrics", &breach, None).await.unwrap();
        replies.push(started.elapsed());
        let (arrived, alert) = tokio::time::timeout(NOTIFICATION_TIMEOUT, waiter)
            .await
            .unwrap_or_else(|_| panic!("{name}: no fired notification"))
            .unwrap();
        assert_eq!(alert["host_id"], json!(host_id), "{name}: {alert}");
        assert_eq!(alert["metric_value"], json!(95.0), "{name}: {alert}");
        assert_eq!(alert["threshold"], json!(90.0), "{name}: {alert}");
        fired.push(arrived - started);

        let mut clear = report.clone();
        clear["host_id"] = json!(host_id);
        let waiter = waiters.expect(&title, "resolved");
        let started = Instant::now();
        agent.post_json("metrics", &clear, None).await.unwrap();
        let (arrived, _) = tokio::time::timeout(NOTIFICATION_TIMEOUT, waiter)
            .await
            .unwrap_or_else(|_| panic!("{name}: no resolved notification"))
            .unwrap();
        resolved.push(arrived - started);

        rest.send(
            reqwest::Method::DELETE,
            &format!("/api/v1/alert-rules/{rule_id}"),
            None,
        )
        .await;
        tokio::time::sleep(gap).await;
    }
    let load_after = load_average();
    if let Some(background) = background {
        background.abort();
    }
    println!(
        "{backend:>8}: {iterations} breaches, one at a time, background {background_rate} reports/s, \
         load average {load_before} → {load_after}"
    );
    if background_rate > 0 {
        println!(
            "          background reports: {} accepted, {} refused or failed",
            counts.accepted.load(std::sync::atomic::Ordering::Relaxed),
            counts.refused.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    println!(
        "          {}",
        summary("breach → fired notification", fired)
    );
    println!(
        "          {}",
        summary("recovery → resolved notification", resolved)
    );
    println!(
        "          {}",
        summary("metrics report HTTP reply", replies)
    );
    drop(server);
    if let Some(postgres) = postgres {
        postgres.drop_database().await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let backend = env("BACKEND", "both");
    let iterations: usize = env("ITERATIONS", "200").parse().unwrap();
    let gap = Duration::from_millis(env("GAP_MS", "300").parse().unwrap());
    let background_rate: u32 = env("BACKGROUND_RATE", "0").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let backends: Vec<&str> = match backend.as_str() {
        "both" => vec!["sqlite", "postgres"],
        other => vec![other],
    };
    for backend in backends {
        runtime.block_on(run(backend, iterations, gap, background_rate));
    }
}
