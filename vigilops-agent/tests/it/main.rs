//! End-to-end tests of the agent's reporter against a small local server that speaks the agent
//! endpoints (register, heartbeat, metrics) and can be told to fail; and (`end_to_end`) of the
//! real agent binary against the real server binary.

// Helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batching;
mod checks;
mod db;
mod delivery;
mod discovery;
mod end_to_end;
mod remediation;
mod remote;
mod server_targets;
mod spool_full;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::Notify;
use vigilops_agent::config::AgentConfig;
use vigilops_agent::reporter::{Backoff, Reporter, ReporterOptions};
use vigilops_core::clock::SystemClock;
use vigilops_core::protocol::agent::{MetricsReport, RegisterRequest};

/// How the fake server answers `metrics`, by the index of the post (0-based).
#[derive(Clone, Copy, Default)]
struct Script {
    /// Answer 503 to this many metrics posts first.
    unavailable_first: usize,
    /// Answer 403 to the post with this index (the host was deleted on the server).
    forbid_at: Option<usize>,
    /// Answer 403 to the first service check post (its service id is unknown to the server).
    forbid_first_check: bool,
    /// Answer 413 to a log batch of more entries than this, or holding the message `too big`.
    max_log_entries: Option<usize>,
    /// Serve the extension `metrics/batch` (else it is a 404, as on an original server).
    batch: bool,
    /// Answer 503 to this many `metrics/batch` posts first.
    batch_unavailable_first: usize,
    /// Answer 413 to a `metrics/batch` of more samples than this.
    max_batch_samples: Option<usize>,
    /// Serve the extension `service-targets` with this JSON body (else it is a 404).
    service_targets: Option<&'static str>,
}

#[derive(Default)]
struct Recorded {
    /// Every request: path and `Content-Encoding` (empty when none).
    encodings: Vec<(String, String)>,
    registrations: Vec<RegisterRequest>,
    /// Every `services/register`: name, host id, service id answered.
    service_registrations: Vec<(String, i64, i64)>,
    /// Every service check post: status answered, idempotency key, body.
    checks: Vec<(u16, String, Value)>,
    /// Every log batch post: status answered, idempotency key, messages.
    logs: Vec<(u16, String, Vec<String>)>,
    /// Every service dependencies report body.
    dependencies: Vec<Value>,
    /// Every metrics post: status answered, idempotency key, authorization, body.
    metrics: Vec<(u16, String, String, MetricsReport)>,
    /// Every `metrics/batch` post: status answered, idempotency key, samples.
    batches: Vec<(u16, String, Vec<MetricsReport>)>,
    /// Every sample the server accepted, single or batched, in the order they arrived.
    accepted_samples: Vec<MetricsReport>,
    /// Every `service-targets` query: its host id.
    target_queries: Vec<i64>,
    heartbeats: usize,
}

#[derive(Clone)]
struct Server {
    script: Script,
    recorded: Arc<Mutex<Recorded>>,
    accepted: Arc<Notify>,
    /// While false, every metrics post (single or batch) is answered 503.
    available: Arc<AtomicBool>,
}

impl Server {
    fn accepted_metrics(&self) -> Vec<(String, MetricsReport)> {
        self.recorded
            .lock()
            .unwrap()
            .metrics
            .iter()
            .filter(|(status, ..)| *status == 201)
            .map(|(_, key, _, report)| (key.clone(), report.clone()))
            .collect()
    }

