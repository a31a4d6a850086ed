//! Alert scenarios driven over HTTP with the agent protocol. A local webhook receiver stands in
//! for the channel and verifies each request's HMAC signature as a real receiver would, so what
//! is counted here is what a person would have been sent.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Duration;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use vigilops_core::alerting::rule::normalize;
use vigilops_core::alerting::state::RESOLVE_HOLD;
use vigilops_core::alerting::wire::AlertRuleCreate;
use vigilops_core::model::{AlertStatus, NewChannel, NewSilence, SilenceMatchers, SilenceSchedule};

use crate::on_both_backends;
use crate::support::TestApp;

const SECRET: &str = "whsec-scenario-secret";

/// A webhook endpoint that keeps every correctly signed body and refuses the rest.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    bad_signatures: Arc<Mutex<usize>>,
    arrived: Arc<Notify>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        let receiver = Self::default();
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { state.accept(&headers, &body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn accept(&self, headers: &HeaderMap, body: &[u8]) -> StatusCode {
        let timestamp = headers
            .get("x-vigilops-timestamp")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let signed = headers
            .get("x-vigilops-signature")
            .and_then(|value| value.to_str().ok())
            == Some(expected.as_str());
        if !signed || headers.get("x-vigilops-timestamp").is_none() {
            *self.bad_signatures.lock().unwrap() += 1;
            return StatusCode::UNAUTHORIZED;
        }
        self.bodies
            .lock()
            .unwrap()
            .push(serde_json::from_slice(body).unwrap());
        self.arrived.notify_waiters();
        StatusCode::OK
    }

    /// Lets the engine and the dispatcher run as [`Receiver::settle`] does, without letting a
    /// resolve hold pass, and gives a message beyond `count` 5 s to arrive (so that it is
    /// counted): for checks that nothing more is told.
    async fn stays_at(&self, app: &TestApp, count: usize) -> Vec<Value> {
        app.state.engine.flush().await;
        app.advance(Duration::milliseconds(300));
        self.wait_for(count + 1, std::time::Duration::from_secs(5))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert_eq!(
            *self.bad_signatures.lock().unwrap(),
            0,
            "every request verifies"
        );
        self.bodies()
    }

    async fn wait_for(&self, count: usize, patience: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + patience;
        while self.bodies().len() < count && tokio::time::Instant::now() < deadline {
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(100),
                self.arrived.notified(),
            )
            .await;
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// Lets the engine and the dispatcher run (the group wait elapses on the test's clock),
    /// then waits until `count` messages arrived (up to 5 s) and returns all of them.
    async fn settle(&self, app: &TestApp, count: usize) -> Vec<Value> {
        app.state.engine.flush().await;
        app.advance(Duration::milliseconds(300));
        self.wait_for(count, std::time::Duration::from_millis(1500))
            .await;
        if self.bodies().len() < count {
            // A recovery is told once its resolve hold is over (a re-fire within it would have
            // continued the incident): let the hold pass.
            app.advance(RESOLVE_HOLD);
            app.state.engine.tick().await;
            app.state.engine.flush().await;
            app.advance(Duration::milliseconds(300));
            self.wait_for(count, std::time::Duration::from_secs(5))
                .await;
        }
        // Anything more would arrive right behind: give it the chance to, to count it.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert_eq!(
            *self.bad_signatures.lock().unwrap(),
            0,
            "every request verifies"
        );
        self.bodies()
    }
}

/// A signed webhook channel and a rule `cpu_percent > 90` (`for 0`) sending to it.
async fn setup(app: &TestApp, url: &str, rule: AlertRuleCreate) -> (String, String, i64) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let channel = app
        .state
        .store
        .create_channel(
            &NewChannel {
                name: "ops webhook".into(),
                kind: "webhook".into(),
                config: json!({"url": url, "secret": SECRET}),
                is_enabled: true,
            },
            app.clock_now(),
        )
        .await
        .unwrap();
    let rule = AlertRuleCreate {
        notification_channel_ids: Some(vec![channel.id]),
        ..rule
    };
    let (normalized, _) = normalize(&rule).unwrap();
    let stored = app
        .state
        .store
        .create_rule(&normalized, app.clock_now())
        .await
        .unwrap();
    app.state.engine.rules_changed().await;
    (admin, agent, stored.id)
}

