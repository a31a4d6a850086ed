//! The dashboard's read paths at fleet scale (issue #7): the dashboard summary, the host list
//! and a 7-day host chart, each through the real router (token check included), timed call by
//! call over a store seeded directly with SQL.
//!
//! The seed: `HOSTS` hosts, each with `HOURS` hours of 15-second samples ending now, and one
//! of them (the charted host) with `CHART_DAYS` days. The full scale is every host with
//! 7 days (`HOURS=168`: 403 million rows at 10,000 hosts); the summary and the list read only
//! each host's newest sample and the chart only one host's rows, through the
//! `(host_id, recorded_at)` index, so a shorter history for the other hosts changes the table's
//! size (index depth, cache hits), not the rows these queries touch. BENCHMARKS.md says which
//! scale each figure was measured at.
//!
//! Run: `cargo bench -p vigilops-server --bench read_paths` (env: `BACKEND=postgres|sqlite`,
//! `HOSTS=10000`, `HOURS=1`, `CHART_DAYS=7`, `CALLS=200`, `RAW_TREND_CALLS` = `CALLS`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use tower::ServiceExt;
use vigilops_core::clock::{Clock, SystemClock};
use vigilops_core::config::ServerConfig;
use vigilops_core::store::Store;
use vigilops_core::store::testing::{fresh_postgres, fresh_sqlite};
use vigilops_server::{App, router};

