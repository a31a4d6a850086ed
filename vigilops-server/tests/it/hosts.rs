//! The host API: filters, latest metrics, downsampled series, offline detection.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestApp;

async fn list_filters_and_pages(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    for name in ["web-01", "web-02", "db-01"] {
        app.register_host(&agent, name).await;
    }
    let page = app
        .call(
            "GET",
            "/api/v1/hosts?page=1&page_size=2",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(page.body["total"], 3);
    assert_eq!(page.body["page_size"], 2);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let search = app
        .call("GET", "/api/v1/hosts?search=WEB", Some(&admin), None)
        .await;
    assert_eq!(search.body["total"], 2);
    let online = app
        .call("GET", "/api/v1/hosts?status=online", Some(&admin), None)
        .await;
    assert_eq!(online.body["total"], 3);
    assert_eq!(online.body["items"][0]["latest_metrics"], Value::Null);
}
on_both_backends!(list_filters_and_pages);

async fn hosts_go_offline_without_heartbeats(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let quiet = app.register_host(&agent, "quiet").await;
    let chatty = app.register_host(&agent, "chatty").await;
    app.advance(Duration::seconds(200));
    app.call(
        "POST",
        "/api/v1/agent/heartbeat",
        Some(&agent),
        Some(json!({"host_id": chatty})),
    )
    .await;
    app.advance(Duration::seconds(150));
    let offline = vigilops_core::liveness::sweep_offline(
        app.state.store.as_ref(),
        app.clock.as_ref(),
        Duration::seconds(300),
    )
    .await
    .unwrap();
    assert_eq!(offline, vec![quiet]);
    let list = app
        .call("GET", "/api/v1/hosts?status=offline", Some(&admin), None)
        .await;
    assert_eq!(list.body["items"][0]["id"], quiet);
    // The next heartbeat brings it back.
    app.call(
        "POST",
        "/api/v1/agent/heartbeat",
        Some(&agent),
        Some(json!({"host_id": quiet})),
    )
    .await;
    let host = app
        .call("GET", &format!("/api/v1/hosts/{quiet}"), Some(&admin), None)
        .await;
    assert_eq!(host.body["status"], "online");
}
on_both_backends!(hosts_go_offline_without_heartbeats);

async fn series_are_downsampled(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "web-01").await;
    // 30 days of one sample every 15 minutes, written straight to the store.
    let now = app.clock.as_ref();
    let samples: Vec<_> = (0..(30 * 96))
        .map(|index: i64| vigilops_core::model::MetricSample {
            host_id,
            recorded_at: vigilops_core::clock::Clock::now(now) - Duration::minutes(15 * index),
            values: vigilops_core::model::MetricValues {
                cpu_percent: Some(if index % 2 == 0 { 10.0 } else { 30.0 }),
                ..Default::default()
            },
            extra: None,
        })
        .collect();
    app.state.store.insert_metrics(&samples, &[]).await.unwrap();

    let get = |query: &'static str| {
        let path = format!("/api/v1/hosts/{host_id}/metrics?{query}");
        let admin = admin.clone();
        async move {
            let reply = app.call("GET", &path, Some(&admin), None).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {:?}", reply.body);
            reply.body.as_array().unwrap().clone()
        }
    };
    let raw = get("hours=1").await;
    assert_eq!(raw.len(), 5, "samples at 0, 15, 30, 45 and 60 minutes ago");
    assert!(
        raw.windows(2)
            .all(|pair| pair[0]["recorded_at"].as_str() < pair[1]["recorded_at"].as_str()),
        "oldest first"
    );
    assert!(raw.iter().all(|point| point["id"].as_i64().unwrap() > 0));
    let month = get("hours=720").await;
    assert!(
        month.len() <= 500 && month.len() >= 30,
        "{} points",
        month.len()
    );
    assert!(month.iter().all(
        |point| point["id"] == 0 && (point["cpu_percent"].as_f64().unwrap() - 20.0).abs() < 5.0
    ));
    let hourly = get("hours=24&interval=1h").await;
    assert!((24..=25).contains(&hourly.len()), "{}", hourly.len());
    let peaks = get("hours=24&interval=1h&agg=max").await;
    assert!(
        peaks
            .iter()
            .filter(|point| point["cpu_percent"] == 30.0)
            .count()
            >= 23
    );
    let day = get("hours=24&interval=5min").await;
    assert!(day.len() <= 500);
}
on_both_backends!(series_are_downsampled);