    /// Resolves once at least `count` metrics samples were accepted, single or batched (fails
    /// the test after 10 s).
    async fn until_accepted(&self, count: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.accepted.notified();
                if self.recorded.lock().unwrap().accepted_samples.len() >= count {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("metrics did not arrive in time");
    }
}

async fn register(State(server): State<Server>, Json(body): Json<Value>) -> Json<Value> {
    let request: RegisterRequest = serde_json::from_value(body).unwrap();
    let mut recorded = server.recorded.lock().unwrap();
    recorded.registrations.push(request.clone());
    // Each registration after the host was "deleted" gets a new id.
    let host_id = 41 + i64::try_from(recorded.registrations.len()).unwrap();
    Json(json!({
        "host_id": host_id,
        "hostname": request.hostname,
        "status": "online",
        "created": true,
    }))
}

async fn heartbeat(State(server): State<Server>) -> Json<Value> {
    server.recorded.lock().unwrap().heartbeats += 1;
    Json(
        json!({"status": "ok", "server_time": "2026-02-21T10:00:00+00:00", "heartbeat_interval": 10}),
    )
}

async fn metrics(
    State(server): State<Server>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let report: MetricsReport = serde_json::from_value(body).unwrap();
    let mut recorded = server.recorded.lock().unwrap();
    let index = recorded.metrics.len();
    let status =
        if index < server.script.unavailable_first || !server.available.load(Ordering::SeqCst) {
            StatusCode::SERVICE_UNAVAILABLE
        } else if server.script.forbid_at == Some(index) {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::CREATED
        };
    if status == StatusCode::CREATED {
        recorded.accepted_samples.push(report.clone());
    }
    recorded.metrics.push((
        status.as_u16(),
        header("idempotency-key"),
        header("authorization"),
        report,
    ));
    drop(recorded);
    server.accepted.notify_waiters();
    (
        status,
        Json(json!({"status": "ok", "metric_id": index, "detail": "scripted"})),
    )
}

async fn metrics_batch(
    State(server): State<Server>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let samples: Vec<MetricsReport> = serde_json::from_value(body["samples"].clone()).unwrap();
    let mut recorded = server.recorded.lock().unwrap();
    let index = recorded.batches.len();
    let status = if index < server.script.batch_unavailable_first
        || !server.available.load(Ordering::SeqCst)
    {
        StatusCode::SERVICE_UNAVAILABLE
    } else if server
        .script
        .max_batch_samples
        .is_some_and(|max| samples.len() > max)
    {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::CREATED
    };
    let received = samples.len();
    if status == StatusCode::CREATED {
        recorded.accepted_samples.extend(samples.iter().cloned());
    }
    recorded
        .batches
        .push((status.as_u16(), idempotency_key(&headers), samples));
    drop(recorded);
    server.accepted.notify_waiters();
    (
        status,
        Json(json!({"status": "ok", "received": received, "metric_ids": [], "detail": "scripted"})),
    )
}

async fn service_targets(
    State(server): State<Server>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let host_id = query["host_id"].parse().unwrap();
    server.recorded.lock().unwrap().target_queries.push(host_id);
    Json(serde_json::from_str(server.script.service_targets.unwrap()).unwrap())
}

/// Records each request's `Content-Encoding` and, like the real server, inflates gzip bodies
/// before the handlers see them (a body that is not valid gzip fails the request with 400).
async fn decode_gzip(
    State(server): State<Server>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (mut parts, body) = request.into_parts();
    let encoding = parts
        .headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // Only requests with a body are compressed; the command channel's WebSocket upgrade is a GET.
    if parts.method == axum::http::Method::POST {
        server
            .recorded
            .lock()
            .unwrap()
            .encodings
            .push((parts.uri.path().to_owned(), encoding.clone()));
    }
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap();
    let bytes = if encoding == "gzip" {
        let mut inflated = Vec::new();
        let decoded = std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&bytes[..]),
            &mut inflated,
        );
        if decoded.is_err() {
            return (StatusCode::BAD_REQUEST, "body is not gzip").into_response();
        }
        parts.headers.remove(axum::http::header::CONTENT_ENCODING);
        inflated.into()
    } else {
        bytes
    };
    next.run(axum::extract::Request::from_parts(parts, bytes.into()))
        .await
}