fn cpu_rule() -> AlertRuleCreate {
    AlertRuleCreate {
        name: "CPU 过高".into(),
        metric: "cpu_percent".into(),
        operator: ">".into(),
        threshold: 90.0,
        duration_seconds: 0,
        cooldown_seconds: 300,
        severity: "critical".into(),
        ..AlertRuleCreate::default()
    }
}

async fn report_cpu(app: &TestApp, agent: &str, host_id: i64, cpu: f64) {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(agent),
            Some(json!({"host_id": host_id, "cpu_percent": cpu, "memory_percent": 40.0})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

async fn a_breach_notifies_once_and_its_recovery_once(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let (_admin, agent, rule_id) = setup(app, &url, cpu_rule()).await;
    let host = app.register_host(&agent, "web-01").await;

    report_cpu(app, &agent, host, 97.5).await;
    let bodies = receiver.settle(app, 1).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["status"], "firing");
    assert_eq!(bodies[0]["title"], "CPU 过高 - web-01");
    assert_eq!(bodies[0]["metric_value"], 97.5);

    // The breach persists: the same alert, no second message.
    app.advance(Duration::seconds(15));
    report_cpu(app, &agent, host, 99.0).await;
    assert_eq!(receiver.stays_at(app, 1).await.len(), 1);
    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].status, AlertStatus::Firing);

    // Recovery resolves it and says so once.
    app.advance(Duration::seconds(15));
    report_cpu(app, &agent, host, 20.0).await;
    let bodies = receiver.settle(app, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(bodies[1]["alert_id"], bodies[0]["alert_id"]);
    app.advance(Duration::seconds(15));
    report_cpu(app, &agent, host, 21.0).await;
    assert_eq!(receiver.stays_at(app, 2).await.len(), 2);
    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].status, AlertStatus::Resolved);

    // The timeline and the notification log tell the story.
    let events = app.state.store.alert_events(alerts[0].id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|event| event.kind.as_str()).collect();
    assert!(kinds.starts_with(&["fired"]), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|kind| **kind == "notified").count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"resolved"), "{kinds:?}");
    let logs = app
        .state
        .store
        .list_notification_logs(Some(alerts[0].id), 10)
        .await
        .unwrap();
    assert_eq!(logs.len(), 2);
    assert!(
        logs.iter()
            .all(|log| log.status == "sent" && log.response_code == Some(200))
    );
}
on_both_backends!(a_breach_notifies_once_and_its_recovery_once);

/// Lets the engine and the dispatcher run without passing any resolve hold, and returns what
/// arrived within 1.5 s.
async fn told_at_once(receiver: &Receiver, app: &TestApp, count: usize) -> Vec<Value> {
    app.state.engine.tick().await;
    app.state.engine.flush().await;
    app.advance(Duration::milliseconds(300));
    receiver
        .wait_for(count, std::time::Duration::from_millis(1500))
        .await;
    receiver.bodies()
}

async fn each_rule_holds_its_recovery_message_as_long_as_it_says(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let immediate = AlertRuleCreate {
        name: "CPU at once".into(),
        resolve_hold_seconds: 0,
        ..cpu_rule()
    };
    let (_admin, agent, immediate_id) = setup(app, &url, immediate).await;
    let host = app.register_host(&agent, "web-now").await;
    report_cpu(app, &agent, host, 97.5).await;
    assert_eq!(receiver.settle(app, 1).await.len(), 1);
    // Hold 0: the recovery is told right behind the clear reading.
    report_cpu(app, &agent, host, 20.0).await;
    let bodies = told_at_once(&receiver, app, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(bodies[1]["title"], "CPU at once - web-now");

    // A 20 s hold (the first rule gone): resolved in the store at once, told only once the
    // 20 s are over.
    let held = AlertRuleCreate {
        name: "CPU held".into(),
        resolve_hold_seconds: 20,
        ..cpu_rule()
    };
    let channels = app
        .state
        .store
        .rule(immediate_id)
        .await
        .unwrap()
        .unwrap()
        .rule
        .notification_channel_ids;
    app.state.store.delete_rule(immediate_id).await.unwrap();
    let (normalized, _) = normalize(&AlertRuleCreate {
        notification_channel_ids: channels,
        ..held
    })
    .unwrap();
    let rule_id = app
        .state
        .store
        .create_rule(&normalized, app.clock_now())
        .await
        .unwrap()
        .id;
    app.state.engine.rules_changed().await;
    let host = app.register_host(&agent, "web-held").await;
    report_cpu(app, &agent, host, 97.5).await;
    assert_eq!(receiver.settle(app, 3).await.len(), 3);
    report_cpu(app, &agent, host, 20.0).await;
    assert_eq!(told_at_once(&receiver, app, 4).await.len(), 3);
    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts[0].status, AlertStatus::Resolved);
    app.advance(Duration::seconds(18));
    assert_eq!(told_at_once(&receiver, app, 4).await.len(), 3);
    app.advance(Duration::seconds(2));
    let bodies = told_at_once(&receiver, app, 4).await;
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    assert_eq!(bodies[3]["status"], "resolved");
    assert_eq!(bodies[3]["title"], "CPU held - web-held");
}
on_both_backends!(each_rule_holds_its_recovery_message_as_long_as_it_says);

