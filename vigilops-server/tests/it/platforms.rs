//! Local stand-ins for the platforms the notification channels talk to: a DingTalk robot, a
//! Feishu bot, a WeCom robot, a webhook endpoint that checks our HMAC header, and an SMTP server.
//! Each checks a request the way the real platform does (credential, signature, timestamp window,
//! body shape) and answers with the platform's own success or error body, so a message counted
//! here is one the platform would have shown. The checks are adapted from the channel tests in
//! `vigilops-core/tests/it/notify/`; here the platform's clock is the test's manual clock (the
//! server signs with that clock, and the real platform compares with its own wall clock).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Notify;
use vigilops_core::clock::{Clock, ManualClock};

/// The DingTalk robot's `access_token` and its "加签" secret.
pub(crate) const DINGTALK_TOKEN: &str = "robot-token-7f3a";
pub(crate) const DINGTALK_SECRET: &str = "SECb1f0c9d2e8a74e55a6c3f1d0e2b49a77";
/// The Feishu bot's hook token and its signature secret.
pub(crate) const FEISHU_TOKEN: &str = "hook-0b6e2f7c";
pub(crate) const FEISHU_SECRET: &str = "feishu-scenario-secret";
/// The WeCom robot's `key`, its only credential.
pub(crate) const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
/// The webhook endpoint's shared HMAC secret.
pub(crate) const WEBHOOK_SECRET: &str = "whsec-channel-scenario";
/// The SMTP account.
pub(crate) const SMTP_USER: &str = "alerts@example.com";
pub(crate) const SMTP_PASSWORD: &str = "smtp-app-password";

/// A request the platform refused: its error code and message, as it answered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: i64,
    pub(crate) message: String,
}

/// What one platform saw: the messages it accepted and the requests it refused.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    accepted: Mutex<Vec<Value>>,
    refused: Mutex<Vec<Refusal>>,
    arrived: Notify,
}

impl Inbox {
    /// The accepted messages, in arrival order (for email: `mail_from`, `rcpt_to` and `data`).
    pub(crate) fn accepted(&self) -> Vec<Value> {
        self.accepted.lock().unwrap().clone()
    }

    /// The refused requests, in arrival order.
    pub(crate) fn refused(&self) -> Vec<Refusal> {
        self.refused.lock().unwrap().clone()
    }

    /// Every request, accepted or refused.
    pub(crate) fn requests(&self) -> usize {
        self.accepted.lock().unwrap().len() + self.refused.lock().unwrap().len()
    }

    /// Waits (up to 5 s) until at least `count` requests arrived.
    pub(crate) async fn wait_for(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.requests() < count && tokio::time::Instant::now() < deadline {
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(100),
                self.arrived.notified(),
            )
            .await;
        }
    }

    fn accept(&self, message: Value) {
        self.accepted.lock().unwrap().push(message);
        self.arrived.notify_waiters();
    }

    fn refuse(&self, code: i64, message: &str) {
        self.refused.lock().unwrap().push(Refusal {
            code,
            message: message.to_owned(),
        });
        self.arrived.notify_waiters();
    }
}

/// One platform endpoint: what it saw, the time it believes it is, and its credentials.
#[derive(Clone)]
struct Platform {
    inbox: Arc<Inbox>,
    clock: Arc<ManualClock>,
    token: &'static str,
    secret: &'static str,
}

