//! `/api/v1/logs` and the live stream `/ws/logs`: lines an agent shipped, searched, counted and
//! streamed over HTTP, on both backends; and the stream across two replicas through Redis.

use axum::http::StatusCode;
use chrono::Duration;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::on_both_backends;
use crate::support::{Socket, TestApp, next_json};

async fn ship(app: &TestApp, agent: &str, lines: Value) {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/logs",
            Some(agent),
            Some(json!({ "logs": lines })),
        )
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let reply = app.call("GET", path, Some(token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
    reply.body
}

fn messages(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["message"].as_str().unwrap())
        .collect()
}

fn line(host: i64, service: &str, level: Option<&str>, message: &str, at: &str) -> Value {
    json!({"host_id": host, "service": service, "source": format!("/var/log/{service}.log"),
           "level": level, "message": message, "timestamp": at})
}

async fn logs_are_searched_counted_and_shown_in_context(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let web = app.register_host(&agent, "web-01").await;
    let db = app.register_host(&agent, "db-01").await;
    ship(
        app,
        &agent,
        json!([
            line(
                web,
                "nginx",
                Some("INFO"),
                "GET /index.html 200",
                "2026-11-27T00:05:00Z"
            ),
            line(
                web,
                "api",
                Some("ERROR"),
                "Upstream TIMEOUT after 30s",
                "2026-11-27T00:10:00Z"
            ),
            line(
                web,
                "api",
                Some("warning"),
                "disk at 100% on /data",
                "2026-11-27T00:20:00Z"
            ),
            line(
                web,
                "api",
                None,
                "said \"hello\" to db",
                "2026-11-27T01:05:00Z"
            ),
            line(
                db,
                "postgres",
                Some("ERROR"),
                "connection timeout from 10.0.0.5",
                "2026-11-27T01:10:00Z"
            ),
            line(
                db,
                "postgres",
                Some("info"),
                "checkpoint_complete wrote 10_000 buffers",
                "2026-11-27T01:20:00Z"
            ),
        ]),
    )
    .await;

    // Everything, newest first, with host names.
    let all = get(app, &admin, "/api/v1/logs").await;
    assert_eq!(all["total"], 6);
    assert_eq!(all["page_size"], 50);
    assert_eq!(
        messages(&all)[0],
        "checkpoint_complete wrote 10_000 buffers"
    );
    assert_eq!(all["items"][0]["hostname"], "db-01");
    assert_eq!(
        all["items"][0]["level"], "INFO",
        "levels are stored upper-cased"
    );
    assert_eq!(all["items"][0]["source"], "/var/log/postgres.log");

    // Full-text: a case-insensitive substring, from the index (≥ 3 characters) or not.
    let timeouts = get(app, &admin, "/api/v1/logs?q=timeout").await;
    assert_eq!(
        messages(&timeouts),
        [
            "connection timeout from 10.0.0.5",
            "Upstream TIMEOUT after 30s"
        ]
    );
    let mid_word = get(app, &admin, "/api/v1/logs?q=IMEOU").await;
    assert_eq!(mid_word["total"], 2, "a substring inside a word matches");
    let short = get(app, &admin, "/api/v1/logs?q=db").await;
    assert_eq!(messages(&short), ["said \"hello\" to db"]);
    // Characters with a meaning in query syntax are taken literally.
    let percent = get(app, &admin, "/api/v1/logs?q=100%25").await;
    assert_eq!(messages(&percent), ["disk at 100% on /data"]);
    let underscore = get(app, &admin, "/api/v1/logs?q=10_0").await;
    assert_eq!(
        messages(&underscore),
        ["checkpoint_complete wrote 10_000 buffers"]
    );
    let quoted = get(app, &admin, "/api/v1/logs?q=%22hello%22").await;
    assert_eq!(messages(&quoted), ["said \"hello\" to db"]);
    let syntax = get(app, &admin, "/api/v1/logs?q=a%20OR%20b*%20NEAR(x)").await;
    assert_eq!(syntax["total"], 0);

    // Filters: host, exact service, a level list in any case, a time range, paging.
    let web_errors = get(
        app,
        &admin,
        &format!("/api/v1/logs?host_id={web}&level=error,Warning"),
    )
    .await;
    assert_eq!(
        messages(&web_errors),
        ["disk at 100% on /data", "Upstream TIMEOUT after 30s"]
    );
    assert_eq!(
        get(app, &admin, "/api/v1/logs?service=ap").await["total"],
        0,
        "the service is matched exactly"
    );
    let range = get(
        app,
        &admin,
        "/api/v1/logs?start_time=2026-11-27T00:10:00&end_time=2026-11-27T01:05:00Z",
    )
    .await;
    assert_eq!(range["total"], 3, "both ends are inclusive");
    let second = get(app, &admin, "/api/v1/logs?page=2&page_size=4").await;
    assert_eq!(
        messages(&second),
        ["Upstream TIMEOUT after 30s", "GET /index.html 200"]
    );
    assert_eq!(second["total"], 6);

    // Statistics: by level (a missing level as UNKNOWN), by hour ascending.
    let stats = get(
        app,
        &admin,
        "/api/v1/logs/stats?period=1h&start_time=2026-11-27T00:00:00Z&end_time=2026-11-27T02:00:00Z",
    )
    .await;
    assert_eq!(
        stats["by_level"],
        json!([{"level": "ERROR", "count": 2}, {"level": "INFO", "count": 2},
               {"level": "UNKNOWN", "count": 1}, {"level": "WARN", "count": 1}])
    );
    assert_eq!(
        stats["by_time"],
        json!([{"time_bucket": "2026-11-27T00:00:00Z", "count": 3},
               {"time_bucket": "2026-11-27T01:00:00Z", "count": 3}])
    );
    let daily = get(
        app,
        &admin,
        &format!("/api/v1/logs/stats?host_id={db}&start_time=2026-11-20"),
    )
    .await;
    assert_eq!(
        daily["by_time"],
        json!([{"time_bucket": "2026-11-27T00:00:00Z", "count": 2}])
    );
    // Without a range: the last 24 hours.
    app.advance(Duration::hours(30));
    let admin = app.relogin_admin().await;
    let recent = get(app, &admin, "/api/v1/logs/stats?period=1h").await;
    assert_eq!(recent["by_time"], json!([]));

    // Context: the lines of the same host around one line, oldest first.
    let id = timeouts["items"][1]["id"].as_i64().unwrap();
    let context = get(
        app,
        &admin,
        &format!("/api/v1/logs/{id}/context?before=5&after=1"),
    )
    .await;
    assert_eq!(context["line"]["message"], "Upstream TIMEOUT after 30s");
    assert_eq!(context["line"]["hostname"], "web-01");
    let before: Vec<&str> = context["before"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["message"].as_str().unwrap())
        .collect();
    assert_eq!(before, ["GET /index.html 200"]);
    assert_eq!(context["after"].as_array().unwrap().len(), 1);
    assert_eq!(context["after"][0]["message"], "disk at 100% on /data");
}
on_both_backends!(logs_are_searched_counted_and_shown_in_context);

