//! Alerting and notifications through the router: alert rules, alerts (list, ack, resolve,
//! timeline), notification channels (masked secrets, test sends, the log), templates and
//! silences. Role enforcement, refusals naming the field, and 404s for unknown ids.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use vigilops_core::alerting::rule::Severity;
use vigilops_core::alerting::wire::AlertRuleCreate;
use vigilops_core::auth::TokenKind;
use vigilops_core::clock::Clock;
use vigilops_core::model::{NewAlert, NewUser, Role};

use crate::on_both_backends;
use crate::support::{Reply, TestApp};

/// Tokens of the three roles: the first registered user is the admin.
struct Tokens {
    admin: String,
    operator: String,
    operator_id: i64,
    viewer: String,
}

async fn tokens(app: &TestApp) -> Tokens {
    let admin = app.register("admin@example.com").await;
    let viewer = app.register("viewer@example.com").await;
    let operator = app
        .state
        .store
        .create_user(
            NewUser {
                email: "operator@example.com".to_owned(),
                name: "Operator".to_owned(),
                password_hash: "unused".to_owned(),
                role: Role::Operator,
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    let token = app
        .state
        .auth
        .jwt()
        .issue(operator.id, TokenKind::Access, app.clock.now());
    Tokens {
        admin,
        operator: token,
        operator_id: operator.id,
        viewer,
    }
}

/// The `loc` of every entry of a 422.
fn refused_fields(reply: &Reply) -> Vec<String> {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    reply.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let loc: Vec<&str> = entry["loc"]
                .as_array()
                .unwrap()
                .iter()
                .map(|part| part.as_str().unwrap())
                .collect();
            loc.join(".")
        })
        .collect()
}