impl Platform {
    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// DingTalk's error body, recorded as a refusal.
fn dingtalk_error(platform: &Platform, code: i64, message: &str) -> (StatusCode, Json<Value>) {
    platform.inbox.refuse(code, message);
    (
        StatusCode::OK,
        Json(json!({"errcode": code, "errmsg": message})),
    )
}

/// DingTalk's robot API: `POST /robot/send?access_token=…&timestamp=…&sign=…`. The timestamp is
/// in milliseconds and must be within an hour of DingTalk's clock; `sign` is
/// Base64(HMAC-SHA256(key = secret, "{timestamp}\n{secret}")), form-encoded in the query.
async fn dingtalk_send(
    State(platform): State<Platform>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    const SIGN_MISMATCH: &str =
        "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]";
    if query.get("access_token").map(String::as_str) != Some(platform.token) {
        return dingtalk_error(&platform, 300001, "token is not exist");
    }
    let (Some(timestamp), Some(sign)) = (query.get("timestamp"), query.get("sign")) else {
        return dingtalk_error(&platform, 310000, SIGN_MISMATCH);
    };
    let Ok(timestamp_ms) = timestamp.parse::<i64>() else {
        return dingtalk_error(&platform, 310000, "invalid timestamp");
    };
    if (platform.now_ms() - timestamp_ms).abs() > 3_600_000 {
        return dingtalk_error(&platform, 310000, "invalid timestamp");
    }
    let expected = STANDARD.encode(hmac_sha256(
        platform.secret.as_bytes(),
        format!("{timestamp}\n{}", platform.secret).as_bytes(),
    ));
    if *sign != expected {
        return dingtalk_error(&platform, 310000, SIGN_MISMATCH);
    }
    let json = match serde_json::from_slice::<Value>(&body) {
        Ok(json) if is_json(&headers) => json,
        _ => return dingtalk_error(&platform, 43004, "无效的HTTP HEADER Content-Type"),
    };
    let non_empty = |value: &Value| value.as_str().is_some_and(|text| !text.is_empty());
    if json["msgtype"] != "markdown"
        || !non_empty(&json["markdown"]["title"])
        || !non_empty(&json["markdown"]["text"])
    {
        return dingtalk_error(&platform, 40035, "缺少参数 markdown");
    }
    platform.inbox.accept(json);
    (StatusCode::OK, Json(json!({"errcode": 0, "errmsg": "ok"})))
}

/// Starts a DingTalk robot; returns what it sees and its webhook URL (with the access token).
pub(crate) async fn dingtalk(clock: Arc<ManualClock>) -> (Arc<Inbox>, String) {
    let platform = Platform {
        inbox: Arc::default(),
        clock,
        token: DINGTALK_TOKEN,
        secret: DINGTALK_SECRET,
    };
    let inbox = Arc::clone(&platform.inbox);
    let base = serve(
        axum::Router::new()
            .route("/robot/send", post(dingtalk_send))
            .with_state(platform),
    )
    .await;
    (
        inbox,
        format!("{base}/robot/send?access_token={DINGTALK_TOKEN}"),
    )
}

/// Feishu's error body, recorded as a refusal.
fn feishu_error(platform: &Platform, code: i64, message: &str) -> (StatusCode, Json<Value>) {
    platform.inbox.refuse(code, message);
    (
        StatusCode::OK,
        Json(json!({"code": code, "data": {}, "msg": message})),
    )
}

/// Feishu's bot API: `POST /open-apis/bot/v2/hook/{token}` with `timestamp` (seconds, a string)
/// and `sign` = Base64(HMAC-SHA256(key = "{timestamp}\n{secret}", empty message)) in the body,
/// the timestamp within an hour of Feishu's clock.
async fn feishu_hook(
    State(platform): State<Platform>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    const SIGN_FAIL: &str = "sign match fail or timestamp is not within one hour from current time";
    if token != platform.token {
        return feishu_error(
            &platform,
            19001,
            "param invalid: incoming webhook access token invalid",
        );
    }
    let json = match serde_json::from_slice::<Value>(&body) {
        Ok(json) if is_json(&headers) => json,
        _ => return feishu_error(&platform, 9499, "Bad Request"),
    };
    let (Some(timestamp), Some(sign)) = (json["timestamp"].as_str(), json["sign"].as_str()) else {
        return feishu_error(&platform, 19021, SIGN_FAIL);
    };
    let Ok(timestamp_s) = timestamp.parse::<i64>() else {
        return feishu_error(&platform, 19021, SIGN_FAIL);
    };
    if (platform.now_ms() / 1000 - timestamp_s).abs() > 3600 {
        return feishu_error(&platform, 19021, SIGN_FAIL);
    }
    let expected = STANDARD.encode(hmac_sha256(
        format!("{timestamp}\n{}", platform.secret).as_bytes(),
        b"",
    ));
    if sign != expected {
        return feishu_error(&platform, 19021, SIGN_FAIL);
    }
    let card_ok = json["msg_type"] == "interactive"
        && json["card"]["header"]["title"]["tag"] == "plain_text"
        && json["card"]["header"]["title"]["content"].is_string()
        && json["card"]["elements"][0]["tag"] == "div"
        && json["card"]["elements"][0]["text"]["tag"] == "lark_md"
        && json["card"]["elements"][0]["text"]["content"].is_string();
    if !card_ok {
        return feishu_error(&platform, 19002, "params error, msg_type need");
    }
    platform.inbox.accept(json);
    (
        StatusCode::OK,
        Json(
            json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}),
        ),
    )
}

