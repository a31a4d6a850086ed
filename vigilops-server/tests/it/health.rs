//! `/health` reports the real state of the database and of Redis.

use axum::http::StatusCode;
use std::sync::Arc;
use vigilops_core::clock::ManualClock;
use vigilops_core::store::Store;
use vigilops_core::store::testing::fresh_sqlite;
use vigilops_server::{App, router};

use crate::support::{TestApp, example_time, tempdir::TempDir, test_config};

fn redis_url() -> String {
    std::env::var("VIGILOPS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

#[tokio::test]
async fn health_reports_database_and_redis() {
    let app = TestApp::sqlite(&[]).await;
    let reply = app.call("GET", "/api/v1/health", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["status"], "ok");
    assert_eq!(reply.body["checks"]["database"], "ok");
    assert_eq!(
        reply.body["checks"]["redis"], "disabled",
        "no Redis configured is not degraded"
    );
    assert_eq!(
        app.call("GET", "/health", None, None).await.body["status"],
        "ok"
    );
    app.finish().await;

    // With the machine's real Redis.
    let client = redis::Client::open(redis_url()).unwrap();
    let manager = match redis::aio::ConnectionManager::new(client).await {
        Ok(manager) => manager,
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Redis unreachable under CI=true: {error}"
            );
            eprintln!("SKIPPING the Redis half: {error}");
            return;
        }
    };
    let temp = fresh_sqlite().await;
    let store: Arc<dyn Store> = Arc::new(temp.store.clone());
    let data = TempDir::new();
    let app = App::with_store(
        test_config(&data.0, &[]),
        store,
        Arc::new(ManualClock::new(example_time())),
        Some(manager),
    )
    .unwrap();
    let response = tower::ServiceExt::oneshot(
        router(app.state),
        axum::http::Request::get("/api/v1/health")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(
        &axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["checks"]["redis"], "ok");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn health_is_degraded_when_the_database_is_gone() {
    let Some(app) = TestApp::postgres(&[]).await else {
        return;
    };
    app.close_database().await;
    let reply = app.call("GET", "/api/v1/health", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["status"], "degraded");
    assert_eq!(reply.body["checks"]["database"], "error");
    app.finish().await;
}