async fn bad_log_queries_are_refused_by_name(app: &TestApp) {
    let (admin, _agent) = app.admin_and_agent_token().await;
    for (path, field) in [
        ("/api/v1/logs?level=ERROR'%20OR%201=1", "level"),
        ("/api/v1/logs?start_time=yesterday", "start_time"),
        (
            "/api/v1/logs?start_time=2026-11-27T02:00:00Z&end_time=2026-11-27T01:00:00Z",
            "end_time",
        ),
        ("/api/v1/logs?page_size=201", "page_size"),
        ("/api/v1/logs?host_id=web", "host_id"),
        ("/api/v1/logs/stats?end_time=soon", "end_time"),
        (
            "/api/v1/logs/stats?start_time=2020-01-01&end_time=2026-01-01",
            "start_time",
        ),
        ("/api/v1/logs/1/context?before=101", "before"),
    ] {
        let reply = app.call("GET", path, Some(&admin), None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {:?}",
            reply.body
        );
        assert_eq!(
            reply.body["detail"][0]["loc"],
            json!(["query", field]),
            "{path}"
        );
    }
    let missing = app
        .call("GET", "/api/v1/logs/999999/context", Some(&admin), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["detail"], "Log entry not found");
    assert_eq!(
        app.call("GET", "/api/v1/logs", None, None).await.status,
        StatusCode::FORBIDDEN
    );
}
on_both_backends!(bad_log_queries_are_refused_by_name);

