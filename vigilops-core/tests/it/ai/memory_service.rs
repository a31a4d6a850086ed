//! The external memory service client against a local server speaking the original's API:
//! recall in each documented reply shape, store with its body, and best effort when the service
//! fails or is not there.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use vigilops_core::ai::memory::MemoryServiceClient;

/// A memory service that keeps every request and answers recall with `recall_reply`.
async fn service(
    recall_reply: Value,
    status: StatusCode,
) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let (on_recall, on_store) = (Arc::clone(&seen), Arc::clone(&seen));
    let app = axum::Router::new()
        .route(
            "/api/v1/memory/recall",
            post(move |Json(body): Json<Value>| {
                let seen = Arc::clone(&on_recall);
                let reply = recall_reply.clone();
                async move {
                    seen.lock().unwrap().push(("recall".to_owned(), body));
                    (status, Json(reply))
                }
            }),
        )
        .route(
            "/api/v1/memory/store",
            post(move |Json(body): Json<Value>| {
                let seen = Arc::clone(&on_store);
                async move {
                    seen.lock().unwrap().push(("store".to_owned(), body));
                    (status, Json(json!({"ok": true})))
                }
            }),
        )
        .route(
            "/api/v1/memory/slow/recall",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Json(json!([]))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/memory/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn recall_reads_each_reply_shape_and_sends_the_originals_body() {
    for reply in [
        json!([{"content": "disk full on web-01, fixed by disk_cleanup"}]),
        json!({"memories": [{"content": "disk full on web-01, fixed by disk_cleanup"}]}),
        json!({"results": [{"text": "disk full on web-01, fixed by disk_cleanup"}]}),
    ] {
        let (url, seen) = service(reply, StatusCode::OK).await;
        let client = MemoryServiceClient::new(&url).unwrap();
        let memories = client.recall("disk usage high", 5).await;
        assert_eq!(memories, vec!["disk full on web-01, fixed by disk_cleanup"]);
        let requests = seen.lock().unwrap().clone();
        assert_eq!(
            requests,
            vec![(
                "recall".to_owned(),
                json!({"query": "disk usage high", "top_k": 5})
            )]
        );
    }
}

#[tokio::test]
async fn store_sends_content_and_source() {
    let (url, seen) = service(json!([]), StatusCode::OK).await;
    let client = MemoryServiceClient::new(&url).unwrap();
    client
        .store(
            "修复经验 [success]: 告警=disk",
            "vigilops-remediation",
            &["remediation"],
        )
        .await;
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (kind, body) = &requests[0];
    assert_eq!(kind, "store");
    assert_eq!(body["content"], "修复经验 [success]: 告警=disk");
    assert_eq!(body["source"], "vigilops-remediation");
    assert_eq!(body["tags"], json!(["remediation"]));
}

#[tokio::test]
async fn failures_are_ignored_and_never_fail_the_caller() {
    let (url, _) = service(json!({"detail": "boom"}), StatusCode::INTERNAL_SERVER_ERROR).await;
    let client = MemoryServiceClient::new(&url).unwrap();
    assert!(client.recall("x", 5).await.is_empty());
    client.store("x", "vigilops-chat", &[]).await;

    // Nothing listening: refused at once, an empty recall.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let client = MemoryServiceClient::new(&format!("http://{closed}/api/v1/memory")).unwrap();
    assert!(client.recall("x", 5).await.is_empty());

    // A hanging service: given up after the 5 s timeout, not the service's 30 s.
    let (url, _) = service(json!([]), StatusCode::OK).await;
    let client = MemoryServiceClient::new(&format!("{url}slow")).unwrap();
    let started = Instant::now();
    assert!(client.recall("x", 5).await.is_empty());
    assert!(started.elapsed() < Duration::from_secs(20));
}
