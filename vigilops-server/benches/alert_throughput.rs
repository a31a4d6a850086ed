//! Alert event throughput on one core: the real `AlertEngine` and `Dispatcher`, wired as the
//! server wires them, over a fresh SQLite store, with a webhook channel pointing at a receiver in
//! this process. The process pins itself to one CPU (it re-runs itself under `taskset`) and runs
//! everything, SQLite's worker threads included, on that CPU.
//!
//! An "alert event" is one alert opening or resolving: a reading hands the engine a breach (or a
//! clear) of a (rule, host) pair, the pair's state machine decides, the alert and its timeline
//! are written in one transaction, the notice is checked against silences, grouped per (rule,
//! kind), routed to the rule's channel through the rate limiter, delivered to the receiver, and
//! the delivery is logged per alert (`notification_logs` row and `notified` timeline event). The
//! clock stops when the last of those log writes is done. Readings of a breach that is already
//! open (deduplicated into the open alert, nothing written) are timed separately.
//!
//! The storm: `HOSTS` hosts each breach all `RULES` user rules at once (plus the five builtin
//! rules the server seeds, evaluated on every reading), then each reports the breach once more,
//! then each clears. Every pair fires once and resolves once, so flap detection and cooldowns
//! never hold anything back. Groups use the server's 250 ms wait; their update interval is
//! `GROUP_INTERVAL_MS` (1 s here, 60 s in the server: a shorter interval means more messages, so
//! this is the heavier case), and what is still grouped at the end is sent when the engine shuts
//! down, as the server does.
//!
//! A second figure times the in-memory parts alone (state machine, grouper, rate limiter), to
//! show how much of the cost is storage.
//!
//! Run: `cargo bench -p vigilops-server --bench alert_throughput` (env: `HOSTS=2500`, `RULES=4`,
//! `GROUP_INTERVAL_MS=1000`, `CPU=0` the core to pin to, `CPU=all` not to pin).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use chrono::Utc;
use serde_json::{Value, json};
use vigilops_core::alerting::dispatch::{DispatchConfig, Dispatcher};
use vigilops_core::alerting::engine::{AlertEngine, Observation};
use vigilops_core::alerting::group::{GroupPolicy, Grouper};
use vigilops_core::alerting::rule::Assessment;
use vigilops_core::alerting::service::RuleService;
use vigilops_core::alerting::state::{AlertState, Event, FlapPolicy, Policy};
use vigilops_core::alerting::wire::AlertRuleCreate;
use vigilops_core::audit::Actor;
use vigilops_core::clock::{Clock, SystemClock};
use vigilops_core::model::{AlertEventKind, HostRegistration, MetricSample, MetricValues};
use vigilops_core::notify::rate_limit::{Admission, RateLimiters};
use vigilops_core::notify::service::ChannelService;
use vigilops_core::notify::wire::ChannelCreate;
use vigilops_core::notify::{ChannelKind, Notification, NotificationKind, Severity};
use vigilops_core::store::Store;
use vigilops_core::store::testing::fresh_sqlite;

/// The user rules' metrics, in order; each breaches above 90.
const METRICS: [&str; 4] = [
    "cpu_percent",
    "memory_percent",
    "disk_percent",
    "net_packet_loss_rate",
];

/// A breaching value: above the user rules' 90, below the builtin disk rule's 95 (the builtin CPU
/// and memory rules wait 300 s), so the builtins evaluate every reading and fire nothing.
const BREACH: f64 = 93.0;

/// How long the deliveries may take after the last reading before the run is declared broken.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// What the webhook receiver has seen.
#[derive(Default)]
struct Received {
    /// Alert ids per status (`firing`, `resolved`).
    alerts: HashMap<String, HashSet<i64>>,
    /// Alert objects received in all (more than the sets hold if one came twice).
    members: usize,
    /// Messages received.
    messages: usize,
    /// The last alert id of each message with its status: its delivery log is written last.
    last_of_message: Vec<(i64, String)>,
}

