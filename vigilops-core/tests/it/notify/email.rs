//! Email against a minimal SMTP server written here over tokio TCP: EHLO, AUTH PLAIN, MAIL FROM,
//! RCPT TO, DATA (with dot-stuffing), RSET, QUIT, answering with real SMTP reply codes.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use vigilops_core::notify::{ChannelConfig, DeliveryStatus, Outcome, build_channel};

use super::{alert, quick_sender, system_clock};

/// One message the server accepted.
#[derive(Debug, Clone)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
}

const USER: &str = "ops@example.com";
const PASSWORD: &str = "smtp-password";

/// Starts the server; returns its port and what it received.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(session(stream, store.clone()));
        }
    });
    (port, received)
}

async fn reply(write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) {
    write.write_all(text.as_bytes()).await.unwrap();
}

async fn session(stream: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    reply(&mut write, "220 localhost ESMTP test\r\n").await;
    let (mut authenticated, mut mail_from, mut rcpt_to) = (false, None::<String>, Vec::new());
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            reply(
                &mut write,
                "250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
            )
            .await;
        } else if upper.starts_with("HELO") || upper == "NOOP" {
            reply(&mut write, "250 2.0.0 OK\r\n").await;
        } else if let Some(initial) = upper.strip_prefix("AUTH PLAIN") {
            let encoded = if initial.trim().is_empty() {
                reply(&mut write, "334 \r\n").await;
                let mut next = String::new();
                lines.read_line(&mut next).await.unwrap();
                next.trim().to_owned()
            } else {
                command["AUTH PLAIN".len()..].trim().to_owned()
            };
            let decoded = STANDARD.decode(encoded).unwrap_or_default();
            let expected = format!("\0{USER}\0{PASSWORD}");
            if decoded == expected.as_bytes() {
                authenticated = true;
                reply(&mut write, "235 2.7.0 Authentication successful\r\n").await;
            } else {
                reply(
                    &mut write,
                    "535 5.7.8 Authentication credentials invalid\r\n",
                )
                .await;
            }
        } else if upper.starts_with("MAIL FROM:") {
            if !authenticated {
                reply(&mut write, "530 5.7.0 Authentication required\r\n").await;
                continue;
            }
            mail_from = Some(command["MAIL FROM:".len()..].trim().to_owned());
            reply(&mut write, "250 2.1.0 OK\r\n").await;
        } else if upper.starts_with("RCPT TO:") {
            let address = command["RCPT TO:".len()..].trim().to_owned();
            if address.contains("nobody@") {
                reply(
                    &mut write,
                    "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown\r\n",
                )
                .await;
            } else {
                rcpt_to.push(address);
                reply(&mut write, "250 2.1.5 OK\r\n").await;
            }
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
            store.lock().await.push(Received {
                mail_from: mail_from.take().unwrap_or_default(),
                rcpt_to: std::mem::take(&mut rcpt_to),
                data,
            });
            reply(&mut write, "250 2.0.0 OK queued as 1\r\n").await;
        } else if upper == "RSET" {
            mail_from = None;
            rcpt_to.clear();
            reply(&mut write, "250 2.0.0 OK\r\n").await;
        } else if upper == "QUIT" {
            reply(&mut write, "221 2.0.0 Bye\r\n").await;
            return;
        } else {
            reply(&mut write, "502 5.5.2 Command not recognized\r\n").await;
        }
    }
}

fn email_channel(
    port: u16,
    password: &str,
    recipients: &[&str],
) -> Arc<dyn vigilops_core::notify::Channel> {
    let config = ChannelConfig::from_parts(
        "email",
        json!({"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_user": USER,
               "smtp_password": password, "smtp_security": "none", "recipients": recipients}),
    )
    .unwrap();
    build_channel(&config, &reqwest::Client::new(), system_clock()).unwrap()
}