/// Opens a socket at `path` with extra headers; the handshake's HTTP status on refusal.
async fn open(
    address: std::net::SocketAddr,
    path: &str,
    headers: &[(&'static str, String)],
) -> Result<Socket, StatusCode> {
    let mut request = format!("ws://{address}{path}")
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
        }
        Err(other) => panic!("unexpected handshake failure {other}"),
    }
}

/// Asserts nothing more arrives within 300 ms.
async fn quiet(socket: &mut Socket) {
    let next = tokio::time::timeout(std::time::Duration::from_millis(300), socket.next()).await;
    assert!(next.is_err(), "unexpected frame {next:?}");
}

async fn the_stream_needs_a_credential_and_delivers_filtered_lines(app: &TestApp) {
    let (admin, agent) = app.admin_and_agent_token().await;
    let web = app.register_host(&agent, "web-01").await;
    let address = app.listen().await;

    // No credential, a bad one, a foreign origin: refused before the upgrade.
    assert_eq!(
        open(address, "/ws/logs", &[]).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        open(address, "/ws/logs?token=not-a-jwt", &[]).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        open(
            address,
            &format!("/ws/logs?token={admin}"),
            &[("Origin", "https://evil.example".to_owned())]
        )
        .await
        .err(),
        Some(StatusCode::FORBIDDEN)
    );
    assert_eq!(
        app.call("GET", "/api/v1/logs", Some(&format!("{admin}x")), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // The three credentials, each on its own socket with its own filter.
    let mut errors = open(
        address,
        "/ws/logs?level=error",
        &[("Authorization", format!("Bearer {admin}"))],
    )
    .await
    .unwrap();
    let mut by_query = open(
        address,
        &format!("/api/v1/ws/logs?token={admin}&service=api"),
        &[("Origin", format!("http://{address}"))],
    )
    .await
    .unwrap();
    let mut by_cookie = open(
        address,
        &format!("/ws/logs?host_id={web}"),
        &[("Cookie", format!("theme=dark; vigilops_session={admin}"))],
    )
    .await
    .unwrap();

    ship(
        app,
        &agent,
        json!([
            line(
                web,
                "nginx",
                Some("INFO"),
                "GET / 200",
                "2026-11-27T01:31:00Z"
            ),
            line(
                web,
                "api",
                Some("ERROR"),
                "中文 message: 数据库连接失败",
                "2026-11-27T01:31:01Z"
            ),
        ]),
    )
    .await;
    let error = next_json(&mut errors).await;
    assert_eq!(
        error,
        json!({"host_id": web, "service": "api", "source": "/var/log/api.log",
               "level": "ERROR", "message": "中文 message: 数据库连接失败",
               "timestamp": "2026-11-27T01:31:01Z"})
    );
    quiet(&mut errors).await;
    assert_eq!(next_json(&mut by_query).await["level"], "ERROR");
    quiet(&mut by_query).await;
    assert_eq!(next_json(&mut by_cookie).await["message"], "GET / 200");
    assert_eq!(next_json(&mut by_cookie).await["service"], "api");

    // An expired token is refused like a bad one.
    app.advance(Duration::hours(3));
    assert_eq!(
        open(address, &format!("/ws/logs?token={admin}"), &[])
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED)
    );
}
on_both_backends!(the_stream_needs_a_credential_and_delivers_filtered_lines);

#[tokio::test]
async fn a_line_ingested_by_one_replica_reaches_a_socket_on_another_through_redis() {
    let Some((ingesting, streaming)) = TestApp::sqlite_replicas_on_redis().await else {
        return;
    };
    let (admin, agent) = ingesting.admin_and_agent_token().await;
    let host = ingesting.register_host(&agent, "web-01").await;
    // A service name nothing else uses, so lines other test runs publish on the shared Redis
    // pass by.
    let service = format!("replicated-{}", uuid::Uuid::new_v4().simple());
    let address = streaming.listen().await;
    let mut socket = open(
        address,
        &format!("/ws/logs?token={admin}&host_id={host}&service={service}"),
        &[],
    )
    .await
    .unwrap();
    ship(
        &ingesting,
        &agent,
        json!([line(
            host,
            &service,
            Some("WARN"),
            "seen everywhere",
            "2026-11-27T01:31:00Z"
        )]),
    )
    .await;
    let frame = next_json(&mut socket).await;
    assert_eq!(frame["message"], "seen everywhere");
    assert_eq!(frame["host_id"], host);
    ingesting.finish().await;
}
