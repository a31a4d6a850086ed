//! `/api/v1/databases`: what the agent reported, read back over HTTP, on both backends.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestApp;

async fn databases_are_listed_with_their_latest_sample_and_history(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "db-01").await;
    let report = |connections: f64, detail: Option<serde_json::Value>| {
        let mut body = json!({"host_id": host, "db_name": "orders", "db_type": "postgres",
            "connections_total": connections, "connections_active": 2, "database_size_mb": 512.5,
            "slow_queries": 1, "tables_count": 40});
        if let Some(detail) = detail {
            body["slow_queries_detail"] = detail;
        }
        body
    };
    let slow = json!([{"sql_id": "q1", "avg_seconds": 2.5, "executions": 7,
                       "sql_text": "select * from orders"}]);
    for (minutes, connections, detail) in [
        (0, 10.0, Some(slow.clone())),
        (5, 12.0, None),
        (10, 14.0, None),
    ] {
        if minutes > 0 {
            app.advance(Duration::minutes(5));
        }
        let reply = app
            .call(
                "POST",
                "/api/v1/agent/db-metrics",
                Some(&agent),
                Some(report(connections, detail)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }

    let list = app
        .call(
            "GET",
            &format!("/api/v1/databases?host_id={host}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(list.body["total"], 1);
    let db = &list.body["databases"][0];
    assert_eq!(db["name"], "orders");
    assert_eq!(db["db_type"], "postgres");
    assert_eq!(db["latest_metrics"]["connections_total"], 14.0);
    assert_eq!(db["latest_metrics"]["database_size_mb"], 512.5);
    let id = db["id"].as_i64().unwrap();
    assert_eq!(
        app.call(
            "GET",
            "/api/v1/databases?host_id=999999",
            Some(&admin),
            None
        )
        .await
        .body["total"],
        0
    );

    let one = app
        .call(
            "GET",
            &format!("/api/v1/databases/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(one.body["latest_metrics"]["connections_total"], 14.0);
    let missing = app
        .call("GET", "/api/v1/databases/999999", Some(&admin), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["detail"], "Database not found");

    let slow_queries = app
        .call(
            "GET",
            &format!("/api/v1/databases/{id}/slow-queries"),
            Some(&admin),
            None,
        )
        .await;
    let kept = &slow_queries.body["slow_queries"];
    assert_eq!(
        kept.as_array().map(Vec::len),
        Some(1),
        "kept by later reports without details"
    );
    assert_eq!(kept[0]["sql_id"], slow[0]["sql_id"]);
    assert_eq!(kept[0]["sql_text"], "select * from orders");
    assert_eq!(kept[0]["executions"].as_f64(), Some(7.0));
    assert_eq!(kept[0]["avg_seconds"].as_f64(), Some(2.5));

    // The last hour holds all three, oldest first; 6 minutes only the newest two.
    let history = app
        .call(
            "GET",
            &format!("/api/v1/databases/{id}/metrics"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(history.body["period"], "1h");
    let connections: Vec<f64> = history.body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["connections_total"].as_f64().unwrap())
        .collect();
    assert_eq!(connections, [10.0, 12.0, 14.0]);
    let recent = app
        .call(
            "GET",
            &format!("/api/v1/databases/{id}/metrics?period=6m"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(recent.body["metrics"].as_array().unwrap().len(), 2);
    let fallback = app
        .call(
            "GET",
            &format!("/api/v1/databases/{id}/metrics?period=forever"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(fallback.body["period"], "1h");
    assert_eq!(
        app.call(
            "GET",
            "/api/v1/databases/999999/metrics",
            Some(&admin),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call("GET", "/api/v1/databases", None, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
on_both_backends!(databases_are_listed_with_their_latest_sample_and_history);
