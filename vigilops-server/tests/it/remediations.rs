//! `/api/v1/remediations`: list with filters, one run, statistics, and their refusals.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;
use vigilops_core::model::{NewRemediation, RemediationStatus, RemediationUpdate};

use crate::on_both_backends;
use crate::support::TestApp;

async fn run(
    app: &TestApp,
    host: Option<i64>,
    trigger: &str,
    end: Option<(RemediationStatus, i64)>,
) -> i64 {
    let now = app.clock_now();
    let created = app
        .state
        .store
        .create_remediation(NewRemediation {
            alert_id: None,
            host_id: host,
            status: RemediationStatus::Diagnosing,
            triggered_by: trigger.to_owned(),
            requested_by: None,
            created_at: now,
        })
        .await
        .unwrap();
    if let Some((status, seconds)) = end {
        app.state
            .store
            .update_remediation(
                created.id,
                &[RemediationStatus::Diagnosing],
                RemediationUpdate {
                    status: Some(status),
                    runbook_name: Some("disk_cleanup".to_owned()),
                    risk_level: Some("auto".to_owned()),
                    diagnosis: Some(json!({"root_cause": "disk full", "confidence": 0.8})),
                    command_results: Some(json!([{"command": "df -h /", "exit_code": 0}])),
                    verification_passed: Some(status == RemediationStatus::Success),
                    started_at: Some(now),
                    completed_at: Some(now + Duration::seconds(seconds)),
                    ..RemediationUpdate::default()
                },
            )
            .await
            .unwrap();
    }
    created.id
}

async fn reading_remediations(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    // Any logged-in role reads; the admin stands in (users are created with issue 7's routes).
    let viewer = admin.clone();
    let host = app.register_host(&agent, "web-01").await;

    let empty = app
        .call("GET", "/api/v1/remediations", Some(&viewer), None)
        .await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["total"], 0);
    let stats = app
        .call("GET", "/api/v1/remediations/stats", Some(&viewer), None)
        .await;
    assert_eq!(stats.body["success_rate"], 0.0);
    assert_eq!(stats.body["avg_duration_seconds"], serde_json::Value::Null);

    let ok = run(
        app,
        Some(host),
        "auto",
        Some((RemediationStatus::Success, 30)),
    )
    .await;
    let _failed = run(
        app,
        Some(host),
        "manual",
        Some((RemediationStatus::Failed, 60)),
    )
    .await;
    let _open = run(app, None, "auto", None).await;

    let list = app
        .call("GET", "/api/v1/remediations", Some(&viewer), None)
        .await;
    assert_eq!(list.body["total"], 3);
    let filtered = app
        .call(
            "GET",
            &format!("/api/v1/remediations?status=success&host_id={host}&triggered_by=auto"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(filtered.body["total"], 1, "{:?}", filtered.body);
    let item = &filtered.body["items"][0];
    assert_eq!(item["id"], ok);
    assert_eq!(item["status"], "success");
    assert_eq!(item["runbook_name"], "disk_cleanup");
    assert_eq!(item["diagnosis_json"]["root_cause"], "disk full");
    assert_eq!(item["command_results_json"][0]["exit_code"], 0);
    assert_eq!(item["verification_passed"], true);
    assert_eq!(item["executed"], true);

    let one = app
        .call(
            "GET",
            &format!("/api/v1/remediations/{ok}"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["triggered_by"], "auto");

    let stats = app
        .call("GET", "/api/v1/remediations/stats", Some(&admin), None)
        .await;
    assert_eq!(stats.status, StatusCode::OK);
    assert_eq!(stats.body["total"], 3);
    assert_eq!(stats.body["success"], 1);
    assert_eq!(stats.body["failed"], 1);
    assert_eq!(stats.body["pending"], 1);
    assert_eq!(stats.body["success_rate"], 33.3);
    assert_eq!(stats.body["avg_duration_seconds"], 45.0);
    assert_eq!(stats.body["today_count"], 3);
    assert_eq!(stats.body["week_count"], 3);

    let missing = app
        .call("GET", "/api/v1/remediations/999999", Some(&viewer), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["detail"], "Remediation log not found");
    for query in [
        "status=done",
        "triggered_by=robot",
        "page_size=1000",
        "host_id=x",
    ] {
        let refused = app
            .call(
                "GET",
                &format!("/api/v1/remediations?{query}"),
                Some(&viewer),
                None,
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {:?}",
            refused.body
        );
    }
    let anonymous = app.call("GET", "/api/v1/remediations", None, None).await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
}
on_both_backends!(reading_remediations);
