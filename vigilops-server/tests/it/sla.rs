//! `/api/v1/sla`: rules, time-based status and reports from checks fed through the agent
//! protocol, violations opened and closed by the evaluator, roles and bad input, on both
//! backends.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use vigilops_core::model::AlertStatus;

use crate::on_both_backends;
use crate::support::TestApp;

/// Registers a service of `host` checked every `interval` seconds; returns its id.
async fn register_service(app: &TestApp, agent: &str, host: i64, name: &str, interval: i64) -> i64 {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/services/register",
            Some(agent),
            Some(
                json!({"name": name, "target": format!("http://127.0.0.1:1/{name}"),
                        "host_id": host, "check_interval": interval}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["service_id"].as_i64().unwrap()
}

/// Reports one check per `step` seconds from `from`, `count` of them, down when `down(i)`.
async fn report_checks(
    app: &TestApp,
    agent: &str,
    service: i64,
    (from, step, count): (DateTime<Utc>, i64, i64),
    down: impl Fn(i64) -> bool,
) {
    for index in 0..count {
        let at = from + Duration::seconds(index * step);
        let reply = app
            .call(
                "POST",
                "/api/v1/agent/services",
                Some(agent),
                Some(json!({"service_id": service,
                            "status": if down(index) { "down" } else { "up" },
                            "response_time_ms": 12.5,
                            "checked_at": at.to_rfc3339_opts(SecondsFormat::Secs, true)})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }
}

async fn login(app: &TestApp, email: &str) -> String {
    let reply = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": "correct-horse"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

async fn create_rule(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app
        .call("POST", "/api/v1/sla/rules", Some(token), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

fn close_to(value: &Value, expected: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|value| (value - expected).abs() < 1e-6)
}

/// A service down 30 of 60 minutes with 10 s checks and one checked every 300 s are measured
/// by time; the 32 minutes of the day before the checks began are unknown, not up.
async fn availability_is_time_based(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "sla-01").await;
    let api = register_service(app, &agent, host, "api", 10).await;
    let batch = register_service(app, &agent, host, "batch", 300).await;
    let idle = register_service(app, &agent, host, "idle", 60).await;
    // The clock reads 01:32; checks cover the last hour.
    let now = app.clock_now();
    let hour_ago = now - Duration::hours(1);
    report_checks(app, &agent, api, (hour_ago, 10, 360), |index| {
        (90..270).contains(&index)
    })
    .await;
    report_checks(app, &agent, batch, (hour_ago, 300, 12), |index| index == 4).await;
    // And an hour across midnight two days ago, all up: a monthly window adds it up by day.
    let two_days_ago = DateTime::parse_from_rfc3339("2026-11-25T23:30:00Z")
        .unwrap()
        .with_timezone(&Utc);
    report_checks(app, &agent, batch, (two_days_ago, 300, 12), |_| false).await;

    let api_rule = create_rule(
        app,
        &admin,
        json!({"service_id": api, "name": "api uptime", "calculation_window": "daily"}),
    )
    .await;
    assert_eq!(api_rule["service_name"], "api");
    assert_eq!(api_rule["target_percent"], 99.9);
    assert_eq!(api_rule["calculation_window"], "daily");
    create_rule(
        app,
        &admin,
        json!({"service_id": batch, "name": "batch uptime", "target_percent": 90,
               "calculation_window": "monthly"}),
    )
    .await;
    let rules = app
        .call("GET", "/api/v1/sla/rules", Some(&admin), None)
        .await;
    assert_eq!(rules.status, StatusCode::OK);
    assert_eq!(rules.body.as_array().unwrap().len(), 2);

    let status = app
        .call("GET", "/api/v1/sla/status", Some(&admin), None)
        .await;
    assert_eq!(status.status, StatusCode::OK, "{:?}", status.body);
    let api_status = &status.body[0];
    assert_eq!(api_status["service_id"], api);
    assert!(
        close_to(&api_status["actual_percent"], 50.0),
        "{api_status}"
    );
    assert_eq!(api_status["is_met"], false);
    assert_eq!(api_status["total_checks"], 360);
    assert_eq!(api_status["down_checks"], 180);
    assert!(
        close_to(&api_status["downtime_minutes"], 30.0),
        "{api_status}"
    );
    assert!(
        close_to(&api_status["unknown_minutes"], 32.0),
        "{api_status}"
    );
    // 1 day at 99.9 % allows 1.44 minutes; 30 were spent.
    assert!(
        close_to(&api_status["error_budget_remaining_minutes"], -28.56),
        "{api_status}"
    );
    let batch_status = &status.body[1];
    // One down check covers 5 of the 125 minutes covered this month (the last check before
    // midnight's hour covers its 2 × 300 s cap, as nothing follows it).
    assert!(
        close_to(&batch_status["actual_percent"], 96.0),
        "{batch_status}"
    );
    assert_eq!(batch_status["is_met"], true);
    assert_eq!(batch_status["total_checks"], 24);
    assert_eq!(batch_status["down_checks"], 1);
    // 30 days at 90 % allow 4320 minutes.
    assert!(
        close_to(&batch_status["error_budget_remaining_minutes"], 4315.0),
        "{batch_status}"
    );
    // Asked again (settled days now remembered), the same.
    let again = app
        .call("GET", "/api/v1/sla/status", Some(&admin), None)
        .await;
    assert_eq!(again.body, status.body);
    let batch_report = app
        .call(
            "GET",
            &format!("/api/v1/sla/report?service_id={batch}&start_date=2026-11-25"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        batch_report.status,
        StatusCode::OK,
        "{:?}",
        batch_report.body
    );
    let days: Vec<&Value> = batch_report.body["daily_trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|day| &day["availability"])
        .collect();
    assert!(
        close_to(days[0], 100.0) && close_to(days[1], 100.0),
        "{days:?}"
    );
    assert!(close_to(days[2], 91.6667), "{days:?}");
    assert!(close_to(&batch_report.body["overall_availability"], 96.0));
    assert_eq!(batch_report.body["target_percent"], 90.0);

    // The report: the last 30 days, one value per day, null without checks.
    let report = app
        .call(
            "GET",
            &format!("/api/v1/sla/report?service_id={api}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{:?}", report.body);
    let trend = report.body["daily_trend"].as_array().unwrap();
    assert_eq!(trend.len(), 30);
    assert_eq!(trend[0]["date"], "2026-10-29");
    assert!(trend[..29].iter().all(|day| day["availability"].is_null()));
    assert_eq!(trend[29]["date"], "2026-11-27");
    assert!(close_to(&trend[29]["availability"], 50.0));
    assert!(close_to(&report.body["overall_availability"], 50.0));
    assert!(close_to(&report.body["total_downtime_minutes"], 30.0));
    assert_eq!(report.body["target_percent"], 99.9);
    assert_eq!(report.body["service_name"], "api");
    assert!(
        report.body["summary"]
            .as_str()
            .unwrap()
            .contains("did not meet"),
        "{}",
        report.body["summary"]
    );

    // A service without a rule is held to 99.9 %; without checks its availability is null.
    let idle_report = app
        .call(
            "GET",
            &format!(
                "/api/v1/sla/report?service_id={idle}&start_date=2026-11-20&end_date=2026-11-27"
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(idle_report.status, StatusCode::OK, "{:?}", idle_report.body);
    assert_eq!(idle_report.body["target_percent"], 99.9);
    assert!(idle_report.body["overall_availability"].is_null());
    assert_eq!(idle_report.body["daily_trend"].as_array().unwrap().len(), 8);
    assert_eq!(idle_report.body["period_start"], "2026-11-20T00:00:00Z");
}
on_both_backends!(availability_is_time_based);

async fn violations_of(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app
        .call(
            "GET",
            "/api/v1/sla/violations?start_date=2026-11-27&end_date=2026-11-28",
            Some(token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body.as_array().unwrap().clone()
}

/// The evaluator opens one violation when the window's availability drops below target (however
/// often it runs), closes it when availability recovers, and closes an open one when the window
/// ends.
async fn violations_open_and_close_as_the_evaluator_runs(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "sla-02").await;
    let api = register_service(app, &agent, host, "api", 10).await;
    let rule = create_rule(
        app,
        &admin,
        json!({"service_id": api, "name": "api", "target_percent": 90,
               "calculation_window": "daily"}),
    )
    .await;
    // An alert rule on SLA violations: the evaluator drives it through the alert engine.
    let alert_rule = app
        .call(
            "POST",
            "/api/v1/alert-rules",
            Some(&admin),
            Some(
                json!({"name": "SLA breached", "rule_type": "metric", "target_type": "service",
                        "metric": "sla_violation", "operator": "==", "threshold": 1,
                        "duration_seconds": 0, "severity": "critical"}),
            ),
        )
        .await;
    assert!(alert_rule.status.is_success(), "{:?}", alert_rule.body);
    let alert_rule_id = alert_rule.body["id"].as_i64().unwrap();
    let alerts = || app.alerts_of_rule(alert_rule_id);
    let evaluate = || async { app.state.sla.evaluate(app.clock_now()).await.unwrap() };
    let start = app.clock_now(); // 01:32

    // Ten minutes up: met.
    report_checks(
        app,
        &agent,
        api,
        (start - Duration::minutes(10), 10, 60),
        |_| false,
    )
    .await;
    assert_eq!(evaluate().await.opened, 0);
    // Two minutes down: 10 of 12 minutes up, below 90 %.
    app.advance(Duration::minutes(2));
    report_checks(app, &agent, api, (start, 10, 12), |_| true).await;
    assert_eq!(evaluate().await.opened, 1);
    assert_eq!(evaluate().await.opened, 0, "a second run opens nothing");
    let open = violations_of(app, &admin).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["sla_rule_id"], rule["id"]);
    assert_eq!(open[0]["service_name"], "api");
    assert_eq!(open[0]["started_at"], "2026-11-27T01:34:00Z");
    assert!(open[0]["ended_at"].is_null());
    assert_eq!(open[0]["description"], "availability 83.33% < 90% (daily)");
    let status = app
        .call("GET", "/api/v1/sla/status", Some(&admin), None)
        .await;
    assert_eq!(status.body[0]["is_met"], false);
    let fired = alerts().await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].status, AlertStatus::Firing);
    assert_eq!(fired[0].service_id, Some(api));
    assert_eq!(
        fired[0].message.as_deref(),
        Some("availability 83.33% < 90% (daily)")
    );

    // Ten more minutes up: 20 of 22, recovered; closed with its duration.
    app.advance(Duration::minutes(10));
    report_checks(
        app,
        &agent,
        api,
        (start + Duration::minutes(2), 10, 60),
        |_| false,
    )
    .await;
    let recovered = evaluate().await;
    assert_eq!((recovered.opened, recovered.closed), (0, 1));
    let closed = violations_of(app, &admin).await;
    assert_eq!(closed[0]["ended_at"], "2026-11-27T01:44:00Z");
    assert_eq!(closed[0]["duration_seconds"], 600);
    let resolved = alerts().await;
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0].status, AlertStatus::Resolved);

    // Down again, then the day ends: the open violation closes at midnight and the new window,
    // with no check yet, opens nothing.
    app.advance(Duration::minutes(5));
    report_checks(
        app,
        &agent,
        api,
        (start + Duration::minutes(12), 10, 30),
        |_| true,
    )
    .await;
    assert_eq!(evaluate().await.opened, 1);
    let midnight = DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    app.advance((midnight - app.clock_now()) + Duration::seconds(30));
    // The access token has expired by now: log in again.
    let admin = login(app, "admin@example.com").await;
    let rolled = evaluate().await;
    assert_eq!((rolled.opened, rolled.closed), (0, 1));
    let both = violations_of(app, &admin).await;
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0]["started_at"], "2026-11-27T01:49:00Z");
    assert_eq!(both[0]["ended_at"], "2026-11-28T00:00:00Z");
    assert_eq!(both[0]["duration_seconds"], 22 * 3600 + 11 * 60);
    assert_eq!(both[1]["duration_seconds"], 600);
    let status = app
        .call("GET", "/api/v1/sla/status", Some(&admin), None)
        .await;
    assert!(
        status.body[0]["actual_percent"].is_null(),
        "{:?}",
        status.body
    );
    assert_eq!(status.body[0]["is_met"], true);

    // The report of that day lists both violations.
    let report = app
        .call(
            "GET",
            &format!(
                "/api/v1/sla/report?service_id={api}&start_date=2026-11-27&end_date=2026-11-27"
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(report.body["violations"].as_array().unwrap().len(), 2);
    assert_eq!(report.body["target_percent"], 90.0);
    // Deleting the rule removes its violations.
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/sla/rules/{}", rule["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.body);
    assert!(violations_of(app, &admin).await.is_empty());
}
on_both_backends!(violations_open_and_close_as_the_evaluator_runs);

fn assert_422(reply: &crate::support::Reply, loc: &[&str]) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    assert_eq!(
        reply.body["detail"][0]["loc"],
        json!(loc),
        "{:?}",
        reply.body
    );
}

/// Viewers read but never write; writes are audited; bad input is 4xx naming the field.
async fn roles_audit_and_bad_input(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let viewer = app.register("viewer@example.com").await;
    let host = app.register_host(&agent, "sla-03").await;
    let api = register_service(app, &agent, host, "api", 30).await;

    let refused = app
        .call(
            "POST",
            "/api/v1/sla/rules",
            Some(&viewer),
            Some(json!({"service_id": api, "name": "api"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    for path in [
        "/api/v1/sla/rules",
        "/api/v1/sla/status",
        "/api/v1/sla/violations",
    ] {
        let read = app.call("GET", path, Some(&viewer), None).await;
        assert_eq!(read.status, StatusCode::OK, "{path}: {:?}", read.body);
    }
    let unauthenticated = app.call("GET", "/api/v1/sla/rules", None, None).await;
    assert_eq!(unauthenticated.status, StatusCode::FORBIDDEN);

    let post = |body: Value| app.call("POST", "/api/v1/sla/rules", Some(&admin), Some(body));
    assert_422(
        &post(json!({"service_id": api, "name": "api", "target_percent": 0})).await,
        &["body", "target_percent"],
    );
    assert_422(
        &post(json!({"service_id": api, "name": "api", "target_percent": 100.5})).await,
        &["body", "target_percent"],
    );
    assert_422(
        &post(json!({"service_id": api, "name": "api", "calculation_window": "yearly"})).await,
        &["body", "calculation_window"],
    );
    assert_422(
        &post(json!({"service_id": api, "name": "  "})).await,
        &["body", "name"],
    );
    // A missing field is the JSON extractor's 422, which names it in its message.
    let missing = post(json!({"service_id": api})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("`name`"),
        "{:?}",
        missing.body
    );
    assert_eq!(
        post(json!({"service_id": 999_999, "name": "ghost"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let rule = create_rule(
        app,
        &admin,
        json!({"service_id": api, "name": "api", "target_percent": 100}),
    )
    .await;
    let duplicate = post(json!({"service_id": api, "name": "again"})).await;
    assert_eq!(
        duplicate.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        duplicate.body
    );

    let id = rule["id"].as_i64().unwrap();
    let delete = |token: String, id: i64| async move {
        app.call(
            "DELETE",
            &format!("/api/v1/sla/rules/{id}"),
            Some(&token),
            None,
        )
        .await
    };
    assert_eq!(
        delete(viewer.to_owned(), id).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete(admin.clone(), 999_999).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call("DELETE", "/api/v1/sla/rules/abc", Some(&admin), None)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(delete(admin.clone(), id).await.status, StatusCode::OK);
    assert_eq!(
        delete(admin.clone(), id).await.status,
        StatusCode::NOT_FOUND
    );

    let viewer = viewer.as_str();
    let get = |path: String| async move { app.call("GET", &path, Some(viewer), None).await };
    assert_422(
        &get("/api/v1/sla/violations?start_date=2026-13-01".to_owned()).await,
        &["query", "start_date"],
    );
    assert_422(
        &get("/api/v1/sla/violations?start_date=2026-11-20&end_date=2026-11-01".to_owned()).await,
        &["query", "end_date"],
    );
    assert_eq!(
        get("/api/v1/sla/report".to_owned()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        get("/api/v1/sla/report?service_id=x".to_owned())
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        get("/api/v1/sla/report?service_id=999999".to_owned())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_422(
        &get(format!("/api/v1/sla/report?service_id={api}&period=hourly")).await,
        &["query", "period"],
    );
    assert_422(
        &get(format!(
            "/api/v1/sla/report?service_id={api}&end_date=yesterday"
        ))
        .await,
        &["query", "end_date"],
    );
    assert_422(
        &get(format!(
            "/api/v1/sla/report?service_id={api}&start_date=2020-01-01&end_date=2026-01-01"
        ))
        .await,
        &["query", "start_date"],
    );
    assert_422(
        &get(format!(
            "/api/v1/sla/report?service_id={api}&start_date=2026-11-02&end_date=2026-11-01"
        ))
        .await,
        &["query", "end_date"],
    );
    assert_422(
        &get("/api/v1/sla/violations?start_date=-9999-01-01".to_owned()).await,
        &["query", "start_date"],
    );
    let far_future = get(format!(
        "/api/v1/sla/report?service_id={api}&start_date=9999-12-01&end_date=9999-12-31"
    ))
    .await;
    assert!(
        far_future.status.is_success() || far_future.status.is_client_error(),
        "{:?}",
        far_future
    );

    let trail = app
        .call(
            "GET",
            "/api/v1/audit-logs?resource_type=sla_rule&page_size=100",
            Some(&admin),
            None,
        )
        .await;
    let text = trail.body.to_string();
    for action in ["create_sla_rule", "delete_sla_rule"] {
        assert!(text.contains(action), "{action}: {text}");
    }
}
on_both_backends!(roles_audit_and_bad_input, &[("ALLOW_REGISTRATION", "true")]);

/// Burn-rate alerts: a fast burn (the last hour and 5 minutes) pages and resolves soon after
/// the fault; the slow burn (6 hours and 30 minutes) still holds then.
async fn burn_rate_alerts_fire_over_both_windows_and_resolve_with_the_short_one(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "sla-burn").await;
    let api = register_service(app, &agent, host, "checkout", 30).await;
    create_rule(
        app,
        &admin,
        json!({"service_id": api, "name": "checkout", "target_percent": 99.9,
               "calculation_window": "monthly"}),
    )
    .await;
    let rule = |metric: &str, threshold: f64| {
        let admin = admin.clone();
        let body = json!({"name": metric, "rule_type": "metric", "target_type": "service",
                          "metric": metric, "operator": ">=", "threshold": threshold,
                          "duration_seconds": 0, "severity": "critical"});
        async move {
            let reply = app
                .call("POST", "/api/v1/alert-rules", Some(&admin), Some(body))
                .await;
            assert!(reply.status.is_success(), "{:?}", reply.body);
            reply.body["id"].as_i64().unwrap()
        }
    };
    let fast = rule("sla_burn_rate_1h", 14.4).await;
    let slow = rule("sla_burn_rate_6h", 6.0).await;
    let refused = app
        .call(
            "POST",
            "/api/v1/alert-rules",
            Some(&admin),
            Some(
                json!({"name": "x", "rule_type": "metric", "target_type": "service",
                        "metric": "sla_burn_rate", "operator": ">=", "threshold": 1}),
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.to_string().contains("metric"),
        "{:?}",
        refused.body
    );

    let alerts = |rule_id: i64| app.alerts_of_rule(rule_id);
    let evaluate = || async { app.state.sla.evaluate(app.clock_now()).await.unwrap() };
    let start = app.clock_now();

    // An hour up: no burn.
    report_checks(
        app,
        &agent,
        api,
        (start - Duration::hours(1), 30, 120),
        |_| false,
    )
    .await;
    evaluate().await;
    assert!(alerts(fast).await.is_empty());
    assert!(alerts(slow).await.is_empty());

    // Three minutes down: 5 % of the hour against a 0.1 % budget (50×), 60 % of the last 5
    // minutes: both pairs fire.
    app.advance(Duration::minutes(3));
    report_checks(app, &agent, api, (start, 30, 6), |_| true).await;
    evaluate().await;
    let paged = alerts(fast).await;
    assert_eq!(paged.len(), 1, "{paged:?}");
    assert_eq!(paged[0].status, AlertStatus::Firing);
    assert_eq!(paged[0].service_id, Some(api));
    assert!(
        paged[0]
            .message
            .as_deref()
            .is_some_and(|message| message.starts_with("error budget burn rate 50.0")),
        "{:?}",
        paged[0].message
    );
    assert_eq!(alerts(slow).await.len(), 1);

    // Six minutes up again: the last 5 minutes are clean, so the page resolves; the last 30
    // minutes still hold the outage, so the slow burn stays.
    app.advance(Duration::minutes(6));
    report_checks(
        app,
        &agent,
        api,
        (start + Duration::minutes(3), 30, 12),
        |_| false,
    )
    .await;
    evaluate().await;
    let paged = alerts(fast).await;
    assert_eq!(paged.len(), 1, "{paged:?}");
    assert_eq!(paged[0].status, AlertStatus::Resolved);
    let ticket = alerts(slow).await;
    assert_eq!(ticket.len(), 1, "{ticket:?}");
    assert_eq!(ticket[0].status, AlertStatus::Firing);
}
on_both_backends!(burn_rate_alerts_fire_over_both_windows_and_resolve_with_the_short_one);
