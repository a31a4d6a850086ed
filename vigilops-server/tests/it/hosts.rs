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

async fn long_ranges_read_rollups_and_outlive_raw_retention(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "rolled-01").await;
    // Nine days of one sample a minute, written straight to the store.
    let now = app.clock_now();
    let samples: Vec<_> = (1..(9 * 1440))
        .map(|index: i64| vigilops_core::model::MetricSample {
            host_id,
            recorded_at: now - Duration::minutes(index),
            values: vigilops_core::model::MetricValues {
                cpu_percent: Some(((index * 37) % 100) as f64),
                memory_percent: (index % 3 != 0).then_some(50.0 + (index % 7) as f64),
                ..Default::default()
            },
            extra: None,
        })
        .collect();
    app.state.store.insert_metrics(&samples, &[]).await.unwrap();
    let chart = |query: &'static str| {
        let path = format!("/api/v1/hosts/{host_id}/metrics?{query}");
        let admin = admin.clone();
        async move {
            let reply = app.call("GET", &path, Some(&admin), None).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {:?}", reply.body);
            reply.body.as_array().unwrap().clone()
        }
    };
    let same = |a: &[Value], b: &[Value], what: &str| {
        assert_eq!(a.len(), b.len(), "{what}: point count");
        for (a, b) in a.iter().zip(b) {
            assert_eq!(a["recorded_at"], b["recorded_at"], "{what}");
            for field in ["cpu_percent", "memory_percent"] {
                let (x, y) = (a[field].as_f64().unwrap(), b[field].as_f64().unwrap());
                assert!((x - y).abs() < 1e-9, "{what} {field}: {x} vs {y}");
            }
        }
    };
    // From raw samples alone (no rollup pass has run yet).
    let queries = [
        "hours=216",
        "hours=168",
        "hours=168&agg=max",
        "hours=24&interval=5min",
    ];
    let mut before = Vec::new();
    for query in queries {
        before.push(chart(query).await);
    }
    assert!(
        (216..=217).contains(&before[0].len()),
        "{}",
        before[0].len()
    );
    let trends = || async {
        let reply = app
            .call("GET", "/api/v1/dashboard/trends", Some(&admin), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.body["trends"].clone()
    };
    let trends_before = trends().await;
    assert!(trends_before[0]["avg_cpu"].as_f64().is_some());

    // Raw retention waits for the rollup pass: nothing is purged before it has run.
    assert_eq!(
        vigilops_server::purge_old_metrics(&app.state)
            .await
            .unwrap(),
        0
    );
    let report = vigilops_core::rollup::pass(app.state.store.as_ref(), now)
        .await
        .unwrap();
    assert!(report.five_minute_buckets >= 9 * 288, "{report:?}");
    assert!(report.hourly_buckets >= 9 * 24, "{report:?}");
    for (query, earlier) in queries.iter().zip(&before) {
        same(
            &chart(query).await,
            earlier,
            &format!("{query} from rollups"),
        );
    }
    assert_eq!(
        trends().await,
        trends_before,
        "the 24 h trends from hourly rollups"
    );
    // Raw samples older than 7 days go; the charts, served from rollups, do not change.
    let purged = vigilops_server::purge_old_metrics(&app.state)
        .await
        .unwrap();
    assert!(purged >= 2 * 1440 - 60, "purged {purged}");
    for (query, earlier) in queries.iter().zip(&before) {
        same(
            &chart(query).await,
            earlier,
            &format!("{query} after raw purge"),
        );
    }

    // A late sample (an agent's spool, two hours old) marks its hour; the next pass puts it in.
    let late = now - Duration::hours(2) + Duration::seconds(20);
    let stored = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&agent),
            Some(json!({"host_id": host_id, "cpu_percent": 777.0, "timestamp": late})),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{:?}", stored.body);
    let peak = |points: Vec<Value>| {
        points
            .iter()
            .map(|point| point["cpu_percent"].as_f64().unwrap())
            .fold(0.0, f64::max)
    };
    app.advance(Duration::minutes(1));
    let report = vigilops_core::rollup::pass(app.state.store.as_ref(), app.clock_now())
        .await
        .unwrap();
    assert_eq!(report.late_hours, 1, "{report:?}");
    assert_eq!(peak(chart("hours=168&agg=max").await), 777.0);
}
on_both_backends!(long_ranges_read_rollups_and_outlive_raw_retention);
