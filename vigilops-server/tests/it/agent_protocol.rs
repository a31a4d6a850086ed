//! The agent protocol as the original agents use it: every recorded example body is accepted
//! with the documented status, ownership is enforced, idempotency keys replay.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{TestApp, example};

/// Rewrites `host_id`/`service_id` of an example to the ids this server assigned.
fn with_ids(mut body: Value, host_id: i64, service_id: Option<i64>) -> Value {
    if body.get("host_id").is_some() {
        body["host_id"] = json!(host_id);
    }
    if let (Some(id), Some(_)) = (service_id, body.get("service_id")) {
        body["service_id"] = json!(id);
    }
    if let Some(logs) = body.get_mut("logs").and_then(Value::as_array_mut) {
        for entry in logs {
            entry["host_id"] = json!(host_id);
        }
    }
    body
}

async fn every_example_body_is_accepted(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let register = app
        .call(
            "POST",
            "/api/v1/agent/register",
            Some(&agent),
            Some(example("register.json")),
        )
        .await;
    assert_eq!(register.status, StatusCode::OK, "{:?}", register.body);
    assert_eq!(register.body["created"], true);
    assert_eq!(register.body["status"], "online");
    assert_eq!(register.body["hostname"], "upstream-testhost");
    let host_id = register.body["host_id"].as_i64().unwrap();

    // A repeat is idempotent: same id, created false.
    let again = app
        .call(
            "POST",
            "/api/v1/agent/register",
            Some(&agent),
            Some(example("register.json")),
        )
        .await;
    assert_eq!(
        (again.body["host_id"].as_i64(), &again.body["created"]),
        (Some(host_id), &json!(false))
    );

    let heartbeat = app
        .call(
            "POST",
            "/api/v1/agent/heartbeat",
            Some(&agent),
            Some(with_ids(example("heartbeat.json"), host_id, None)),
        )
        .await;
    assert_eq!(heartbeat.status, StatusCode::OK);
    assert_eq!(heartbeat.body["status"], "ok");
    assert_eq!(heartbeat.body["heartbeat_interval"], 60);

    let metrics = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&agent),
            Some(with_ids(example("metrics.json"), host_id, None)),
        )
        .await;
    assert_eq!(metrics.status, StatusCode::CREATED, "{:?}", metrics.body);
    assert!(metrics.body["metric_id"].as_i64().unwrap() > 0);

    let mut service_ids = Vec::new();
    for name in [
        "services-register.json",
        "services-register.discovered.json",
    ] {
        let reply = app
            .call(
                "POST",
                "/api/v1/agent/services/register",
                Some(&agent),
                Some(with_ids(example(name), host_id, None)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {:?}", reply.body);
        assert_eq!(reply.body["created"], true);
        service_ids.push(reply.body["service_id"].as_i64().unwrap());
    }
    for (name, service_id) in [
        ("services.json", service_ids[0]),
        ("services.tcp.json", service_ids[1]),
    ] {
        let reply = app
            .call(
                "POST",
                "/api/v1/agent/services",
                Some(&agent),
                Some(with_ids(example(name), host_id, Some(service_id))),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{name}: {:?}",
            reply.body
        );
        assert!(reply.body["check_id"].as_i64().unwrap() > 0);
    }
    for name in ["db-metrics.json", "db-metrics.redis.json"] {
        let reply = app
            .call(
                "POST",
                "/api/v1/agent/db-metrics",
                Some(&agent),
                Some(with_ids(example(name), host_id, None)),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{name}: {:?}",
            reply.body
        );
        assert!(reply.body["database_id"].as_i64().unwrap() > 0);
    }
    let logs = app
        .call(
            "POST",
            "/api/v1/agent/logs",
            Some(&agent),
            Some(with_ids(example("logs.json"), host_id, None)),
        )
        .await;
    assert_eq!(logs.status, StatusCode::CREATED, "{:?}", logs.body);
    assert_eq!(logs.body["received"], 3);
    let stored = app.state.store.recent_logs(host_id, 10).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0].level.as_deref(), Some("INFO"));

    // What was ingested is what the host API shows.
    let host = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(host.status, StatusCode::OK);
    assert_eq!(host.body["display_name"], "upstream test host");
    assert_eq!(host.body["tags"], json!({"lab": true, "upstream": true}));
    let latest = &host.body["latest_metrics"];
    assert_eq!(latest["cpu_percent"], 99.5);
    assert_eq!(latest["disk_total_mb"], 258019.0);
    assert_eq!(latest["agent_memory_rss_mb"], 34.21);
    assert_eq!(latest["disk_partitions"][0]["mountpoint"], "/");
    assert_eq!(latest["recorded_at"], "2026-11-27T01:31:30.007073Z");

    let db_targets = app
        .call(
            "GET",
            &format!("/api/v1/agent/db-targets?host_id={host_id}"),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(
        (db_targets.status, &db_targets.body),
        (StatusCode::OK, &json!({"items": []}))
    );
    let updates = app
        .call("GET", "/api/v1/agent-updates/list", Some(&agent), None)
        .await;
    assert_eq!(updates.body, json!({"versions": []}));
}
on_both_backends!(every_example_body_is_accepted);

