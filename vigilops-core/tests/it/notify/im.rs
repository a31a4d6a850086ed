//! DingTalk, Feishu, WeCom and the generic webhook against local receivers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration as ChronoDuration;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use vigilops_core::clock::ManualClock;
use vigilops_core::notify::{
    ChannelConfig, DeliveryStatus, NotificationKind, Outcome, build_channel,
};
use vigilops_core::{Clock, SystemClock};

use super::{Seen, alert, quick_sender, serve, system_clock};

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// How a receiver behaves beyond checking requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    /// The first `n` requests get the platform's rate-limit answer.
    RateLimitFirst(usize),
    /// The first `n` requests get HTTP 503.
    UnavailableFirst(usize),
    /// Never answers.
    Hang,
}

#[derive(Clone)]
struct Receiver {
    token: &'static str,
    secret: &'static str,
    mode: Mode,
    seen: Arc<Seen>,
}

impl Receiver {
    fn new(token: &'static str, secret: &'static str, mode: Mode) -> Self {
        Self {
            token,
            secret,
            mode,
            seen: Arc::new(Seen::default()),
        }
    }

    /// Counts the hit; `Some` when the mode decides the answer instead of the checks.
    async fn mode_answer(&self, rate_limited: Value) -> Option<(StatusCode, Json<Value>)> {
        let hit = self.seen.hits.fetch_add(1, Ordering::SeqCst);
        match self.mode {
            Mode::Normal => None,
            Mode::RateLimitFirst(n) if hit < n => Some((StatusCode::OK, Json(rate_limited))),
            Mode::UnavailableFirst(n) if hit < n => Some((
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"message": "upstream unavailable"})),
            )),
            Mode::Hang => std::future::pending().await,
            _ => None,
        }
    }
}

fn now_ms() -> i64 {
    SystemClock.now().timestamp_millis()
}

/// DingTalk's robot API: `POST /robot/send?access_token=…[&timestamp=…&sign=…]`.
async fn dingtalk(
    State(receiver): State<Receiver>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let error = |code: i64, message: &str| {
        (
            StatusCode::OK,
            Json(json!({"errcode": code, "errmsg": message})),
        )
    };
    if let Some(answer) = receiver
        .mode_answer(
            json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
        )
        .await
    {
        return answer;
    }
    if query.get("access_token").map(String::as_str) != Some(receiver.token) {
        return error(300001, "token is not exist");
    }
    let (Some(timestamp), Some(sign)) = (query.get("timestamp"), query.get("sign")) else {
        return error(
            310000,
            "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
        );
    };
    let Ok(timestamp_ms) = timestamp.parse::<i64>() else {
        return error(310000, "invalid timestamp");
    };
    if (now_ms() - timestamp_ms).abs() > 3_600_000 {
        return error(310000, "invalid timestamp");
    }
    let expected = STANDARD.encode(hmac_sha256(
        receiver.secret.as_bytes(),
        format!("{timestamp}\n{}", receiver.secret).as_bytes(),
    ));
    if *sign != expected {
        return error(
            310000,
            "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
        );
    }
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return error(43004, "无效的HTTP HEADER Content-Type");
    };
    let markdown_ok = json["msgtype"] == "markdown"
        && json["markdown"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
        && json["markdown"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty());
    if !markdown_ok {
        return error(40035, "缺少参数 markdown");
    }
    receiver.seen.accepted.lock().await.push(json);
    error(0, "ok")
}

async fn dingtalk_receiver(mode: Mode) -> (String, Receiver) {
    let receiver = Receiver::new("robot-token", "SECreal-secret", mode);
    let base = serve(
        axum::Router::new()
            .route("/robot/send", post(dingtalk))
            .with_state(receiver.clone()),
    )
    .await;
    (base, receiver)
}

fn dingtalk_config(base: &str, secret: &str) -> ChannelConfig {
    ChannelConfig::from_parts(
        "dingtalk",
        json!({"webhook_url": format!("{base}/robot/send?access_token=robot-token"), "secret": secret}),
    )
    .unwrap()
}

#[tokio::test]
async fn dingtalk_accepts_a_signed_markdown_message() {
    let (base, receiver) = dingtalk_receiver(Mode::Normal).await;
    let channel = build_channel(
        &dingtalk_config(&base, "SECreal-secret"),
        &reqwest::Client::new(),
        system_clock(),
    )
    .unwrap();
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");
    assert_eq!(record.response_code(), Some(200));
    assert_eq!(record.retries(), 0);
    let accepted = receiver.seen.accepted.lock().await;
    assert_eq!(
        accepted[0]["markdown"]["title"],
        "[告警] CPU 使用率过高 - web-01"
    );
    assert_eq!(
        accepted[0]["markdown"]["text"],
        "## ⚠️ [告警] CPU 使用率过高 - web-01\n\ncpu_percent = 97.5 > 90.0\n\n**主机**: web-01\n\n\
         [查看告警](https://vigilops.example/alerts/42)"
    );
}

