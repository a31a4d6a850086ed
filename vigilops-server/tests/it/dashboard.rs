//! `GET /api/v1/dashboard/trends`: 24 hourly entries from what is stored, on both backends.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;
use vigilops_core::model::{MetricSample, MetricValues};

use crate::on_both_backends;
use crate::support::TestApp;

async fn trends_are_hourly_over_the_last_day(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let web = app.register_host(&agent, "web-01").await;
    let db = app.register_host(&agent, "db-01").await;
    // The test clock is 01:32 UTC: the current hour starts at 01:00 and is the last entry.
    let now = app.clock_now();
    let sample = |host_id, minutes_ago: i64, cpu: f64, mem: f64| MetricSample {
        host_id,
        recorded_at: now - Duration::minutes(minutes_ago),
        values: MetricValues {
            cpu_percent: Some(cpu),
            memory_percent: Some(mem),
            ..MetricValues::default()
        },
        extra: None,
    };
    app.state
        .store
        .insert_metrics(
            &[
                sample(web, 10, 20.0, 50.0),
                sample(db, 20, 40.0, 70.0),
                sample(web, 25, 31.0, 60.0),
                // 5 h earlier (20:32–21:32 → the 20:00 hour is entry 18).
                sample(web, 5 * 60 + 10, 90.0, 10.0),
                // More than a day ago: outside.
                sample(web, 25 * 60, 99.0, 99.0),
            ],
            &[],
        )
        .await
        .unwrap();
    let at = |minutes_ago: i64| (now - Duration::minutes(minutes_ago)).to_rfc3339();
    let logs: Vec<_> = [
        ("ERROR", 125),
        ("FATAL", 130),
        ("critical", 140),
        ("INFO", 125),
        ("ERROR", 30),
    ]
    .iter()
    .map(|(level, ago)| {
        json!({"host_id": web, "level": level, "timestamp": at(*ago), "message": "x",
               "service": "api"})
    })
    .collect();
    let stored = app
        .call(
            "POST",
            "/api/v1/agent/logs",
            Some(&agent),
            Some(json!({"logs": logs})),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{:?}", stored.body);
    // An alert fired now.
    let rule = app
        .call(
            "POST",
            "/api/v1/alert-rules",
            Some(&admin),
            Some(
                json!({"name": "cpu", "metric": "cpu_percent", "operator": ">", "threshold": 90,
                        "duration_seconds": 0}),
            ),
        )
        .await;
    assert!(rule.status.is_success());
    app.state.engine.rules_changed().await;
    app.call(
        "POST",
        "/api/v1/agent/metrics",
        Some(&agent),
        Some(json!({"host_id": db, "cpu_percent": 97.0, "memory_percent": 70.0})),
    )
    .await;
    app.state.engine.flush().await;

    let reply = app
        .call("GET", "/api/v1/dashboard/trends", Some(&admin), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let trends = reply.body["trends"].as_array().unwrap();
    assert_eq!(trends.len(), 24);
    let hour = |index: usize| {
        chrono::DateTime::parse_from_rfc3339(trends[index]["hour"].as_str().unwrap()).unwrap()
    };
    assert_eq!(hour(23).to_rfc3339(), "2026-11-27T01:00:00+00:00");
    assert_eq!(hour(0).to_rfc3339(), "2026-11-26T02:00:00+00:00");
    // This hour: samples at 01:22, 01:12 and 01:07 plus the report just made (97 / 70).
    let last = &trends[23];
    assert_eq!(last["avg_cpu"], 47.0, "{last}");
    assert_eq!(last["avg_mem"], 62.5, "{last}");
    assert_eq!(last["alert_count"], 1);
    assert_eq!(last["error_log_count"], 1);
    // 23:00 holds the logs of 23:12–23:27: two ERROR/FATAL and one lower-case critical.
    assert_eq!(trends[21]["error_log_count"], 3, "{:?}", trends[21]);
    assert_eq!(trends[18]["avg_cpu"], 90.0);
    assert_eq!(trends[0]["avg_cpu"], serde_json::Value::Null);
    assert_eq!(trends[0]["alert_count"], 0);
    assert_eq!(
        app.call("GET", "/api/v1/dashboard/trends", None, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
on_both_backends!(trends_are_hourly_over_the_last_day);