async fn original_0_1_register_body_with_empty_ip(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let body = json!({"hostname":"web-01","ip_address":"","os":"Linux","os_version":"6.8.0-45-generic","arch":"x86_64",
        "cpu_cores":4,"memory_total_mb":7941,"agent_version":"0.1.0","tags":{"prod":true}});
    let reply = app
        .call("POST", "/api/v1/agent/register", Some(&agent), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let host_id = reply.body["host_id"].as_i64().unwrap();
    let mut with_ip = json!({"hostname": "web-01", "ip_address": "192.0.2.10"});
    app.call(
        "POST",
        "/api/v1/agent/register",
        Some(&agent),
        Some(with_ip.clone()),
    )
    .await;
    // An empty address never overwrites a known one.
    with_ip["ip_address"] = json!("");
    app.call(
        "POST",
        "/api/v1/agent/register",
        Some(&agent),
        Some(with_ip),
    )
    .await;
    let host = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(host.body["ip_address"], "192.0.2.10");
    assert_eq!(host.body["cpu_cores"], 4);
}
on_both_backends!(original_0_1_register_body_with_empty_ip);

async fn agent_authentication(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let body = Some(json!({"hostname": "web-01"}));
    let missing = app
        .call("POST", "/api/v1/agent/register", None, body.clone())
        .await;
    assert_eq!(
        (missing.status, &missing.body),
        (
            StatusCode::FORBIDDEN,
            &json!({"detail": "Not authenticated"})
        )
    );
    let basic = app
        .raw(
            "POST",
            "/api/v1/agent/register",
            &[
                ("authorization", "Basic abc"),
                ("content-type", "application/json"),
            ],
            r#"{"hostname":"x"}"#,
        )
        .await;
    assert_eq!(basic.status, StatusCode::FORBIDDEN);
    let unknown = format!("vop_{}", "0".repeat(48));
    for token in [unknown.as_str(), "garbage", admin.as_str()] {
        let reply = app
            .call("POST", "/api/v1/agent/register", Some(token), body.clone())
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(
            reply.body,
            json!({"detail": "Invalid or revoked agent token"})
        );
        assert_eq!(
            reply
                .headers
                .get("www-authenticate")
                .map(|value| value.to_str().unwrap()),
            Some("Bearer")
        );
    }

    // Revocation takes effect at once on this replica (others follow within the 5 s cache
    // lifetime): the token was just used, so its lookup is cached.
    let host_id = app.register_host(&agent, "web-01").await;
    let tokens = app
        .call("GET", "/api/v1/agent-tokens", Some(&admin), None)
        .await;
    let token_id = tokens.body[0]["id"].as_i64().unwrap();
    assert!(
        tokens.body[0].get("token").is_none(),
        "plaintext is never listed"
    );
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/agent-tokens/{token_id}"),
            Some(&admin),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let after = app
        .call(
            "POST",
            "/api/v1/agent/heartbeat",
            Some(&agent),
            Some(json!({"host_id": host_id})),
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let revoked = app
        .call("GET", "/api/v1/agent-tokens", Some(&admin), None)
        .await;
    assert_eq!(revoked.body[0]["is_active"], false);
    assert_eq!(
        app.call("DELETE", "/api/v1/agent-tokens/999999", Some(&admin), None)
            .await
            .body,
        json!({"detail": "Token not found"})
    );
}
on_both_backends!(agent_authentication);

async fn hosts_belong_to_their_token(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let other = app.agent_token(&admin, "other").await;
    let mine = app.register_host(&agent, "web-01").await;
    let theirs = app.register_host(&other, "web-01").await;
    assert_ne!(mine, theirs, "one hostname under two tokens is two hosts");

    let forbidden =
        json!({"detail": format!("Host {theirs} is not registered with this agent token")});
    let heartbeat = app
        .call(
            "POST",
            "/api/v1/agent/heartbeat",
            Some(&agent),
            Some(json!({"host_id": theirs})),
        )
        .await;
    assert_eq!(
        (heartbeat.status, &heartbeat.body),
        (StatusCode::FORBIDDEN, &forbidden)
    );
    let metrics = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&agent),
            Some(json!({"host_id": theirs, "cpu_percent": 1})),
        )
        .await;
    assert_eq!(metrics.status, StatusCode::FORBIDDEN);
    let unknown = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&agent),
            Some(json!({"host_id": 424242})),
        )
        .await;
    assert_eq!(
        unknown.body,
        json!({"detail": "Host 424242 is not registered with this agent token"})
    );

    // A log batch with one foreign entry stores nothing.
    let entry = |host_id: i64| json!({"host_id": host_id, "message": "m", "timestamp": "2026-11-27T01:31:35Z"});
    let logs = app
        .call(
            "POST",
            "/api/v1/agent/logs",
            Some(&agent),
            Some(json!({"logs": [entry(mine), entry(theirs)]})),
        )
        .await;
    assert_eq!(logs.status, StatusCode::FORBIDDEN);
    assert!(
        app.state
            .store
            .recent_logs(mine, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Services of another token's host cannot be reported.
    let service = app
        .call(
            "POST",
            "/api/v1/agent/services/register",
            Some(&other),
            Some(json!({"name": "api", "target": "http://x", "host_id": theirs})),
        )
        .await;
    let service_id = service.body["service_id"].as_i64().unwrap();
    let check = app
        .call(
            "POST",
            "/api/v1/agent/services",
            Some(&agent),
            Some(json!({"service_id": service_id, "status": "up"})),
        )
        .await;
    assert_eq!(check.status, StatusCode::FORBIDDEN);
    assert_eq!(
        check.body,
        json!({"detail": format!("Service {service_id} is not registered with this agent token")})
    );
    let db = app
        .call(
            "POST",
            "/api/v1/agent/db-metrics",
            Some(&agent),
            Some(json!({"host_id": theirs, "db_name": "x"})),
        )
        .await;
    assert_eq!(db.status, StatusCode::FORBIDDEN);
    let targets = app
        .call(
            "GET",
            &format!("/api/v1/agent/db-targets?host_id={theirs}"),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(targets.status, StatusCode::FORBIDDEN);
}
on_both_backends!(hosts_belong_to_their_token);

async fn idempotency_keys_store_once(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "web-01").await;
    let body =
        json!({"host_id": host_id, "cpu_percent": 12.5, "timestamp": "2026-11-27T01:31:00Z"})
            .to_string();
    let post = |key: &'static str| {
        let body = body.clone();
        let agent = agent.clone();
        async move {
            app.raw(
                "POST",
                "/api/v1/agent/metrics",
                &[
                    ("authorization", &format!("Bearer {agent}")),
                    ("content-type", "application/json"),
                    ("idempotency-key", key),
                ],
                body,
            )
            .await
        }
    };
    let first = post("0190f3c1-7b9e-7c3a-9d1e-2f4a5b6c7d8e").await;
    let replay = post("0190f3c1-7b9e-7c3a-9d1e-2f4a5b6c7d8e").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(
        (replay.status, &replay.body),
        (first.status, &first.body),
        "a replay returns the stored reply"
    );
    let other = post("another-key").await;
    assert_ne!(other.body["metric_id"], first.body["metric_id"]);
    let series = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host_id}/metrics?hours=1"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        series.body.as_array().unwrap().len(),
        2,
        "the replay stored nothing"
    );
    let bad = post("has space").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let long: &'static str = Box::leak("k".repeat(129).into_boxed_str());
    assert_eq!(post(long).await.status, StatusCode::BAD_REQUEST);

    // Logs with a key: stored once.
    let logs = json!({"logs": [{"host_id": host_id, "message": "once", "timestamp": "2026-11-27T01:31:35Z", "level": "warning"}]}).to_string();
    for _ in 0..2 {
        let reply = app
            .raw(
                "POST",
                "/api/v1/agent/logs",
                &[
                    ("authorization", &format!("Bearer {agent}")),
                    ("content-type", "application/json"),
                    ("idempotency-key", "logs-1"),
                ],
                logs.clone(),
            )
            .await;
        assert_eq!(reply.body, json!({"received": 1}));
    }
    let stored = app.state.store.recent_logs(host_id, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].level.as_deref(),
        Some("WARN"),
        "WARNING is normalised"
    );
}
on_both_backends!(idempotency_keys_store_once);