#[tokio::test]
async fn dingtalk_refuses_a_wrong_secret_and_it_is_not_retried() {
    let (base, receiver) = dingtalk_receiver(Mode::Normal).await;
    let channel = build_channel(
        &dingtalk_config(&base, "SECwrong"),
        &reqwest::Client::new(),
        system_clock(),
    )
    .unwrap();
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.status(), DeliveryStatus::Failed);
    assert!(matches!(
        record.outcome(),
        Some(Outcome::Rejected { platform_code: Some(310000), message, .. }) if message.starts_with("sign not match")
    ));
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(receiver.seen.hits(), 1, "a rejection must not be retried");
    assert!(receiver.seen.accepted.lock().await.is_empty());
}

#[tokio::test]
async fn dingtalk_refuses_a_timestamp_more_than_an_hour_off() {
    let (base, receiver) = dingtalk_receiver(Mode::Normal).await;
    // The right secret, but our clock is two hours slow: the signature is valid for a stale time.
    let slow = Arc::new(ManualClock::new(
        SystemClock.now() - ChronoDuration::hours(2),
    ));
    let channel = build_channel(
        &dingtalk_config(&base, "SECreal-secret"),
        &reqwest::Client::new(),
        slow.clone(),
    )
    .unwrap();
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert!(matches!(
        record.outcome(),
        Some(Outcome::Rejected { platform_code: Some(310000), message, .. }) if message == "invalid timestamp"
    ));
    // Within the window it goes through.
    slow.advance(ChronoDuration::minutes(70));
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");
    assert_eq!(receiver.seen.hits(), 2);
}

#[tokio::test]
async fn dingtalk_rate_limit_is_retried_after_a_backoff() {
    let (base, receiver) = dingtalk_receiver(Mode::RateLimitFirst(1)).await;
    let channel = build_channel(
        &dingtalk_config(&base, "SECreal-secret"),
        &reqwest::Client::new(),
        system_clock(),
    )
    .unwrap();
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");
    assert!(matches!(
        record.attempts[0].outcome,
        Outcome::RateLimited {
            platform_code: Some(130101),
            ..
        }
    ));
    assert!(record.attempts[0].next_delay.is_some());
    assert_eq!(record.retries(), 1);
    assert_eq!(receiver.seen.hits(), 2);
}

/// Feishu's bot API: `POST /open-apis/bot/v2/hook/{token}` with `timestamp` and `sign` in the body.
async fn feishu(
    State(receiver): State<Receiver>,
    Path(token): Path<String>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let error = |code: i64, message: &str| {
        (
            StatusCode::OK,
            Json(json!({"code": code, "data": {}, "msg": message})),
        )
    };
    if let Some(answer) = receiver
        .mode_answer(json!({"code": 11232, "data": {}, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}))
        .await
    {
        return answer;
    }
    if token != receiver.token {
        return error(
            19001,
            "param invalid: incoming webhook access token invalid",
        );
    }
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return error(9499, "Bad Request");
    };
    let sign_fail = "sign match fail or timestamp is not within one hour from current time";
    let (Some(timestamp), Some(sign)) = (json["timestamp"].as_str(), json["sign"].as_str()) else {
        return error(19021, sign_fail);
    };
    let Ok(timestamp_s) = timestamp.parse::<i64>() else {
        return error(19021, sign_fail);
    };
    if (now_ms() / 1000 - timestamp_s).abs() > 3600 {
        return error(19021, sign_fail);
    }
    let expected = STANDARD.encode(hmac_sha256(
        format!("{timestamp}\n{}", receiver.secret).as_bytes(),
        b"",
    ));
    if sign != expected {
        return error(19021, sign_fail);
    }
    let card_ok = json["msg_type"] == "interactive"
        && json["card"]["header"]["title"]["content"].is_string()
        && json["card"]["elements"][0]["text"]["tag"] == "lark_md";
    if !card_ok {
        return error(19002, "params error, msg_type need");
    }
    receiver.seen.accepted.lock().await.push(json);
    (
        StatusCode::OK,
        Json(
            json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}),
        ),
    )
}

async fn feishu_receiver() -> (String, Receiver) {
    let receiver = Receiver::new("hook-token", "feishu-real-secret", Mode::Normal);
    let base = serve(
        axum::Router::new()
            .route("/open-apis/bot/v2/hook/{token}", post(feishu))
            .with_state(receiver.clone()),
    )
    .await;
    (base, receiver)
}