fn env_number(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Samples per hour at one every 15 s.
const PER_HOUR: i64 = 240;

/// Seeds PostgreSQL: hosts, the charted host's long history and every host's recent samples,
/// oldest first, as agents' reports arrive: the table's physical order follows time, which the
/// `recorded_at` BRIN index relies on (a host-by-host seed made every block range span the whole
/// period, and a 3-minute range scan read the whole table).
async fn seed_postgres(pool: &sqlx::PgPool, hosts: i64, hours: i64, chart_days: i64) {
    let columns = "host_id, recorded_at, cpu_percent, cpu_load_1, memory_used_mb, \
        memory_percent, disk_used_mb, disk_total_mb, disk_percent, net_send_rate_kb, \
        net_recv_rate_kb";
    let values = "random() * 100, random() * 4, 4096 * random(), random() * 100, \
        51200 * random(), 102400, random() * 100, random() * 1000, random() * 1000";
    for statement in [
        format!(
            "INSERT INTO hosts (hostname, status, last_heartbeat, created_at, updated_at) \
             SELECT 'host-' || g, 'online', now(), now(), now() FROM generate_series(1, {hosts}) g"
        ),
        format!(
            "INSERT INTO host_metrics ({columns}) \
             SELECT (SELECT min(id) FROM hosts), now() - s * interval '15 seconds', {values} \
             FROM generate_series({}, {}) s ORDER BY s DESC",
            hours * PER_HOUR,
            chart_days * 24 * PER_HOUR - 1
        ),
        format!(
            "INSERT INTO host_metrics ({columns}) \
             SELECT h.id, now() - s * interval '15 seconds', {values} \
             FROM hosts h, generate_series(0, {}) s ORDER BY s DESC, h.id",
            hours * PER_HOUR - 1
        ),
        // What autovacuum does to a table that grew: statistics, the visibility map, and the
        // BRIN summaries of every block range filled so far.
        "VACUUM (ANALYZE) host_metrics".to_owned(),
        "ANALYZE".to_owned(),
    ] {
        sqlx::query(AssertSqlSafe(statement))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// Seeds SQLite the same way (timestamps in microseconds).
async fn seed_sqlite(pool: &sqlx::SqlitePool, hosts: i64, hours: i64, chart_days: i64) {
    let now = "(CAST(strftime('%s', 'now') AS INTEGER) * 1000000)";
    let columns = "host_id, recorded_at, cpu_percent, cpu_load_1, memory_used_mb, \
        memory_percent, disk_used_mb, disk_total_mb, disk_percent, net_send_rate_kb, \
        net_recv_rate_kb";
    let random = "(abs(random()) % 10000) / 100.0";
    let values = format!(
        "{random}, {random} / 25, {random} * 40, {random}, {random} * 500, 102400, {random}, \
         {random} * 10, {random} * 10"
    );
    let series = |from: i64, to: i64| {
        format!(
            "WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {to})"
        )
    };
    for statement in [
        format!(
            "{} INSERT INTO hosts (hostname, status, last_heartbeat, created_at, updated_at) \
             SELECT 'host-' || n, 'online', {now}, {now}, {now} FROM s",
            series(1, hosts)
        ),
        format!(
            "{} INSERT INTO host_metrics ({columns}) \
             SELECT (SELECT min(id) FROM hosts), {now} - s.n * 15000000, {values} FROM s \
             ORDER BY s.n DESC",
            series(hours * PER_HOUR, chart_days * 24 * PER_HOUR - 1)
        ),
        format!(
            "{} INSERT INTO host_metrics ({columns}) \
             SELECT h.id, {now} - s.n * 15000000, {values} \
             FROM hosts h, s ORDER BY s.n DESC, h.id",
            series(0, hours * PER_HOUR - 1)
        ),
        "ANALYZE".to_owned(),
    ] {
        sqlx::query(AssertSqlSafe(statement))
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn call(
    router: &axum::Router,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(if body.is_some() { "POST" } else { "GET" })
        .uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Times `calls` sequential calls of `path`; prints p50, p95, p99 and max.
async fn measure(router: &axum::Router, token: &str, name: &str, path: &str, calls: i64) {
    let (status, body) = call(router, path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    let mut times = Vec::new();
    for _ in 0..calls {
        let started = Instant::now();
        let (status, _) = call(router, path, Some(token), None).await;
        times.push(started.elapsed());
        assert_eq!(status, StatusCode::OK);
    }
    report(name, calls, times);
}

/// Times `calls` sequential runs of `read`; prints as [`measure`] does.
async fn measure_direct<F, Fut>(name: &str, calls: i64, mut read: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    read().await;
    let mut times = Vec::new();
    for _ in 0..calls {
        let started = Instant::now();
        read().await;
        times.push(started.elapsed());
    }
    report(name, calls, times);
}

fn report(name: &str, calls: i64, mut times: Vec<Duration>) {
    times.sort();
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {calls} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 1.0)),
    );
}

#[tokio::main]
async fn main() {
    let backend = std::env::var("BACKEND").unwrap_or_else(|_| "postgres".to_owned());
    let hosts = env_number("HOSTS", 10_000);
    let hours = env_number("HOURS", 1);
    let chart_days = env_number("CHART_DAYS", 7);
    let calls = env_number("CALLS", 200);
    // The 24 h trends over raw samples scan every host's day: at `HOURS=24` one call takes
    // seconds, so a big seed times fewer of them.
    let raw_trend_calls = env_number("RAW_TREND_CALLS", calls);

    let seeding = Instant::now();
    let (store, _sqlite, postgres): (Arc<dyn Store>, _, _) = if backend == "sqlite" {
        let temp = fresh_sqlite().await;
        seed_sqlite(temp.store.pool(), hosts, hours, chart_days).await;
        (Arc::new(temp.store.clone()), Some(temp), None)
    } else {
        let temp = fresh_postgres()
            .await
            .expect("PostgreSQL at 127.0.0.1:5432");
        seed_postgres(temp.store.pool(), hosts, hours, chart_days).await;
        (Arc::new(temp.store.clone()), None, Some(temp))
    };
    println!(
        "seeded {backend}: {hosts} hosts × {hours} h, one host × {chart_days} d of 15 s samples in {:.0} s",
        seeding.elapsed().as_secs_f64()
    );

    let data_dir = std::env::temp_dir().join(format!("vigilops-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let env: HashMap<String, String> = [
        ("JWT_SECRET_KEY", "bench-secret-0123456789abcdef-0123456789"),
        ("VIGILOPS_DATA_DIR", data_dir.to_str().unwrap()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect();
    let app = App::with_store(
        ServerConfig::from_env(&env).unwrap(),
        store,
        Arc::new(SystemClock),
        None,
    )
    .unwrap();
    let router = router(app.state.clone());
    let (status, tokens) = call(
        &router,
        "/api/v1/auth/register",
        None,
        Some(json!({"email": "bench@example.com", "name": "Bench", "password": "correct-horse"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let (_, first) = call(
        &router,
        "/api/v1/hosts?page=1&page_size=1",
        Some(&token),
        None,
    )
    .await;
    let chart_host = first["items"][0]["id"].as_i64().unwrap();

    println!("| read | calls | p50 | p95 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    measure(
        &router,
        &token,
        "dashboard summary",
        "/api/v1/dashboard/summary",
        calls,
    )
    .await;
    measure_direct("dashboard summary, computed (no cache)", calls, || async {
        vigilops_core::dashboard::summary::summary(app.state.store.as_ref(), &SystemClock)
            .await
            .unwrap();
    })
    .await;
    measure(
        &router,
        &token,
        "host list (page of 20)",
        "/api/v1/hosts?page=1&page_size=20",
        calls,
    )
    .await;
    measure(
        &router,
        &token,
        "host list (page 250 of 20)",
        "/api/v1/hosts?page=250&page_size=20",
        calls,
    )
    .await;
    let charts = |when: &'static str, trend_calls: i64| {
        let (router, token) = (&router, &token);
        async move {
            measure(
                router,
                token,
                &format!("7-day chart, 1 h buckets, {when}"),
                &format!("/api/v1/hosts/{chart_host}/metrics?hours=168&interval=1h"),
                calls,
            )
            .await;
            measure(
                router,
                token,
                &format!("7-day chart, max per 1 h, {when}"),
                &format!("/api/v1/hosts/{chart_host}/metrics?hours=168&agg=max"),
                calls,
            )
            .await;
            measure(
                router,
                token,
                &format!("24 h trends, {when}"),
                "/api/v1/dashboard/trends",
                trend_calls,
            )
            .await;
        }
    };
    charts("from raw samples", raw_trend_calls).await;

    // The rollup pass: the first one rolls up the whole history, the next only what is new.
    let store = app.state.store.as_ref();
    let started = Instant::now();
    let first = vigilops_core::rollup::pass(store, SystemClock.now())
        .await
        .unwrap();
    println!(
        "first rollup pass: {:.1} s ({} 5-minute and {} hourly buckets)",
        started.elapsed().as_secs_f64(),
        first.five_minute_buckets,
        first.hourly_buckets
    );
    if let Some(temp) = &postgres {
        // The first pass filled the rollup tables; autovacuum would analyse them next.
        sqlx::query("ANALYZE")
            .execute(temp.store.pool())
            .await
            .unwrap();
    }
    let started = Instant::now();
    let next = vigilops_core::rollup::pass(store, SystemClock.now())
        .await
        .unwrap();
    println!(
        "steady-state rollup pass: {:.2} s ({} 5-minute and {} hourly buckets)",
        started.elapsed().as_secs_f64(),
        next.five_minute_buckets,
        next.hourly_buckets
    );
    charts("from rollups", calls).await;
    if let Some(temp) = postgres {
        temp.drop_database().await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
