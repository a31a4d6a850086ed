//! Each channel kind end to end: an admin creates the channel and a `for 0` rule routed to it over
//! REST, an agent reports a breach over HTTP, and a local stand-in for the platform (`platforms`)
//! checks the request exactly as the platform would (credential, signature, timestamp window,
//! body shape) before it answers with the platform's success body. What arrives there is what a
//! person would have been sent; the notification log is read back over REST too.

use std::sync::Arc;
use vigilops_core::alerting::state::RESOLVE_HOLD;

use axum::http::StatusCode;
use chrono::Duration;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::platforms::{self, Inbox};
use crate::support::{TestApp, example_time};

/// What the tests work with after the REST set-up.
struct Setup {
    admin: String,
    agent: String,
    channel_ids: Vec<i64>,
}

/// An admin, an agent token, the given channels and one rule `cpu_percent > 90` (`for 0`)
/// routed to all of them, each made through the REST API.
async fn setup(app: &TestApp, channels: &[(&str, Value)]) -> Setup {
    let (admin, agent) = app.admin_and_agent_token().await;
    let mut channel_ids = Vec::new();
    for (kind, config) in channels {
        let reply = app
            .call(
                "POST",
                "/api/v1/notification-channels",
                Some(&admin),
                Some(json!({"name": format!("ops {kind}"), "type": kind, "config": config})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        assert_eq!(reply.body["type"], *kind);
        channel_ids.push(reply.body["id"].as_i64().unwrap());
    }
    let reply = app
        .call(
            "POST",
            "/api/v1/alert-rules",
            Some(&admin),
            Some(json!({
                "name": "CPU 过高",
                "metric": "cpu_percent",
                "operator": ">",
                "threshold": 90.0,
                "duration_seconds": 0,
                "cooldown_seconds": 300,
                "severity": "critical",
                "notification_channel_ids": channel_ids,
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    Setup {
        admin,
        agent,
        channel_ids,
    }
}

async fn report_cpu(app: &TestApp, agent: &str, host_id: i64, cpu: f64) {
    let reply = app
        .call(
            "POST",
            "/api/v1/agent/metrics",
            Some(agent),
            Some(json!({"host_id": host_id, "cpu_percent": cpu, "memory_percent": 40.0})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

/// Lets the engine and the dispatcher run (the 250 ms group wait elapses on the test's clock),
/// waits until each inbox saw its count of requests, then gives anything more the chance to
/// arrive, so that it is counted too.
async fn settle(app: &TestApp, expected: &[(&Inbox, usize)]) {
    app.state.engine.flush().await;
    app.advance(Duration::milliseconds(300));
    for (inbox, count) in expected {
        inbox.wait_for(*count).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
}

/// A breach on `web-01`, then (15 s later) its recovery, each settled until `inbox` saw it.
/// Returns what the platform accepted, after checking it refused nothing.
async fn breach_then_recovery(app: &TestApp, setup: &Setup, inbox: &Inbox) -> Vec<Value> {
    let host = app.register_host(&setup.agent, "web-01").await;
    report_cpu(app, &setup.agent, host, 97.5).await;
    settle(app, &[(inbox, 1)]).await;
    assert_eq!(inbox.refused(), [], "every request verifies");
    assert_eq!(inbox.accepted().len(), 1, "{:?}", inbox.accepted());

    app.advance(Duration::seconds(15));
    report_cpu(app, &setup.agent, host, 20.0).await;
    // The recovery is told once its resolve hold is over without a re-fire.
    app.state.engine.flush().await;
    app.advance(RESOLVE_HOLD);
    app.state.engine.tick().await;
    settle(app, &[(inbox, 2)]).await;
    assert_eq!(inbox.refused(), [], "every request verifies");
    let accepted = inbox.accepted();
    assert_eq!(accepted.len(), 2, "one message each: {accepted:?}");
    accepted
}

/// `GET /api/v1/notification-logs`, polled until it holds `count` rows of `channel_id` (the log
/// row is written once the delivery ends, just after the platform answered). Oldest first.
async fn logs_of(app: &TestApp, admin: &str, channel_id: i64, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let reply = app
            .call("GET", "/api/v1/notification-logs", Some(admin), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let mut rows: Vec<Value> = reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["channel_id"] == channel_id)
            .cloned()
            .collect();
        if rows.len() >= count || tokio::time::Instant::now() >= deadline {
            rows.reverse();
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The channel's log says: the fired and the resolved message of one alert, both sent, first try.
async fn assert_logged_sent(app: &TestApp, setup: &Setup, response_code: i64) {
    let logs = logs_of(app, &setup.admin, setup.channel_ids[0], 2).await;
    let events: Vec<_> = logs.iter().map(|row| row["event"].clone()).collect();
    assert_eq!(events, [json!("fired"), json!("resolved")], "{logs:?}");
    for row in &logs {
        assert_eq!(row["status"], "sent", "{row:?}");
        assert_eq!(row["response_code"], response_code, "{row:?}");
        assert_eq!(row["retries"], 0, "{row:?}");
        assert_eq!(row["error"], Value::Null, "{row:?}");
    }
    assert!(logs[0]["alert_id"].is_i64());
    assert_eq!(logs[0]["alert_id"], logs[1]["alert_id"], "the same alert");
}

async fn dingtalk_gets_a_signed_markdown_message_for_a_breach_and_its_recovery(app: &TestApp) {
    let (robot, url) = platforms::dingtalk(Arc::clone(&app.clock)).await;
    let setup = setup(
        app,
        &[(
            "dingtalk",
            json!({"webhook_url": url, "secret": platforms::DINGTALK_SECRET}),
        )],
    )
    .await;
    let accepted = breach_then_recovery(app, &setup, &robot).await;

    assert_eq!(accepted[0]["markdown"]["title"], "[告警] CPU 过高 - web-01");
    let text = accepted[0]["markdown"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("## ⚠️ [告警] CPU 过高 - web-01\n\n**标题**: CPU 过高 - web-01\n\n"),
        "{text}"
    );
    assert!(text.contains("**级别**: critical"), "{text}");
    assert!(text.contains("**消息**: cpu_percent = 97.5 > 90"), "{text}");
    assert!(text.contains("**触发时间**: 2026-11-27 01:32:00"), "{text}");
    assert_eq!(
        accepted[1]["markdown"]["title"],
        "[已恢复] CPU 过高 - web-01"
    );
    let text = accepted[1]["markdown"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("## ✅ [已恢复] CPU 过高 - web-01"),
        "{text}"
    );
    assert!(text.contains("**恢复时间**: 2026-11-27 01:32:15"), "{text}");
    assert_logged_sent(app, &setup, 200).await;
}
on_both_backends!(dingtalk_gets_a_signed_markdown_message_for_a_breach_and_its_recovery);

async fn feishu_gets_a_signed_card_red_for_the_breach_and_green_for_the_recovery(app: &TestApp) {
    let (bot, url) = platforms::feishu(Arc::clone(&app.clock)).await;
    let setup = setup(
        app,
        &[(
            "feishu",
            json!({"webhook_url": url, "secret": platforms::FEISHU_SECRET}),
        )],
    )
    .await;
    let accepted = breach_then_recovery(app, &setup, &bot).await;

    let fired = &accepted[0];
    assert_eq!(fired["card"]["header"]["template"], "red");
    assert_eq!(
        fired["card"]["header"]["title"]["content"],
        "⚠️ [告警] CPU 过高 - web-01"
    );
    let content = fired["card"]["elements"][0]["text"]["content"]
        .as_str()
        .unwrap();
    assert!(
        content.contains("**消息**: cpu_percent = 97.5 > 90"),
        "{content}"
    );
    // Signed with the server's clock when sent, in seconds, as a string.
    let breach_at = example_time().timestamp();
    assert_eq!(fired["timestamp"], breach_at.to_string());
    let resolved = &accepted[1];
    assert_eq!(resolved["card"]["header"]["template"], "green");
    assert_eq!(
        resolved["card"]["header"]["title"]["content"],
        "✅ [已恢复] CPU 过高 - web-01"
    );
    // Sent when the 45 s resolve hold after the recovery (at +15 s) ended.
    assert_eq!(
        resolved["timestamp"],
        (breach_at + 15 + RESOLVE_HOLD.num_seconds()).to_string()
    );
    assert_logged_sent(app, &setup, 200).await;
}
on_both_backends!(feishu_gets_a_signed_card_red_for_the_breach_and_green_for_the_recovery);

async fn wecom_gets_markdown_at_the_keyed_url_for_a_breach_and_its_recovery(app: &TestApp) {
    let (robot, url) = platforms::wecom(Arc::clone(&app.clock)).await;
    let setup = setup(app, &[("wecom", json!({"webhook_url": url}))]).await;
    let accepted = breach_then_recovery(app, &setup, &robot).await;

    let content = accepted[0]["markdown"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("## <font color='warning'>⚠️ [告警] CPU 过高 - web-01</font>\n"),
        "{content}"
    );
    assert!(
        content.contains("**消息**: cpu_percent = 97.5 > 90"),
        "{content}"
    );
    let content = accepted[1]["markdown"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("## <font color='info'>✅ [已恢复] CPU 过高 - web-01</font>\n"),
        "{content}"
    );
    assert_logged_sent(app, &setup, 200).await;
}
on_both_backends!(wecom_gets_markdown_at_the_keyed_url_for_a_breach_and_its_recovery);

async fn a_webhook_gets_the_alert_object_with_a_verifiable_hmac_for_a_breach_and_its_recovery(
    app: &TestApp,
) {
    let (endpoint, url) = platforms::webhook(Arc::clone(&app.clock)).await;
    let setup = setup(
        app,
        &[(
            "webhook",
            json!({"url": url, "secret": platforms::WEBHOOK_SECRET}),
        )],
    )
    .await;
    let accepted = breach_then_recovery(app, &setup, &endpoint).await;

    let fired = &accepted[0];
    assert_eq!(fired["status"], "firing");
    assert_eq!(fired["title"], "CPU 过高 - web-01");
    assert_eq!(fired["severity"], "critical");
    assert_eq!(fired["metric_value"], 97.5);
    assert_eq!(fired["threshold"], 90.0);
    assert_eq!(fired["fired_at"], "2026-11-27T01:32:00+00:00");
    assert_eq!(fired["resolved_at"], Value::Null);
    let resolved = &accepted[1];
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["alert_id"], fired["alert_id"]);
    // 15 s after the breach, plus the group wait the test let elapse.
    assert_eq!(resolved["resolved_at"], "2026-11-27T01:32:15.300+00:00");
    assert_logged_sent(app, &setup, 200).await;
    let logs = logs_of(app, &setup.admin, setup.channel_ids[0], 2).await;
    assert_eq!(logs[0]["alert_id"], fired["alert_id"]);
}
on_both_backends!(
    a_webhook_gets_the_alert_object_with_a_verifiable_hmac_for_a_breach_and_its_recovery
);

/// Plain SMTP (`smtp_security: "none"`): the local server offers no TLS, since the channel trusts
/// only the web PKI roots and a test server cannot hold such a certificate. That STARTTLS is
/// mandatory otherwise is pinned by the core channel tests.
async fn email_arrives_over_smtp_after_auth_for_a_breach_and_its_recovery(app: &TestApp) {
    let (mailbox, port) = platforms::smtp().await;
    let setup = setup(
        app,
        &[(
            "email",
            json!({"smtp_host": "127.0.0.1", "smtp_port": port,
                   "smtp_user": platforms::SMTP_USER, "smtp_password": platforms::SMTP_PASSWORD,
                   "smtp_security": "none",
                   "recipients": ["oncall@example.com", "lead@example.com"]}),
        )],
    )
    .await;
    let accepted = breach_then_recovery(app, &setup, &mailbox).await;

    for mail in &accepted {
        assert_eq!(mail["mail_from"], "<alerts@example.com>");
        assert_eq!(
            mail["rcpt_to"],
            json!(["<oncall@example.com>", "<lead@example.com>"])
        );
    }
    let data = accepted[0]["data"].as_str().unwrap();
    let message = MessageParser::default().parse(data.as_bytes()).unwrap();
    assert_eq!(
        message.subject(),
        Some("[VigilOps 告警] critical - CPU 过高 - web-01")
    );
    let from: Vec<_> = message
        .from()
        .unwrap()
        .iter()
        .filter_map(|address| address.address())
        .collect();
    assert_eq!(from, ["alerts@example.com"]);
    let to: Vec<_> = message
        .to()
        .unwrap()
        .iter()
        .filter_map(|address| address.address())
        .collect();
    assert_eq!(to, ["oncall@example.com", "lead@example.com"]);
    let root = message.content_type().unwrap();
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let plain = message.body_text(0).unwrap();
    assert!(
        plain.contains("消息: cpu_percent = 97.5 > 90"),
        "text part: {plain}"
    );
    let html = message.body_html(0).unwrap();
    assert!(html.contains("<h2>[告警] CPU 过高 - web-01</h2>"), "{html}");
    assert!(
        html.contains("cpu_percent = 97.5 &gt; 90"),
        "escaped: {html}"
    );

    let data = accepted[1]["data"].as_str().unwrap();
    let recovery = MessageParser::default().parse(data.as_bytes()).unwrap();
    assert_eq!(
        recovery.subject(),
        Some("[VigilOps 已恢复] critical - CPU 过高 - web-01"),
        "a recovery must not read like an alert in the inbox"
    );
    let html = recovery.body_html(0).unwrap();
    assert!(
        html.contains("<h2>[已恢复] CPU 过高 - web-01</h2>"),
        "{html}"
    );
    assert_logged_sent(app, &setup, 200).await;
}
on_both_backends!(email_arrives_over_smtp_after_auth_for_a_breach_and_its_recovery);

/// Two channels on one rule: a DingTalk robot configured with the wrong secret, which DingTalk
/// answers `310000 sign not match`, and a Feishu bot. The refusal is logged as `failed` with the
/// platform's code and not retried (a bad secret does not get better), and the Feishu bot still
/// gets its message.
async fn a_refused_channel_is_logged_failed_and_does_not_block_the_rules_other_channel(
    app: &TestApp,
) {
    let (robot, robot_url) = platforms::dingtalk(Arc::clone(&app.clock)).await;
    let (bot, bot_url) = platforms::feishu(Arc::clone(&app.clock)).await;
    let setup = setup(
        app,
        &[
            (
                "dingtalk",
                json!({"webhook_url": robot_url, "secret": "SECnot-the-robots-secret"}),
            ),
            (
                "feishu",
                json!({"webhook_url": bot_url, "secret": platforms::FEISHU_SECRET}),
            ),
        ],
    )
    .await;
    let (dingtalk_id, feishu_id) = (setup.channel_ids[0], setup.channel_ids[1]);
    let host = app.register_host(&setup.agent, "web-01").await;
    report_cpu(app, &setup.agent, host, 97.5).await;
    settle(app, &[(&robot, 1), (&bot, 1)]).await;

    assert!(robot.accepted().is_empty(), "nothing reaches the group");
    let refused = robot.refused();
    assert_eq!(refused.len(), 1, "one attempt, not retried: {refused:?}");
    assert_eq!(refused[0].code, 310000);
    assert_eq!(bot.refused(), [], "every Feishu request verifies");
    let delivered = bot.accepted();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(
        delivered[0]["card"]["header"]["title"]["content"],
        "⚠️ [告警] CPU 过高 - web-01"
    );

    let failed = logs_of(app, &setup.admin, dingtalk_id, 1).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["event"], "fired");
    assert_eq!(failed[0]["response_code"], 200, "DingTalk answers 200");
    assert_eq!(failed[0]["retries"], 1, "the one failed attempt");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("rejected by platform: 310000 sign not match"),
        "{error}"
    );
    let sent = logs_of(app, &setup.admin, feishu_id, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["status"], "sent");
    assert_eq!(sent[0]["response_code"], 200);
    assert_eq!(sent[0]["alert_id"], failed[0]["alert_id"], "the same alert");
}
on_both_backends!(a_refused_channel_is_logged_failed_and_does_not_block_the_rules_other_channel);