async fn receive(State(received): State<Arc<Mutex<Received>>>, body: Bytes) -> &'static str {
    let payload: Value = serde_json::from_slice(&body).unwrap();
    let alerts = match payload.get("alerts").and_then(Value::as_array) {
        Some(members) => members.clone(),
        None => vec![payload],
    };
    let mut received = received.lock().unwrap();
    received.messages += 1;
    let mut last = None;
    for alert in alerts {
        let (Some(id), Some(status)) = (alert["alert_id"].as_i64(), alert["status"].as_str())
        else {
            continue;
        };
        received.members += 1;
        received
            .alerts
            .entry(status.to_owned())
            .or_default()
            .insert(id);
        last = Some((id, status.to_owned()));
    }
    received.last_of_message.extend(last);
    "{}"
}

async fn start_receiver(received: Arc<Mutex<Received>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/hook")
}

/// User + system CPU time from a `/proc/.../stat` file.
fn cpu_time_of(stat_path: &std::path::Path) -> Duration {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name; the
    // kernel counts them in USER_HZ, which is 100 on Linux.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// CPU time so far of this process's SQLite worker threads (sqlx runs each connection on its
/// own thread) and of the rest (the runtime thread: engine, dispatcher, HTTP, receiver).
fn cpu_split() -> (Duration, Duration) {
    let mut sqlite = Duration::ZERO;
    let mut rest = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let time = cpu_time_of(&task.path().join("stat"));
        if name.starts_with("sqlx-sqlite") {
            sqlite += time;
        } else {
            rest += time;
        }
    }
    (sqlite, rest)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn allowed_cpus() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or("?")
        .trim()
        .to_owned()
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let count = count as f64;
    count / elapsed.as_secs_f64()
}

fn reading(host_id: i64, value: f64, at: chrono::DateTime<Utc>) -> Observation {
    Observation::Metrics(Box::new(MetricSample {
        host_id,
        recorded_at: at,
        values: MetricValues {
            cpu_percent: Some(value),
            memory_percent: Some(value),
            disk_percent: Some(value),
            net_packet_loss_rate: Some(value),
            cpu_load_1: Some(0.5),
            ..MetricValues::default()
        },
        extra: None,
    }))
}