fn feishu_channel(base: &str, secret: &str) -> Arc<dyn vigilops_core::notify::Channel> {
    let config = ChannelConfig::from_parts(
        "feishu",
        json!({"webhook_url": format!("{base}/open-apis/bot/v2/hook/hook-token"), "secret": secret}),
    )
    .unwrap();
    build_channel(&config, &reqwest::Client::new(), system_clock()).unwrap()
}

#[tokio::test]
async fn feishu_accepts_a_signed_card_and_shows_recoveries_in_green() {
    let (base, receiver) = feishu_receiver().await;
    let channel = feishu_channel(&base, "feishu-real-secret");
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");
    let mut resolved = alert();
    resolved.kind = NotificationKind::Resolved;
    let record = quick_sender().deliver(channel.as_ref(), &resolved).await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");

    let accepted = receiver.seen.accepted.lock().await;
    assert_eq!(accepted[0]["card"]["header"]["template"], "red");
    assert_eq!(
        accepted[0]["card"]["header"]["title"]["content"],
        "⚠️ [告警] CPU 使用率过高 - web-01"
    );
    assert_eq!(accepted[1]["card"]["header"]["template"], "green");
    assert_eq!(
        accepted[1]["card"]["header"]["title"]["content"],
        "✅ [已恢复] CPU 使用率过高 - web-01"
    );
}

#[tokio::test]
async fn feishu_refuses_a_wrong_secret_with_19021_and_it_is_not_retried() {
    let (base, receiver) = feishu_receiver().await;
    let channel = feishu_channel(&base, "not-the-secret");
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert!(matches!(
        record.outcome(),
        Some(Outcome::Rejected {
            platform_code: Some(19021),
            response_code: Some(200),
            ..
        })
    ));
    assert_eq!(
        record.error().as_deref(),
        Some(
            "rejected by platform: 19021 sign match fail or timestamp is not within one hour from current time"
        )
    );
    assert_eq!(receiver.seen.hits(), 1);
}

/// WeCom's robot API: `POST /cgi-bin/webhook/send?key=…`.
async fn wecom(
    State(receiver): State<Receiver>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let error = |code: i64, message: &str| {
        (
            StatusCode::OK,
            Json(json!({"errcode": code, "errmsg": message})),
        )
    };
    if let Some(answer) = receiver
        .mode_answer(json!({"errcode": 45009, "errmsg": "api freq out of limit"}))
        .await
    {
        return answer;
    }
    if query.get("key").map(String::as_str) != Some(receiver.token) {
        return error(
            93000,
            "invalid webhook url, hint: [1700000000_1_abc], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
        );
    }
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return error(40016, "invalid button size");
    };
    let Some(content) = json["markdown"]["content"].as_str() else {
        return error(41001, "missing content");
    };
    if json["msgtype"] != "markdown" {
        return error(40008, "invalid message type");
    }
    if content.len() > 4096 {
        return error(40058, "markdown.content exceed max length 4096");
    }
    receiver.seen.accepted.lock().await.push(json);
    error(0, "ok")
}

#[tokio::test]
async fn wecom_accepts_markdown_within_4096_bytes_and_refuses_a_bad_key_with_93000() {
    let receiver = Receiver::new("wecom-key", "", Mode::Normal);
    let base = serve(
        axum::Router::new()
            .route("/cgi-bin/webhook/send", post(wecom))
            .with_state(receiver.clone()),
    )
    .await;
    let channel = |key: &str| {
        let config = ChannelConfig::from_parts(
            "wecom",
            json!({"webhook_url": format!("{base}/cgi-bin/webhook/send?key={key}")}),
        )
        .unwrap();
        build_channel(&config, &reqwest::Client::new(), system_clock()).unwrap()
    };
    let mut long = alert();
    long.markdown = "磁盘使用率过高 ".repeat(600); // ≈ 13 KB
    let record = quick_sender()
        .deliver(channel("wecom-key").as_ref(), &long)
        .await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");
    let content = receiver.seen.accepted.lock().await[0]["markdown"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        content.starts_with("## <font color='warning'>⚠️ [告警] CPU 使用率过高 - web-01</font>\n")
    );

    let record = quick_sender()
        .deliver(channel("stolen-key").as_ref(), &alert())
        .await;
    assert!(matches!(
        record.outcome(),
        Some(Outcome::Rejected {
            platform_code: Some(93000),
            ..
        })
    ));
    assert_eq!(receiver.seen.hits(), 2);
}