async fn replays_never_move_state_back(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "web-01").await;
    let post = |cpu: f64, at: &str| {
        app.call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&agent),
            Some(json!({"host_id": host_id, "cpu_percent": cpu, "timestamp": at})),
        )
    };
    post(80.0, "2026-11-27T01:31:00Z").await;
    post(10.0, "2026-11-27T01:20:00Z").await;
    let host = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(host.body["latest_metrics"]["cpu_percent"], 80.0);
    // A timestamp more than 5 minutes ahead is replaced by the receive time.
    post(50.0, "2027-01-01T00:00:00Z").await;
    let host = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        host.body["latest_metrics"]["recorded_at"],
        "2026-11-27T01:32:00Z"
    );
    // After 600 s without data the snapshot is gone.
    app.advance(Duration::seconds(601));
    let host = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(host.body["latest_metrics"], Value::Null);
}
on_both_backends!(replays_never_move_state_back);

async fn deleted_hosts_make_agents_register_again(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "web-01").await;
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/hosts/{host_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let heartbeat = app
        .call(
            "POST",
            "/api/v1/agent/heartbeat",
            Some(&agent),
            Some(json!({"host_id": host_id})),
        )
        .await;
    assert_eq!(heartbeat.status, StatusCode::FORBIDDEN);
    let again = app.register_host(&agent, "web-01").await;
    assert_ne!(again, host_id);
    let audit = app
        .call(
            "GET",
            "/api/v1/audit-logs?action=delete_host",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit.body["total"], 1);
    assert_eq!(audit.body["items"][0]["resource_id"], host_id.to_string());
}
on_both_backends!(deleted_hosts_make_agents_register_again);

