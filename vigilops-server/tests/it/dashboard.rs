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

/// A rule stored directly (no engine involved), for alerts opened by hand.
async fn stored_rule(app: &TestApp, name: &str) -> i64 {
    use vigilops_core::alerting::rule::normalize;
    use vigilops_core::alerting::wire::AlertRuleCreate;
    let (normalized, _) = normalize(&AlertRuleCreate {
        name: name.into(),
        metric: "disk_percent".into(),
        operator: ">".into(),
        threshold: 99.0,
        ..AlertRuleCreate::default()
    })
    .unwrap();
    app.state
        .store
        .create_rule(&normalized, app.clock_now())
        .await
        .unwrap()
        .id
}

async fn open_alert(app: &TestApp, rule_id: i64, host: i64, severity: &str, minutes_ago: i64) {
    use vigilops_core::model::NewAlert;
    app.state
        .store
        .open_alert(NewAlert {
            rule_id,
            target_key: format!("host:{host}"),
            host_id: Some(host),
            service_id: None,
            database_id: None,
            severity: vigilops_core::alerting::rule::Severity::parse(severity).unwrap(),
            title: format!("{severity} on {host}"),
            message: None,
            metric_value: None,
            threshold: None,
            group_key: None,
            fired_at: app.clock_now() - Duration::minutes(minutes_ago),
        })
        .await
        .unwrap();
}

