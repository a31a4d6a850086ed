//! Ingestion benchmark: the real `vigilops-server` binary (release build) on SQLite or
//! PostgreSQL, driven over HTTP by many concurrent simulated agents posting the original agent's
//! metrics body. Prints reports/s, samples/s, p50/p99 latency and the server's RSS.
//!
//! Run: `cargo bench -p vigilops-server --bench ingest` (env: `BACKEND=sqlite|postgres|both`,
//! `CONNECTIONS=64`, `SECONDS=15`, `WARMUP_SECONDS=3`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use vigilops_core::client::{AgentClient, ApiClient};
use vigilops_core::protocol::agent::RegisterRequest;
use vigilops_core::store::testing::fresh_postgres;

/// Values in one metrics report (the 14 fields of the original body).
const VALUES_PER_REPORT: u64 = 14;

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
        .env(
            "VIGILOPS_METRIC_WRITERS",
            std::env::var("WRITERS").unwrap_or_default(),
        )
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

/// (current RSS, peak RSS) of a process in MiB, from /proc.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[u64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    #[allow(clippy::cast_precision_loss)]
    let micros = sorted[index] as f64;
    micros / 1000.0
}

async fn run(backend: &str, connections: usize, seconds: u64, warmup: u64) {
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
    // Same-host database without TLS, as in docker-compose.yml (the postgres image has TLS off).
    let database_url = postgres
        .as_ref()
        .map(|pg| format!("{}?sslmode=disable", pg.url));
    let server = start_server(&data_dir, database_url.as_deref());
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

    let body: Value = serde_json::from_str(include_str!(
        "../tests/fixtures/original-agent/metrics.json"
    ))
    .unwrap();
    let register: RegisterRequest = serde_json::from_str(include_str!(
        "../tests/fixtures/original-agent/register.json"
    ))
    .unwrap();
    let agent = AgentClient::new(&server.url, &token);
    let mut host_ids = Vec::new();
    for index in 0..connections {
        let mut request = register.clone();
        request.hostname = format!("bench-{index:03}");
        host_ids.push(agent.register(&request).await.unwrap().host_id);
    }

    // One HTTP/1.1 keep-alive connection per simulated agent, as agents do. The load generator
    // writes prepared request bytes and reads the reply by Content-Length (as wrk does), so it
    // takes as little as possible of the two cores it shares with the server and PostgreSQL.
    let address = server.url.trim_start_matches("http://").to_owned();
    let recording = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for host_id in host_ids {
        let mut report = body.clone();
        report["host_id"] = Value::from(host_id);
        report.as_object_mut().unwrap().remove("timestamp");
        let payload = report.to_string();
        let request = format!(
            "POST /api/v1/agent/metrics HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            payload.len()
        )
        .into_bytes();
        let (address, recording, stop) = (address.clone(), recording.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut latencies = Vec::with_capacity(200_000);
            let mut errors = 0_u64;
            let mut buffer = Vec::with_capacity(4096);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = match exchange(&mut stream, &request, &mut buffer).await {
                    Ok(status) => status == 201,
                    Err(_) => {
                        stream = tokio::net::TcpStream::connect(&address).await.unwrap();
                        false
                    }
                };
                if recording.load(Ordering::Relaxed) {
                    if ok {
                        latencies
                            .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                    } else {
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    recording.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    recording.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let (rss, peak) = rss_mib(server.child.id());
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mut part, part_errors) = task.await.unwrap();
        latencies.append(&mut part);
        errors += part_errors;
    }
    latencies.sort_unstable();
    #[allow(clippy::cast_precision_loss)]
    let reports = latencies.len() as f64 / elapsed;
    #[allow(clippy::cast_precision_loss)]
    let samples = reports * VALUES_PER_REPORT as f64;
    println!(
        "{backend:>8}: {connections} connections, {seconds} s: {reports:>8.0} reports/s, {samples:>9.0} samples/s, \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {errors}, server RSS {rss:.1} MiB (peak {peak:.1} MiB)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    drop(server);
    if let Some(postgres) = postgres {
        postgres.drop_database().await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Sends one request and reads one reply on a keep-alive connection; returns the status code.
async fn exchange(
    stream: &mut tokio::net::TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> std::io::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request).await?;
    buffer.clear();
    let mut chunk = [0_u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") else {
            continue;
        };
        let head =
            std::str::from_utf8(&buffer[..end]).map_err(|_| std::io::ErrorKind::InvalidData)?;
        let status = head
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buffer.len() < end + 4 + length {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
        return Ok(status);
    }
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let backend = env("BACKEND", "both");
    let connections: usize = env("CONNECTIONS", "64").parse().unwrap();
    let seconds: u64 = env("SECONDS", "15").parse().unwrap();
    let warmup: u64 = env("WARMUP_SECONDS", "3").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let backends: Vec<&str> = match backend.as_str() {
        "both" => vec!["sqlite", "postgres"],
        other => vec![other],
    };
    for backend in backends {
        runtime.block_on(run(backend, connections, seconds, warmup));
    }
}
