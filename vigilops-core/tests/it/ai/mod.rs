//! The LLM client against a local OpenAI-compatible server that records every request and
//! answers from a script: whole replies, streams written in pieces (some cut mid-JSON and
//! mid-character), malformed and truncated replies, rate limits, server errors and hangs.

mod llm;
mod memory_service;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::Mutex;
use vigilops_core::SystemClock;
use vigilops_core::ai::{LlmClient, LlmConfig};

/// The key the tests configure; the server refuses any other.
pub(crate) const KEY: &str = "sk-test-0123456789abcdef";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
    pub(crate) body: Value,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// A status, extra headers and a body sent at once.
    Whole(StatusCode, Vec<(&'static str, &'static str)>, String),
    /// An event stream written piece by piece, 20 ms apart, so each piece is its own TCP write.
    Stream(Vec<Vec<u8>>),
    /// Pieces as above, then the connection stays open and silent.
    StreamThenHang(Vec<Vec<u8>>),
    /// Never answers.
    Hang,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: &Value) -> Self {
        Self::Whole(status, Vec::new(), body.to_string())
    }

    pub(crate) fn stream(pieces: &[&[u8]]) -> Self {
        Self::Stream(pieces.iter().map(|piece| piece.to_vec()).collect())
    }
}

/// The fake provider.
#[derive(Debug, Clone, Default)]
pub(crate) struct Provider {
    script: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Provider {
    /// Starts a provider answering `script` in order (then 418, so an unexpected extra request
    /// shows); returns it and its `/v1` base URL.
    pub(crate) async fn start(script: Vec<Reply>) -> (Self, String) {
        let provider = Self {
            script: Arc::new(Mutex::new(script.into())),
            seen: Arc::default(),
        };
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(provider.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        (provider, format!("http://{address}/v1"))
    }

    pub(crate) async fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().await.clone()
    }
}

async fn answer(
    axum::extract::State(provider): axum::extract::State<Provider>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    provider.seen.lock().await.push(Recorded {
        method,
        path: uri.path().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let reply = provider.script.lock().await.pop_front();
    match reply {
        None => StatusCode::IM_A_TEAPOT.into_response(),
        Some(Reply::Whole(status, headers, body)) => {
            let mut response = (status, body).into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            response
        }
        Some(Reply::Stream(pieces)) => event_stream(pieces, false),
        Some(Reply::StreamThenHang(pieces)) => event_stream(pieces, true),
        Some(Reply::Hang) => std::future::pending().await,
    }
}

fn event_stream(pieces: Vec<Vec<u8>>, hang: bool) -> Response {
    let body = futures::stream::unfold(
        (pieces.into_iter(), hang),
        |(mut pieces, hang)| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            match pieces.next() {
                Some(piece) => Some((
                    Ok::<_, std::convert::Infallible>(Bytes::from(piece)),
                    (pieces, hang),
                )),
                None if hang => std::future::pending().await,
                None => None,
            }
        },
    );
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap()
}

/// Settings for `base` with short timeouts and delays, so retry tests finish quickly; the
/// backoff schedule itself is pinned by the client's unit tests.
pub(crate) fn quick_config(base: &str) -> LlmConfig {
    LlmConfig {
        attempt_timeout: Duration::from_millis(500),
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        ..LlmConfig::new(base, KEY)
    }
}

pub(crate) fn client(config: LlmConfig) -> LlmClient {
    LlmClient::new(config, Arc::new(SystemClock)).unwrap()
}
