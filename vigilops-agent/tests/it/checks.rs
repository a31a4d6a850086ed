//! Service checks against local HTTP and TCP servers started by the test.

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use vigilops_agent::checks::Checker;
use vigilops_agent::config::ServiceCheckConfig;
use vigilops_core::clock::SystemClock;
use vigilops_core::protocol::agent::CheckStatus;

fn service(check_type: &str, url: &str, port: u16) -> ServiceCheckConfig {
    ServiceCheckConfig {
        name: "svc".into(),
        check_type: check_type.into(),
        url: url.into(),
        host: "127.0.0.1".into(),
        port,
        interval: Duration::from_secs(30),
        timeout: Duration::from_millis(300),
        expected_status: None,
        keyword: None,
    }
}

async fn run(config: ServiceCheckConfig) -> (CheckStatus, Option<u16>, Option<String>) {
    let outcome = Checker::new(config).unwrap().check(&SystemClock).await;
    assert!(outcome.response_time_ms >= 0.0);
    assert!(
        outcome
            .error
            .as_ref()
            .is_none_or(|e| e.chars().count() <= 500)
    );
    (outcome.status, outcome.status_code, outcome.error)
}

#[tokio::test]
async fn http_and_tcp_checks_classify_as_the_protocol_says() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let router = Router::new()
        .route("/ok", get(|| async { "hello world" }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/ok")]).into_response() }),
        )
        .route(
            "/error",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let url = |path: &str| format!("http://{address}{path}");

    assert_eq!(
        run(service("http", &url("/ok"), 0)).await,
        (CheckStatus::Up, Some(200), None)
    );
    assert_eq!(
        run(service("http", &url("/missing"), 0)).await.0,
        CheckStatus::Up
    );
    let (status, code, _) = run(service("http", &url("/redirect"), 0)).await;
    assert_eq!((status, code), (CheckStatus::Down, Some(302)));
    let (status, code, _) = run(service("http", &url("/error"), 0)).await;
    assert_eq!((status, code), (CheckStatus::Down, Some(500)));
    let (status, code, error) = run(service("http", &url("/slow"), 0)).await;
    assert_eq!((status, code), (CheckStatus::Down, None));
    assert!(error.unwrap().contains("timed out"));

    let mut keyword = service("http", &url("/ok"), 0);
    keyword.keyword = Some("world".into());
    assert_eq!(run(keyword.clone()).await.0, CheckStatus::Up);
    keyword.keyword = Some("absent".into());
    let (status, code, error) = run(keyword).await;
    assert_eq!((status, code), (CheckStatus::Down, Some(200)));
    assert!(error.unwrap().contains("absent"));
    let mut expected = service("http", &url("/redirect"), 0);
    expected.expected_status = Some(302);
    assert_eq!(run(expected).await.0, CheckStatus::Up);

    assert_eq!(
        run(service("tcp", "", address.port())).await,
        (CheckStatus::Up, None, None)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let (status, code, error) = run(service("tcp", "", closed_port)).await;
    assert_eq!((status, code), (CheckStatus::Down, None));
    assert!(error.is_some());
    let (status, _, error) = run(service(
        "http",
        &format!("http://127.0.0.1:{closed_port}/"),
        0,
    ))
    .await;
    assert_eq!(status, CheckStatus::Down);
    assert!(error.is_some());

    assert_eq!(
        run(service("ftp", "", 21)).await,
        (CheckStatus::Down, None, Some("Unknown type".into()))
    );
}