async fn register_service(State(server): State<Server>, Json(body): Json<Value>) -> Json<Value> {
    let mut recorded = server.recorded.lock().unwrap();
    let service_id = 100 + i64::try_from(recorded.service_registrations.len()).unwrap();
    recorded.service_registrations.push((
        body["name"].as_str().unwrap().to_owned(),
        body["host_id"].as_i64().unwrap(),
        service_id,
    ));
    Json(json!({"service_id": service_id, "created": true}))
}

fn idempotency_key(headers: &HeaderMap) -> String {
    headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn service_check(
    State(server): State<Server>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut recorded = server.recorded.lock().unwrap();
    let status = if server.script.forbid_first_check && recorded.checks.is_empty() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::CREATED
    };
    recorded
        .checks
        .push((status.as_u16(), idempotency_key(&headers), body));
    drop(recorded);
    server.accepted.notify_waiters();
    (status, Json(json!({"status": "ok", "check_id": 1})))
}

async fn logs(
    State(server): State<Server>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let messages: Vec<String> = body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            assert_eq!(
                entry["host_id"], 42,
                "each entry carries the current host id"
            );
            entry["message"].as_str().unwrap().to_owned()
        })
        .collect();
    let too_large = server
        .script
        .max_log_entries
        .is_some_and(|max| messages.len() > max || messages.iter().any(|m| m == "too big"));
    let status = if too_large {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::CREATED
    };
    let count = messages.len();
    server.recorded.lock().unwrap().logs.push((
        status.as_u16(),
        idempotency_key(&headers),
        messages,
    ));
    server.accepted.notify_waiters();
    (
        status,
        Json(json!({"received": count, "detail": "Request body too large"})),
    )
}

async fn service_dependencies(
    State(server): State<Server>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    server.recorded.lock().unwrap().dependencies.push(body);
    server.accepted.notify_waiters();
    (
        StatusCode::CREATED,
        Json(json!({"status": "ok", "stored": 0})),
    )
}

impl Server {
    /// Resolves once `done` holds for what was recorded (fails the test after 10 s).
    async fn until(&self, done: impl Fn(&Recorded) -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.accepted.notified();
                if done(&self.recorded.lock().unwrap()) {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("the expected posts did not arrive in time");
    }
}

/// Starts the fake server on a free port; returns it and its base URL.
async fn start_server(script: Script) -> (Server, String) {
    let server = Server {
        script,
        recorded: Arc::default(),
        accepted: Arc::default(),
        available: Arc::new(AtomicBool::new(true)),
    };
    let mut router = Router::new();
    if script.batch {
        router = router.route("/api/v1/agent/metrics/batch", post(metrics_batch));
    }
    if script.service_targets.is_some() {
        router = router.route("/api/v1/agent/service-targets", get(service_targets));
    }
    let router = router
        .route("/api/v1/agent/register", post(register))
        .route("/api/v1/agent/heartbeat", post(heartbeat))
        .route("/api/v1/agent/metrics", post(metrics))
        .route("/api/v1/agent/services/register", post(register_service))
        .route("/api/v1/agent/services", post(service_check))
        .route("/api/v1/agent/logs", post(logs))
        .route(
            "/api/v1/agent/service-dependencies",
            post(service_dependencies),
        )
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            decode_gzip,
        ))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (server, url)
}

/// A reporter for `url` with a 1 s metrics interval, its spool in `spool_dir`, and short backoffs.
fn reporter(url: &str, spool_dir: &std::path::Path) -> Reporter {
    reporter_with(url, spool_dir, "")
}