async fn discovered_dependencies_are_stored_per_host(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "deps-01").await;
    for name in ["api (:8000)", "postgres (:5432)"] {
        let registered = app
            .call(
                "POST",
                "/api/v1/agent/services/register",
                Some(&agent),
                Some(json!({"name": name, "target": "localhost:1", "type": "tcp", "host_id": host_id})),
            )
            .await;
        assert_eq!(registered.status, StatusCode::OK);
    }
    let report = json!({
        "host_id": host_id,
        "observed_at": "2026-11-27T01:00:00+00:00",
        "dependencies": [
            {"from": "api (:8000)", "to": "postgres (:5432)", "connections": 3.0},
            {"from": "api (:8000)", "to": "unknown (:1)", "connections": 1}
        ],
        "future_field": {"ignored": true}
    });
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/service-dependencies",
            Some(&agent),
            Some(report.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body, json!({"status": "ok", "stored": 1}));
    let edges = app
        .state
        .store
        .discovered_dependencies(host_id)
        .await
        .unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(
        (
            edges[0].source_name.as_str(),
            edges[0].target_name.as_str(),
            edges[0].connections
        ),
        ("api (:8000)", "postgres (:5432)", 3)
    );
    // Another token's agent cannot write this host's edges.
    let other = app.agent_token(&admin, "other").await;
    let forbidden = app
        .call(
            "POST",
            "/api/v1/agent/service-dependencies",
            Some(&other),
            Some(report),
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}
on_both_backends!(discovered_dependencies_are_stored_per_host);

