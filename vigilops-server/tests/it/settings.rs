//! `/api/v1/settings`: typed, validated, audited, and read by the code they name (the offline
//! sweep, metric retention, notification delivery), on both backends.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;
use chrono::Duration;
use serde_json::{Value, json};
use vigilops_core::model::{MetricSample, MetricValues, NewChannel};

use crate::on_both_backends;
use crate::support::TestApp;

async fn settings_are_typed_validated_and_audited(app: &TestApp) {
    let (admin, _) = app.admin_and_agent_token().await;
    let defaults = app
        .call("GET", "/api/v1/settings", Some(&admin), None)
        .await;
    assert_eq!(defaults.status, StatusCode::OK);
    for (key, value) in [
        ("metrics_retention_days", "90"),
        ("alert_check_interval", "10"),
        ("heartbeat_timeout", "300"),
        ("webhook_retry_count", "3"),
        ("log_retention_days", "7"),
        ("db_metric_retention_days", "30"),
        ("raw_metrics_retention_days", "7"),
        ("rollup_retention_days", "365"),
    ] {
        assert_eq!(defaults.body[key]["value"], value, "{key}");
        assert!(
            defaults.body[key]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    assert_eq!(
        app.call("GET", "/api/v1/settings", None, None).await.status,
        StatusCode::FORBIDDEN
    );

    // Strings (as the original client sends them) and numbers both work.
    let changed = app
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&admin),
            Some(json!({"heartbeat_timeout": "60", "metrics_retention_days": 7})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    let now = app
        .call("GET", "/api/v1/settings", Some(&admin), None)
        .await;
    assert_eq!(now.body["heartbeat_timeout"]["value"], "60");
    assert_eq!(now.body["metrics_retention_days"]["value"], "7");

    // Refused with the key named; all or none.
    for body in [
        json!({"heartbeat_timeout": 5}),
        json!({"webhook_retry_count": "many"}),
        json!({"heartbeat_timeout": 100, "no_such_setting": 1}),
        // Rollups must outlive what they summarise (5-minute rollups are kept 7 days now).
        json!({"heartbeat_timeout": 100, "raw_metrics_retention_days": 8}),
        json!({"rollup_retention_days": 3}),
    ] {
        let refused = app
            .call("PUT", "/api/v1/settings", Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let named = refused.body.to_string();
        let key = body
            .as_object()
            .unwrap()
            .keys()
            .next_back()
            .unwrap()
            .clone();
        assert!(named.contains(&key), "{named}");
    }
    let kept = app
        .call("GET", "/api/v1/settings", Some(&admin), None)
        .await;
    assert_eq!(
        kept.body["heartbeat_timeout"]["value"], "60",
        "nothing stored"
    );
    let audit = app
        .call(
            "GET",
            "/api/v1/audit-logs?action=update_settings",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit.body["total"], 1);
}
on_both_backends!(settings_are_typed_validated_and_audited);

async fn the_offline_sweep_and_retention_read_their_settings(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "edge-01").await;
    let store = app.state.store.as_ref();
    let clock = app.clock.as_ref();
    let configured = Duration::seconds(300);

    // 61 s without a heartbeat: online under the default 300 s, offline under 60 s.
    app.advance(Duration::seconds(61));
    let swept = vigilops_core::liveness::sweep_offline_as_set(store, clock, configured)
        .await
        .unwrap();
    assert!(swept.is_empty());
    app.call(
        "PUT",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({"heartbeat_timeout": 60})),
    )
    .await;
    let swept = vigilops_core::liveness::sweep_offline_as_set(store, clock, configured)
        .await
        .unwrap();
    assert_eq!(swept, [host]);

    // Retention: a raw sample 10 days old goes under 7 days, not under 30, and only once the
    // rollup pass has summarised it.
    let now = app.clock_now();
    let sample = |days: i64| MetricSample {
        host_id: host,
        recorded_at: now - Duration::days(days),
        values: MetricValues {
            cpu_percent: Some(12.0),
            ..MetricValues::default()
        },
        extra: None,
    };
    store
        .insert_metrics(&[sample(10), sample(1)], &[])
        .await
        .unwrap();
    assert_eq!(
        vigilops_server::purge_old_metrics(&app.state)
            .await
            .unwrap(),
        0,
        "not rolled up yet"
    );
    vigilops_core::rollup::pass(store, now).await.unwrap();
    app.call(
        "PUT",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({"raw_metrics_retention_days": 30})),
    )
    .await;
    assert_eq!(
        vigilops_server::purge_old_metrics(&app.state)
            .await
            .unwrap(),
        0
    );
    app.call(
        "PUT",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({"raw_metrics_retention_days": 7})),
    )
    .await;
    assert_eq!(
        vigilops_server::purge_old_metrics(&app.state)
            .await
            .unwrap(),
        1
    );
}
on_both_backends!(the_offline_sweep_and_retention_read_their_settings);