async fn audit_count(app: &TestApp, admin: &str, action: &str) -> i64 {
    let reply = app
        .call(
            "GET",
            &format!("/api/v1/audit-logs?action={action}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["total"].as_i64().unwrap()
}

async fn alert_rules(app: &TestApp) {
    let tokens = tokens(app).await;
    assert_eq!(app.state.rules.seed_builtins().await.unwrap(), 5);
    let path = "/api/v1/alert-rules";

    let listed = app.call("GET", path, Some(&tokens.viewer), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let builtins = listed.body.as_array().unwrap().clone();
    assert_eq!(builtins.len(), 5);
    assert!(builtins.iter().all(|rule| rule["is_builtin"] == true));
    assert_eq!(builtins[3]["metric"], "host_offline");

    let cpu = json!({"name": "cpu busy", "metric": "cpu_percent", "threshold": 80,
        "silence_start": "22:00", "silence_end": "06:00"});
    let denied = app
        .call("POST", path, Some(&tokens.viewer), Some(cpu.clone()))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let anonymous = app.call("POST", path, None, Some(cpu.clone())).await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
    let created = app
        .call("POST", path, Some(&tokens.operator), Some(cpu))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    for (key, expected) in [
        ("severity", json!("warning")),
        ("operator", json!(">")),
        ("duration_seconds", json!(300)),
        ("cooldown_seconds", json!(300)),
        ("resolve_hold_seconds", json!(45)),
        ("is_enabled", json!(true)),
        ("is_builtin", json!(false)),
        ("silence_start", json!("22:00:00")),
        ("silence_end", json!("06:00:00")),
        ("target_filter", json!(null)),
    ] {
        assert_eq!(created.body[key], expected, "{key}");
    }

    // Each bad field is named.
    let bad = |edit: Value| {
        let mut body = json!({"name": "x", "metric": "cpu_percent", "threshold": 1});
        for (key, value) in edit.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    for (edit, field) in [
        (json!({"metric": "cpu_pct"}), "body.metric"),
        (json!({"operator": "=>"}), "body.operator"),
        (json!({"duration_seconds": -1}), "body.duration_seconds"),
        (
            json!({"resolve_hold_seconds": 7200}),
            "body.resolve_hold_seconds",
        ),
        (
            json!({"silence_start": "25:00", "silence_end": "06:00"}),
            "body.silence_start",
        ),
        (
            json!({"rule_type": "log_keyword", "log_keyword": "(unclosed", "log_keyword_is_regex": true}),
            "body.log_keyword",
        ),
        (
            json!({"notification_channel_ids": [4242]}),
            "body.notification_channel_ids",
        ),
    ] {
        let reply = app
            .call("POST", path, Some(&tokens.operator), Some(bad(edit)))
            .await;
        assert_eq!(refused_fields(&reply), [field]);
    }
    let many = app
        .call(
            "POST",
            path,
            Some(&tokens.operator),
            Some(bad(
                json!({"operator": "=>", "cooldown_seconds": -5, "severity": "fatal"}),
            )),
        )
        .await;
    let mut fields = refused_fields(&many);
    fields.sort();
    assert_eq!(
        fields,
        ["body.cooldown_seconds", "body.operator", "body.severity"]
    );
    let wrong_type = app
        .call(
            "POST",
            path,
            Some(&tokens.operator),
            Some(json!({"name": "x", "threshold": "high"})),
        )
        .await;
    assert_eq!(refused_fields(&wrong_type), ["body.threshold"]);

    // Read, partial update, and the refusals of an update.
    let item = format!("{path}/{id}");
    let got = app.call("GET", &item, Some(&tokens.viewer), None).await;
    assert_eq!(got.body, created.body);
    let updated = app
        .call(
            "PUT",
            &item,
            Some(&tokens.operator),
            Some(json!({"threshold": 95, "silence_start": null, "silence_end": null})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["threshold"], 95.0);
    assert_eq!(updated.body["name"], "cpu busy");
    assert_eq!(updated.body["silence_start"], Value::Null);
    let refused = app
        .call(
            "PUT",
            &item,
            Some(&tokens.operator),
            Some(json!({"recovery_threshold": 99})),
        )
        .await;
    assert_eq!(refused_fields(&refused), ["body.recovery_threshold"]);
    let viewer_put = app
        .call(
            "PUT",
            &item,
            Some(&tokens.viewer),
            Some(json!({"threshold": 1})),
        )
        .await;
    assert_eq!(viewer_put.status, StatusCode::FORBIDDEN);
    let disabled = app
        .call(
            "PUT",
            &format!("{path}/{}", builtins[0]["id"]),
            Some(&tokens.operator),
            Some(json!({"is_enabled": false})),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "builtins can be edited");
    let only_disabled = app
        .call(
            "GET",
            &format!("{path}?is_enabled=false"),
            Some(&tokens.viewer),
            None,
        )
        .await;
    assert_eq!(only_disabled.body.as_array().unwrap().len(), 1);

    // Builtins are never deleted; unknown ids are 404.
    let builtin = app
        .call(
            "DELETE",
            &format!("{path}/{}", builtins[0]["id"]),
            Some(&tokens.operator),
            None,
        )
        .await;
    assert_eq!(
        (builtin.status, builtin.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Cannot delete built-in rule"})
        )
    );
    let viewer_delete = app.call("DELETE", &item, Some(&tokens.viewer), None).await;
    assert_eq!(viewer_delete.status, StatusCode::FORBIDDEN);
    let deleted = app
        .call("DELETE", &item, Some(&tokens.operator), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    for method in ["GET", "DELETE"] {
        let gone = app.call(method, &item, Some(&tokens.operator), None).await;
        assert_eq!(
            (gone.status, gone.body),
            (
                StatusCode::NOT_FOUND,
                json!({"detail": "Alert rule not found"})
            )
        );
    }
    let gone = app
        .call("PUT", &item, Some(&tokens.operator), Some(json!({})))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        audit_count(app, &tokens.admin, "create_alert_rule").await,
        1
    );
    assert_eq!(
        audit_count(app, &tokens.admin, "update_alert_rule").await,
        2
    );
    assert_eq!(
        audit_count(app, &tokens.admin, "delete_alert_rule").await,
        1
    );
}
on_both_backends!(alert_rules, &[("ALLOW_REGISTRATION", "true")]);

async fn alerts(app: &TestApp) {
    let tokens = tokens(app).await;
    let agent = app.agent_token(&tokens.admin, "lab").await;
    let web = app.register_host(&agent, "web-01").await;
    let db = app.register_host(&agent, "db-01").await;
    let rule = app
        .state
        .store
        .create_rule(
            &AlertRuleCreate {
                name: "cpu".to_owned(),
                metric: "cpu_percent".to_owned(),
                threshold: 90.0,
                ..AlertRuleCreate::default()
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    let open = |host_id: i64, severity: Severity, minutes: i64| NewAlert {
        rule_id: rule.id,
        target_key: format!("host:{host_id}"),
        host_id: Some(host_id),
        service_id: None,
        database_id: None,
        severity,
        title: format!("cpu - {host_id}"),
        message: Some("cpu_percent = 97 > 90".to_owned()),
        metric_value: Some(97.0),
        threshold: Some(90.0),
        group_key: None,
        fired_at: app.clock.now() + Duration::minutes(minutes),
    };
    let (first, _) = app
        .state
        .store
        .open_alert(open(web, Severity::Warning, 0))
        .await
        .unwrap();
    let (second, _) = app
        .state
        .store
        .open_alert(open(db, Severity::Critical, 1))
        .await
        .unwrap();

    let list = |query: &str| {
        let path = format!("/api/v1/alerts{query}");
        let viewer = tokens.viewer.clone();
        async move { app.call("GET", &path, Some(&viewer), None).await }
    };
    let all = list("").await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    assert_eq!(all.body["total"], 2);
    assert_eq!(
        (all.body["page"].clone(), all.body["page_size"].clone()),
        (json!(1), json!(20))
    );
    assert_eq!(all.body["items"][0]["id"], second.id, "newest fired first");
    let item = &all.body["items"][1];
    for key in [
        "id",
        "rule_id",
        "host_id",
        "service_id",
        "severity",
        "status",
        "title",
        "message",
        "metric_value",
        "threshold",
        "fired_at",
        "resolved_at",
        "acknowledged_at",
        "acknowledged_by",
        "created_at",
    ] {
        assert!(item.get(key).is_some(), "{key} missing");
    }
    assert_eq!(item["status"], "firing");
    assert!(item.get("timeline").is_none(), "only the detail has it");
    let paged = list("?page=2&page_size=1").await;
    assert_eq!(paged.body["items"][0]["id"], first.id);
    assert_eq!(list(&format!("?host_id={db}")).await.body["total"], 1);
    assert_eq!(
        list("?severity=critical").await.body["items"][0]["id"],
        second.id
    );
    for (query, field) in [
        ("?status=open", "query.status"),
        ("?severity=fatal", "query.severity"),
        ("?page_size=101", "query.page_size"),
        ("?page=0", "query.page"),
    ] {
        assert_eq!(refused_fields(&list(query).await), [field], "{query}");
    }

    // Acknowledge: operators only, twice is a no-op.
    let ack = format!("/api/v1/alerts/{}/ack", first.id);
    let denied = app.call("POST", &ack, Some(&tokens.viewer), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let acked = app.call("POST", &ack, Some(&tokens.operator), None).await;
    assert_eq!(acked.status, StatusCode::OK, "{:?}", acked.body);
    assert_eq!(acked.body["status"], "acknowledged");
    assert_eq!(acked.body["acknowledged_by"], tokens.operator_id);
    app.advance(Duration::minutes(1));
    let again = app.call("POST", &ack, Some(&tokens.operator), None).await;
    assert_eq!(again.body["acknowledged_at"], acked.body["acknowledged_at"]);
    assert_eq!(list("?status=acknowledged").await.body["total"], 1);

    // Resolve with a comment, then refusals.
    let resolve = format!("/api/v1/alerts/{}/resolve", first.id);
    let denied = app
        .call(
            "POST",
            &resolve,
            Some(&tokens.viewer),
            Some(json!({"comment": "x"})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let resolved = app
        .call(
            "POST",
            &resolve,
            Some(&tokens.operator),
            Some(json!({"comment": "  rebooted  "})),
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{:?}", resolved.body);
    assert_eq!(resolved.body["status"], "resolved");
    assert_eq!(resolved.body["resolution_comment"], "rebooted");
    assert_eq!(resolved.body["resolved_by"], tokens.operator_id);
    assert!(resolved.body["resolved_at"].is_string());
    for path in [&resolve, &ack] {
        let refused = app.call("POST", path, Some(&tokens.operator), None).await;
        assert_eq!(
            (refused.status, refused.body),
            (
                StatusCode::BAD_REQUEST,
                json!({"detail": "Alert already resolved"})
            ),
            "{path}"
        );
    }
    let no_body = app
        .call(
            "POST",
            &format!("/api/v1/alerts/{}/resolve", second.id),
            Some(&tokens.operator),
            None,
        )
        .await;
    assert_eq!(no_body.status, StatusCode::OK, "the body is optional");
    assert_eq!(no_body.body["resolution_comment"], Value::Null);
    let bad_body = app
        .call(
            "POST",
            &format!("/api/v1/alerts/{}/resolve", second.id),
            Some(&tokens.operator),
            Some(json!({"comment": 5})),
        )
        .await;
    assert_eq!(refused_fields(&bad_body), ["body.comment"]);

    // The detail carries the timeline.
    let detail = app
        .call(
            "GET",
            &format!("/api/v1/alerts/{}", first.id),
            Some(&tokens.viewer),
            None,
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    let timeline = detail.body["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["fired", "acknowledged", "resolved"]);
    assert_eq!(timeline[2]["actor_id"], tokens.operator_id);
    assert_eq!(timeline[2]["detail"]["comment"], "rebooted");
    assert_eq!(timeline[0]["actor_id"], Value::Null);

    for (method, path) in [
        ("GET", "/api/v1/alerts/999999"),
        ("POST", "/api/v1/alerts/999999/ack"),
        ("POST", "/api/v1/alerts/999999/resolve"),
    ] {
        let gone = app.call(method, path, Some(&tokens.operator), None).await;
        assert_eq!(
            (gone.status, gone.body),
            (StatusCode::NOT_FOUND, json!({"detail": "Alert not found"})),
            "{method} {path}"
        );
    }
    assert_eq!(
        audit_count(app, &tokens.admin, "acknowledge_alert").await,
        1
    );
    assert_eq!(audit_count(app, &tokens.admin, "resolve_alert").await, 2);
}
on_both_backends!(alerts, &[("ALLOW_REGISTRATION", "true")]);

/// A local webhook receiver that answers 200 and keeps what it got.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&received);
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let store = Arc::clone(&store);
            async move {
                store.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/hook"), received)
}

async fn notification_channels(app: &TestApp) {
    let tokens = tokens(app).await;
    let path = "/api/v1/notification-channels";
    let (url, received) = receiver().await;
    let body = json!({"name": "ops", "type": "webhook",
        "config": {"url": url, "headers": {"X-Token": "s3cret-header"}, "secret": "s3cret-sign"}});

    let viewer_list = app.call("GET", path, Some(&tokens.viewer), None).await;
    assert_eq!(
        viewer_list.status,
        StatusCode::FORBIDDEN,
        "read needs an operator"
    );
    let viewer_create = app
        .call("POST", path, Some(&tokens.viewer), Some(body.clone()))
        .await;
    assert_eq!(viewer_create.status, StatusCode::FORBIDDEN);
    let created = app
        .call("POST", path, Some(&tokens.operator), Some(body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(created.body["type"], "webhook");
    assert_eq!(created.body["is_enabled"], true);
    assert_eq!(created.body["config"]["url"], url.as_str());
    assert_eq!(created.body["config"]["headers"]["X-Token"], "******");
    assert_eq!(created.body["config"]["secret"], "******");
    let item = format!("{path}/{id}");
    let reads = [
        created.body.clone(),
        app.call("GET", path, Some(&tokens.operator), None)
            .await
            .body,
        app.call("GET", &item, Some(&tokens.operator), None)
            .await
            .body,
    ];
    for read in &reads {
        let text = read.to_string();
        assert!(!text.contains("s3cret"), "a secret was echoed: {text}");
    }

    // The edit form sends the masks back: the secrets are kept.
    let mut form = created.body["config"].clone();
    form["headers"]["X-Trace"] = json!("on");
    let edited = app
        .call(
            "PUT",
            &item,
            Some(&tokens.operator),
            Some(json!({"name": "ops 2", "config": form})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.body);
    assert_eq!(edited.body["name"], "ops 2");
    assert!(!edited.body.to_string().contains("s3cret"));
    let stored = app.state.store.channel(id).await.unwrap().unwrap();
    assert_eq!(stored.config["headers"]["X-Token"], "s3cret-header");
    assert_eq!(stored.config["headers"]["X-Trace"], "on");
    assert_eq!(stored.config["secret"], "s3cret-sign");

    // A robot URL carries its credential: masked on read, kept through the edit form.
    let robot_url = "https://oapi.dingtalk.com/robot/send?access_token=tok3n-value";
    let robot = app
        .call(
            "POST",
            path,
            Some(&tokens.operator),
            Some(json!({"name": "robot", "type": "dingtalk",
                "config": {"webhook_url": robot_url, "secret": "SECsecret"}})),
        )
        .await;
    assert_eq!(robot.status, StatusCode::CREATED, "{:?}", robot.body);
    let shown = robot.body["config"].to_string();
    assert!(
        !shown.contains("tok3n") && !shown.contains("SECsecret"),
        "{shown}"
    );
    let robot_id = robot.body["id"].as_i64().unwrap();
    let resent = app
        .call(
            "PUT",
            &format!("{path}/{robot_id}"),
            Some(&tokens.operator),
            Some(json!({"config": robot.body["config"], "is_enabled": false})),
        )
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{:?}", resent.body);
    assert_eq!(resent.body["is_enabled"], false);
    let kept = app.state.store.channel(robot_id).await.unwrap().unwrap();
    assert_eq!(kept.config["webhook_url"], robot_url);
    assert_eq!(kept.config["secret"], "SECsecret");
    let deleted_robot = app
        .call(
            "DELETE",
            &format!("{path}/{robot_id}"),
            Some(&tokens.operator),
            None,
        )
        .await;
    assert_eq!(deleted_robot.status, StatusCode::NO_CONTENT);

    // Refusals name the field.
    for (body, field) in [
        (
            json!({"name": "x", "type": "sms", "config": {}}),
            "body.type",
        ),
        (
            json!({"name": "x", "type": "webhook", "config": {"url": "ftp://x"}}),
            "body.config.url",
        ),
        (
            json!({"name": "x", "type": "dingtalk", "config": {}}),
            "body.config",
        ),
        (
            json!({"name": " ", "type": "webhook", "config": {"url": "https://x.example"}}),
            "body.name",
        ),
    ] {
        let reply = app
            .call("POST", path, Some(&tokens.operator), Some(body))
            .await;
        assert_eq!(refused_fields(&reply), [field]);
    }

    // A test send reaches the receiver and is logged; a dead endpoint is logged as failed.
    let tested = app
        .call(
            "POST",
            &format!("{item}/test"),
            Some(&tokens.operator),
            None,
        )
        .await;
    assert_eq!(tested.status, StatusCode::OK, "{:?}", tested.body);
    assert_eq!(tested.body["status"], "sent", "{:?}", tested.body);
    assert_eq!(tested.body["response_code"], 200);
    assert_eq!(received.lock().unwrap().len(), 1);
    let dead = app
        .call(
            "POST",
            path,
            Some(&tokens.operator),
            Some(json!({"name": "dead", "config": {"url": "http://127.0.0.1:9/hook"}})),
        )
        .await;
    assert_eq!(dead.status, StatusCode::CREATED, "type defaults to webhook");
    let dead_id = dead.body["id"].as_i64().unwrap();
    let failed = app
        .call(
            "POST",
            &format!("{path}/{dead_id}/test"),
            Some(&tokens.operator),
            None,
        )
        .await;
    assert_eq!(failed.body["status"], "failed", "{:?}", failed.body);
    assert!(failed.body["error"].is_string());
    let denied = app
        .call("POST", &format!("{item}/test"), Some(&tokens.viewer), None)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    for logs_path in [
        "/api/v1/notification-channels/logs",
        "/api/v1/notification-logs",
    ] {
        let logs = app
            .call("GET", logs_path, Some(&tokens.operator), None)
            .await;
        assert_eq!(logs.status, StatusCode::OK, "{logs_path}: {:?}", logs.body);
        let rows = logs.body.as_array().unwrap();
        assert_eq!(rows.len(), 2, "{logs_path}");
        let statuses: Vec<(&str, i64)> = rows
            .iter()
            .map(|row| {
                (
                    row["status"].as_str().unwrap(),
                    row["channel_id"].as_i64().unwrap(),
                )
            })
            .collect();
        assert!(statuses.contains(&("sent", id)) && statuses.contains(&("failed", dead_id)));
        assert!(
            rows.iter()
                .all(|row| row["alert_id"].is_null() && row["event"] == "test")
        );
    }
    let bad_limit = app
        .call(
            "GET",
            "/api/v1/notification-channels/logs?limit=0",
            Some(&tokens.operator),
            None,
        )
        .await;
    assert_eq!(refused_fields(&bad_limit), ["query.limit"]);
    assert_eq!(
        app.call(
            "GET",
            "/api/v1/notification-logs",
            Some(&tokens.viewer),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    let deleted = app
        .call("DELETE", &item, Some(&tokens.operator), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    for (method, path) in [
        ("GET", item.clone()),
        ("DELETE", item.clone()),
        ("POST", format!("{item}/test")),
    ] {
        let gone = app.call(method, &path, Some(&tokens.operator), None).await;
        assert_eq!(
            (gone.status, gone.body),
            (
                StatusCode::NOT_FOUND,
                json!({"detail": "Channel not found"})
            ),
            "{method} {path}"
        );
    }
    let gone = app
        .call(
            "PUT",
            &item,
            Some(&tokens.operator),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        audit_count(app, &tokens.admin, "create_notification_channel").await,
        3
    );
    assert_eq!(
        audit_count(app, &tokens.admin, "test_notification_channel").await,
        2
    );
}
on_both_backends!(notification_channels, &[("ALLOW_REGISTRATION", "true")]);

async fn notification_templates(app: &TestApp) {
    let tokens = tokens(app).await;
    let path = "/api/v1/notification-templates";
    let body = json!({"name": "wecom", "channel_type": "wecom",
        "body_template": "## {title}\n> {severity}: {message} ({hostname})", "is_default": true});
    let operator = app
        .call("POST", path, Some(&tokens.operator), Some(body.clone()))
        .await;
    assert_eq!(operator.status, StatusCode::FORBIDDEN, "admins only");
    assert_eq!(
        app.call("GET", path, Some(&tokens.operator), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let created = app
        .call("POST", path, Some(&tokens.admin), Some(body.clone()))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    let first = created.body["id"].as_i64().unwrap();
    assert_eq!(created.body["is_default"], true);
    assert_eq!(created.body["subject_template"], Value::Null);

    for (edit, field, words) in [
        (
            json!({"body_template": "{title} {nope}"}),
            "body.body_template",
            "nope",
        ),
        (
            json!({"body_template": "{title"}),
            "body.body_template",
            "unbalanced",
        ),
        (
            json!({"subject_template": "[{sev}]"}),
            "body.subject_template",
            "sev",
        ),
        (json!({"channel_type": "sms"}), "body.channel_type", "sms"),
    ] {
        let mut refused = body.clone();
        for (key, value) in edit.as_object().unwrap() {
            refused[key] = value.clone();
        }
        let reply = app
            .call("POST", path, Some(&tokens.admin), Some(refused))
            .await;
        assert_eq!(refused_fields(&reply), [field]);
        let message = reply.body["detail"][0]["msg"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
    }

    // A new default replaces the old one of the same type.
    let second = app
        .call(
            "POST",
            path,
            Some(&tokens.admin),
            Some(json!({"name": "wecom 2", "channel_type": "wecom",
                "body_template": "{title}", "is_default": true})),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK);
    let listed = app.call("GET", path, Some(&tokens.admin), None).await;
    let defaults: Vec<i64> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|template| template["is_default"] == true)
        .map(|template| template["id"].as_i64().unwrap())
        .collect();
    assert_eq!(defaults, [second.body["id"].as_i64().unwrap()]);

    let item = format!("{path}/{first}");
    let updated = app
        .call(
            "PUT",
            &item,
            Some(&tokens.admin),
            Some(json!({"subject_template": "[{severity}] {title}"})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["subject_template"], "[{severity}] {title}");
    assert_eq!(updated.body["name"], "wecom");
    let refused = app
        .call(
            "PUT",
            &item,
            Some(&tokens.admin),
            Some(json!({"body_template": "{runbook} {x}"})),
        )
        .await;
    assert_eq!(refused_fields(&refused), ["body.body_template"]);
    let deleted = app.call("DELETE", &item, Some(&tokens.admin), None).await;
    assert_eq!(
        (deleted.status, deleted.body),
        (StatusCode::OK, json!({"detail": "已删除"}))
    );
    for (method, body) in [("PUT", Some(json!({"name": "x"}))), ("DELETE", None)] {
        let gone = app.call(method, &item, Some(&tokens.admin), body).await;
        assert_eq!(
            (gone.status, gone.body),
            (StatusCode::NOT_FOUND, json!({"detail": "模板不存在"}))
        );
    }
    assert_eq!(
        audit_count(app, &tokens.admin, "create_notification_template").await,
        2
    );
}
on_both_backends!(notification_templates, &[("ALLOW_REGISTRATION", "true")]);

async fn silences(app: &TestApp) {
    let tokens = tokens(app).await;
    let path = "/api/v1/silences";
    // The test clock starts at 01:32 UTC.
    let nightly = json!({"name": "nightly backup", "comment": "pg_dump",
        "matchers": {"group_names": ["db"], "tags": {"env": "prod"}},
        "schedule": "0 2 * * *", "duration_seconds": 3600});
    assert_eq!(
        app.call("GET", path, Some(&tokens.viewer), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call("POST", path, Some(&tokens.viewer), Some(nightly.clone()))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let created = app
        .call("POST", path, Some(&tokens.operator), Some(nightly))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(created.body["active"], false);
    assert_eq!(created.body["created_by"], tokens.operator_id);
    assert_eq!(created.body["matchers"]["group_names"], json!(["db"]));
    assert_eq!(created.body["matchers"]["host_ids"], json!([]));
    let item = format!("{path}/{id}");
    app.advance(Duration::minutes(30));
    let now_active = app.call("GET", &item, Some(&tokens.operator), None).await;
    assert_eq!(
        now_active.body["active"], true,
        "02:02 is inside 02:00–03:00"
    );

    let start = app.clock.now();
    let later = start + Duration::hours(2);
    for (body, field) in [
        (
            json!({"name": "x", "schedule": "0 25 * * *", "duration_seconds": 60}),
            "body.schedule",
        ),
        (
            json!({"name": "x", "schedule": "0 2 * *", "duration_seconds": 60}),
            "body.schedule",
        ),
        (
            json!({"name": "x", "schedule": "0 2 * * *"}),
            "body.duration_seconds",
        ),
        (
            json!({"name": "x", "schedule": "0 2 * * *", "duration_seconds": -5}),
            "body.duration_seconds",
        ),
        (json!({"name": "x", "starts_at": start}), "body.ends_at"),
        (
            json!({"name": "x", "starts_at": later, "ends_at": start}),
            "body.ends_at",
        ),
        (
            json!({"name": "", "starts_at": start, "ends_at": later}),
            "body.name",
        ),
        (
            json!({"name": "x", "starts_at": start, "ends_at": later, "matchers": {"host_ids": [-1]}}),
            "body.matchers",
        ),
        (
            json!({"name": "x", "starts_at": "tomorrow", "ends_at": later}),
            "body.starts_at",
        ),
    ] {
        let reply = app
            .call("POST", path, Some(&tokens.operator), Some(body.clone()))
            .await;
        assert_eq!(refused_fields(&reply), [field], "{body}");
    }
    let once = app
        .call(
            "POST",
            path,
            Some(&tokens.operator),
            Some(
                json!({"name": "upgrade", "starts_at": start, "ends_at": later,
                "matchers": {"host_ids": [1]}}),
            ),
        )
        .await;
    assert_eq!(once.status, StatusCode::CREATED, "{:?}", once.body);
    assert_eq!(once.body["active"], true);
    assert_eq!(once.body["schedule"], Value::Null);

    let paused = app
        .call(
            "PUT",
            &item,
            Some(&tokens.operator),
            Some(json!({"is_enabled": false})),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{:?}", paused.body);
    assert_eq!(paused.body["active"], false);
    assert_eq!(paused.body["schedule"], "0 2 * * *");
    let refused = app
        .call(
            "PUT",
            &item,
            Some(&tokens.operator),
            Some(json!({"schedule": null})),
        )
        .await;
    let mut fields = refused_fields(&refused);
    fields.sort();
    assert_eq!(fields, ["body.duration_seconds", "body.starts_at"]);
    let listed = app.call("GET", path, Some(&tokens.operator), None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    let active = app
        .state
        .store
        .active_silences(app.clock.now())
        .await
        .unwrap();
    assert_eq!(active.len(), 1, "the paused window is not in force");
    let tags = std::collections::BTreeMap::new();
    let target = |host_id| vigilops_core::model::SilenceTarget {
        host_id: Some(host_id),
        group_name: None,
        tags: &tags,
        service_id: None,
        rule_id: Some(3),
    };
    let now = app.clock.now();
    let covering = app.state.silences.matching(&target(1), now).await.unwrap();
    assert_eq!(covering.len(), 1);
    assert_eq!(covering[0].name, "upgrade");
    assert!(
        app.state
            .silences
            .matching(&target(2), now)
            .await
            .unwrap()
            .is_empty()
    );

    let deleted = app
        .call("DELETE", &item, Some(&tokens.operator), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    for method in ["GET", "DELETE"] {
        let gone = app.call(method, &item, Some(&tokens.operator), None).await;
        assert_eq!(
            (gone.status, gone.body),
            (
                StatusCode::NOT_FOUND,
                json!({"detail": "Silence not found"})
            )
        );
    }
    assert_eq!(audit_count(app, &tokens.admin, "create_silence").await, 2);
}
on_both_backends!(silences, &[("ALLOW_REGISTRATION", "true")]);
