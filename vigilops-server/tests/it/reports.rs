//! `/api/v1/reports` through the router on both backends: reports written in the background
//! from data the agent reported (without a model, with a local OpenAI-compatible model, with a
//! model that fails), the roles and errors of the routes, and the schedule (once per period,
//! catching up, the weekly on Monday, stalled generations failed).

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use vigilops_core::model::{NewReport, ReportStatus, ReportType};
use vigilops_core::report::STALLED_MESSAGE;

use crate::on_both_backends;
use crate::support::TestApp;

const SERVICE: &str = "api (:8000)";
const MODEL_REPORT: &str = "# 日报 2026-11-27\n\n## 概览\n模型写的概览。\n\n## 主机\n- web-01\n\n\
    ## 服务\n- api\n\n## 告警\n无\n\n## 日志\n- api 2 条\n\n## 数据库\n- orders\n\n## 建议\n- 关注 api\n\n\
    【摘要】api 可用率 75%，需关注；其余正常。";

/// A local OpenAI-compatible chat-completions server answering every request with `status`
/// and `reply` as the message (or as the error body when `status` is not 200).
#[derive(Clone)]
struct LocalModel {
    requests: Arc<Mutex<Vec<Value>>>,
    url: String,
}

impl LocalModel {
    async fn start(status: StatusCode, reply: &'static str) -> Self {
        let requests: Arc<Mutex<Vec<Value>>> = Arc::default();
        let kept = Arc::clone(&requests);
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            post(move |Json(body): Json<Value>| {
                let kept = Arc::clone(&kept);
                async move {
                    kept.lock().unwrap().push(body);
                    if status != StatusCode::OK {
                        return (status, Json(json!({"error": {"message": reply}})))
                            .into_response();
                    }
                    Json(json!({
                        "id": "chatcmpl-report",
                        "object": "chat.completion",
                        "model": "deepseek-chat",
                        "choices": [{"index": 0, "finish_reason": "stop",
                            "message": {"role": "assistant", "content": reply}}],
                        "usage": {"prompt_tokens": 900, "completion_tokens": 200, "total_tokens": 1100}
                    }))
                    .into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { requests, url }
    }

    fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

async fn ok(app: &TestApp, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
    let reply = app.call(method, path, Some(token), body).await;
    assert!(
        reply.status.is_success(),
        "{method} {path}: {} {:?}",
        reply.status,
        reply.body
    );
    reply.body
}

/// A user with `role`, and its access token.
struct Fleet {
    admin: String,
}

/// Through the agent protocol, at 09:32 local time (UTC+8) on 2026-11-27: host `web-01` with
/// CPU 30 % then 70 % (memory 41 %, disk 52 %), service `api (:8000)` up 3 times then down,
/// 2 ERROR lines of `api` and 1 CRITICAL of `db` (and a WARN, not counted), database `orders`.
async fn fleet(app: &TestApp) -> Fleet {
    let (admin, agent) = app.admin_and_agent_token().await;
    let host = app.register_host(&agent, "web-01").await;
    for cpu in [30.0, 70.0] {
        ok(
            app,
            "POST",
            "/api/v1/agent/metrics",
            &agent,
            Some(json!({"host_id": host, "cpu_percent": cpu, "memory_percent": 41.0, "disk_percent": 52.0})),
        )
        .await;
        app.advance(Duration::minutes(1));
    }
    let service = ok(
        app,
        "POST",
        "/api/v1/agent/services/register",
        &agent,
        Some(json!({"host_id": host, "name": SERVICE, "type": "tcp", "target": "localhost:8000"})),
    )
    .await["service_id"]
        .as_i64()
        .unwrap();
    for status in ["up", "up", "up", "down"] {
        ok(
            app,
            "POST",
            "/api/v1/agent/services",
            &agent,
            Some(json!({"service_id": service, "status": status, "response_time_ms": 1.0})),
        )
        .await;
        app.advance(Duration::seconds(30));
    }
    let now = app.clock_now().to_rfc3339();
    let logs: Vec<Value> = [
        ("api", "ERROR"),
        ("api", "ERROR"),
        ("db", "CRITICAL"),
        ("api", "WARN"),
    ]
    .iter()
    .map(|(service, level)| {
        json!({"host_id": host, "service": service, "level": level,
               "message": "connection refused", "timestamp": now})
    })
    .collect();
    ok(
        app,
        "POST",
        "/api/v1/agent/logs",
        &agent,
        Some(json!({"logs": logs})),
    )
    .await;
    ok(
        app,
        "POST",
        "/api/v1/agent/db-metrics",
        &agent,
        Some(
            json!({"host_id": host, "db_name": "orders", "db_type": "postgres",
                    "connections_total": 12}),
        ),
    )
    .await;
    Fleet { admin }
}

/// Polls a report until it is no longer `generating` (it is written on a task of its own).
async fn finished(app: &TestApp, token: &str, id: i64) -> Value {
    for _ in 0..400 {
        let report = ok(app, "GET", &format!("/api/v1/reports/{id}"), token, None).await;
        if report["status"] != "generating" {
            return report;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("report {id} was never finished");
}

/// Generates the daily report of 2026-11-27 (local) and returns the row as answered.
async fn generate_today(app: &TestApp, token: &str) -> Value {
    let created = ok(
        app,
        "POST",
        "/api/v1/reports/generate",
        token,
        Some(json!({"report_type": "daily", "period_start": "2026-11-27", "period_end": "2026-11-28"})),
    )
    .await;
    // The answer comes before the report is written.
    assert_eq!(created["status"], "generating", "{created:#}");
    assert_eq!(created["content"], Value::Null);
    assert_eq!(created["title"], "日报 2026-11-27");
    assert_eq!(created["period_start"], "2026-11-26T16:00:00Z");
    assert_eq!(created["period_end"], "2026-11-27T16:00:00Z");
    created
}

/// The figures of [`fleet`] as the data sections show them.
fn assert_data_sections(content: &str) {
    for needle in [
        "## 概览",
        "## 主机",
        "## 服务",
        "## 告警",
        "## 日志",
        "## 数据库",
        "## 建议",
        "- 主机 1 台：在线 1，离线 0",
        "| CPU | 50.0% | 70.0% |",
        "| 内存 | 41.0% | 41.0% |",
        "| 磁盘 | 52.0% | 52.0% |",
        "区间内主机指标（2 个采样）",
        &format!("| {SERVICE} | web-01 | down | 75.0% | 4 |"),
        "按当前状态：down 1",
        "区间内没有告警。",
        "区间内 ERROR/CRITICAL 日志共 3 条。",
        "| api | 2 |",
        "| db | 1 |",
        "| orders | postgres |",
        "服务 api (:8000) 当前不可用",
        "【摘要】",
    ] {
        assert!(
            content.contains(needle),
            "missing {needle:?} in:\n{content}"
        );
    }
}

async fn without_a_model_the_report_is_written_from_the_data(app: &TestApp) {
    let fleet = fleet(app).await;
    let me = ok(app, "GET", "/api/v1/auth/me", &fleet.admin, None).await;
    let created = generate_today(app, &fleet.admin).await;
    let report = finished(app, &fleet.admin, created["id"].as_i64().unwrap()).await;
    assert_eq!(report["status"], "completed", "{report:#}");
    assert_eq!(report["generated_by"], me["id"]);
    assert_eq!(report["report_type"], "daily");
    let content = report["content"].as_str().unwrap();
    assert!(content.starts_with("# 日报 2026-11-27"), "{content}");
    assert!(content.contains("未配置 AI 模型"), "{content}");
    assert_data_sections(content);
    let summary = report["summary"].as_str().unwrap();
    assert!(summary.chars().count() <= 100, "{summary}");
    assert!(
        summary.starts_with("主机1台（离线0），服务1个（异常1），告警0条"),
        "{summary}"
    );
    assert!(
        content.ends_with(&format!("【摘要】{summary}\n")),
        "{content}"
    );

    // Without a period: yesterday, or the 7 days before today, in UTC+8.
    let daily = ok(
        app,
        "POST",
        "/api/v1/reports/generate",
        &fleet.admin,
        Some(json!({})),
    )
    .await;
    assert_eq!(daily["title"], "日报 2026-11-26");
    let weekly = ok(
        app,
        "POST",
        "/api/v1/reports/generate",
        &fleet.admin,
        Some(json!({"report_type": "weekly"})),
    )
    .await;
    assert_eq!(weekly["title"], "周报 2026-11-20~2026-11-26");
    assert_eq!(weekly["period_end"], "2026-11-26T16:00:00Z");
    let weekly = finished(app, &fleet.admin, weekly["id"].as_i64().unwrap()).await;
    assert!(
        weekly["content"]
            .as_str()
            .unwrap()
            .contains("区间内主机指标（0 个采样）"),
        "the fleet's data is after the week: {weekly:#}"
    );
    finished(app, &fleet.admin, daily["id"].as_i64().unwrap()).await;

    // Listed newest first, filtered by type, paged.
    let list = ok(app, "GET", "/api/v1/reports", &fleet.admin, None).await;
    assert_eq!(list["total"], 3);
    assert_eq!(list["items"][0]["title"], "周报 2026-11-20~2026-11-26");
    let daily_only = ok(
        app,
        "GET",
        "/api/v1/reports?report_type=daily&page=2&page_size=1",
        &fleet.admin,
        None,
    )
    .await;
    assert_eq!(
        (daily_only["total"].as_i64(), daily_only["page"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(daily_only["items"][0]["title"], "日报 2026-11-27");

    let audit = ok(
        app,
        "GET",
        "/api/v1/audit-logs?action=generate_report",
        &fleet.admin,
        None,
    )
    .await;
    assert_eq!(audit["total"], 3);
    assert_eq!(audit["items"][0]["resource_type"], "report");
}
on_both_backends!(without_a_model_the_report_is_written_from_the_data);

async fn roles_and_errors(app: &TestApp) {
    let (admin, _agent) = app.admin_and_agent_token().await;
    let viewer = app.user_with_role(&admin, "viewer").await;
    let operator = app.user_with_role(&admin, "operator").await;

    let refused = app
        .call(
            "POST",
            "/api/v1/reports/generate",
            Some(&viewer),
            Some(json!({"report_type": "daily"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    let unauthenticated = app.call("GET", "/api/v1/reports", None, None).await;
    assert_eq!(unauthenticated.status, StatusCode::FORBIDDEN);

    let created = ok(
        app,
        "POST",
        "/api/v1/reports/generate",
        &operator,
        Some(json!({"report_type": "daily"})),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    // A viewer reads.
    let report = finished(app, &viewer, id).await;
    assert_eq!(report["status"], "completed");
    assert_eq!(
        ok(app, "GET", "/api/v1/reports", &viewer, None).await["total"],
        1
    );

    let refused = app
        .call(
            "DELETE",
            &format!("/api/v1/reports/{id}"),
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    ok(
        app,
        "DELETE",
        &format!("/api/v1/reports/{id}"),
        &admin,
        None,
    )
    .await;
    for method in ["GET", "DELETE"] {
        let gone = app
            .call(method, &format!("/api/v1/reports/{id}"), Some(&admin), None)
            .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(gone.body["detail"], "Report not found");
    }
    let audit = ok(
        app,
        "GET",
        "/api/v1/audit-logs?action=delete_report",
        &admin,
        None,
    )
    .await;
    assert_eq!(audit["total"], 1);
    assert_eq!(audit["items"][0]["resource_id"], id.to_string().as_str());

    for (body, field) in [
        (json!({"report_type": "monthly"}), "report_type"),
        (
            json!({"period_start": "2026-11-27", "period_end": "2026-11-27"}),
            "period_end",
        ),
        (
            json!({"period_start": "2026-11-28T00:00:00Z", "period_end": "2026-11-27T00:00:00Z"}),
            "period_end",
        ),
        (json!({"period_start": "2026-11-27"}), "period_end"),
        (
            json!({"period_start": "yesterday", "period_end": "2026-11-27"}),
            "period_start",
        ),
    ] {
        let reply = app
            .call(
                "POST",
                "/api/v1/reports/generate",
                Some(&operator),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            reply.body["detail"][0]["loc"],
            json!(["body", field]),
            "{body}"
        );
    }
    let bad_filter = app
        .call(
            "GET",
            "/api/v1/reports?report_type=monthly",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(bad_filter.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad_filter.body["detail"][0]["loc"],
        json!(["query", "report_type"])
    );
    let bad_page = app
        .call("GET", "/api/v1/reports?page_size=101", Some(&viewer), None)
        .await;
    assert_eq!(bad_page.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing was created by the refused requests.
    assert_eq!(
        ok(app, "GET", "/api/v1/reports", &viewer, None).await["total"],
        0
    );
}
on_both_backends!(roles_and_errors);

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

async fn titles(app: &TestApp, token: &str) -> Vec<String> {
    let list = ok(app, "GET", "/api/v1/reports?page_size=100", token, None).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|report| {
            assert_eq!(report["generated_by"], Value::Null, "{report}");
            assert_eq!(report["status"], "completed", "{report}");
            report["title"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// A fresh access token of the admin (the test moves the clock by days).
async fn admin_token(app: &TestApp) -> String {
    let login = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "admin@example.com", "password": "correct-horse"})),
        )
        .await;
    login.body["access_token"].as_str().unwrap().to_owned()
}

async fn the_schedule_writes_each_report_once(app: &TestApp) {
    // Friday 2026-11-27 01:30 in UTC+8: yesterday's report is not due before 02:00, so the
    // catch-up writes the day before's, and the weekly of the week before last.
    let schedule = || app.state.reports.run_schedule();
    // A fresh install has no past to report on: nothing is written, no model is asked.
    app.clock.set(utc(2026, 11, 1, 0, 0));
    let (_, agent) = app.admin_and_agent_token().await;
    app.clock.set(utc(2026, 11, 26, 17, 30));
    assert!(schedule().await.unwrap().is_empty(), "no host yet");
    // A host monitored since the 1st: the periods since then are reported.
    app.clock.set(utc(2026, 11, 1, 0, 0));
    app.register_host(&agent, "web-01").await;
    app.clock.set(utc(2026, 11, 26, 17, 30));
    let written = schedule().await.unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(
        titles(app, &admin_token(app).await).await,
        ["周报 2026-11-16~2026-11-22", "日报 2026-11-25"]
    );
    assert!(schedule().await.unwrap().is_empty(), "idempotent");

    // 02:00: yesterday's, once, even when two schedulers run at once.
    app.advance(Duration::minutes(30));
    let (first, second) = tokio::join!(schedule(), schedule());
    assert_eq!(first.unwrap().len() + second.unwrap().len(), 1);
    assert!(schedule().await.unwrap().is_empty());
    app.advance(Duration::hours(5));
    assert!(schedule().await.unwrap().is_empty(), "still once, later");
    let list = ok(
        app,
        "GET",
        "/api/v1/reports?report_type=daily",
        &admin_token(app).await,
        None,
    )
    .await;
    assert_eq!(list["total"], 2);
    let yesterday = &list["items"][0];
    assert_eq!(yesterday["title"], "日报 2026-11-26");
    assert_eq!(yesterday["period_start"], "2026-11-25T16:00:00Z");
    assert_eq!(yesterday["period_end"], "2026-11-26T16:00:00Z");

    // A scheduled report deleted by hand is not written again.
    let id = yesterday["id"].as_i64().unwrap();
    ok(
        app,
        "DELETE",
        &format!("/api/v1/reports/{id}"),
        &admin_token(app).await,
        None,
    )
    .await;
    assert!(schedule().await.unwrap().is_empty());

    // Monday 2026-11-30 02:59: Sunday's daily; the weekly waits for 03:00.
    app.clock.set(utc(2026, 11, 29, 18, 59));
    let written = schedule().await.unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].title, "日报 2026-11-29");
    app.advance(Duration::minutes(1));
    let written = schedule().await.unwrap();
    assert_eq!(written.len(), 1);
    let weekly = &written[0];
    assert_eq!(weekly.title, "周报 2026-11-23~2026-11-29");
    assert_eq!(
        (weekly.period_start, weekly.period_end),
        (utc(2026, 11, 22, 16, 0), utc(2026, 11, 29, 16, 0))
    );
    assert_eq!(weekly.status, ReportStatus::Completed);
    assert!(schedule().await.unwrap().is_empty());
    assert_eq!(
        titles(app, &admin_token(app).await).await,
        [
            "周报 2026-11-23~2026-11-29",
            "日报 2026-11-29",
            "周报 2026-11-16~2026-11-22",
            "日报 2026-11-25"
        ]
    );

    // A report left generating by a replica that died is failed after 30 minutes.
    let now = app.clock_now();
    let stalled = app
        .state
        .store
        .create_report(NewReport {
            title: "日报 2026-11-01".to_owned(),
            report_type: ReportType::Daily,
            period_start: utc(2026, 10, 31, 16, 0),
            period_end: utc(2026, 11, 1, 16, 0),
            generated_by: None,
            scheduled: false,
            created_at: now - Duration::minutes(31),
        })
        .await
        .unwrap();
    schedule().await.unwrap();
    let failed = ok(
        app,
        "GET",
        &format!("/api/v1/reports/{}", stalled.id),
        &admin_token(app).await,
        None,
    )
    .await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["content"], STALLED_MESSAGE);
    assert_eq!(
        failed["summary"].as_str().map(|s| s.chars().count() <= 100),
        Some(true)
    );
}
on_both_backends!(the_schedule_writes_each_report_once);

/// With a model: its Markdown is stored as the content and the text after 【摘要】 as the
/// summary; the model was given the period's figures as a data block.
async fn with_a_model(app: &TestApp, model: &LocalModel) {
    let fleet = fleet(app).await;
    let created = generate_today(app, &fleet.admin).await;
    let report = finished(app, &fleet.admin, created["id"].as_i64().unwrap()).await;
    assert_eq!(report["status"], "completed", "{report:#}");
    assert_eq!(report["content"], MODEL_REPORT);
    assert_eq!(report["summary"], "api 可用率 75%，需关注；其余正常。");
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    let system = requests[0]["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("【摘要】") && system.contains("## 建议"),
        "{system}"
    );
    let prompt = requests[0]["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("BEGIN DATA-"), "{prompt}");
    assert!(prompt.contains("| CPU | 50.0% | 70.0% |"), "{prompt}");
    assert!(
        prompt.contains(&format!("| {SERVICE} | web-01 | down | 75.0% | 4 |")),
        "{prompt}"
    );
}

#[tokio::test]
async fn with_a_model_its_report_and_summary_are_stored_sqlite() {
    let model = LocalModel::start(StatusCode::OK, MODEL_REPORT).await;
    let app = TestApp::sqlite(&[("AI_API_KEY", "sk-test"), ("AI_API_BASE", &model.url)]).await;
    with_a_model(&app, &model).await;
    app.finish().await;
}

#[tokio::test]
async fn with_a_model_its_report_and_summary_are_stored_postgres() {
    let model = LocalModel::start(StatusCode::OK, MODEL_REPORT).await;
    let Some(app) =
        TestApp::postgres(&[("AI_API_KEY", "sk-test"), ("AI_API_BASE", &model.url)]).await
    else {
        return;
    };
    with_a_model(&app, &model).await;
    app.finish().await;
}

/// A model that refuses the request: the report is still completed, from the data, and says
/// that the model failed and why.
#[tokio::test]
async fn a_failing_model_still_gives_a_report_from_the_data() {
    let model = LocalModel::start(StatusCode::BAD_REQUEST, "model overloaded: try later").await;
    let app = TestApp::sqlite(&[("AI_API_KEY", "sk-test"), ("AI_API_BASE", &model.url)]).await;
    let fleet = fleet(&app).await;
    let created = generate_today(&app, &fleet.admin).await;
    let report = finished(&app, &fleet.admin, created["id"].as_i64().unwrap()).await;
    assert_eq!(report["status"], "completed", "{report:#}");
    let content = report["content"].as_str().unwrap();
    assert!(content.contains("AI 模型生成失败"), "{content}");
    assert!(content.contains("400"), "the error is named: {content}");
    assert_data_sections(content);
    assert_eq!(model.requests().len(), 1, "a 400 is not retried");
    app.finish().await;
}