/// Like [`reporter`], with `server_extra` (YAML flow entries) added to the `server:` section.
fn reporter_with(url: &str, spool_dir: &std::path::Path, server_extra: &str) -> Reporter {
    let yaml = format!(
        "server: {{url: '{url}', token: vop_test{server_extra}}}\n\
         host: {{name: it-host, tags: [it]}}\n\
         metrics: {{interval: 1}}\n\
         spool: {{dir: '{}'}}\n",
        spool_dir.display()
    );
    let config = AgentConfig::from_yaml(&yaml, "it.yaml").unwrap();
    let mut reporter = Reporter::from_config(&config, Arc::new(SystemClock), Instant::now());
    let fast = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
    };
    reporter.options = ReporterOptions {
        register_backoff: fast,
        send_backoff: fast,
        unauthorized_retry: Duration::from_millis(100),
        first_sample_delay: Some(Duration::from_millis(100)),
        ..ReporterOptions::default()
    };
    reporter
}

/// Lines in the spool's segment files: the samples written so far.
fn spooled_lines(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().ends_with(".jsonl"))
                .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
                .map(|text| text.lines().count())
                .sum()
        })
        .unwrap_or(0)
}

fn assert_plausible(report: &MetricsReport) {
    let cpu = report.cpu_percent.expect("cpu_percent");
    assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
    assert!(report.memory_used_mb.expect("memory_used_mb") > 0);
    assert!(report.memory_percent.expect("memory_percent") > 0.0);
    assert!(report.disk_total_mb.expect("disk_total_mb") > 0);
    assert!(report.net_send_rate_kb.expect("net_send_rate_kb") >= 0.0);
    assert!(report.agent_memory_rss_mb.expect("agent_memory_rss_mb") > 0.0);
    assert!(report.timestamp.is_some());
}

