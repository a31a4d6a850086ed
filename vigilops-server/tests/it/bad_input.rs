//! Bad input gets a clear 4xx and loses nothing already stored.

use axum::http::StatusCode;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use std::io::Write;

use crate::on_both_backends;
use crate::support::TestApp;

async fn bad_bodies_are_refused_and_nothing_is_lost(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host_id = app.register_host(&agent, "web-01").await;
    let ok = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(&agent),
            Some(json!({"host_id": host_id, "cpu_percent": 42.0})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let auth = format!("Bearer {agent}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];

    let cases: &[(&str, &str, StatusCode)] = &[
        (
            "/api/v1/agent/metrics",
            "{not json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/metrics",
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/metrics",
            "[]",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/metrics",
            r#"{"host_id":1}{"host_id":2}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/metrics",
            r#"{"cpu_percent":1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/metrics",
            r#"{"host_id":"1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/metrics",
            r#"{"host_id":1.5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/metrics",
            r#"{"host_id":1,"cpu_percent":"high"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/metrics",
            r#"{"host_id":1,"timestamp":"yesterday"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/register",
            r#"{"hostname":""}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/register",
            r#"{"hostname":"x","tags":["a"]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/heartbeat",
            r#"{}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/services/register",
            r#"{"name":"x"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/agent/services",
            r#"{"service_id":1,"status":"degraded"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/db-metrics",
            r#"{"db_name":"x"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/agent/db-metrics",
            r#"{"host_id":0,"db_name":"x"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/agent/db-metrics",
            r#"{"host_id":1,"db_name":"x","qps":"fast"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/logs",
            r#"{}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/agent/logs",
            r#"{"logs":[{"host_id":1}]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (path, body, expected) in cases {
        let reply = app.raw("POST", path, &headers, *body).await;
        assert_eq!(reply.status, *expected, "{path} {body}: {:?}", reply.body);
        assert!(
            reply.body.get("detail").is_some(),
            "{path} {body}: {:?}",
            reply.body
        );
    }
    let missing = app
        .raw(
            "POST",
            "/api/v1/agent/services/register",
            &headers,
            r#"{"name":"x"}"#,
        )
        .await;
    assert_eq!(
        missing.body,
        json!({"detail": "name, target and host_id required"})
    );
    let db = app
        .raw(
            "POST",
            "/api/v1/agent/db-metrics",
            &headers,
            r#"{"db_name":"x"}"#,
        )
        .await;
    assert_eq!(db.body, json!({"detail": "host_id and db_name required"}));
    let typed = app
        .raw(
            "POST",
            "/api/v1/agent/metrics",
            &headers,
            r#"{"host_id":"1"}"#,
        )
        .await;
    assert_eq!(typed.body["detail"][0]["loc"], json!(["body", "host_id"]));
    let missing_field = app
        .raw(
            "POST",
            "/api/v1/agent/metrics",
            &headers,
            r#"{"cpu_percent":1}"#,
        )
        .await;
    assert_eq!(missing_field.body["detail"][0]["type"], "missing");
    assert_eq!(
        missing_field.body["detail"][0]["loc"],
        json!(["body", "host_id"]),
        "the missing field is named"
    );

    // A log batch over 10,000 entries is refused whole.
    let entry = json!({"host_id": host_id, "message": "x", "timestamp": "2026-11-27T01:31:35Z"});
    let huge = json!({"logs": vec![entry; 10_001]});
    let too_many = app
        .call("POST", "/api/v1/agent/logs", Some(&agent), Some(huge))
        .await;
    assert_eq!(too_many.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Bodies over 10 MiB are 413, gzip or not.
    let big = format!(
        r#"{{"host_id":{host_id},"pad":"{}"}}"#,
        "x".repeat(11 * 1024 * 1024)
    );
    let oversized = app
        .raw("POST", "/api/v1/agent/metrics", &headers, big.clone())
        .await;
    assert_eq!(
        (oversized.status, &oversized.body),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"detail": "Request body too large"})
        )
    );
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(big.as_bytes()).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024, "compressed it is small");
    let gz_headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    let inflated = app
        .raw("POST", "/api/v1/agent/metrics", &gz_headers, bomb)
        .await;
    assert_eq!(
        inflated.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "the limit applies after decompression"
    );

    // A well-formed gzip body is accepted.
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(
            json!({"host_id": host_id, "cpu_percent": 7.0})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let gzipped = app
        .raw(
            "POST",
            "/api/v1/agent/metrics",
            &gz_headers,
            encoder.finish().unwrap(),
        )
        .await;
    assert_eq!(gzipped.status, StatusCode::CREATED, "{:?}", gzipped.body);

    // Nothing stored before was lost or altered.
    let series = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host_id}/metrics"),
            Some(&admin),
            None,
        )
        .await;
    let values: Vec<f64> = series
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["cpu_percent"].as_f64().unwrap())
        .collect();
    assert_eq!(values, vec![42.0, 7.0]);
    let host = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(host.body["hostname"], "web-01");
}
on_both_backends!(bad_bodies_are_refused_and_nothing_is_lost);

async fn bad_queries_paths_and_tokens(app: &TestApp) {
    let admin = app.register("admin@example.com").await;
    for path in [
        "/api/v1/hosts?page=0",
        "/api/v1/hosts?page_size=101",
        "/api/v1/hosts?page=abc",
        "/api/v1/hosts?status=sleeping",
        "/api/v1/hosts/abc",
        "/api/v1/hosts/1/metrics?hours=0",
        "/api/v1/hosts/1/metrics?hours=721",
        "/api/v1/hosts/1/metrics?interval=2min",
        "/api/v1/hosts/1/metrics?agg=median",
    ] {
        let reply = app.call("GET", path, Some(&admin), None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {:?}",
            reply.body
        );
        assert!(reply.body["detail"][0]["loc"].is_array(), "{path}");
    }
    let unknown = app
        .call("GET", "/api/v1/hosts/999999", Some(&admin), None)
        .await;
    assert_eq!(
        (unknown.status, &unknown.body),
        (StatusCode::NOT_FOUND, &json!({"detail": "Host not found"}))
    );
    assert_eq!(
        app.call("GET", "/api/v1/hosts/999999/metrics", Some(&admin), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for token in ["garbage", "a.b.c", ""] {
        let reply = app
            .raw(
                "GET",
                "/api/v1/hosts",
                &[("authorization", &format!("Bearer {token}"))],
                "",
            )
            .await;
        assert!(
            matches!(
                reply.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ),
            "{token}: {}",
            reply.status
        );
    }
    let unknown_api = app
        .call("GET", "/api/v1/nothing-here", Some(&admin), None)
        .await;
    assert_eq!(
        (unknown_api.status, &unknown_api.body),
        (StatusCode::NOT_FOUND, &json!({"detail": "Not Found"}))
    );
    let bad_login = app
        .raw(
            "POST",
            "/api/v1/auth/login",
            &[("content-type", "application/json")],
            r#"{"email":1}"#,
        )
        .await;
    assert_eq!(bad_login.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_email = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "not-an-email", "name": "x", "password": "correct-horse"})),
        )
        .await;
    assert_eq!(bad_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_email.body["detail"][0]["loc"], json!(["body", "email"]));
}
on_both_backends!(bad_queries_paths_and_tokens);
