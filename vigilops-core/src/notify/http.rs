//! The HTTP part shared by the webhook and IM channels: POST a JSON body and judge the answer by
//! the status and, for the IM platforms, by the error code in the body.

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use super::Outcome;

/// How long an error message from a platform may be in an outcome (the log column holds 500).
const MAX_MESSAGE_CHARS: usize = 300;

/// What a platform's JSON answer says.
pub(crate) enum PlatformReply {
    /// Its success code.
    Ok,
    /// Its rate-limit code.
    RateLimited(i64, String),
    /// Any other error code.
    Error(i64, String),
}

/// Reads a platform's reply body; `None` when it is not the platform's JSON shape.
pub(crate) type ReplyParser = fn(&serde_json::Value) -> Option<PlatformReply>;

/// POSTs `body` as JSON and judges the answer. `parser` reads the platform's success code from a
/// 2xx body; `None` (the generic webhook) accepts any 2xx.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: reqwest::Url,
    mut headers: HeaderMap,
    body: Vec<u8>,
    parser: Option<ReplyParser>,
) -> Outcome {
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    let response = match client.post(url).headers(headers).body(body).send().await {
        Ok(response) => response,
        Err(error) if error.is_timeout() => return Outcome::TimedOut,
        Err(error) => {
            return Outcome::Transient {
                response_code: None,
                message: truncate(&error_chain(&error)),
            };
        }
    };
    let status = response.status();
    let code = Some(status.as_u16());
    let text = match response.text().await {
        Ok(text) => text,
        Err(error) if error.is_timeout() => return Outcome::TimedOut,
        Err(error) => {
            return Outcome::Transient {
                response_code: code,
                message: truncate(&error_chain(&error)),
            };
        }
    };
    let json = serde_json::from_str::<serde_json::Value>(&text).ok();
    let reply = json
        .as_ref()
        .zip(parser)
        .and_then(|(json, parse)| parse(json));

    if status.is_success() {
        return match (parser, reply) {
            (None, _) | (Some(_), Some(PlatformReply::Ok)) => Outcome::Delivered {
                response_code: status.as_u16(),
            },
            (Some(_), Some(PlatformReply::RateLimited(platform, message))) => {
                Outcome::RateLimited {
                    response_code: code,
                    platform_code: Some(platform),
                    message: truncate(&message),
                }
            }
            (Some(_), Some(PlatformReply::Error(platform, message))) => Outcome::Rejected {
                response_code: code,
                platform_code: Some(platform),
                message: truncate(&message),
            },
            // A 200 without the platform's success code is not a delivery (§8.7); a proxy or
            // captive portal answering HTML may go away, so it is retried.
            (Some(_), None) => Outcome::Transient {
                response_code: code,
                message: truncate(&format!("unexpected reply: {text}")),
            },
        };
    }
    let platform_rate_limit = matches!(reply, Some(PlatformReply::RateLimited(..)));
    let (platform_code, message) = match reply {
        Some(
            PlatformReply::RateLimited(platform, message) | PlatformReply::Error(platform, message),
        ) => (Some(platform), message),
        _ => (None, text),
    };
    if status.as_u16() == 429 || platform_rate_limit {
        Outcome::RateLimited {
            response_code: code,
            platform_code,
            message: truncate(&message),
        }
    } else if status.is_server_error() || status.as_u16() == 408 {
        Outcome::Transient {
            response_code: code,
            message: truncate(&message),
        }
    } else {
        Outcome::Rejected {
            response_code: code,
            platform_code,
            message: truncate(&message),
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Cuts a message to [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn truncate(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_owned(),
    }
}

/// Reads `{"<code_key>": n, "<message_key>": "…"}`; `rate_limit_codes` are the platform's
/// "slow down" codes.
pub(crate) fn errcode_reply(
    json: &serde_json::Value,
    code_key: &str,
    message_key: &str,
    rate_limit_codes: &[i64],
) -> Option<PlatformReply> {
    let code = json.get(code_key)?.as_i64()?;
    let message = json
        .get(message_key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Some(if code == 0 {
        PlatformReply::Ok
    } else if rate_limit_codes.contains(&code) {
        PlatformReply::RateLimited(code, message)
    } else {
        PlatformReply::Error(code, message)
    })
}