/// Starts a Feishu bot; returns what it sees and its hook URL.
pub(crate) async fn feishu(clock: Arc<ManualClock>) -> (Arc<Inbox>, String) {
    let platform = Platform {
        inbox: Arc::default(),
        clock,
        token: FEISHU_TOKEN,
        secret: FEISHU_SECRET,
    };
    let inbox = Arc::clone(&platform.inbox);
    let base = serve(
        axum::Router::new()
            .route("/open-apis/bot/v2/hook/{token}", post(feishu_hook))
            .with_state(platform),
    )
    .await;
    (
        inbox,
        format!("{base}/open-apis/bot/v2/hook/{FEISHU_TOKEN}"),
    )
}

/// WeCom's robot API: `POST /cgi-bin/webhook/send?key=…`; the key is the only credential, and
/// `markdown.content` may hold at most 4096 bytes.
async fn wecom_send(
    State(platform): State<Platform>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let error = |code: i64, message: &str| {
        platform.inbox.refuse(code, message);
        (
            StatusCode::OK,
            Json(json!({"errcode": code, "errmsg": message})),
        )
    };
    if query.get("key").map(String::as_str) != Some(platform.token) {
        return error(
            93000,
            "invalid webhook url, hint: [1700000000_1_abc], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
        );
    }
    let json = match serde_json::from_slice::<Value>(&body) {
        Ok(json) if is_json(&headers) => json,
        _ => return error(40016, "invalid json"),
    };
    if json["msgtype"] != "markdown" {
        return error(40008, "invalid message type");
    }
    let Some(content) = json["markdown"]["content"].as_str() else {
        return error(41001, "missing content");
    };
    if content.len() > 4096 {
        return error(40058, "markdown.content exceed max length 4096");
    }
    platform.inbox.accept(json);
    (StatusCode::OK, Json(json!({"errcode": 0, "errmsg": "ok"})))
}

/// Starts a WeCom robot; returns what it sees and its webhook URL (with the key).
pub(crate) async fn wecom(clock: Arc<ManualClock>) -> (Arc<Inbox>, String) {
    let platform = Platform {
        inbox: Arc::default(),
        clock,
        token: WECOM_KEY,
        secret: "",
    };
    let inbox = Arc::clone(&platform.inbox);
    let base = serve(
        axum::Router::new()
            .route("/cgi-bin/webhook/send", post(wecom_send))
            .with_state(platform),
    )
    .await;
    (
        inbox,
        format!("{base}/cgi-bin/webhook/send?key={WECOM_KEY}"),
    )
}

/// A webhook endpoint as its owner would write it: `X-VigilOps-Signature` must be
/// `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>` and `X-VigilOps-Timestamp` (Unix seconds) within
/// five minutes of the endpoint's clock. Refusals are 401 with a JSON error; success is 200.
async fn webhook_hook(
    State(platform): State<Platform>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let refuse = |status: StatusCode, message: &str| {
        platform.inbox.refuse(i64::from(status.as_u16()), message);
        (status, Json(json!({"error": message})))
    };
    let signed = [
        header("x-vigilops-timestamp").unwrap_or("").as_bytes(),
        b".",
        &body,
    ]
    .concat();
    let expected = format!(
        "sha256={}",
        hex::encode(hmac_sha256(platform.secret.as_bytes(), &signed))
    );
    if header("x-vigilops-signature") != Some(expected.as_str()) {
        return refuse(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let fresh = header("x-vigilops-timestamp")
        .and_then(|value| value.parse::<i64>().ok())
        .is_some_and(|sent| (platform.now_ms() / 1000 - sent).abs() <= 300);
    if !fresh {
        return refuse(StatusCode::UNAUTHORIZED, "stale or missing timestamp");
    }
    let json = match serde_json::from_slice::<Value>(&body) {
        Ok(json) if is_json(&headers) && json.is_object() => json,
        _ => return refuse(StatusCode::BAD_REQUEST, "expected a JSON object"),
    };
    platform.inbox.accept(json);
    (StatusCode::OK, Json(json!({"received": true})))
}

/// Starts a signed-webhook endpoint; returns what it sees and its URL.
pub(crate) async fn webhook(clock: Arc<ManualClock>) -> (Arc<Inbox>, String) {
    let platform = Platform {
        inbox: Arc::default(),
        clock,
        token: "",
        secret: WEBHOOK_SECRET,
    };
    let inbox = Arc::clone(&platform.inbox);
    let base = serve(
        axum::Router::new()
            .route("/hooks/vigilops", post(webhook_hook))
            .with_state(platform),
    )
    .await;
    (inbox, format!("{base}/hooks/vigilops"))
}

/// Starts an SMTP server (plain, no TLS: see `smtp_session`); returns what it sees and its port.
/// An accepted message is recorded as `{"mail_from", "rcpt_to", "data"}`, `data` being the
/// message as transmitted, dot-stuffing undone.
pub(crate) async fn smtp() -> (Arc<Inbox>, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox: Arc<Inbox> = Arc::default();
    let sessions = Arc::clone(&inbox);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(smtp_session(stream, Arc::clone(&sessions)));
        }
    });
    (inbox, port)
}

