//! `/api/v1/services`: what agents registered and checked, read back over HTTP, on both
//! backends.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestApp;

async fn register(app: &TestApp, agent: &str, host: i64, name: &str, target: &str) -> i64 {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/services/register",
            Some(agent),
            Some(json!({"host_id": host, "name": name, "type": "tcp", "target": target})),
        )
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
    reply.body["service_id"].as_i64().unwrap()
}

async fn check(app: &TestApp, agent: &str, service: i64, status: &str) {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/services",
            Some(agent),
            Some(
                json!({"service_id": service, "status": status, "response_time_ms": 3.5,
                        "error": (status == "down").then_some("connection refused")}),
            ),
        )
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let reply = app.call("GET", path, Some(token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
    reply.body
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap())
        .collect()
}

async fn services_are_listed_counted_grouped_and_checked(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let web = app.register_host(&agent, "web-01").await;
    let other = app.register_host(&agent, "web-02").await;
    let postgres = register(app, &agent, web, "postgres", "127.0.0.1:5432").await;
    let nginx = register(app, &agent, web, "nginx", "127.0.0.1:80").await;
    register(app, &agent, web, "orders-api", "127.0.0.1:8080").await;
    register(app, &agent, other, "redis", "127.0.0.1:6379").await;
    for status in ["down", "up", "up"] {
        check(app, &agent, postgres, status).await;
        app.advance(Duration::seconds(30));
    }
    check(app, &agent, nginx, "down").await;

    // One host's services: categories assigned at registration, statuses from the checks.
    let list = get(app, &admin, &format!("/api/v1/services?host_id={web}")).await;
    assert_eq!(names(&list), ["postgres", "nginx", "orders-api"]);
    assert_eq!(list["total"], 3);
    assert_eq!(
        list["stats"],
        json!({"total": 3, "middleware": 1, "business": 1, "infrastructure": 1,
               "healthy": 1, "unhealthy": 1})
    );
    let items = list["items"].as_array().unwrap();
    assert_eq!(items[0]["category"], "middleware");
    assert_eq!(items[0]["status"], "up");
    assert_eq!(items[0]["type"], "tcp");
    assert_eq!(items[0]["uptime_percent"], 66.67);
    assert_eq!(items[0]["host_info"]["hostname"], "web-01");
    assert_eq!(items[0]["host_info"]["id"], web);
    assert_eq!(items[1]["category"], "infrastructure");
    assert_eq!(items[1]["status"], "down");
    assert_eq!(items[1]["uptime_percent"], 0.0);
    assert_eq!(items[2]["category"], "business");
    assert_eq!(items[2]["status"], "unknown");
    assert_eq!(items[2]["uptime_percent"], Value::Null);
    assert!(list.get("host_groups").is_none(), "only when asked");

    // Filters narrow the counts too.
    let down = get(app, &admin, "/api/v1/services?status=DOWN").await;
    assert_eq!(names(&down), ["nginx"]);
    assert_eq!(down["stats"]["total"], 1);
    assert_eq!(down["stats"]["unhealthy"], 1);
    let middleware = get(app, &admin, "/api/v1/services?category=middleware").await;
    assert_eq!(names(&middleware), ["postgres", "redis"]);
    assert_eq!(middleware["stats"]["middleware"], 2);
    assert_eq!(middleware["stats"]["business"], 0);

    // Paging, and the page grouped by host.
    let second = get(app, &admin, "/api/v1/services?page=2&page_size=2").await;
    assert_eq!(names(&second), ["orders-api", "redis"]);
    assert_eq!(second["total"], 4);
    assert_eq!(second["stats"]["total"], 4);
    let grouped = get(app, &admin, "/api/v1/services?group_by_host=true").await;
    let groups = grouped["host_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["host_id"], web);
    assert_eq!(groups[0]["hostname"], "web-01");
    assert_eq!(groups[0]["host_status"], "online");
    assert_eq!(groups[0]["services"].as_array().unwrap().len(), 3);
    assert_eq!(groups[1]["hostname"], "web-02");
    assert_eq!(groups[1]["services"][0]["name"], "redis");

    // One service and its checks, newest first.
    let one = get(app, &admin, &format!("/api/v1/services/{postgres}")).await;
    assert_eq!(one["name"], "postgres");
    assert_eq!(one["target"], "127.0.0.1:5432");
    assert_eq!(one["uptime_percent"], 66.67);
    let checks = get(app, &admin, &format!("/api/v1/services/{postgres}/checks")).await;
    let statuses: Vec<&str> = checks
        .as_array()
        .unwrap()
        .iter()
        .map(|check| check["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["up", "up", "down"]);
    assert_eq!(checks[2]["error"], "connection refused");
    assert_eq!(checks[0]["response_time_ms"], 3.5);
    assert_eq!(checks[0]["service_id"], postgres);

    // A day later the uptime has no checks to count; a longer history still has them.
    app.advance(Duration::hours(25));
    let admin = app.relogin_admin().await;
    let later = get(app, &admin, &format!("/api/v1/services/{postgres}")).await;
    assert_eq!(later["uptime_percent"], Value::Null);
    assert_eq!(later["status"], "up", "the status stays the last check's");
    let day = get(app, &admin, &format!("/api/v1/services/{postgres}/checks")).await;
    assert_eq!(day.as_array().unwrap().len(), 0);
    let two_days = get(
        app,
        &admin,
        &format!("/api/v1/services/{postgres}/checks?hours=48"),
    )
    .await;
    assert_eq!(two_days.as_array().unwrap().len(), 3);
}
on_both_backends!(services_are_listed_counted_grouped_and_checked);

async fn bad_service_queries_are_refused_by_name(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "web-03").await;
    let service = register(app, &agent, host, "nginx", "127.0.0.1:80").await;
    for (path, field) in [
        ("/api/v1/services?category=database", "category"),
        ("/api/v1/services?status=sleeping", "status"),
        ("/api/v1/services?page_size=0", "page_size"),
        ("/api/v1/services?host_id=abc", "host_id"),
        (
            &format!("/api/v1/services/{service}/checks?hours=0") as &str,
            "hours",
        ),
        (
            &format!("/api/v1/services/{service}/checks?hours=721"),
            "hours",
        ),
    ] {
        let reply = app.call("GET", path, Some(&admin), None).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(
            reply.body["detail"][0]["loc"],
            json!(["query", field]),
            "{path}: {:?}",
            reply.body
        );
    }
    for path in ["/api/v1/services/999999", "/api/v1/services/999999/checks"] {
        let reply = app.call("GET", path, Some(&admin), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.body["detail"], "Service not found");
    }
    let bad_id = app
        .call("GET", "/api/v1/services/abc", Some(&admin), None)
        .await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.call("GET", "/api/v1/services", None, None).await.status,
        StatusCode::FORBIDDEN
    );
}
on_both_backends!(bad_service_queries_are_refused_by_name);