async fn deliveries_make_as_many_attempts_as_the_setting_says(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    // A receiver that always fails, counting the attempts.
    let hits = Arc::new(Mutex::new(0_usize));
    let counted = Arc::clone(&hits);
    let router = axum::Router::new().route(
        "/hook",
        post(move |_: axum::Json<Value>| {
            let counted = Arc::clone(&counted);
            async move {
                *counted.lock().unwrap() += 1;
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let channel = app
        .state
        .store
        .create_channel(
            &NewChannel {
                name: "flaky".into(),
                kind: "webhook".into(),
                config: json!({"url": url}),
                is_enabled: true,
            },
            app.clock_now(),
        )
        .await
        .unwrap();
    let rule = app
        .call(
            "POST",
            "/api/v1/alert-rules",
            Some(&admin),
            Some(
                json!({"name": "cpu", "metric": "cpu_percent", "operator": ">", "threshold": 90,
                        "duration_seconds": 0, "notification_channel_ids": [channel.id]}),
            ),
        )
        .await;
    assert!(rule.status.is_success(), "{:?}", rule.body);
    app.call(
        "PUT",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({"webhook_retry_count": 1})),
    )
    .await;
    let host = app.register_host(&agent, "web-01").await;
    let breach = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&agent),
            Some(json!({"host_id": host, "cpu_percent": 97.0})),
        )
        .await;
    assert_eq!(breach.status, StatusCode::CREATED);
    app.state.engine.flush().await;
    app.advance(Duration::milliseconds(300));
    // With three attempts the second would come after about a second.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(2500);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(*hits.lock().unwrap(), 1, "one attempt in all");
}
on_both_backends!(deliveries_make_as_many_attempts_as_the_setting_says);

async fn logs_checks_db_samples_and_notification_logs_expire(app: &TestApp) {
    use vigilops_core::model::{NewDbMetric, NewNotificationLog, NewServiceCheck};
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "web-01").await;
    let store = &app.state.store;
    let now = app.clock_now();
    let days_ago = |days: i64| now - Duration::days(days);
    let at = |days: i64| days_ago(days).to_rfc3339();
    let shipped = app
        .call(
            "POST",
            "/api/v1/agent/logs",
            Some(&agent),
            Some(json!({"logs": [
                {"host_id": host, "level": "ERROR", "message": "old", "timestamp": at(8)},
                {"host_id": host, "level": "ERROR", "message": "recent", "timestamp": at(2)},
            ]})),
        )
        .await;
    assert!(shipped.status.is_success(), "{:?}", shipped.body);
    let db_sample = |days: i64| NewDbMetric {
        host_id: host,
        db_name: "orders".into(),
        db_type: "postgres".into(),
        recorded_at: days_ago(days),
        connections_total: Some(5.0),
        connections_active: None,
        connections_max: None,
        database_size_mb: None,
        slow_queries: None,
        tables_count: None,
        transactions_committed: None,
        transactions_rolled_back: None,
        qps: None,
        tablespace_used_pct: None,
        lock_waits: None,
        deadlocks: None,
        extra: None,
        slow_queries_detail: None,
    };
    let (database, _) = store
        .insert_db_metric(db_sample(31), now, None)
        .await
        .unwrap();
    store
        .insert_db_metric(db_sample(1), now, None)
        .await
        .unwrap();
    let service = app
        .call(
            "POST",
            "/api/v1/agent/services/register",
            Some(&agent),
            Some(json!({"host_id": host, "name": "api", "type": "tcp", "target": "127.0.0.1:1"})),
        )
        .await
        .body["service_id"]
        .as_i64()
        .unwrap();
    for days in [91, 3] {
        store
            .insert_service_check(
                NewServiceCheck {
                    service_id: service,
                    status: "up".into(),
                    response_time_ms: None,
                    status_code: None,
                    error: None,
                    checked_at: days_ago(days),
                },
                None,
            )
            .await
            .unwrap();
    }
    for days in [91, 1] {
        store
            .insert_notification_log(&NewNotificationLog {
                alert_id: None,
                channel_id: None,
                event: Some("test".into()),
                status: "sent".into(),
                response_code: Some(200),
                error: None,
                retries: 0,
                sent_at: days_ago(days),
            })
            .await
            .unwrap();
    }

    vigilops_server::purge_old_metrics(&app.state)
        .await
        .unwrap();
    let logs = app.call("GET", "/api/v1/logs", Some(&admin), None).await;
    assert_eq!(logs.body["total"], 1, "7 days of logs by default");
    assert_eq!(logs.body["items"][0]["message"], "recent");
    let points = app
        .call(
            "GET",
            &format!("/api/v1/databases/{database}/metrics?period=60d"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        points.body["metrics"].as_array().unwrap().len(),
        1,
        "30 days of db samples"
    );
    let checks = app
        .call(
            "GET",
            &format!("/api/v1/services/{service}/checks?hours=720"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(checks.body.as_array().unwrap().len(), 1);
    let notifications = store.list_notification_logs(None, 100).await.unwrap();
    assert_eq!(notifications.len(), 1, "90 days of notification logs");
    assert_eq!(notifications[0].sent_at, days_ago(1));

    // The settings are read on every pass.
    let changed = app
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&admin),
            Some(json!({"log_retention_days": "1", "db_metric_retention_days": 0})),
        )
        .await;
    assert_eq!(
        changed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "0 days is refused"
    );
    app.call(
        "PUT",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({"log_retention_days": "1"})),
    )
    .await;
    vigilops_server::purge_old_metrics(&app.state)
        .await
        .unwrap();
    let logs = app.call("GET", "/api/v1/logs", Some(&admin), None).await;
    assert_eq!(logs.body["total"], 0);
}
on_both_backends!(logs_checks_db_samples_and_notification_logs_expire);