#[tokio::test]
async fn registers_and_reports_metrics() {
    let (server, url) = start_server(Script::default()).await;
    let spool = tempfile::tempdir().unwrap();
    let stats = reporter(&url, spool.path())
        .run(server.until_accepted(2))
        .await;

    let recorded = server.recorded.lock().unwrap();
    assert_eq!(recorded.registrations.len(), 1);
    let registration = &recorded.registrations[0];
    assert_eq!(registration.hostname, "it-host");
    assert_eq!(
        registration.tags,
        Some(json!({"it": true}).as_object().unwrap().clone())
    );
    assert!(registration.memory_total_mb.unwrap() > 0);
    assert!(registration.cpu_cores.unwrap() >= 1);

    assert!(recorded.metrics.len() >= 2);
    let mut keys = HashSet::new();
    let mut previous_timestamp = None;
    for (status, key, authorization, report) in &recorded.metrics {
        assert_eq!(*status, 201);
        assert_eq!(authorization, "Bearer vop_test");
        assert!(uuid::Uuid::parse_str(key).is_ok(), "{key}");
        assert!(keys.insert(key.clone()), "one key per sample");
        assert_eq!(report.host_id, 42);
        assert_plausible(report);
        assert!(report.timestamp > previous_timestamp);
        previous_timestamp = report.timestamp;
    }
    // Every body went out gzip-compressed (the default) and inflated to valid JSON above.
    assert!(recorded.encodings.len() >= 3, "{:?}", recorded.encodings);
    for (path, encoding) in &recorded.encodings {
        assert_eq!(encoding, "gzip", "{path}");
    }
    // The shutdown may cut off the reply to the last post; that sample stays spooled, so only the
    // earlier ones are sure to be counted as delivered.
    assert!(stats.delivered.load(std::sync::atomic::Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn gzip_off_sends_plain_json() {
    let (server, url) = start_server(Script::default()).await;
    let spool = tempfile::tempdir().unwrap();
    reporter_with(&url, spool.path(), ", gzip: false")
        .run(server.until_accepted(1))
        .await;
    let recorded = server.recorded.lock().unwrap();
    assert!(!recorded.encodings.is_empty());
    for (path, encoding) in &recorded.encodings {
        assert_eq!(encoding, "", "{path}");
    }
}

#[tokio::test]
async fn a_failing_server_loses_nothing_and_retries_with_the_same_key() {
    let (server, url) = start_server(Script {
        unavailable_first: 3,
        ..Script::default()
    })
    .await;
    let spool = tempfile::tempdir().unwrap();
    reporter(&url, spool.path())
        .run(server.until_accepted(2))
        .await;

    let recorded = server.recorded.lock().unwrap();
    let statuses: Vec<u16> = recorded
        .metrics
        .iter()
        .map(|(status, ..)| *status)
        .collect();
    assert_eq!(&statuses[..3], [503, 503, 503]);
    // The first sample was retried under its key until accepted, and came first.
    let first_key = &recorded.metrics[0].1;
    assert!(
        recorded.metrics[..4]
            .iter()
            .all(|(_, key, ..)| key == first_key)
    );
    assert_eq!(recorded.metrics[3].0, 201);
    let accepted: Vec<&MetricsReport> = recorded
        .metrics
        .iter()
        .filter(|(status, ..)| *status == 201)
        .map(|(.., report)| report)
        .collect();
    assert!(
        accepted
            .windows(2)
            .all(|pair| pair[0].timestamp < pair[1].timestamp)
    );
}

#[tokio::test]
async fn a_forbidden_host_registers_again_and_continues() {
    let (server, url) = start_server(Script {
        forbid_at: Some(0),
        ..Script::default()
    })
    .await;
    let spool = tempfile::tempdir().unwrap();
    let stats = reporter(&url, spool.path())
        .run(server.until_accepted(1))
        .await;

    let recorded = server.recorded.lock().unwrap();
    assert_eq!(recorded.registrations.len(), 2);
    assert_eq!(recorded.metrics[0].0, 403);
    assert_eq!(recorded.metrics[0].3.host_id, 42);
    // The same sample, now under the new host id.
    assert_eq!(recorded.metrics[1].0, 201);
    assert_eq!(recorded.metrics[1].3.host_id, 43);
    assert_eq!(recorded.metrics[1].1, recorded.metrics[0].1);
    assert_eq!(
        stats
            .registrations
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[tokio::test]
async fn samples_spooled_while_the_server_is_down_are_replayed_after_a_restart() {
    let spool = tempfile::tempdir().unwrap();

    // First run: the server never accepts; two samples pile up in the spool.
    let (down, down_url) = start_server(Script {
        unavailable_first: usize::MAX,
        ..Script::default()
    })
    .await;
    let first_run = reporter(&down_url, spool.path());
    let spool_dir = vigilops_agent::reporter::metrics_spool_dir(spool.path());
    let collected = first_run
        .run(async {
            // Stop once two samples are on disk and the server has refused the first one.
            tokio::time::timeout(Duration::from_secs(10), async {
                while spooled_lines(&spool_dir) < 2
                    || down.recorded.lock().unwrap().metrics.is_empty()
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await
            .unwrap();
        })
        .await
        .collected
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(collected >= 2, "collected {collected}");
    let first_key = down.recorded.lock().unwrap().metrics[0].1.clone();
    let first_timestamp = down.recorded.lock().unwrap().metrics[0].3.timestamp;

    // Second run, new process, server back: the spooled samples arrive first, oldest first,
    // with their original keys and timestamps.
    let (up, up_url) = start_server(Script::default()).await;
    let collected_usize = usize::try_from(collected).unwrap();
    reporter(&up_url, spool.path())
        .run(up.until_accepted(collected_usize))
        .await;
    let accepted = up.accepted_metrics();
    assert_eq!(accepted[0].0, first_key);
    assert_eq!(accepted[0].1.timestamp, first_timestamp);
    let keys: HashSet<&String> = accepted.iter().map(|(key, _)| key).collect();
    assert_eq!(keys.len(), accepted.len(), "each sample stored once");
    assert!(
        accepted
            .windows(2)
            .all(|pair| pair[0].1.timestamp < pair[1].1.timestamp)
    );
    for (_, report) in &accepted {
        assert_plausible(report);
    }
}