async fn the_summary_counts_what_matters_and_scores_it(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let web = app.register_host(&agent, "web-01").await;
    let db = app.register_host(&agent, "db-01").await;
    let quiet = app.register_host(&agent, "old-01").await;
    let now = app.clock_now();
    let sample = |host_id, minutes_ago: i64, cpu: f64, mem: f64, disk: f64| MetricSample {
        host_id,
        recorded_at: now - Duration::minutes(minutes_ago),
        values: MetricValues {
            cpu_percent: Some(cpu),
            memory_percent: Some(mem),
            disk_percent: Some(disk),
            ..MetricValues::default()
        },
        extra: None,
    };
    app.state
        .store
        .insert_metrics(
            &[
                // Each host's newest sample of the last hour counts, nothing older.
                sample(web, 30, 10.0, 10.0, 10.0),
                sample(web, 5, 50.0, 60.0, 70.0),
                sample(db, 2, 95.0, 40.0, 20.0),
                sample(quiet, 120, 99.0, 99.0, 99.0),
            ],
            &[],
        )
        .await
        .unwrap();
    // One service down, one up.
    for (name, status) in [("api", "down"), ("nginx", "up")] {
        let reply = app
            .call(
                "POST",
                "/api/v1/agent/services/register",
                Some(&agent),
                Some(json!({"host_id": web, "name": name, "type": "tcp", "target": "127.0.0.1:1"})),
            )
            .await;
        let service = reply.body["service_id"].as_i64().unwrap();
        let reply = app
            .call(
                "POST",
                "/api/v1/agent/services",
                Some(&agent),
                Some(json!({"service_id": service, "status": status})),
            )
            .await;
        assert!(reply.status.is_success(), "{:?}", reply.body);
    }
    // A critical alert firing, a warning firing, and a critical one fired 2 h ago.
    let rule = stored_rule(app, "disk").await;
    open_alert(app, rule, web, "critical", 10).await;
    open_alert(app, rule, db, "warning", 20).await;
    let other = stored_rule(app, "disk again").await;
    open_alert(app, other, quiet, "critical", 120).await;
    // Acknowledged: no longer firing.
    let (old, _) = app
        .state
        .store
        .list_alerts(&vigilops_core::model::AlertFilter {
            host_id: Some(quiet),
            ..Default::default()
        })
        .await
        .unwrap();
    app.state
        .store
        .acknowledge_alert(old[0].id, None, now)
        .await
        .unwrap();
    let at = |minutes_ago: i64| (now - Duration::minutes(minutes_ago)).to_rfc3339();
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/logs",
            Some(&agent),
            Some(json!({"logs": [
                {"host_id": web, "level": "ERROR", "message": "a", "timestamp": at(5)},
                {"host_id": web, "level": "fatal", "message": "b", "timestamp": at(50)},
                {"host_id": web, "level": "WARN", "message": "c", "timestamp": at(5)},
                {"host_id": web, "level": "ERROR", "message": "d", "timestamp": at(90)},
            ]})),
        )
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);

    let reply = app
        .call("GET", "/api/v1/dashboard/summary", Some(&admin), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let summary = reply.body;
    assert_eq!(
        summary["hosts"],
        json!({"total": 3, "online": 3, "offline": 0})
    );
    assert_eq!(summary["services"], json!({"total": 2, "up": 1, "down": 1}));
    assert_eq!(summary["alerts"], json!({"total": 2, "firing": 2}));
    assert_eq!(
        summary["recent_1h"],
        json!({"alert_count": 2, "error_log_count": 2})
    );
    assert_eq!(
        summary["avg_usage"],
        json!({"cpu_percent": 72.5, "memory_percent": 50.0, "disk_percent": 45.0})
    );
    // 100 − (0.3·72.5 + 0.3·50 + 0.2·45 + 5·1 down + 10·1 critical + 3·1 near its limit)
    // = 100 − 63.75 = 36.25 → 36.
    assert_eq!(summary["health_score"], 36);
    assert_eq!(summary["health"]["critical_alerts_firing"], 1);
    assert_eq!(summary["health"]["hosts_near_limit"], 1);
    assert_eq!(summary["health"]["penalties"]["usage"], 45.75);
    assert_eq!(
        app.call("GET", "/api/v1/dashboard/summary", None, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
on_both_backends!(the_summary_counts_what_matters_and_scores_it);

async fn the_socket_sends_a_summary_then_changes_as_they_happen(app: &TestApp) {
    use crate::support::next_json;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "web-01").await;
    let address = app.listen().await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{address}/api/v1/ws/dashboard"))
        .await
        .err()
        .map(|error| match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => response.status().as_u16(),
            other => panic!("unexpected {other}"),
        });
    assert_eq!(refused, Some(401));

    let mut request = format!("ws://{address}/api/v1/ws/dashboard?events=1")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Cookie",
        format!("vigilops_session={admin}").parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let first = next_json(&mut socket).await;
    assert_eq!(first["hosts"]["total"], 1);
    assert_eq!(first["alerts"]["firing"], 0);
    assert_eq!(first["health_score"], 100);

    // A breach of a `for 0` rule: the event, then a fresh summary counting the alert.
    {
        use vigilops_core::alerting::rule::normalize;
        use vigilops_core::alerting::wire::AlertRuleCreate;
        let (normalized, _) = normalize(&AlertRuleCreate {
            name: "CPU 过高".into(),
            metric: "cpu_percent".into(),
            operator: ">".into(),
            threshold: 90.0,
            duration_seconds: 0,
            severity: "critical".into(),
            ..AlertRuleCreate::default()
        })
        .unwrap();
        app.state
            .store
            .create_rule(&normalized, app.clock_now())
            .await
            .unwrap();
        app.state.engine.rules_changed().await;
    }
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&agent),
            Some(json!({"host_id": host, "cpu_percent": 97.0, "memory_percent": 40.0})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let mut fired = None;
    let mut summary = None;
    for _ in 0..10 {
        let frame = next_json(&mut socket).await;
        match frame["type"].as_str() {
            Some("alert_fired")
                if frame["title"]
                    .as_str()
                    .is_some_and(|t| t.contains("CPU 过高")) =>
            {
                fired = Some(frame);
            }
            Some(_) => {}
            None if fired.is_some() && frame["alerts"]["firing"].as_i64() >= Some(1) => {
                summary = Some(frame);
                break;
            }
            None => {}
        }
    }
    let fired = fired.expect("an alert_fired frame");
    assert_eq!(fired["severity"], "critical");
    assert_eq!(fired["host_id"], host);
    let summary = summary.expect("a fresh summary after the change");
    assert!(summary["health"]["critical_alerts_firing"].as_i64() >= Some(1));
    assert!(summary["health_score"].as_i64() < Some(100));
}
on_both_backends!(the_socket_sends_a_summary_then_changes_as_they_happen);
