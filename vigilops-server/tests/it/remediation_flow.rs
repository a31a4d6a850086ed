//! The remediation flow through the HTTP API, on both backends: dry runs, approvals,
//! rejections, retries, expiry, the safety switches, the runbook API, and their refusals.
//! (Execution on a real host through the real agent binary is `vigilops-agent`'s
//! `tests/it/remediation.rs`.)

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;
use chrono::Duration;
use serde_json::{Value, json};
use vigilops_core::model::NewChannel;

use crate::on_both_backends;
use crate::support::TestApp;

/// A plain webhook receiver; returns its bodies and its URL.
async fn receiver() -> (Arc<Mutex<Vec<Value>>>, String) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    let app = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<Value>| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (bodies, url)
}

struct Setup {
    admin: String,
    agent: String,
    host: i64,
    rule: i64,
    hook: Arc<Mutex<Vec<Value>>>,
}

/// An admin, a host, a webhook channel and a `metric > 90` rule (`for 0`) sending to it.
async fn setup(app: &TestApp, metric: &str) -> Setup {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "app-01").await;
    let (hook, url) = receiver().await;
    let channel = app
        .state
        .store
        .create_channel(
            &NewChannel {
                name: "ops hook".into(),
                kind: "webhook".into(),
                config: json!({"url": url}),
                is_enabled: true,
            },
            app.clock_now(),
        )
        .await
        .unwrap();
    let created = app
        .call(
            "POST",
            "/api/v1/alert-rules",
            Some(&admin),
            Some(
                json!({"name": format!("{metric} high"), "metric": metric, "operator": ">",
                        "threshold": 90, "duration_seconds": 0, "severity": "critical",
                        "notification_channel_ids": [channel.id]}),
            ),
        )
        .await;
    assert!(created.status.is_success(), "{:?}", created.body);
    Setup {
        admin,
        agent,
        host,
        rule: created.body["id"].as_i64().unwrap(),
        hook,
    }
}

/// Reports `metric = value` and returns the rule's open alert.
async fn breach(app: &TestApp, setup: &Setup, metric: &str, value: f64) -> i64 {
    let mut body = json!({"host_id": setup.host, "cpu_percent": 10.0, "memory_percent": 40.0,
                          "disk_percent": 50.0});
    body[metric] = json!(value);
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&setup.agent),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    app.state.engine.flush().await;
    let alerts = app
        .call(
            "GET",
            &format!("/api/v1/alerts?status=firing&host_id={}", setup.host),
            Some(&setup.admin),
            None,
        )
        .await;
    alerts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule_id"] == setup.rule)
        .and_then(|a| a["id"].as_i64())
        .unwrap_or_else(|| panic!("no alert: {:?}", alerts.body))
}