async fn reply(write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) {
    write.write_all(text.as_bytes()).await.unwrap();
}

/// One SMTP session: EHLO, AUTH PLAIN (required before MAIL), MAIL FROM, RCPT TO, DATA, RSET,
/// QUIT, with real reply codes. It offers no STARTTLS, as the core channel tests' server does not:
/// lettre verifies certificates against the built-in web PKI roots only, so a test server cannot
/// present one it trusts.
async fn smtp_session(stream: tokio::net::TcpStream, inbox: Arc<Inbox>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    reply(&mut write, "220 mx.example.com ESMTP\r\n").await;
    let (mut greeted, mut authenticated) = (false, false);
    let (mut mail_from, mut rcpt_to) = (None::<String>, Vec::new());
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            greeted = true;
            reply(
                &mut write,
                "250-mx.example.com\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
            )
            .await;
        } else if let Some(initial) = upper.strip_prefix("AUTH PLAIN") {
            if !greeted {
                reply(&mut write, "503 5.5.1 EHLO first\r\n").await;
                continue;
            }
            let encoded = if initial.trim().is_empty() {
                reply(&mut write, "334 \r\n").await;
                let mut next = String::new();
                lines.read_line(&mut next).await.unwrap();
                next.trim().to_owned()
            } else {
                command["AUTH PLAIN".len()..].trim().to_owned()
            };
            let decoded = STANDARD.decode(encoded).unwrap_or_default();
            if decoded == format!("\0{SMTP_USER}\0{SMTP_PASSWORD}").as_bytes() {
                authenticated = true;
                reply(&mut write, "235 2.7.0 Authentication successful\r\n").await;
            } else {
                inbox.refuse(535, "authentication credentials invalid");
                reply(
                    &mut write,
                    "535 5.7.8 Authentication credentials invalid\r\n",
                )
                .await;
            }
        } else if upper.starts_with("MAIL FROM:") {
            if !authenticated {
                inbox.refuse(530, "authentication required");
                reply(&mut write, "530 5.7.0 Authentication required\r\n").await;
                continue;
            }
            mail_from = Some(command["MAIL FROM:".len()..].trim().to_owned());
            reply(&mut write, "250 2.1.0 OK\r\n").await;
        } else if upper.starts_with("RCPT TO:") {
            if mail_from.is_none() {
                reply(&mut write, "503 5.5.1 MAIL first\r\n").await;
                continue;
            }
            rcpt_to.push(command["RCPT TO:".len()..].trim().to_owned());
            reply(&mut write, "250 2.1.5 OK\r\n").await;
        } else if upper == "DATA" {
            if mail_from.is_none() || rcpt_to.is_empty() {
                reply(&mut write, "503 5.5.1 Bad sequence of commands\r\n").await;
                continue;
            }
            reply(&mut write, "354 End data with <CR><LF>.<CR><LF>\r\n").await;
            let mut data = Vec::new();
            loop {
                let mut line = Vec::new();
                lines.read_until(b'\n', &mut line).await.unwrap();
                if line == b".\r\n" || line.is_empty() {
                    break;
                }
                // Undo dot-stuffing (RFC 5321 §4.5.2).
                let line = if line.starts_with(b"..") {
                    &line[1..]
                } else {
                    &line[..]
                };
                data.extend_from_slice(line);
            }
            inbox.accept(json!({
                "mail_from": mail_from.take(),
                "rcpt_to": std::mem::take(&mut rcpt_to),
                "data": String::from_utf8_lossy(&data),
            }));
            reply(&mut write, "250 2.0.0 OK queued as 1\r\n").await;
        } else if upper == "RSET" {
            mail_from = None;
            rcpt_to.clear();
            reply(&mut write, "250 2.0.0 OK\r\n").await;
        } else if upper == "NOOP" || upper.starts_with("HELO") {
            reply(&mut write, "250 2.0.0 OK\r\n").await;
        } else if upper == "QUIT" {
            reply(&mut write, "221 2.0.0 Bye\r\n").await;
            return;
        } else {
            reply(&mut write, "502 5.5.2 Command not recognized\r\n").await;
        }
    }
}
