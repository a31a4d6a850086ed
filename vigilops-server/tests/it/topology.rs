//! `/api/v1/topology`, `/api/v1/servers` and `/api/v1/server-groups` through the router on both
//! backends, with services and observed connections reported through the real agent protocol:
//! nodes merged by name, edges stored > observed > inferred, layouts per user, servers linked to
//! agent hosts by hostname, roles on every write, and AI suggestions from a local
//! OpenAI-compatible server.

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};

use vigilops_core::auth::TokenKind;
use vigilops_core::model::{NewUser, Role};

use crate::on_both_backends;
use crate::support::TestApp;

/// Registers a service on `host` through the agent protocol; returns its id.
async fn register_service(app: &TestApp, agent: &str, host: i64, name: &str) -> i64 {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/services/register",
            Some(agent),
            Some(json!({"host_id": host, "name": name, "type": "tcp", "target": "localhost:1"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["service_id"].as_i64().unwrap()
}

/// An operator's access token (operators may write, as admins may).
async fn operator_token(app: &TestApp) -> String {
    {
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
                app.clock_now(),
            )
            .await
            .unwrap();
        app.state
            .auth
            .jwt()
            .issue(operator.id, TokenKind::Access, app.clock_now())
    }
}

async fn graph(app: &TestApp, token: &str) -> Value {
    let reply = app.call("GET", "/api/v1/topology", Some(token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

/// `(source, target, type, origin)` of every edge.
fn edges(graph: &Value) -> Vec<(i64, i64, String, String)> {
    graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            (
                edge["source"].as_i64().unwrap(),
                edge["target"].as_i64().unwrap(),
                edge["type"].as_str().unwrap().to_owned(),
                edge["origin"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn edge(source: i64, target: i64, kind: &str, origin: &str) -> (i64, i64, String, String) {
    (source, target, kind.to_owned(), origin.to_owned())
}

async fn the_graph_prefers_stored_then_observed_then_inferred_edges(app: &TestApp) {
    let (owner, agent) = app.admin_and_agent_token().await;
    let admin = operator_token(app).await;
    let viewer = app.register("viewer@example.com").await;
    let app_host = app.register_host(&agent, "shop-01").await;
    let db_host = app.register_host(&agent, "shop-02").await;
    let frontend = register_service(app, &agent, app_host, "shop-frontend").await;
    let backend = register_service(app, &agent, app_host, "shop-backend").await;
    let postgres = register_service(app, &agent, app_host, "shop-postgres (:5432)").await;
    let replica = register_service(app, &agent, db_host, "shop-postgres (:5433)").await;

    // Nothing stored, nothing observed: the original's name heuristics.
    let inferred = graph(app, &viewer).await;
    let nodes = inferred["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "both postgres services are one node");
    let database = nodes.iter().find(|node| node["id"] == postgres).unwrap();
    assert_eq!(database["name"], "shop-postgres");
    assert_eq!(database["group"], "database");
    assert_eq!(database["category"], "middleware");
    assert_eq!(database["host"], "shop-01");
    assert_eq!(database["service_ids"], json!([postgres, replica]));
    assert_eq!(inferred["hosts"].as_array().unwrap().len(), 2);
    assert_eq!(inferred["has_custom_deps"], false);
    assert_eq!(inferred["edge_origin"], "inferred");
    assert_eq!(inferred["saved_positions"], Value::Null);
    assert_eq!(
        edges(&inferred),
        vec![
            edge(frontend, backend, "calls", "inferred"),
            edge(backend, postgres, "depends_on", "inferred"),
        ]
    );

    // The agent observes the backend talking to postgres: only what it saw is drawn.
    let report = json!({"host_id": app_host, "dependencies": [
        {"from": "shop-backend", "to": "shop-postgres (:5432)", "connections": 4}]});
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/service-dependencies",
            Some(&agent),
            Some(report),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let observed = graph(app, &viewer).await;
    assert_eq!(observed["edge_origin"], "observed");
    assert_eq!(
        edges(&observed),
        vec![edge(backend, postgres, "calls", "observed")]
    );
    assert_eq!(observed["edges"][0].get("manual"), None);

    // A stored dependency (to the replica, drawn on the merged node) wins over both.
    let body = json!({"source_service_id": frontend, "target_service_id": replica,
                      "dependency_type": "depends_on", "description": "reads"});
    let created = app
        .call(
            "POST",
            "/api/v1/topology/dependencies",
            Some(&admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    let dependency = created.body["id"].as_i64().unwrap();
    assert_eq!(created.body["target_service_id"], replica);
    let manual = graph(app, &viewer).await;
    assert_eq!(manual["has_custom_deps"], true);
    assert_eq!(manual["edge_origin"], "manual");
    assert_eq!(
        edges(&manual),
        vec![edge(frontend, postgres, "depends_on", "manual")]
    );
    assert_eq!(manual["edges"][0]["id"], dependency);
    assert_eq!(manual["edges"][0]["manual"], true);

    // Duplicate 400, unknown service 404, a loop or a bad type 422, a viewer 403.
    let duplicate = app
        .call(
            "POST",
            "/api/v1/topology/dependencies",
            Some(&admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    let unknown = app
        .call(
            "POST",
            "/api/v1/topology/dependencies",
            Some(&admin),
            Some(json!({"source_service_id": frontend, "target_service_id": 999_999})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["detail"], "Service not found");
    for (bad, field) in [
        (
            json!({"source_service_id": frontend, "target_service_id": frontend}),
            "target_service_id",
        ),
        (
            json!({"source_service_id": frontend, "target_service_id": backend,
                   "dependency_type": "uses"}),
            "dependency_type",
        ),
        (
            json!({"source_service_id": frontend, "target_service_id": "x"}),
            "target_service_id",
        ),
    ] {
        let reply = app
            .call(
                "POST",
                "/api/v1/topology/dependencies",
                Some(&admin),
                Some(bad),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.body["detail"][0]["loc"], json!(["body", field]));
    }
    let one_path = format!("/api/v1/topology/dependencies/{dependency}");
    for (method, path) in [
        ("POST", "/api/v1/topology/dependencies"),
        ("DELETE", "/api/v1/topology/dependencies"),
        ("DELETE", one_path.as_str()),
        ("POST", "/api/v1/topology/ai-suggest"),
        ("POST", "/api/v1/topology/servers"),
    ] {
        let refused = app
            .call(method, path, Some(&viewer), Some(body.clone()))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    assert_eq!(
        graph(app, &viewer).await["edges"].as_array().unwrap().len(),
        1
    );

    // Deleting one, then all, falls back to what the agent observed.
    let path = format!("/api/v1/topology/dependencies/{dependency}");
    let deleted = app.call("DELETE", &path, Some(&admin), None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.body);
    let again = app.call("DELETE", &path, Some(&admin), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let bad_id = app
        .call(
            "DELETE",
            "/api/v1/topology/dependencies/abc",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.call(
        "POST",
        "/api/v1/topology/dependencies",
        Some(&admin),
        Some(body),
    )
    .await;
    let cleared = app
        .call(
            "DELETE",
            "/api/v1/topology/dependencies",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(graph(app, &viewer).await["edge_origin"], "observed");

    let audit = app
        .call(
            "GET",
            "/api/v1/audit-logs?page_size=100",
            Some(&owner),
            None,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    for action in [
        "create_dependency",
        "delete_dependency",
        "delete_all_dependencies",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
}
on_both_backends!(
    the_graph_prefers_stored_then_observed_then_inferred_edges,
    &[("ALLOW_REGISTRATION", "true")]
);

async fn layouts_are_per_user(app: &TestApp) {
    let (admin, _agent) = app.admin_and_agent_token().await;
    let viewer = app.register("viewer@example.com").await;
    let positions = json!({"1": {"x": 10.5, "y": -3}, "2": {"x": 0, "y": 0}});
    let saved = app
        .call(
            "POST",
            "/api/v1/topology/layout",
            Some(&viewer),
            Some(json!({"positions": positions})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
    assert_eq!(saved.body["positions"], positions);
    assert_eq!(graph(app, &viewer).await["saved_positions"], positions);
    assert_eq!(
        graph(app, &admin).await["saved_positions"],
        Value::Null,
        "another user does not see my layout"
    );
    let bad = app
        .call(
            "POST",
            "/api/v1/topology/layout",
            Some(&viewer),
            Some(json!({"positions": {"1": {"x": "left"}}})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["detail"][0]["loc"], json!(["body", "positions"]));
    let reset = app
        .call("DELETE", "/api/v1/topology/layout", Some(&viewer), None)
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    assert_eq!(graph(app, &viewer).await["saved_positions"], Value::Null);
    let anonymous = app.call("GET", "/api/v1/topology", None, None).await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
}
on_both_backends!(layouts_are_per_user, &[("ALLOW_REGISTRATION", "true")]);

async fn servers_link_to_agent_hosts_and_groups_hold_them(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let viewer = app.register("viewer@example.com").await;
    let host = app.register_host(&agent, "web-01").await;

    let created = app
        .call(
            "POST",
            "/api/v1/topology/servers",
            Some(&admin),
            Some(json!({"hostname": "web-01", "ip_address": "10.0.0.1", "tags": ["edge"]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["host_id"], host, "linked to the agent host");
    assert_eq!(created.body["status"], "online");
    assert_eq!(created.body["is_simulated"], false);
    let web = created.body["id"].as_i64().unwrap();
    let duplicate = app
        .call(
            "POST",
            "/api/v1/topology/servers",
            Some(&admin),
            Some(json!({"hostname": "web-01"})),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    let lonely = app
        .call(
            "POST",
            "/api/v1/servers",
            Some(&admin),
            Some(json!({"hostname": "app-01", "ip_address": "10.0.0.2"})),
        )
        .await;
    assert_eq!(lonely.status, StatusCode::CREATED, "{:?}", lonely.body);
    assert_eq!(lonely.body["host_id"], Value::Null);
    assert_eq!(lonely.body["status"], "unknown");
    let app_server = lonely.body["id"].as_i64().unwrap();
    // The agent of app-01 registers after the server was created: linked from then on.
    let later_host = app.register_host(&agent, "app-01").await;
    let detail = app
        .call(
            "GET",
            &format!("/api/v1/servers/{app_server}"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    assert_eq!(detail.body["server"]["host_id"], later_host);
    assert_eq!(detail.body["server"]["status"], "online");
    assert_eq!(detail.body["nginx_upstreams"], json!([]));

    let group = app
        .call(
            "POST",
            "/api/v1/server-groups",
            Some(&admin),
            Some(json!({"name": "nginx", "category": "infrastructure"})),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);
    let group_id = group.body["id"].as_i64().unwrap();
    let member = app
        .call(
            "POST",
            &format!("/api/v1/server-groups/{group_id}/servers"),
            Some(&admin),
            Some(json!({"server_id": web, "group_id": group_id, "port": 80, "cpu_percent": 12.5})),
        )
        .await;
    assert_eq!(member.status, StatusCode::CREATED, "{:?}", member.body);
    assert_eq!(member.body["service_status"], "running");
    let twice = app
        .call(
            "POST",
            &format!("/api/v1/server-groups/{group_id}/servers"),
            Some(&admin),
            Some(json!({"server_id": web})),
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    for (path, body, status) in [
        (
            format!("/api/v1/server-groups/{group_id}/servers"),
            json!({"server_id": 999_999}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/server-groups/999999/servers".to_owned(),
            json!({"server_id": web}),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/server-groups/{group_id}/servers"),
            json!({"server_id": web, "group_id": group_id + 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/servers".to_owned(),
            json!({"hostname": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let reply = app.call("POST", &path, Some(&admin), Some(body)).await;
        assert_eq!(reply.status, status, "{path}: {:?}", reply.body);
    }

    let groups = app
        .call(
            "GET",
            "/api/v1/topology/service-groups",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(groups.status, StatusCode::OK);
    assert_eq!(groups.body[0]["server_count"], 1);
    assert_eq!(groups.body[0]["servers"][0]["hostname"], "web-01");
    assert_eq!(groups.body[0]["servers"][0]["server_status"], "online");
    assert_eq!(groups.body[0]["servers"][0]["port"], 80);
    let paged = app
        .call(
            "GET",
            "/api/v1/server-groups?page_size=200",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(paged.status, StatusCode::OK);
    assert_eq!(paged.body["total"], 1);
    assert_eq!(paged.body["page_size"], 200);
    let too_big = app
        .call(
            "GET",
            "/api/v1/server-groups?page_size=201",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);

    let listed = app
        .call(
            "GET",
            "/api/v1/servers?page_size=1&page=2",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["total"], 2);
    assert_eq!(listed.body["items"][0]["hostname"], "app-01");
    let summaries = app
        .call("GET", "/api/v1/topology/servers", Some(&viewer), None)
        .await;
    assert_eq!(summaries.body[0]["service_count"], 1);
    assert_eq!(summaries.body[0]["cpu_avg"], 12.5);
    let multi = app
        .call("GET", "/api/v1/topology/multi-server", Some(&viewer), None)
        .await;
    assert_eq!(multi.status, StatusCode::OK);
    assert_eq!(
        multi.body["summary"],
        json!({"server_count": 2, "online_count": 2, "offline_count": 0,
               "service_group_count": 1, "edge_count": 0})
    );
    let one = app
        .call(
            "GET",
            &format!("/api/v1/topology/servers/{web}"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(one.body["services"][0]["group_name"], "nginx");
    assert_eq!(one.body["upstreams"], json!([]));

    let changed = app
        .call(
            "PUT",
            &format!("/api/v1/servers/{app_server}"),
            Some(&admin),
            Some(json!({"label": "checkout"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["label"], "checkout");
    assert_eq!(changed.body["hostname"], "app-01");
    let renamed = app
        .call(
            "PUT",
            &format!("/api/v1/server-groups/{group_id}"),
            Some(&admin),
            Some(json!({"name": "lb"})),
        )
        .await;
    assert_eq!(renamed.body["name"], "lb");
    assert_eq!(renamed.body["category"], "infrastructure");

    // Viewers read but never write; unknown ids are 404, malformed ones 422, never 5xx.
    for (method, path) in [
        ("POST", "/api/v1/servers".to_owned()),
        ("PUT", format!("/api/v1/servers/{web}")),
        ("DELETE", format!("/api/v1/servers/{web}")),
        ("DELETE", format!("/api/v1/topology/servers/{web}")),
        ("POST", "/api/v1/server-groups".to_owned()),
        ("DELETE", format!("/api/v1/server-groups/{group_id}")),
        (
            "DELETE",
            format!("/api/v1/server-groups/{group_id}/servers/{web}"),
        ),
    ] {
        let refused = app
            .call(
                method,
                &path,
                Some(&viewer),
                Some(json!({"hostname": "x", "name": "x"})),
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    for (method, path, status) in [
        ("GET", "/api/v1/servers/999999", StatusCode::NOT_FOUND),
        (
            "GET",
            "/api/v1/topology/servers/999999",
            StatusCode::NOT_FOUND,
        ),
        ("DELETE", "/api/v1/servers/999999", StatusCode::NOT_FOUND),
        ("GET", "/api/v1/server-groups/999999", StatusCode::NOT_FOUND),
        (
            "DELETE",
            "/api/v1/server-groups/999999",
            StatusCode::NOT_FOUND,
        ),
        ("GET", "/api/v1/servers/x", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "GET",
            "/api/v1/servers?page=0",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let reply = app.call(method, path, Some(&admin), None).await;
        assert_eq!(reply.status, status, "{method} {path}: {:?}", reply.body);
    }

    let removed = app
        .call(
            "DELETE",
            &format!("/api/v1/server-groups/{group_id}/servers/{web}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let gone = app
        .call(
            "DELETE",
            &format!("/api/v1/server-groups/{group_id}/servers/{web}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/topology/servers/{web}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["detail"], "Server deleted");
    let group_deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/server-groups/{group_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(group_deleted.status, StatusCode::NO_CONTENT);

    let audit = app
        .call(
            "GET",
            "/api/v1/audit-logs?page_size=100",
            Some(&admin),
            None,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    for action in [
        "create_server",
        "update_server",
        "delete_server",
        "create_server_group",
        "update_server_group",
        "delete_server_group",
        "add_server_group_member",
        "remove_server_group_member",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
}
on_both_backends!(
    servers_link_to_agent_hosts_and_groups_hold_them,
    &[("ALLOW_REGISTRATION", "true")]
);

/// A local OpenAI-compatible server answering every chat completion with `status` and `content`.
async fn fake_llm(status: StatusCode, content: &'static str) -> String {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |Json(_body): Json<Value>| async move {
            if !status.is_success() {
                return (
                    status,
                    Json(json!({"error": {"message": "model overloaded"}})),
                )
                    .into_response();
            }
            Json(json!({
                "id": "chatcmpl-topology",
                "object": "chat.completion",
                "model": "deepseek-chat",
                "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
            }))
            .into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

const SUGGESTIONS: &str = r#"```json
[{"source": "shop-backend", "target": "shop-postgres", "type": "depends_on", "description": "订单数据"},
 {"source": "shop-frontend", "target": "shop-backend", "type": "calls", "description": "API"},
 {"source": "shop-frontend", "target": "ghost", "type": "calls", "description": "unknown"}]
```"#;

async fn ai_suggestions_are_offered_then_applied(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "shop-01").await;
    let frontend = register_service(app, &agent, host, "shop-frontend").await;
    let backend = register_service(app, &agent, host, "shop-backend").await;
    let postgres = register_service(app, &agent, host, "shop-postgres (:5432)").await;

    let suggested = app
        .call("POST", "/api/v1/topology/ai-suggest", Some(&admin), None)
        .await;
    assert_eq!(suggested.status, StatusCode::OK, "{:?}", suggested.body);
    assert_eq!(
        suggested.body["total"], 2,
        "the unknown service is left out"
    );
    let first = &suggested.body["suggestions"][0];
    assert_eq!(first["source_service_id"], backend);
    assert_eq!(first["target_service_id"], postgres);
    assert_eq!(first["type"], "depends_on");

    let chosen: Vec<Value> = suggested.body["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            json!({"source_service_id": s["source_service_id"],
                   "target_service_id": s["target_service_id"],
                   "dependency_type": s["type"], "description": s["description"]})
        })
        .collect();
    let mut twice = chosen.clone();
    twice.extend(chosen.clone());
    let applied = app
        .call(
            "POST",
            "/api/v1/topology/ai-suggest/apply",
            Some(&admin),
            Some(Value::Array(twice)),
        )
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{:?}", applied.body);
    assert_eq!(applied.body["created"], 2, "repeats are skipped");
    let again = app
        .call(
            "POST",
            "/api/v1/topology/ai-suggest/apply",
            Some(&admin),
            Some(Value::Array(chosen)),
        )
        .await;
    assert_eq!(again.body["created"], 0, "stored pairs are skipped");
    let unknown = app
        .call(
            "POST",
            "/api/v1/topology/ai-suggest/apply",
            Some(&admin),
            Some(
                json!([{"source_service_id": frontend, "target_service_id": postgres},
                        {"source_service_id": frontend, "target_service_id": 999_999}]),
            ),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let stored = graph(app, &admin).await;
    assert_eq!(stored["edge_origin"], "manual");
    assert_eq!(
        stored["edges"].as_array().unwrap().len(),
        2,
        "a refused apply creates nothing"
    );
    let not_array = app
        .call(
            "POST",
            "/api/v1/topology/ai-suggest/apply",
            Some(&admin),
            Some(json!({"source_service_id": frontend})),
        )
        .await;
    assert_eq!(not_array.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn ai_suggestions_are_offered_then_applied_sqlite() {
    let url = fake_llm(StatusCode::OK, SUGGESTIONS).await;
    let app = TestApp::sqlite(&[("AI_API_KEY", "sk-test"), ("AI_API_BASE", &url)]).await;
    ai_suggestions_are_offered_then_applied(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn ai_suggestions_are_offered_then_applied_postgres() {
    let url = fake_llm(StatusCode::OK, SUGGESTIONS).await;
    let Some(app) = TestApp::postgres(&[("AI_API_KEY", "sk-test"), ("AI_API_BASE", &url)]).await
    else {
        return;
    };
    ai_suggestions_are_offered_then_applied(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn ai_suggestions_fail_with_502_and_need_a_key() {
    let url = fake_llm(StatusCode::BAD_REQUEST, "").await;
    let app = TestApp::sqlite(&[
        ("AI_API_KEY", "sk-test"),
        ("AI_API_BASE", &url),
        ("VIGILOPS_AI_ATTEMPTS", "1"),
    ])
    .await;
    let (admin, _) = app.admin_and_agent_token().await;
    let failed = app
        .call("POST", "/api/v1/topology/ai-suggest", Some(&admin), None)
        .await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{:?}", failed.body);
    app.finish().await;

    let garbled = fake_llm(StatusCode::OK, "I think the web calls the api").await;
    let app = TestApp::sqlite(&[("AI_API_KEY", "sk-test"), ("AI_API_BASE", &garbled)]).await;
    let (admin, _) = app.admin_and_agent_token().await;
    let unreadable = app
        .call("POST", "/api/v1/topology/ai-suggest", Some(&admin), None)
        .await;
    assert_eq!(unreadable.status, StatusCode::BAD_GATEWAY);
    app.finish().await;

    let app = TestApp::sqlite(&[]).await;
    let (admin, _) = app.admin_and_agent_token().await;
    let off = app
        .call("POST", "/api/v1/topology/ai-suggest", Some(&admin), None)
        .await;
    assert_eq!(off.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(off.body["detail"], "AI API key not configured");
    app.finish().await;
}