/// Polls run `id` until its status is one of `statuses` (5 s).
async fn run_in(app: &TestApp, admin: &str, id: i64, statuses: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let run = app
            .call(
                "GET",
                &format!("/api/v1/remediations/{id}"),
                Some(admin),
                None,
            )
            .await
            .body;
        if statuses.contains(&run["status"].as_str().unwrap_or_default()) {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "remediation {id} never reached {statuses:?}: {run:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The first run of `alert`, once it exists (5 s).
async fn first_run(app: &TestApp, admin: &str, alert: i64) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let runs = app
            .call(
                "GET",
                &format!("/api/v1/remediations?alert_id={alert}"),
                Some(admin),
                None,
            )
            .await
            .body;
        if let Some(run) = runs["items"].as_array().and_then(|items| items.last()) {
            return run.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no run for {alert}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

const TERMINAL: &[&str] = &["success", "failed", "escalated", "rejected"];

async fn a_dry_run_records_what_would_run_and_tells_the_channel(app: &TestApp) {
    let setup = setup(app, "disk_percent").await;
    let alert = breach(app, &setup, "disk_percent", 96.0).await;
    let run = first_run(app, &setup.admin, alert).await;
    assert_eq!(run["triggered_by"], "auto");
    let run = run_in(app, &setup.admin, run["id"].as_i64().unwrap(), TERMINAL).await;
    assert_eq!(run["status"], "success", "{run:#}");
    assert_eq!(run["executed"], false);
    assert_eq!(run["runbook_name"], "disk_cleanup");
    let results = run["command_results_json"].as_array().unwrap();
    assert_eq!(results.len(), 7, "{run:#}");
    for result in results {
        assert_eq!(result["exit_code"], 0);
        assert_eq!(result["executed"], false);
        let stdout = result["stdout"].as_str().unwrap();
        assert!(stdout.starts_with("[DRY RUN] Would execute: "), "{stdout}");
    }
    assert!(
        results[1]["stdout"]
            .as_str()
            .unwrap()
            .ends_with("find /tmp -xdev -type f -mtime +7 -delete"),
        "{results:?}"
    );
    // Nothing reached the host.
    let commands = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{}/commands", setup.host),
            Some(&setup.admin),
            None,
        )
        .await;
    assert_eq!(
        commands.body.as_array().map(Vec::len),
        Some(0),
        "{:?}",
        commands.body
    );
    // The rule's channel heard the outcome, on its own (not grouped with the alert).
    app.state.engine.flush().await;
    app.advance(Duration::seconds(1));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let told = loop {
        let told: Vec<Value> = setup
            .hook
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b.to_string().contains("remediation"))
            .cloned()
            .collect();
        if !told.is_empty() || tokio::time::Instant::now() > deadline {
            break told;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(told.len(), 1, "{told:#?}");
    let text = told[0].to_string();
    assert!(text.contains("[自动修复成功] disk_cleanup"), "{text}");
    assert!(text.contains("Dry run"), "{text}");
}
on_both_backends!(
    a_dry_run_records_what_would_run_and_tells_the_channel,
    &[("AGENT_ENABLED", "true")]
);

async fn approvals_rejections_and_retries(app: &TestApp) {
    // Automatic runs are off: only people start runs here.
    let setup = setup(app, "memory_percent").await;
    let admin = setup.admin.as_str();
    let alert = breach(app, &setup, "memory_percent", 97.0).await;
    assert_eq!(
        app.call(
            "GET",
            &format!("/api/v1/remediations?alert_id={alert}"),
            Some(admin),
            None
        )
        .await
        .body["total"],
        0
    );
    let started = app
        .call(
            "POST",
            &format!("/api/v1/alerts/{alert}/remediate"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);
    assert_eq!(started.body["status"], "pending");
    assert_eq!(started.body["triggered_by"], "manual");
    let id = started.body["id"].as_i64().unwrap();
    let run = run_in(app, admin, id, &["pending_approval"]).await;
    assert_eq!(run["runbook_name"], "memory_pressure");
    assert_eq!(
        run["blocked_reason"],
        "Needs human confirmation (risk=confirm)"
    );
    let again = app
        .call(
            "POST",
            &format!("/api/v1/alerts/{alert}/remediate"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.body["detail"],
        "A remediation is already in progress for this alert"
    );

    // Refusals: a malformed body, an unknown run, an unknown alert, no token.
    let bearer = format!("Bearer {admin}");
    let malformed = app
        .raw(
            "POST",
            &format!("/api/v1/remediations/{id}/reject"),
            &[
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ],
            "{not json",
        )
        .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app
        .call(
            "POST",
            "/api/v1/remediations/999999/approve",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["detail"], "Remediation log not found");
    let no_alert = app
        .call("POST", "/api/v1/alerts/999999/remediate", Some(admin), None)
        .await;
    assert_eq!(no_alert.status, StatusCode::NOT_FOUND);
    assert_eq!(no_alert.body["detail"], "Alert not found");
    let anonymous = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{id}/approve"),
            None,
            None,
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
    let agent = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{id}/approve"),
            Some(&setup.agent),
            None,
        )
        .await;
    assert!(agent.status == StatusCode::UNAUTHORIZED || agent.status == StatusCode::FORBIDDEN);

    // Rejected with a reason: nothing runs, and it stays rejected.
    let rejected = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{id}/reject"),
            Some(admin),
            Some(json!({"comment": "batch job, expected"})),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{:?}", rejected.body);
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(rejected.body["review_comment"], "batch job, expected");
    assert!(rejected.body["command_results_json"].is_null());
    let twice = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{id}/reject"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        twice.body["detail"],
        "Cannot reject remediation in status: rejected"
    );

    // Retried: a new manual run, approved this time (without a body, as the client does).
    let retried = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{id}/retry"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{:?}", retried.body);
    let second = retried.body["id"].as_i64().unwrap();
    assert_ne!(second, id);
    run_in(app, admin, second, &["pending_approval"]).await;
    let approved = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{second}/approve"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    assert!(approved.body["approved_by"].is_i64());
    let done = run_in(app, admin, second, TERMINAL).await;
    assert_eq!(done["status"], "success", "{done:#}");
    let no_retry = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{second}/retry"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(no_retry.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_retry.body["detail"],
        "Cannot retry remediation in status: success"
    );

    // Every decision is audited.
    for action in [
        "trigger_remediation",
        "reject_remediation",
        "approve_remediation",
    ] {
        let audit = app
            .call(
                "GET",
                &format!("/api/v1/audit-logs?action={action}"),
                Some(admin),
                None,
            )
            .await;
        assert!(
            audit.body["total"].as_i64().unwrap() >= 1,
            "{action}: {:?}",
            audit.body
        );
    }
    // The alert's timeline tells the story.
    let timeline = app
        .call("GET", &format!("/api/v1/alerts/{alert}"), Some(admin), None)
        .await
        .body
        .to_string();
    for event in [
        "triggered",
        "pending_approval",
        "rejected",
        "approved",
        "success",
    ] {
        assert!(
            timeline.contains(&format!("\"event\":\"{event}\"")),
            "{event}: {timeline}"
        );
    }
}
on_both_backends!(approvals_rejections_and_retries);

async fn switches_hold_automatic_runs_and_waiting_runs_expire(app: &TestApp) {
    let setup = setup(app, "disk_percent").await;
    let admin = setup.admin.as_str();
    // The kill switch: automatic runs wait for a person.
    let off = app
        .call(
            "PUT",
            "/api/v1/remediation-settings",
            Some(admin),
            Some(json!({"automatic_enabled": false})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{:?}", off.body);
    assert_eq!(off.body["automatic_enabled"], false);
    assert_eq!(off.body["dry_run"], true);
    let invalid = app
        .call(
            "PUT",
            "/api/v1/remediation-settings",
            Some(admin),
            Some(json!({"automatic_enabled": "nope"})),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let alert = breach(app, &setup, "disk_percent", 97.0).await;
    let run = first_run(app, admin, alert).await;
    let id = run["id"].as_i64().unwrap();
    let run = run_in(app, admin, id, &["pending_approval", "success"]).await;
    assert_eq!(run["status"], "pending_approval", "{run:#}");
    let reasons = run["decision"]["reasons"].to_string();
    assert!(
        reasons.contains("automatic remediation is switched off"),
        "{reasons}"
    );

    // Unanswered for longer than allowed: escalated.
    app.advance(Duration::minutes(61));
    let expired = app.state.flow.expire_approvals().await.unwrap();
    assert_eq!(expired.len(), 1);
    let run = run_in(app, admin, id, TERMINAL).await;
    assert_eq!(run["status"], "escalated");
    assert_eq!(run["blocked_reason"], "Approval expired after 60 minutes");
    let late = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{id}/approve"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);

    // Inside a maintenance window of the host, automatic runs wait for a person too.
    let on = app
        .call(
            "PUT",
            "/api/v1/remediation-settings",
            Some(admin),
            Some(json!({"automatic_enabled": true})),
        )
        .await;
    assert_eq!(on.body["automatic_enabled"], true);
    let now = app.clock_now();
    let window = app
        .call(
            "POST",
            "/api/v1/silences",
            Some(admin),
            Some(
                json!({"name": "kernel upgrade", "matchers": {"host_ids": [setup.host]},
                        "starts_at": now, "ends_at": now + Duration::hours(2)}),
            ),
        )
        .await;
    assert!(window.status.is_success(), "{:?}", window.body);
    let retried = app
        .call(
            "POST",
            &format!("/api/v1/remediations/{id}/retry"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{:?}", retried.body);
    // A manual run is a person's decision: the window does not hold it.
    let manual = run_in(app, admin, retried.body["id"].as_i64().unwrap(), TERMINAL).await;
    assert_eq!(manual["status"], "success", "{manual:#}");
    app.advance(Duration::minutes(11));
    let resolved = app
        .call(
            "POST",
            &format!("/api/v1/alerts/{alert}/resolve"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK);
    let alert = breach(app, &setup, "disk_percent", 98.0).await;
    let run = first_run(app, admin, alert).await;
    let run = run_in(
        app,
        admin,
        run["id"].as_i64().unwrap(),
        &["pending_approval", "success"],
    )
    .await;
    assert_eq!(run["status"], "pending_approval", "{run:#}");
    let reasons = run["decision"]["reasons"].to_string();
    assert!(
        reasons.contains("a maintenance window is active"),
        "{reasons}"
    );

    // A host opts out; an unknown host is a 404.
    let opted = app
        .call(
            "PUT",
            &format!("/api/v1/hosts/{}/remediation", setup.host),
            Some(admin),
            Some(json!({"opted_out": true})),
        )
        .await;
    assert_eq!(opted.status, StatusCode::OK, "{:?}", opted.body);
    assert!(
        app.state
            .store
            .remediation_opt_out(setup.host)
            .await
            .unwrap()
    );
    let unknown = app
        .call(
            "PUT",
            "/api/v1/hosts/999999/remediation",
            Some(admin),
            Some(json!({"opted_out": true})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
on_both_backends!(
    switches_hold_automatic_runs_and_waiting_runs_expire,
    &[("AGENT_ENABLED", "true")]
);

async fn without_a_remediation_capable_agent_nothing_runs(app: &TestApp) {
    let setup = setup(app, "disk_percent").await;
    let alert = breach(app, &setup, "disk_percent", 97.0).await;
    let run = first_run(app, &setup.admin, alert).await;
    let run = run_in(app, &setup.admin, run["id"].as_i64().unwrap(), TERMINAL).await;
    assert_eq!(run["status"], "escalated", "{run:#}");
    assert_eq!(
        run["blocked_reason"],
        "No remediation-capable agent on host"
    );
    assert!(run["command_results_json"].is_null());
}
on_both_backends!(
    without_a_remediation_capable_agent_nothing_runs,
    &[("AGENT_ENABLED", "true"), ("AGENT_DRY_RUN", "false")]
);

async fn the_runbook_api_refuses_what_it_must(app: &TestApp) {
    let (admin, _) = app.admin_and_agent_token().await;
    let list = app
        .call("GET", "/api/v1/runbooks", Some(&admin), None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "disk_cleanup",
            "service_restart",
            "zombie_killer",
            "memory_pressure",
            "log_rotation",
            "connection_reset"
        ]
    );
    assert_eq!(list.body["items"][0]["source"], "builtin");
    assert_eq!(list.body["items"][0]["spec"]["params"]["tmp_dir"], "/tmp");

    let good = "name: reload_nginx\ndescription: Checks and reloads nginx.\nrisk: confirm\n\
                match_alert_types: [nginx_errors]\nsteps:\n  - name: reload\n    run: [systemctl, reload, nginx]\n";
    let created = app
        .call(
            "POST",
            "/api/v1/runbooks",
            Some(&admin),
            Some(json!({"yaml": good})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["source"], "api");
    let listed = app
        .call("GET", "/api/v1/runbooks", Some(&admin), None)
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 7);

    for (yaml, expected) in [
        ("name: x\n", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "name: sneaky\ndescription: no\nrisk: auto\nsteps:\n  - name: s\n    run: [find, /etc, -type, f, -mtime, '+1', -delete]\n",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "name: disk_cleanup\ndescription: shadow\nrisk: auto\nsteps:\n  - name: s\n    run: [df, -h]\n",
            StatusCode::CONFLICT,
        ),
    ] {
        let reply = app
            .call(
                "POST",
                "/api/v1/runbooks",
                Some(&admin),
                Some(json!({"yaml": yaml})),
            )
            .await;
        assert_eq!(reply.status, expected, "{yaml}: {:?}", reply.body);
    }
    let params = app
        .call(
            "PUT",
            "/api/v1/runbooks/disk_cleanup/params",
            Some(&admin),
            Some(json!({"params": {"nope": "/tmp"}})),
        )
        .await;
    assert_eq!(params.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = app
        .call(
            "PUT",
            "/api/v1/runbooks/nothing_here/params",
            Some(&admin),
            Some(json!({"params": {}})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let builtin = app
        .call(
            "DELETE",
            "/api/v1/runbooks/disk_cleanup",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(builtin.status, StatusCode::CONFLICT);
    let deleted = app
        .call(
            "DELETE",
            "/api/v1/runbooks/reload_nginx",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = app
        .call(
            "DELETE",
            "/api/v1/runbooks/reload_nginx",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}
on_both_backends!(the_runbook_api_refuses_what_it_must);

async fn runs_left_moving_by_a_stopped_replica_are_failed(app: &TestApp) {
    use vigilops_core::model::{NewRemediation, RemediationStatus, RemediationUpdate};
    let setup = setup(app, "disk_percent").await;
    let alert = breach(app, &setup, "disk_percent", 97.0).await;
    // A replica started executing this run, then died.
    let store = &app.state.store;
    let run = store
        .create_remediation(NewRemediation {
            alert_id: Some(alert),
            host_id: Some(setup.host),
            status: RemediationStatus::Diagnosing,
            triggered_by: "auto".to_owned(),
            requested_by: None,
            created_at: app.clock_now(),
        })
        .await
        .unwrap();
    store
        .update_remediation(
            run.id,
            &[RemediationStatus::Diagnosing],
            RemediationUpdate {
                status: Some(RemediationStatus::Executing),
                started_at: Some(app.clock_now()),
                ..RemediationUpdate::default()
            },
        )
        .await
        .unwrap();
    // While it could still be running, it is left alone.
    app.advance(Duration::hours(1));
    assert!(app.state.flow.fail_stalled().await.unwrap().is_empty());
    app.advance(Duration::hours(6));
    let failed = app.state.flow.fail_stalled().await.unwrap();
    assert_eq!(failed.len(), 1);
    let stored = store.remediation(run.id).await.unwrap().unwrap();
    assert_eq!(stored.status, RemediationStatus::Failed);
    assert_eq!(
        stored.blocked_reason.as_deref(),
        Some("Interrupted: the server driving it stopped")
    );
    assert!(stored.completed_at.is_some());
    // The alert can be remediated again (the admin's token expired meanwhile: go through core).
    let again = app
        .state
        .flow
        .trigger(
            alert,
            vigilops_core::remediation::flow::Trigger::Manual(vigilops_core::audit::Actor {
                user_id: None,
                ip_address: None,
            }),
        )
        .await;
    assert!(again.is_ok(), "{again:?}");
}
on_both_backends!(runs_left_moving_by_a_stopped_replica_are_failed);