/// Extension `metrics/batch`: several samples in one request, each with its own timestamp,
/// stored once per `Idempotency-Key`, all or none, with a clear 4xx for bad input.
async fn metrics_batches_are_stored_once_and_bad_ones_refused(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "batch-01").await;
    let sample = |second: u32, cpu: f64| {
        json!({"host_id": host_id, "cpu_percent": cpu,
               "timestamp": format!("2026-11-27T01:30:{second:02}+00:00"), "future_field": 1})
    };
    let batch = json!({"samples": [sample(0, 10.0), sample(15, 20.0), sample(30, 30.0)]});
    let post = |body: &Value, key: &'static str| {
        let body = body.to_string();
        let agent = agent.clone();
        async move {
            app.raw(
                "POST",
                "/api/v1/agent/metrics/batch",
                &[
                    ("authorization", &format!("Bearer {agent}")),
                    ("content-type", "application/json"),
                    ("idempotency-key", key),
                ],
                body,
            )
            .await
        }
    };
    let series = || async {
        let reply = app
            .call(
                "GET",
                &format!("/api/v1/hosts/{host_id}/metrics?hours=1"),
                Some(&admin),
                None,
            )
            .await;
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|point| {
                (
                    point["recorded_at"].as_str().unwrap().to_owned(),
                    point["cpu_percent"].as_f64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };

    let first = post(&batch, "batch-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["status"], "ok");
    assert_eq!(first.body["received"], 3);
    let ids: Vec<i64> = first.body["metric_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    let stored = vec![
        ("2026-11-27T01:30:00Z".to_owned(), 10.0),
        ("2026-11-27T01:30:15Z".to_owned(), 20.0),
        ("2026-11-27T01:30:30Z".to_owned(), 30.0),
    ];
    assert_eq!(series().await, stored, "each sample at its own timestamp");

    // A retried batch (same key) gets the stored reply and stores nothing.
    let replay = post(&batch, "batch-1").await;
    assert_eq!((replay.status, &replay.body), (first.status, &first.body));
    assert_eq!(series().await, stored);

    // Bad input: a clear 4xx, and nothing stored.
    let empty = post(&json!({"samples": []}), "batch-empty").await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        empty.body
    );
    assert!(
        empty.body["detail"]
            .to_string()
            .contains("at least one sample")
    );
    let untimed = json!({"samples": [sample(45, 1.0), {"host_id": host_id, "cpu_percent": 2.0}]});
    let untimed = post(&untimed, "batch-untimed").await;
    assert_eq!(untimed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        untimed.body["detail"].to_string().contains("samples[1]"),
        "{:?}",
        untimed.body
    );
    for body in [
        json!({"sample": []}),
        json!({"samples": {"host_id": host_id}}),
        json!({"samples": [{"cpu_percent": 1.0, "timestamp": "2026-11-27T01:31:00Z"}]}),
        json!({"samples": [{"host_id": host_id, "cpu_percent": "high", "timestamp": "2026-11-27T01:31:00Z"}]}),
    ] {
        let reply = post(&body, "batch-malformed").await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let too_many = json!({"samples": vec![sample(50, 1.0); 1001]});
    let too_many = post(&too_many, "batch-huge").await;
    assert_eq!(too_many.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        too_many.body["detail"]
            .as_str()
            .unwrap()
            .contains("max 1000")
    );
    // One sample for another token's host: 403 for the whole batch, nothing stored.
    let other = app.agent_token(&admin, "other").await;
    let theirs = app.register_host(&other, "theirs").await;
    let mixed = json!({"samples": [sample(55, 5.0), {"host_id": theirs, "timestamp": "2026-11-27T01:31:00Z"}]});
    let mixed = post(&mixed, "batch-mixed").await;
    assert_eq!(mixed.status, StatusCode::FORBIDDEN);
    assert_eq!(
        mixed.body["detail"],
        format!("Host {theirs} is not registered with this agent token")
    );
    assert_eq!(series().await, stored);
    let key = post(&batch, "has space").await;
    assert_eq!(key.status, StatusCode::BAD_REQUEST);
    // A refused batch released its key: the corrected batch under the same key is stored.
    let fixed = json!({"samples": [sample(55, 5.0)]});
    assert_eq!(
        post(&fixed, "batch-mixed").await.status,
        StatusCode::CREATED
    );
    assert_eq!(series().await.len(), 4);
}
on_both_backends!(metrics_batches_are_stored_once_and_bad_ones_refused);

/// Extension `service-targets`: the host's services, registered by its agent or otherwise, for
/// the agent to check; only for a host of the token.
async fn service_targets_list_the_hosts_services(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "targets-01").await;
    let targets = |token: &str, query: String| {
        let token = token.to_owned();
        async move {
            app.call(
                "GET",
                &format!("/api/v1/agent/service-targets{query}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let empty = targets(&agent, format!("?host_id={host_id}")).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body, json!({"items": []}));

    let mut ids = Vec::new();
    for (name, kind, target, interval) in [
        ("web", "http", "http://localhost:8080/health", 15),
        ("postgres (:5432)", "tcp", "localhost:5432", 30),
    ] {
        let registered = app
            .call(
                "POST",
                "/api/v1/agent/services/register",
                Some(&agent),
                Some(
                    json!({"name": name, "target": target, "type": kind, "host_id": host_id,
                            "check_interval": interval, "timeout": 5}),
                ),
            )
            .await;
        ids.push(registered.body["service_id"].as_i64().unwrap());
    }
    let listed = targets(&agent, format!("?host_id={host_id}")).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(
        listed.body,
        json!({"items": [
            {"id": ids[0], "name": "web", "type": "http", "target": "http://localhost:8080/health",
             "check_interval": 15, "timeout": 5, "is_active": true},
            {"id": ids[1], "name": "postgres (:5432)", "type": "tcp", "target": "localhost:5432",
             "check_interval": 30, "timeout": 5, "is_active": true},
        ]})
    );

    let other = app.agent_token(&admin, "other").await;
    let forbidden = targets(&other, format!("?host_id={host_id}")).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(
        targets(&agent, "?host_id=999999".to_owned()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        targets(&agent, String::new()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let anonymous = app
        .call(
            "GET",
            &format!("/api/v1/agent/service-targets?host_id={host_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
}
on_both_backends!(service_targets_list_the_hosts_services);