#[tokio::test]
async fn email_delivers_a_multipart_message_with_text_and_html_parts() {
    let (port, received) = smtp_server().await;
    let channel = email_channel(port, PASSWORD, &["a@example.com", "b@example.com"]);
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.status(), DeliveryStatus::Sent, "{record:?}");
    assert_eq!(
        record.response_code(),
        Some(200),
        "SMTP success is logged as 200"
    );

    let received = received.lock().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "<ops@example.com>");
    assert_eq!(received[0].rcpt_to, ["<a@example.com>", "<b@example.com>"]);
    let message = MessageParser::default().parse(&received[0].data).unwrap();
    assert_eq!(
        message.subject(),
        Some("[VigilOps 告警] critical - CPU 使用率过高 - web-01")
    );
    let root = message.content_type().unwrap();
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let to: Vec<_> = message
        .to()
        .unwrap()
        .iter()
        .filter_map(|address| address.address())
        .collect();
    assert_eq!(to, ["a@example.com", "b@example.com"]);

    let part = |subtype: &str| {
        message
            .parts
            .iter()
            .find(|part| {
                part.content_type()
                    .is_some_and(|ct| ct.ctype() == "text" && ct.subtype() == Some(subtype))
            })
            .and_then(|part| part.text_contents())
            .unwrap_or_else(|| panic!("no text/{subtype} part"))
            .to_owned()
    };
    assert_eq!(
        part("plain").replace("\r\n", "\n"),
        "cpu_percent = 97.5 > 90.0\n主机: web-01\n查看告警: https://vigilops.example/alerts/42"
    );
    let html = part("html");
    assert!(
        html.contains("<h2>[告警] CPU 使用率过高 - web-01</h2>"),
        "{html}"
    );
    assert!(
        html.contains("cpu_percent = 97.5 &gt; 90.0"),
        "escaped: {html}"
    );
    assert!(
        html.contains("<tr><th align=\"left\">主机</th><td>web-01</td></tr>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"https://vigilops.example/alerts/42\">查看告警</a>"),
        "{html}"
    );
}

#[tokio::test]
async fn email_refusals_are_permanent_and_not_retried() {
    let (port, received) = smtp_server().await;

    let wrong_password = email_channel(port, "wrong", &["a@example.com"]);
    let record = quick_sender()
        .deliver(wrong_password.as_ref(), &alert())
        .await;
    assert!(
        matches!(
            record.outcome(),
            Some(Outcome::Rejected {
                response_code: Some(535),
                ..
            })
        ),
        "{record:?}"
    );
    assert_eq!(record.attempts.len(), 1);

    let unknown_user = email_channel(port, PASSWORD, &["nobody@example.com"]);
    let record = quick_sender()
        .deliver(unknown_user.as_ref(), &alert())
        .await;
    assert!(
        matches!(
            record.outcome(),
            Some(Outcome::Rejected {
                response_code: Some(550),
                ..
            })
        ),
        "{record:?}"
    );
    assert_eq!(record.attempts.len(), 1);
    assert!(received.lock().await.is_empty());
}

#[tokio::test]
async fn email_to_a_server_that_is_down_is_transient_and_retried() {
    // Bind then drop, so the port refuses connections.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let channel = email_channel(port, PASSWORD, &["a@example.com"]);
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.attempts.len(), 3, "{record:?}");
    assert!(record.attempts.iter().all(|a| a.outcome.is_retryable()));
    assert_eq!(record.status(), DeliveryStatus::Failed);
}

#[tokio::test]
async fn starttls_is_mandatory_so_credentials_never_cross_a_plain_connection() {
    let (port, received) = smtp_server().await;
    // The original's `smtp_ssl=false`: STARTTLS, which this server does not offer.
    let config = ChannelConfig::from_parts(
        "email",
        json!({"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_user": USER,
               "smtp_password": PASSWORD, "smtp_ssl": false, "recipients": ["a@example.com"]}),
    )
    .unwrap();
    let channel = build_channel(&config, &reqwest::Client::new(), system_clock()).unwrap();
    let record = quick_sender().deliver(channel.as_ref(), &alert()).await;
    assert_eq!(record.status(), DeliveryStatus::Failed, "{record:?}");
    assert!(
        matches!(record.outcome(), Some(Outcome::Rejected { .. })),
        "a server without STARTTLS is a configuration error, not worth retrying: {record:?}"
    );
    assert!(received.lock().await.is_empty());
}