async fn a_storm_across_fifty_hosts_is_one_grouped_message(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let (_admin, agent, rule_id) = setup(app, &url, cpu_rule()).await;
    let mut hosts = Vec::new();
    for index in 0..50 {
        hosts.push(app.register_host(&agent, &format!("node-{index:02}")).await);
    }
    for host in &hosts {
        report_cpu(app, &agent, *host, 95.0).await;
    }
    let bodies = receiver.settle(app, 1).await;
    assert_eq!(bodies.len(), 1, "one message for the storm: {bodies:?}");
    assert_eq!(bodies[0]["group"], true);
    assert_eq!(bodies[0]["count"], 50);
    assert_eq!(bodies[0]["alerts"].as_array().unwrap().len(), 50);
    // Every host still has its own alert.
    assert_eq!(app.alerts_of_rule(rule_id).await.len(), 50);
}
on_both_backends!(a_storm_across_fifty_hosts_is_one_grouped_message);

async fn a_maintenance_window_suppresses_and_still_records(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let (_admin, agent, rule_id) = setup(app, &url, cpu_rule()).await;
    let host = app.register_host(&agent, "db-01").await;
    let now = app.clock_now();
    app.state
        .store
        .create_silence(
            &NewSilence {
                name: "db-01 kernel upgrade".into(),
                comment: None,
                matchers: SilenceMatchers {
                    host_ids: vec![host],
                    ..SilenceMatchers::default()
                },
                schedule: SilenceSchedule::Once {
                    starts_at: now - Duration::minutes(5),
                    ends_at: now + Duration::hours(1),
                },
                is_enabled: true,
                created_by: None,
            },
            now,
        )
        .await
        .unwrap();

    report_cpu(app, &agent, host, 99.0).await;
    assert!(receiver.settle(app, 1).await.is_empty(), "silenced");
    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts.len(), 1, "still recorded");
    let logs = app
        .state
        .store
        .list_notification_logs(Some(alerts[0].id), 10)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].status, "silenced");

    // It still resolves, silently.
    app.advance(Duration::seconds(30));
    report_cpu(app, &agent, host, 10.0).await;
    assert!(receiver.settle(app, 1).await.is_empty());
    assert_eq!(
        app.alerts_of_rule(rule_id).await[0].status,
        AlertStatus::Resolved
    );
}
on_both_backends!(a_maintenance_window_suppresses_and_still_records);

