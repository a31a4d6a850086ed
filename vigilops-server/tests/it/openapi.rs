//! The OpenAPI document is served, complete, and its interactive page works offline.

use axum::http::StatusCode;

use crate::support::TestApp;

#[tokio::test]
async fn every_route_is_documented() {
    let app = TestApp::sqlite(&[]).await;
    let reply = app.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let paths = reply.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/health", "get"),
        ("/api/v1/health", "get"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/me", "get"),
        ("/api/v1/agent-tokens", "get"),
        ("/api/v1/agent-tokens", "post"),
        ("/api/v1/agent-tokens/{id}", "delete"),
        ("/api/v1/hosts", "get"),
        ("/api/v1/hosts/{id}", "get"),
        ("/api/v1/hosts/{id}", "delete"),
        ("/api/v1/hosts/{id}/metrics", "get"),
        ("/api/v1/agent/register", "post"),
        ("/api/v1/agent/heartbeat", "post"),
        ("/api/v1/agent/metrics", "post"),
        ("/api/v1/agent/metrics/batch", "post"),
        ("/api/v1/agent/services/register", "post"),
        ("/api/v1/agent/services", "post"),
        ("/api/v1/agent/service-dependencies", "post"),
        ("/api/v1/agent/db-metrics", "post"),
        ("/api/v1/agent/logs", "post"),
        ("/api/v1/agent/db-targets", "get"),
        ("/api/v1/agent/service-targets", "get"),
        ("/api/v1/agent-updates/list", "get"),
        ("/api/v1/audit-logs", "get"),
        ("/api/v1/alert-rules", "get"),
        ("/api/v1/alert-rules", "post"),
        ("/api/v1/alert-rules/{id}", "get"),
        ("/api/v1/alert-rules/{id}", "put"),
        ("/api/v1/alert-rules/{id}", "delete"),
        ("/api/v1/alerts", "get"),
        ("/api/v1/alerts/{id}", "get"),
        ("/api/v1/alerts/{id}/ack", "post"),
        ("/api/v1/alerts/{id}/resolve", "post"),
        ("/api/v1/alerts/{id}/remediate", "post"),
        ("/api/v1/remediations/{id}/approve", "post"),
        ("/api/v1/remediations/{id}/reject", "post"),
        ("/api/v1/remediations/{id}/retry", "post"),
        ("/api/v1/runbooks", "get"),
        ("/api/v1/runbooks", "post"),
        ("/api/v1/runbooks/{name}", "delete"),
        ("/api/v1/runbooks/{name}/params", "put"),
        ("/api/v1/remediation-settings", "get"),
        ("/api/v1/remediation-settings", "put"),
        ("/api/v1/hosts/{id}/remediation", "put"),
        ("/api/v1/dashboard/trends", "get"),
        ("/api/v1/databases", "get"),
        ("/api/v1/databases/{id}", "get"),
        ("/api/v1/databases/{id}/slow-queries", "get"),
        ("/api/v1/databases/{id}/metrics", "get"),
        ("/api/v1/topology", "get"),
        ("/api/v1/topology/layout", "post"),
        ("/api/v1/topology/layout", "delete"),
        ("/api/v1/topology/dependencies", "post"),
        ("/api/v1/topology/dependencies", "delete"),
        ("/api/v1/topology/dependencies/{id}", "delete"),
        ("/api/v1/topology/ai-suggest", "post"),
        ("/api/v1/topology/ai-suggest/apply", "post"),
        ("/api/v1/topology/multi-server", "get"),
        ("/api/v1/topology/servers", "get"),
        ("/api/v1/topology/servers", "post"),
        ("/api/v1/topology/servers/{id}", "get"),
        ("/api/v1/topology/servers/{id}", "delete"),
        ("/api/v1/topology/service-groups", "get"),
        ("/api/v1/servers", "get"),
        ("/api/v1/servers", "post"),
        ("/api/v1/servers/{id}", "get"),
        ("/api/v1/servers/{id}", "put"),
        ("/api/v1/servers/{id}", "delete"),
        ("/api/v1/server-groups", "get"),
        ("/api/v1/server-groups", "post"),
        ("/api/v1/server-groups/{id}", "get"),
        ("/api/v1/server-groups/{id}", "put"),
        ("/api/v1/server-groups/{id}", "delete"),
        ("/api/v1/server-groups/{id}/servers", "post"),
        ("/api/v1/server-groups/{id}/servers/{server_id}", "delete"),
        ("/api/v1/settings", "get"),
        ("/api/v1/settings", "put"),
        ("/api/v1/users", "get"),
        ("/api/v1/users", "post"),
        ("/api/v1/users/{id}", "get"),
        ("/api/v1/users/{id}", "put"),
        ("/api/v1/users/{id}", "delete"),
        ("/api/v1/users/{id}/password", "put"),
        ("/api/v1/notification-channels", "get"),
        ("/api/v1/notification-channels", "post"),
        ("/api/v1/notification-channels/{id}", "get"),
        ("/api/v1/notification-channels/{id}", "put"),
        ("/api/v1/notification-channels/{id}", "delete"),
        ("/api/v1/notification-channels/{id}/test", "post"),
        ("/api/v1/notification-channels/logs", "get"),
        ("/api/v1/notification-logs", "get"),
        ("/api/v1/notification-templates", "get"),
        ("/api/v1/notification-templates", "post"),
        ("/api/v1/notification-templates/{id}", "put"),
        ("/api/v1/notification-templates/{id}", "delete"),
        ("/api/v1/silences", "get"),
        ("/api/v1/silences", "post"),
        ("/api/v1/silences/{id}", "get"),
        ("/api/v1/silences/{id}", "put"),
        ("/api/v1/silences/{id}", "delete"),
    ] {
        assert!(
            paths.get(path).and_then(|item| item.get(method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    for schema in [
        "MetricsReport",
        "AlertRuleCreate",
        "MetricsBatch",
        "MetricsBatchResponse",
        "ServiceTargetsResponse",
        "ServiceTarget",
    ] {
        assert!(
            reply.body["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    let docs = app.call("GET", "/api/docs/", None, None).await;
    assert_eq!(docs.status, StatusCode::OK);
    let html = docs.body.as_str().unwrap();
    assert!(
        html.contains("swagger") && !html.contains("cdn"),
        "the docs page is self-hosted"
    );
    app.finish().await;
}
