//! Footprint benchmark: the release `vigilops-agent` binary reporting to the real
//! `vigilops-server` (release, SQLite) for several minutes, in two configurations run side by
//! side: metrics only, and every collector on (two service checks, a log file with a line a
//! second, PostgreSQL and MariaDB metrics, host service discovery). Where Debian's
//! `prometheus-node-exporter` is installed, it runs in the same window with a scraper hitting
//! `/metrics` at the same interval. Prints, per process: RSS (mean and max of the samples, and the
//! kernel's peak `VmHWM`) and CPU time (utime + stime from `/proc/<pid>/stat`) as a percentage of
//! one core over the measured window (after a warm-up of one interval plus 5 s).
//!
//! Run: `cargo build --release -p vigilops-server && cargo bench -p vigilops-agent --bench
//! footprint`; the agent is built with the size-optimised `agent` profile, as shipped (env:
//! `VIGILOPS_AGENT_BIN` to measure another agent binary, `SECONDS=300` measured, `INTERVAL=15` metrics/check/database interval,
//! `CONFIGS=metrics,all`, `AGENT_ENV="NAME=value …"` extra environment for the agents, e.g.
//! `MALLOC_ARENA_MAX=2`, `NODE_EXPORTER=0` to leave node_exporter out).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vigilops_core::client::ApiClient;

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A child process killed on drop.
struct Process {
    name: String,
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/release/vigilops-server`, next to this bench's `deps/`; built if missing.
fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("VIGILOPS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
    let binary = profile_dir.join("vigilops-server");
    if !binary.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "vigilops-server"])
            .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building vigilops-server failed");
    }
    binary
}

/// The agent as shipped: `target/agent/vigilops-agent` (the size-optimised `agent` profile),
/// built (or brought up to date) first. `VIGILOPS_AGENT_BIN` measures another binary.
fn agent_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("VIGILOPS_AGENT_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let target_dir = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--profile", "agent", "-p", "vigilops-agent"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "building vigilops-agent (profile agent) failed"
    );
    target_dir.join("agent").join("vigilops-agent")
}

fn start_server(data_dir: &Path) -> (Process, String) {
    let mut child = Command::new(server_binary())
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    (
        Process {
            name: "vigilops-server".into(),
            child,
        },
        url,
    )
}

/// The agent config of one configuration.
fn agent_config(
    name: &str,
    url: &str,
    token: &str,
    interval: u64,
    dir: &Path,
    log_file: &Path,
) -> String {
    let port = url.rsplit(':').next().unwrap();
    let common = format!(
        "server: {{url: '{url}', token: {token}}}\n\
         host: {{name: bench-{name}}}\n\
         metrics: {{interval: {interval}}}\n\
         spool: {{dir: '{}'}}\n",
        dir.join(format!("spool-{name}")).display()
    );
    match name {
        "metrics" => {
            format!("{common}discovery: false\nservices: []\nlog_sources: []\ndatabases: []\n")
        }
        "all" => format!(
            "{common}\
             discovery: {{host_services: true, docker: false, interval: {interval}, rediscover_interval: 60}}\n\
             services:\n  \
               - {{name: server-health, type: http, url: '{url}/health', interval: {interval}, timeout: 5}}\n  \
               - {{name: server-port, type: tcp, host: 127.0.0.1, port: {port}, interval: {interval}, timeout: 5}}\n\
             log_sources:\n  - {{path: '{}', service: bench-app}}\n\
             databases:\n  \
               - {{name: bench-pg, type: postgres, host: 127.0.0.1, port: 5432, database: test, username: postgres, password: '', interval: {interval}}}\n  \
               - {{name: bench-maria, type: mysql, host: 127.0.0.1, port: 3306, database: mysql, username: root, password: '', interval: {interval}}}\n",
            log_file.display()
        ),
        other => panic!("unknown configuration {other:?} (metrics, all)"),
    }
}

fn start_agent(
    binary: &Path,
    name: &str,
    config: &Path,
    extra_env: &[(String, String)],
) -> Process {
    let mut command = Command::new(binary);
    command
        .arg("-c")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .env_remove("VIGILOPS_TOKEN")
        .stdout(Stdio::null());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    Process {
        name: format!("agent: {name}"),
        child: command.spawn().expect("start agent"),
    }
}

/// What `/proc/<pid>/status` says about memory, in KiB.
struct Memory {
    rss: u64,
    hwm: u64,
    /// Private memory: heap, stacks.
    anon: u64,
    /// Mapped pages of the binary and its libraries (clean, shared with the page cache).
    file: u64,
}

fn memory_kib(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        hwm: field("VmHWM:")?,
        anon: field("RssAnon:")?,
        file: field("RssFile:")?,
    })
}

/// utime + stime in clock ticks, and the thread count.
fn cpu_ticks(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, stime 15, num_threads 20.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let threads: u64 = fields.get(17)?.parse().ok()?;
    Some((utime + stime, threads))
}

#[derive(Default)]
struct Measured {
    rss_samples: Vec<u64>,
    anon_samples: Vec<u64>,
    file_samples: Vec<u64>,
    hwm: u64,
    cpu_start: Option<(u64, Instant)>,
    cpu_end: Option<(u64, Instant)>,
    max_threads: u64,
}

impl Measured {
    fn sample(&mut self, pid: u32) {
        if let Some(memory) = memory_kib(pid) {
            self.rss_samples.push(memory.rss);
            self.anon_samples.push(memory.anon);
            self.file_samples.push(memory.file);
            self.hwm = memory.hwm;
        }
        if let Some((ticks, threads)) = cpu_ticks(pid) {
            let now = Instant::now();
            if self.cpu_start.is_none() {
                self.cpu_start = Some((ticks, now));
            }
            self.cpu_end = Some((ticks, now));
            self.max_threads = self.max_threads.max(threads);
        }
    }

    /// Percent of one core over the window.
    fn cpu_percent(&self, ticks_per_second: u64) -> f64 {
        match (self.cpu_start, self.cpu_end) {
            (Some((start, started)), Some((end, ended))) => {
                let seconds = ended.duration_since(started).as_secs_f64().max(1e-9);
                #[allow(clippy::cast_precision_loss)]
                let cpu = (end - start) as f64 / ticks_per_second as f64;
                100.0 * cpu / seconds
            }
            _ => f64::NAN,
        }
    }
}

/// The mean of KiB samples, in MiB.
fn mean_mib(samples: &[u64]) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let mean = samples.iter().sum::<u64>() as f64 / samples.len().max(1) as f64;
    mean / 1024.0
}

fn mib(kib: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let kib = kib as f64;
    kib / 1024.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; no other arguments are taken.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let seconds = env_number("SECONDS", 300);
    let interval = env_number("INTERVAL", 15);
    let configs: Vec<String> = std::env::var("CONFIGS")
        .unwrap_or_else(|_| "metrics,all".into())
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    let extra_env: Vec<(String, String)> = std::env::var("AGENT_ENV")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    let ticks_per_second = rustix::param::clock_ticks_per_second();

    let dir = std::env::temp_dir().join(format!("vigilops-footprint-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let (server, url) = start_server(&dir.join("data"));
    let mut api = ApiClient::new(&url);
    api.register("bench@example.com", "Bench", "bench-password")
        .await
        .unwrap();
    let token = api
        .create_agent_token("footprint")
        .await
        .unwrap()
        .token
        .unwrap();

    // The log file of the "all" configuration gets one line a second.
    let log_file = dir.join("app.log");
    std::fs::write(&log_file, "").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, log_file) = (Arc::clone(&stop), log_file.clone());
        tokio::spawn(async move {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&log_file)
                .unwrap();
            let mut line = 0u64;
            while !stop.load(Ordering::Relaxed) {
                line += 1;
                let level = if line.is_multiple_of(10) {
                    "ERROR"
                } else {
                    "INFO"
                };
                writeln!(
                    file,
                    "2026-11-27 10:00:00 {level} request {line} served in 12 ms"
                )
                .unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    let agent = agent_binary();
    let mut processes = Vec::new();
    for name in &configs {
        let config_path = dir.join(format!("agent-{name}.yaml"));
        std::fs::write(
            &config_path,
            agent_config(name, &url, &token, interval, &dir, &log_file),
        )
        .unwrap();
        processes.push(start_agent(&agent, name, &config_path, &extra_env));
    }

    // node_exporter with Debian's default collectors, scraped at the same interval.
    let mut scraper = None;
    let node_exporter_wanted = !std::env::var("NODE_EXPORTER").is_ok_and(|value| value == "0");
    if node_exporter_wanted && Path::new(NODE_EXPORTER).exists() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(NODE_EXPORTER)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node_exporter");
        processes.push(Process {
            name: "node_exporter (scraped)".into(),
            child,
        });
        let stop = Arc::clone(&stop);
        scraper = Some(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let url = format!("http://127.0.0.1:{port}/metrics");
            let mut scrapes = 0u64;
            let mut bytes = 0usize;
            tokio::time::sleep(Duration::from_secs(1)).await;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(response) = client.get(&url).send().await
                    && let Ok(body) = response.bytes().await
                {
                    scrapes += 1;
                    bytes = body.len();
                }
                tokio::time::sleep(Duration::from_secs(interval)).await;
            }
            (scrapes, bytes)
        }));
    } else if node_exporter_wanted {
        println!("{NODE_EXPORTER} not installed: node_exporter not measured");
    }

    let warmup = interval + 5;
    println!(
        "warm-up {warmup} s, then measuring {seconds} s at a {interval} s interval: {}",
        processes
            .iter()
            .map(|process| process.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let mut measured: Vec<Measured> = processes.iter().map(|_| Measured::default()).collect();
    let mut server_measured = Measured::default();
    let started = Instant::now();
    loop {
        for (process, measured) in processes.iter().zip(measured.iter_mut()) {
            measured.sample(process.child.id());
        }
        server_measured.sample(server.child.id());
        if started.elapsed() >= Duration::from_secs(seconds) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = writer.await;

    let stored = api
        .list_hosts(&vigilops_core::client::HostQuery::default())
        .await
        .map(|page| page.total)
        .unwrap_or(-1);
    println!(
        "\n| process | RSS mean | RSS max | peak (VmHWM) | anon / file RSS (mean) | CPU (% of one core) | threads (max) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let rows = processes
        .iter()
        .map(|process| process.name.clone())
        .chain(std::iter::once("vigilops-server (receiving)".to_owned()))
        .zip(measured.iter().chain(std::iter::once(&server_measured)));
    for (name, measured) in rows {
        let max = measured.rss_samples.iter().copied().max().unwrap_or(0);
        println!(
            "| {name} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} / {:.1} MiB | {:.3} % | {} |",
            mean_mib(&measured.rss_samples),
            mib(max),
            mib(measured.hwm),
            mean_mib(&measured.anon_samples),
            mean_mib(&measured.file_samples),
            measured.cpu_percent(ticks_per_second),
            measured.max_threads
        );
    }
    if let Some(scraper) = scraper {
        let (scrapes, bytes) = scraper.await.unwrap();
        println!("\nnode_exporter: {scrapes} scrapes, {bytes} bytes each");
    }
    println!("hosts registered on the server: {stored}");
    for process in &mut processes {
        if let Ok(Some(status)) = process.child.try_wait() {
            println!("WARNING: {} exited early: {status}", process.name);
        }
    }
    drop(processes);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