async fn a_flapping_metric_is_one_message(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let (_admin, agent, rule_id) = setup(app, &url, cpu_rule()).await;
    let host = app.register_host(&agent, "api-01").await;
    for step in 0..24 {
        app.advance(Duration::seconds(15));
        let cpu = if step % 2 == 0 { 95.0 } else { 10.0 };
        report_cpu(app, &agent, host, cpu).await;
        app.state.engine.flush().await;
    }
    let statuses = |bodies: &[Value]| -> Vec<String> {
        bodies
            .iter()
            .map(|body| body["status"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    // One message: each recovery is held for a moment and every flap re-fires within it, so
    // the incident simply goes on; the 23 further changes are recorded, not messaged.
    let bodies = receiver.settle(app, 1).await;
    assert_eq!(statuses(&bodies), ["firing"], "{bodies:?}");
    // Once it stays clear past the hold, the end of the incident is told, once.
    let bodies = receiver.settle(app, 2).await;
    assert_eq!(statuses(&bodies), ["firing", "resolved"], "{bodies:?}");
    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts.len(), 12, "every fire is still recorded");
    assert!(alerts.iter().any(|alert| alert.flapping), "marked flapping");
}
on_both_backends!(a_flapping_metric_is_one_message);

async fn an_acknowledged_alert_stays_one_alert_and_still_resolves(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let (admin, agent, rule_id) = setup(app, &url, cpu_rule()).await;
    let host = app.register_host(&agent, "cache-01").await;
    report_cpu(app, &agent, host, 96.0).await;
    assert_eq!(receiver.settle(app, 1).await.len(), 1);
    let alert_id = app.alerts_of_rule(rule_id).await[0].id;

    let reply = app
        .call(
            "POST",
            &format!("/api/v1/alerts/{alert_id}/ack"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "acknowledged");

    // Still breaching, hours later: the same alert, acknowledged, and no new message.
    for _ in 0..3 {
        app.advance(Duration::minutes(30));
        report_cpu(app, &agent, host, 97.0).await;
    }
    assert_eq!(receiver.stays_at(app, 1).await.len(), 1);
    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].status, AlertStatus::Acknowledged);

    // It clears: resolved, and the recovery is told.
    report_cpu(app, &agent, host, 30.0).await;
    let bodies = receiver.settle(app, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(
        app.alerts_of_rule(rule_id).await[0].status,
        AlertStatus::Resolved
    );

    // Resolved by hand while the breach persists: the next breach is a new alert.
    app.advance(Duration::minutes(10));
    report_cpu(app, &agent, host, 98.0).await;
    receiver.settle(app, 3).await;
    let open = app.alerts_of_rule(rule_id).await[0].id;
    assert_ne!(open, alert_id);
    let reply = app
        .call(
            "POST",
            &format!("/api/v1/alerts/{open}/resolve"),
            Some(&admin),
            Some(json!({"comment": "rebooted"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    app.advance(Duration::seconds(15));
    report_cpu(app, &agent, host, 98.0).await;
    receiver.settle(app, 4).await;
    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts.len(), 3, "a new alert after the manual resolve");
    assert!(alerts[0].status.is_active());
}
on_both_backends!(an_acknowledged_alert_stays_one_alert_and_still_resolves);

async fn register_service(app: &TestApp, agent: &str, host: i64, name: &str, target: &str) -> i64 {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/services/register",
            Some(agent),
            Some(json!({"host_id": host, "name": name, "type": "tcp", "target": target})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["service_id"].as_i64().unwrap()
}

async fn report_check(app: &TestApp, agent: &str, service: i64, status: &str) {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/services",
            Some(agent),
            Some(json!({"service_id": service, "status": status, "response_time_ms": 1.0})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

async fn a_failing_dependency_suppresses_its_dependents(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let rule = AlertRuleCreate {
        name: "服务不可用".into(),
        metric: "service_down".into(),
        operator: "==".into(),
        threshold: 1.0,
        target_type: "service".into(),
        duration_seconds: 0,
        severity: "critical".into(),
        ..AlertRuleCreate::default()
    };
    let (_admin, agent, rule_id) = setup(app, &url, rule).await;
    let host = app.register_host(&agent, "app-01").await;
    let database = register_service(app, &agent, host, "postgres (:5432)", "127.0.0.1:5432").await;
    let api = register_service(app, &agent, host, "api (:8000)", "127.0.0.1:8000").await;
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/service-dependencies",
            Some(&agent),
            Some(json!({"host_id": host, "dependencies": [
                {"from": "api (:8000)", "to": "postgres (:5432)", "connections": 8}
            ]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);

    // The database dies and takes the API with it: the API's check fails first.
    report_check(app, &agent, api, "down").await;
    report_check(app, &agent, database, "down").await;
    let bodies = receiver.settle(app, 1).await;
    assert_eq!(bodies.len(), 1, "only the cause is told: {bodies:?}");
    assert_eq!(bodies[0]["title"], "服务不可用 - postgres (:5432)");

    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts.len(), 2, "both are recorded");
    let cause = alerts
        .iter()
        .find(|alert| alert.service_id == Some(database))
        .unwrap();
    let dependent = alerts
        .iter()
        .find(|alert| alert.service_id == Some(api))
        .unwrap();
    assert_eq!(
        dependent.parent_alert_id,
        Some(cause.id),
        "linked to its cause"
    );
    let logs = app
        .state
        .store
        .list_notification_logs(Some(dependent.id), 10)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].status, "suppressed");

    // Both recover: the cause's recovery is told, the dependent's is not.
    app.advance(Duration::seconds(30));
    report_check(app, &agent, database, "up").await;
    report_check(app, &agent, api, "up").await;
    let bodies = receiver.settle(app, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(bodies[1]["title"], "服务不可用 - postgres (:5432)");
    assert!(
        app.alerts_of_rule(rule_id)
            .await
            .iter()
            .all(|alert| !alert.status.is_active())
    );
}
on_both_backends!(a_failing_dependency_suppresses_its_dependents);

async fn a_burst_of_matching_log_lines_is_one_alert_resolved_by_quiet(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let rule = AlertRuleCreate {
        name: "内存溢出".into(),
        rule_type: "log_keyword".into(),
        log_keyword: Some("OutOfMemoryError".into()),
        log_level: Some("error".into()),
        duration_seconds: 120,
        ..AlertRuleCreate::default()
    };
    let (_admin, agent, rule_id) = setup(app, &url, rule).await;
    let host = app.register_host(&agent, "jvm-01").await;
    let post_lines = |count: usize, level: &'static str| {
        let at = app.clock_now().to_rfc3339();
        let logs: Vec<Value> = (0..count)
            .map(|index| {
                json!({"host_id": host, "level": level, "timestamp": at,
                       "message": format!("java.lang.OutOfMemoryError: Java heap space #{index}")})
            })
            .collect();
        let agent = agent.clone();
        async move {
            let reply = app
                .call(
                    "POST",
                    "/api/v1/agent/logs",
                    Some(&agent),
                    Some(json!({"logs": logs})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        }
    };
    // A thousand matching lines, and lines of another level that do not match.
    post_lines(1000, "ERROR").await;
    post_lines(50, "INFO").await;
    assert_eq!(receiver.settle(app, 1).await.len(), 1);
    app.advance(Duration::seconds(60));
    post_lines(500, "ERROR").await;
    app.state.engine.sweep().await;
    assert_eq!(
        receiver.stays_at(app, 1).await.len(),
        1,
        "still one alert, one message"
    );
    let alerts = app.alerts_of_rule(rule_id).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].metric_value, Some(1500.0), "matches counted");
    assert!(
        alerts[0].message.as_deref().unwrap().contains("#499"),
        "latest line shown"
    );

    // 120 s without a match resolves it.
    app.advance(Duration::seconds(100));
    app.state.engine.sweep().await;
    assert_eq!(
        receiver.stays_at(app, 1).await.len(),
        1,
        "not quiet long enough"
    );
    app.advance(Duration::seconds(30));
    app.state.engine.sweep().await;
    let bodies = receiver.settle(app, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["status"], "resolved");
}
on_both_backends!(a_burst_of_matching_log_lines_is_one_alert_resolved_by_quiet);

async fn database_rules_watch_each_database(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let rule = AlertRuleCreate {
        name: "连接数过高".into(),
        rule_type: "db_metric".into(),
        db_metric_name: Some("connections_active".into()),
        operator: ">".into(),
        threshold: 80.0,
        duration_seconds: 0,
        ..AlertRuleCreate::default()
    };
    let (_admin, agent, rule_id) = setup(app, &url, rule).await;
    let host = app.register_host(&agent, "pg-01").await;
    let report = |db: &'static str, active: f64| {
        let agent = agent.clone();
        async move {
            let reply = app
                .call(
                    "POST",
                    "/api/v1/agent/db-metrics",
                    Some(&agent),
                    Some(
                        json!({"host_id": host, "db_name": db, "db_type": "postgres",
                                "connections_active": active, "connections_total": active + 5.0}),
                    ),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        }
    };
    report("orders", 95.0).await;
    report("billing", 12.0).await;
    let bodies = receiver.settle(app, 1).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["title"], "连接数过高 - orders");
    // Every report of the breach is the same alert (the original made one per report).
    for _ in 0..5 {
        app.advance(Duration::seconds(60));
        report("orders", 97.0).await;
    }
    assert_eq!(app.alerts_of_rule(rule_id).await.len(), 1);
    report("orders", 20.0).await;
    let bodies = receiver.settle(app, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["status"], "resolved");
}
on_both_backends!(database_rules_watch_each_database);

async fn missing_data_and_unacknowledged_alerts_are_told_again(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let (admin, agent, _) = setup(
        app,
        &url,
        AlertRuleCreate {
            name: "无数据".into(),
            rule_type: "absence".into(),
            metric: "cpu_percent".into(),
            duration_seconds: 300,
            repeat_interval_seconds: Some(1800),
            ..AlertRuleCreate::default()
        },
    )
    .await;
    let host = app.register_host(&agent, "edge-01").await;
    report_cpu(app, &agent, host, 10.0).await;
    app.advance(Duration::seconds(200));
    app.state.engine.sweep().await;
    assert!(receiver.settle(app, 1).await.is_empty(), "data is recent");
    app.advance(Duration::seconds(200));
    app.state.engine.sweep().await;
    let bodies = receiver.settle(app, 1).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["message"], "no cpu_percent data for 5 min");

    // Unacknowledged for 30 min: told again; acknowledged: not any more.
    app.advance(Duration::minutes(31));
    app.state.engine.sweep().await;
    let bodies = receiver.settle(app, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["title"], "[仍未恢复] 无数据 - edge-01");
    let alert_id = bodies[0]["alert_id"].as_i64().unwrap();
    let reply = app
        .call(
            "POST",
            &format!("/api/v1/alerts/{alert_id}/ack"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    app.advance(Duration::minutes(31));
    app.state.engine.sweep().await;
    assert_eq!(receiver.stays_at(app, 2).await.len(), 2);

    // Data again: resolved.
    report_cpu(app, &agent, host, 11.0).await;
    app.state.engine.sweep().await;
    let bodies = receiver.settle(app, 3).await;
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert_eq!(bodies[2]["status"], "resolved");
}
on_both_backends!(missing_data_and_unacknowledged_alerts_are_told_again);

/// A second replica over the app's store and clock, as behind a load balancer.
struct OtherReplica {
    router: axum::Router,
    engine: vigilops_core::alerting::engine::AlertEngine,
    _data_dir: crate::support::tempdir::TempDir,
}

impl OtherReplica {
    fn start(app: &TestApp) -> Self {
        let data_dir = crate::support::tempdir::TempDir::new();
        let other = vigilops_server::App::with_store(
            crate::support::test_config(&data_dir.0, &[]),
            Arc::clone(&app.state.store),
            app.clock.clone(),
            None,
        )
        .unwrap();
        Self {
            router: vigilops_server::router(other.state.clone()),
            engine: other.state.engine.clone(),
            _data_dir: data_dir,
        }
    }

    /// Reports a CPU reading to this replica and lets its engine evaluate it.
    async fn report_cpu(&self, agent: &str, host_id: i64, cpu: f64) {
        use axum::body::Body;
        use axum::http::Request;
        use tower::ServiceExt;
        let request = Request::post("/api/v1/agent/metrics")
            .header("authorization", format!("Bearer {agent}"))
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"host_id": host_id, "cpu_percent": cpu}).to_string(),
            ))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        self.engine.flush().await;
    }
}

/// Two replicas behind a load balancer share one database; a host's reports land on either.
/// The alert is told once, resolved once, and a later breach is a new alert on both.
async fn two_replicas_tell_one_incident_once(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let (_admin, agent, rule_id) = setup(app, &url, cpu_rule()).await;
    let host = app.register_host(&agent, "lb-01").await;
    let other = OtherReplica::start(app);

    report_cpu(app, &agent, host, 95.0).await;
    assert_eq!(receiver.settle(app, 1).await.len(), 1);
    // The next report lands on the other replica: same alert, nothing new to tell.
    app.advance(Duration::seconds(15));
    other.report_cpu(&agent, host, 96.0).await;
    assert_eq!(receiver.stays_at(app, 1).await.len(), 1);
    assert_eq!(app.alerts_of_rule(rule_id).await.len(), 1);
    // The other replica sees it clear: resolved, told once (by that replica, once its resolve
    // hold is over).
    app.advance(Duration::seconds(15));
    other.report_cpu(&agent, host, 10.0).await;
    app.advance(RESOLVE_HOLD);
    other.engine.tick().await;
    other.engine.flush().await;
    let bodies = receiver.settle(app, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["status"], "resolved");
    // The first replica learns it (every 10 s; here at once) and a new breach is a new alert.
    app.state.engine.reconcile().await;
    app.advance(Duration::minutes(10));
    report_cpu(app, &agent, host, 97.0).await;
    let bodies = receiver.settle(app, 3).await;
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert_eq!(bodies[2]["status"], "firing");
    assert_eq!(app.alerts_of_rule(rule_id).await.len(), 2);
}
on_both_backends!(two_replicas_tell_one_incident_once);

/// Two replicas share a `for 60 s` pending window (§22.6): a recovery one of them sees
/// restarts the window the other started, and a breach that goes on on the other fires once,
/// counted from the first breach.
async fn two_replicas_share_a_pending_window(app: &TestApp) {
    let (_receiver, url) = Receiver::start().await;
    let rule = AlertRuleCreate {
        name: "CPU 过高 60 s".into(),
        duration_seconds: 60,
        ..cpu_rule()
    };
    let (_admin, agent, rule_id) = setup(app, &url, rule).await;
    let other = OtherReplica::start(app);
    let fired_for = |alerts: Vec<vigilops_core::model::Alert>, host: i64| {
        alerts
            .into_iter()
            .filter(|alert| alert.host_id == Some(host))
            .map(|alert| alert.fired_at)
            .collect::<Vec<_>>()
    };
    let every_15_s = || app.advance(Duration::seconds(15));

    // Breach on this replica, recovery on the other, breaches on this one again: the window
    // starts again at the first breach after the recovery, so nothing fires 60 s after the
    // first breach, and the alert fires 60 s after the restart.
    let host = app.register_host(&agent, "lb-02").await;
    report_cpu(app, &agent, host, 95.0).await;
    app.state.engine.flush().await;
    every_15_s();
    other.report_cpu(&agent, host, 10.0).await;
    every_15_s();
    let restarted_at = app.clock_now();
    for _ in 0..3 {
        report_cpu(app, &agent, host, 95.0).await;
        app.state.engine.flush().await;
        every_15_s();
    }
    report_cpu(app, &agent, host, 95.0).await;
    app.state.engine.flush().await;
    let fired = fired_for(app.alerts_of_rule(rule_id).await, host);
    assert!(
        fired.is_empty(),
        "60 s after the first breach, but the window was interrupted: {fired:?}"
    );
    every_15_s();
    report_cpu(app, &agent, host, 95.0).await;
    app.state.engine.flush().await;
    every_15_s();
    report_cpu(app, &agent, host, 95.0).await;
    app.state.engine.flush().await;
    assert_eq!(
        fired_for(app.alerts_of_rule(rule_id).await, host),
        [restarted_at + Duration::seconds(60)],
        "a full window after the restart"
    );

    // Breach on this replica, then breaches on the other for the window: one alert, fired
    // 60 s after the first breach; this replica's next breach follows it.
    let host = app.register_host(&agent, "lb-03").await;
    let first_breach = app.clock_now();
    report_cpu(app, &agent, host, 95.0).await;
    app.state.engine.flush().await;
    for _ in 0..4 {
        every_15_s();
        other.report_cpu(&agent, host, 95.0).await;
    }
    every_15_s();
    report_cpu(app, &agent, host, 95.0).await;
    app.state.engine.flush().await;
    assert_eq!(
        fired_for(app.alerts_of_rule(rule_id).await, host),
        [first_breach + Duration::seconds(60)],
        "exactly one alert, a window after the first breach"
    );
}
on_both_backends!(two_replicas_share_a_pending_window);

/// A forecast rule: the disk fills at 12 %/h; "full within 2 h" fires once the trend says so,
/// well before the disk is full, and not on the first samples.
async fn a_filling_disk_is_told_before_it_is_full(app: &TestApp) {
    let (receiver, url) = Receiver::start().await;
    let rule: AlertRuleCreate = serde_json::from_value(json!({
        "name": "磁盘将满",
        "metric": "disk_percent",
        "threshold": 100.0,
        "duration_seconds": 0,
        "detector": {"kind": "forecast", "within_hours": 2.0}
    }))
    .unwrap();
    let (_admin, agent, _) = setup(app, &url, rule).await;
    let host = app.register_host(&agent, "logs-01").await;
    for step in 0..25 {
        let disk = 60.0 + f64::from(step);
        let reply = app
            .call(
                "POST",
                "/api/v1/agent/metrics",
                Some(&agent),
                Some(json!({"host_id": host, "disk_percent": disk, "cpu_percent": 5.0})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        app.state.engine.flush().await;
        app.advance(Duration::minutes(5));
    }
    let bodies = receiver.settle(app, 1).await;
    assert_eq!(bodies.len(), 1, "one alert, told once: {bodies:?}");
    // The message carries the reading that fired it. At 12 %/h the disk is full in 2 h at 76 %.
    let message = bodies[0]["message"].as_str().unwrap();
    assert!(
        message.contains("trend reaches 100 within 2 h"),
        "{message}"
    );
    let told_at: f64 = bodies[0]["metric_value"].as_f64().unwrap();
    assert!(
        (75.0..=78.0).contains(&told_at),
        "told at {told_at} %: {message}"
    );
}
on_both_backends!(a_filling_disk_is_told_before_it_is_full);

/// An alert nobody acknowledges is escalated once, to the escalation's channel.
async fn an_unacknowledged_alert_is_escalated_once(app: &TestApp) {
    let (first, url) = Receiver::start().await;
    let (escalated, escalation_url) = Receiver::start().await;
    let (admin, agent, rule_id) = setup(app, &url, cpu_rule()).await;
    let reply = app
        .call(
            "POST",
            "/api/v1/notification-channels",
            Some(&admin),
            Some(json!({"name": "duty manager", "type": "webhook",
                        "config": {"url": escalation_url, "secret": SECRET}})),
        )
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
    let manager = reply.body["id"].as_i64().unwrap();
    let reply = app
        .call(
            "PUT",
            &format!("/api/v1/alert-rules/{rule_id}"),
            Some(&admin),
            Some(json!({"escalation": {"after_seconds": 600, "channel_ids": [manager]}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let host = app.register_host(&agent, "pay-01").await;
    report_cpu(app, &agent, host, 99.0).await;
    assert_eq!(first.settle(app, 1).await.len(), 1);
    assert!(escalated.bodies().is_empty());

    app.advance(Duration::minutes(5));
    app.state.engine.sweep().await;
    assert!(escalated.settle(app, 1).await.is_empty(), "not yet");
    app.advance(Duration::minutes(6));
    app.state.engine.sweep().await;
    let bodies = escalated.settle(app, 1).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["title"], "[升级] CPU 过高 - pay-01");
    app.advance(Duration::minutes(30));
    app.state.engine.sweep().await;
    assert_eq!(escalated.stays_at(app, 1).await.len(), 1, "escalated once");
    assert_eq!(
        first.bodies().len(),
        1,
        "the first channel is not told again"
    );
    // A restarted server (or another replica taking over the sweep) remembers it from the
    // timeline: still escalated once.
    use crate::support::{tempdir::TempDir, test_config};
    let data_dir = TempDir::new();
    let restarted = vigilops_server::App::with_store(
        test_config(&data_dir.0, &[]),
        std::sync::Arc::clone(&app.state.store),
        app.clock.clone(),
        None,
    )
    .unwrap();
    restarted.state.engine.reconcile().await;
    app.advance(Duration::minutes(1));
    restarted.state.engine.sweep().await;
    restarted.state.engine.flush().await;
    assert_eq!(
        escalated.stays_at(app, 1).await.len(),
        1,
        "not escalated again after a restart"
    );
    let alert = &app.alerts_of_rule(rule_id).await[0];
    let events = app.state.store.alert_events(alert.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|event| event.kind.as_str() == "escalated")
    );
}
on_both_backends!(an_unacknowledged_alert_is_escalated_once);