async fn engine_run(hosts: usize, rules: usize, group_interval: Duration) {
    let temp = fresh_sqlite().await;
    let store: Arc<dyn Store> = Arc::new(temp.store.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let received = Arc::new(Mutex::new(Received::default()));
    let hook_url = start_receiver(Arc::clone(&received)).await;

    // As `App::start` does: the builtins, then what the REST API would create.
    let rule_service = RuleService::new(Arc::clone(&store), Arc::clone(&clock));
    rule_service.seed_builtins().await.unwrap();
    let channel = ChannelService::with_default_client(Arc::clone(&store), Arc::clone(&clock))
        .create(
            ChannelCreate {
                name: "bench receiver".to_owned(),
                kind: "webhook".to_owned(),
                config: json!({"url": hook_url}),
                is_enabled: true,
            },
            &Actor::default(),
        )
        .await
        .unwrap();
    for metric in &METRICS[..rules] {
        let rule = AlertRuleCreate {
            name: format!("{metric} > 90"),
            severity: "critical".to_owned(),
            metric: (*metric).to_owned(),
            operator: ">".to_owned(),
            threshold: 90.0,
            duration_seconds: 0,
            notification_channel_ids: Some(vec![channel.id]),
            ..AlertRuleCreate::default()
        };
        rule_service.create(&rule, &Actor::default()).await.unwrap();
    }
    eprintln!("registering {hosts} hosts");
    let token = store
        .create_agent_token("bench", "bench-hash", "vop_bench", None, clock.now())
        .await
        .unwrap();
    let mut host_ids = Vec::with_capacity(hosts);
    for index in 0..hosts {
        let registration = HostRegistration {
            hostname: format!("storm-{index:05}"),
            cpu_cores: Some(4),
            ..HostRegistration::default()
        };
        let (host, _) = store
            .register_host(token.id, registration, clock.now())
            .await
            .unwrap();
        host_ids.push(host.id);
    }

    let group = GroupPolicy {
        interval: chrono::Duration::from_std(group_interval).unwrap(),
        ..GroupPolicy::default()
    };
    let dispatcher = Dispatcher::start(
        Arc::clone(&store),
        Arc::clone(&clock),
        vigilops_core::notify::http_client(),
        DispatchConfig {
            group,
            // Every alert object in every payload, so the receiver can check each arrived.
            max_payload_alerts: usize::MAX,
            ..DispatchConfig::default()
        },
    );
    let engine = AlertEngine::start(Arc::clone(&store), Arc::clone(&clock), dispatcher);
    // The engine has restored (nothing) and read the rules.
    engine.flush().await;
    eprintln!("engine started");

    eprintln!("storm: breach, breach again, clear");
    let events = hosts * rules;
    let load_before = load_average();
    let (sqlite_before, rest_before) = cpu_split();
    let started = Instant::now();
    for &host_id in &host_ids {
        engine.observe(reading(host_id, BREACH, clock.now())).await;
    }
    engine.flush().await;
    let fired_at = started.elapsed();
    let repeat_started = Instant::now();
    for &host_id in &host_ids {
        engine.observe(reading(host_id, BREACH, clock.now())).await;
    }
    engine.flush().await;
    let repeated = repeat_started.elapsed();
    let clear_started = Instant::now();
    for &host_id in &host_ids {
        engine.observe(reading(host_id, 10.0, clock.now())).await;
    }
    engine.flush().await;
    let cleared = clear_started.elapsed();
    // Shutting down sends what is still grouped.
    drop(engine);
    eprintln!("waiting for the deliveries");

    let waited = Instant::now();
    loop {
        {
            let received = received.lock().unwrap();
            let complete = |status: &str| received.alerts.get(status).map_or(0, HashSet::len);
            if complete("firing") == events && complete("resolved") == events {
                break;
            }
        }
        assert!(
            waited.elapsed() < DELIVERY_TIMEOUT,
            "not every alert was notified: {:?}",
            received
                .lock()
                .unwrap()
                .alerts
                .iter()
                .map(|(status, ids)| (status.clone(), ids.len()))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = started.elapsed();
    let last_of_message = received.lock().unwrap().last_of_message.clone();
    for (alert_id, status) in &last_of_message {
        let event = if status == "firing" {
            "fired"
        } else {
            "resolved"
        };
        loop {
            let logged = store
                .alert_events(*alert_id)
                .await
                .unwrap()
                .iter()
                .any(|timeline| {
                    timeline.kind == AlertEventKind::Notified
                        && timeline
                            .detail
                            .as_ref()
                            .is_some_and(|detail| detail["event"] == event)
                });
            if logged {
                break;
            }
            assert!(
                waited.elapsed() < DELIVERY_TIMEOUT,
                "delivery of alert {alert_id} was never logged"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let logged = started.elapsed();
    let (sqlite_after, rest_after) = cpu_split();
    let (sqlite_cpu, rest_cpu) = (sqlite_after - sqlite_before, rest_after - rest_before);
    let load_after = load_average();

    let received = received.lock().unwrap();
    assert_eq!(
        received.members,
        2 * events,
        "every alert is notified once when it fires and once when it resolves"
    );
    println!(
        "engine + dispatcher over SQLite, CPUs {}: {hosts} hosts × {rules} rules (+5 builtins), \
         group interval {} ms, load average {load_before} → {load_after}",
        allowed_cpus(),
        group_interval.as_millis(),
    );
    println!(
        "  fire:    {events} alerts opened and grouped in {:.2} s: {:.0} events/s",
        fired_at.as_secs_f64(),
        rate(events, fired_at)
    );
    println!(
        "  repeat:  {events} breaches of open alerts deduplicated in {:.2} s: {:.0} evaluations/s",
        repeated.as_secs_f64(),
        rate(events, repeated)
    );
    println!(
        "  resolve: {events} alerts resolved and grouped in {:.2} s: {:.0} events/s",
        cleared.as_secs_f64(),
        rate(events, cleared)
    );
    println!(
        "  end to end: {} events in {} messages, all received after {:.2} s, all logged after {:.2} s: \
         {:.0} events/s",
        2 * events,
        received.messages,
        delivered.as_secs_f64(),
        logged.as_secs_f64(),
        rate(2 * events, logged),
    );
    println!(
        "  CPU time: {:.2} s in SQLite's worker threads, {:.2} s in the runtime thread \
         (engine, dispatcher, HTTP, receiver): {:.0} % of the wall time",
        sqlite_cpu.as_secs_f64(),
        rest_cpu.as_secs_f64(),
        100.0 * (sqlite_cpu + rest_cpu).as_secs_f64() / logged.as_secs_f64(),
    );
    drop(received);
    drop(temp);
}

/// The in-memory parts alone: each pair's state machine, the grouper and the rate limiter,
/// with the same storm, time advancing 100 µs per reading.
fn in_memory_run(hosts: usize, rules: usize) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let policy = Policy {
        pending: chrono::Duration::zero(),
        cooldown: chrono::Duration::minutes(5),
        flap: FlapPolicy::default(),
        resolve_hold: vigilops_core::alerting::state::RESOLVE_HOLD,
    };
    let rule_ids: Vec<i64> = (1..=i64::try_from(rules).unwrap()).collect();
    let mut pairs: HashMap<(i64, String), AlertState> = HashMap::new();
    let mut grouper: Grouper<(i64, bool), (i64, String)> = Grouper::new(GroupPolicy {
        interval: chrono::Duration::seconds(1),
        ..GroupPolicy::default()
    });
    let mut limiters: RateLimiters<i64> = RateLimiters::new(Arc::clone(&clock));
    let mut now = clock.now();
    let mut events = 0_usize;
    let mut members = 0_usize;
    let mut route =
        |batches: Vec<vigilops_core::alerting::group::Batch<(i64, bool), (i64, String)>>,
         members: &mut usize| {
            for batch in batches {
                *members += batch.members.len();
                let message = Notification::new(
                    format!("{} targets", batch.members.len()),
                    Severity::Critical,
                    NotificationKind::Firing,
                    String::new(),
                );
                let admission = limiters.offer(batch.key.0, ChannelKind::Webhook, message);
                assert!(
                    matches!(admission, Admission::Send(_)),
                    "webhooks have no platform limit"
                );
            }
        };
    let started = Instant::now();
    for assessment in [
        Assessment::Violating,
        Assessment::Violating,
        Assessment::Clear,
    ] {
        for host in 0..hosts {
            now += chrono::Duration::microseconds(100);
            for &rule_id in &rule_ids {
                let state = pairs.entry((rule_id, format!("host:{host}"))).or_default();
                for event in state.observe(Some(assessment), now, &policy) {
                    let fired = match event {
                        Event::Fired { .. } => true,
                        Event::Resolved { .. } => false,
                        _ => continue,
                    };
                    events += 1;
                    grouper.offer((rule_id, fired), (rule_id, format!("host:{host}")), now);
                }
            }
            route(grouper.due(now), &mut members);
        }
    }
    route(grouper.drain(), &mut members);
    let elapsed = started.elapsed();
    assert_eq!(events, 2 * hosts * rules);
    assert_eq!(members, events);
    println!(
        "in-memory parts alone (state machine, grouper, rate limiter): {events} events from {} \
         evaluations in {:.3} s: {:.0} events/s",
        3 * hosts * rules,
        elapsed.as_secs_f64(),
        rate(events, elapsed),
    );
}

/// Re-runs this bench under `taskset -c CPU` unless it is already on one CPU or `CPU=all`.
fn pin_to_one_cpu() {
    let cpu = std::env::var("CPU").unwrap_or_else(|_| "0".to_owned());
    let allowed = allowed_cpus();
    if cpu == "all" || !(allowed.contains(',') || allowed.contains('-')) {
        return;
    }
    let status = std::process::Command::new("taskset")
        .args(["-c", &cpu])
        .arg(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .status()
        .expect("run taskset (util-linux) to pin the bench to one CPU, or set CPU=all");
    std::process::exit(status.code().unwrap_or(1));
}

fn main() {
    pin_to_one_cpu();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let hosts: usize = env("HOSTS", "2500").parse().unwrap();
    let rules: usize = env("RULES", "4").parse().unwrap();
    assert!((1..=METRICS.len()).contains(&rules), "RULES is 1 to 4");
    let group_interval = Duration::from_millis(env("GROUP_INTERVAL_MS", "1000").parse().unwrap());
    // One thread, as on one core.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(engine_run(hosts, rules, group_interval));
    in_memory_run(hosts, rules);
}