/// A webhook receiver that verifies `X-VigilOps-Signature` over `"{timestamp}.{raw body}"`, as
/// a user would.
async fn webhook(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    if let Some(answer) = receiver.mode_answer(json!({})).await {
        return answer;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = [
        header("x-vigilops-timestamp").unwrap_or("").as_bytes(),
        b".",
        &body,
    ]
    .concat();
    let expected = format!(
        "sha256={}",
        hex::encode(hmac_sha256(receiver.secret.as_bytes(), &signed))
    );
    if header("x-vigilops-signature") != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "bad signature"})),
        );
    }
    let fresh = header("x-vigilops-timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .is_some_and(|t| (now_ms() / 1000 - t).abs() <= 300);
    if !fresh {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "stale"})));
    }
    if header("authorization") != Some("Bearer t0k")
        || header("content-type") != Some("application/json; charset=utf-8")
    {
        return (StatusCode::FORBIDDEN, Json(json!({"error": "headers"})));
    }
    receiver
        .seen
        .accepted
        .lock()
        .await
        .push(serde_json::from_slice(&body).unwrap());
    (StatusCode::NO_CONTENT, Json(json!(null)))
}

async fn webhook_channel(
    mode: Mode,
    secret: &str,
) -> (Arc<dyn vigilops_core::notify::Channel>, Receiver) {
    let receiver = Receiver::new("", "hook-secret", mode);
    let base = serve(
        axum::Router::new()
            .route("/hook", post(webhook))
            .with_state(receiver.clone()),
    )
    .await;
    let config = ChannelConfig::from_parts(
        "webhook",
        json!({"url": format!("{base}/hook"), "headers": {"Authorization": "Bearer t0k"}, "secret": secret}),
    )
    .unwrap();
    let channel = build_channel(&config, &reqwest::Client::new(), system_clock()).unwrap();
    (channel, receiver)
}

#[tokio::test]
async fn webhook_sends_the_alert_object_with_a_verifiable_signature() {
    let (channel, receiver) = webhook_channel(Mode::Normal, "hook-secret").await;
    let mut message = alert();
    message.webhook_payload =
        Some(json!({"alert_id": 42, "status": "firing", "metric_value": 97.5}));
    let record = quick_sender().deliver(channel.as_ref(), &message).await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");
    assert_eq!(record.response_code(), Some(204));
    assert_eq!(
        receiver.seen.accepted.lock().await[0],
        json!({"alert_id": 42, "status": "firing", "metric_value": 97.5})
    );

    let (wrong, receiver) = webhook_channel(Mode::Normal, "other-secret").await;
    let record = quick_sender().deliver(wrong.as_ref(), &alert()).await;
    assert!(matches!(
        record.outcome(),
        Some(Outcome::Rejected {
            response_code: Some(401),
            platform_code: None,
            ..
        })
    ));
    assert_eq!(receiver.seen.hits(), 1, "a 401 must not be retried");
}

#[tokio::test]
async fn webhook_5xx_is_retried_with_backoff_until_delivered() {
    let (channel, receiver) = webhook_channel(Mode::UnavailableFirst(2), "hook-secret").await;
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");
    assert_eq!(record.retries(), 2);
    assert_eq!(receiver.seen.hits(), 3);
    let first = record.attempts[0].next_delay.unwrap();
    let second = record.attempts[1].next_delay.unwrap();
    assert!(second > first, "backoff grows: {first:?} then {second:?}");
    assert_eq!(
        receiver.seen.accepted.lock().await[0]["text"],
        "cpu_percent = 97.5 > 90.0\n主机: web-01\n查看告警: https://vigilops.example/alerts/42"
    );
}

#[tokio::test]
async fn a_hanging_channel_times_out_without_holding_up_the_others() {
    let (hanging, hang_receiver) = webhook_channel(Mode::Hang, "hook-secret").await;
    let (healthy, healthy_receiver) = dingtalk_receiver(Mode::Normal).await;
    let healthy = build_channel(
        &dingtalk_config(&healthy, "SECreal-secret"),
        &reqwest::Client::new(),
        system_clock(),
    )
    .unwrap();
    let sender = quick_sender();
    let message = Arc::new(alert());
    let hang_task = sender.spawn(hanging, message.clone());
    let healthy_record = sender.spawn(healthy, message).await.unwrap();
    assert_eq!(healthy_record.status(), DeliveryStatus::Sent);
    assert!(
        !hang_task.is_finished(),
        "the healthy channel finished first"
    );
    assert_eq!(healthy_receiver.seen.hits(), 1);

    let hang_record = tokio::time::timeout(Duration::from_secs(10), hang_task)
        .await
        .expect("the retries are bounded")
        .unwrap();
    assert_eq!(hang_record.attempts.len(), 3);
    assert!(
        hang_record
            .attempts
            .iter()
            .all(|a| a.outcome == Outcome::TimedOut)
    );
    assert_eq!(hang_record.error().as_deref(), Some("timed out"));
    assert_eq!(hang_receiver.seen.hits(), 3);
}
