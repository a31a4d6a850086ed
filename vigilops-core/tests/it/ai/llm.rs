//! The client's contract with an OpenAI-compatible provider.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use futures::StreamExt;
use serde_json::{Value, json};
use vigilops_core::ai::budget::Overflow;
use vigilops_core::ai::prompt::{DATA_BLOCK_RULE, DataBlock, user_message};
use vigilops_core::ai::{ChatMessage, ChatRequest, LlmConfig, LlmError, StreamEvent, Usage};

use super::{KEY, Provider, Reply, client, quick_config};

fn question() -> ChatRequest {
    ChatRequest::new(vec![
        ChatMessage::system("You are an SRE diagnosis engine."),
        ChatMessage::user("Why is web-01's disk full?"),
    ])
}

fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "deepseek-chat",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 31, "completion_tokens": 7, "total_tokens": 38}
    })
}

fn ok(content: &str) -> Reply {
    Reply::json(StatusCode::OK, &completion(content))
}

fn chunk(content: &str) -> String {
    format!(
        "data: {}\n\n",
        json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
    )
}

async fn collect(
    mut stream: vigilops_core::ai::CompletionStream,
) -> Vec<Result<StreamEvent, LlmError>> {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    items
}

#[tokio::test]
async fn a_whole_reply_is_returned_with_the_providers_usage() {
    let (provider, base) = Provider::start(vec![ok("/var/log filled by app.log")]).await;
    let reply = client(quick_config(&base))
        .complete(question().max_tokens(256).temperature(0.1))
        .await
        .unwrap();
    assert_eq!(reply.content, "/var/log filled by app.log");
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert_eq!(reply.model.as_deref(), Some("deepseek-chat"));
    assert_eq!(reply.attempts, 1);
    assert_eq!(
        reply.usage,
        Usage {
            prompt_tokens: 31,
            completion_tokens: 7,
            total_tokens: 38,
            estimated: false
        }
    );

    let requests = provider.requests().await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.authorization.as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(request.body["model"], "deepseek-chat");
    assert_eq!(request.body["max_tokens"], 256);
    assert_eq!(request.body["stream"], false);
    assert!((request.body["temperature"].as_f64().unwrap() - 0.1).abs() < 1e-6);
    assert_eq!(
        request.body["messages"],
        json!([
            {"role": "system", "content": "You are an SRE diagnosis engine."},
            {"role": "user", "content": "Why is web-01's disk full?"}
        ])
    );
}

#[tokio::test]
async fn the_configured_model_and_max_tokens_are_the_defaults() {
    let (provider, base) = Provider::start(vec![ok("fine")]).await;
    let config = LlmConfig {
        model: "qwen2.5-72b".into(),
        max_tokens: 777,
        ..quick_config(&format!("{base}/"))
    };
    client(config).complete(question()).await.unwrap();
    let request = &provider.requests().await[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.body["model"], "qwen2.5-72b");
    assert_eq!(request.body["max_tokens"], 777);
}

#[tokio::test]
async fn a_reply_without_usage_carries_an_estimate() {
    let mut body = completion("abcdef");
    body.as_object_mut().unwrap().remove("usage");
    let (_provider, base) = Provider::start(vec![Reply::json(StatusCode::OK, &body)]).await;
    let reply = client(quick_config(&base))
        .complete(question())
        .await
        .unwrap();
    assert!(reply.usage.estimated);
    assert_eq!(reply.usage.completion_tokens, 2);
    assert!(reply.usage.prompt_tokens > 10);
    assert_eq!(
        reply.usage.total_tokens,
        reply.usage.prompt_tokens + reply.usage.completion_tokens
    );
}

#[tokio::test]
async fn a_stream_split_across_writes_yields_its_deltas_and_the_final_usage() {
    // The JSON of one chunk, and the bytes of one character, are cut across TCP writes, and a
    // keep-alive comment comes first.
    let first = chunk("磁盘");
    let bytes = first.as_bytes();
    let cut_in_character = first.find('磁').unwrap() + 1;
    let second = chunk(" full");
    let (second_a, second_b) = second.split_at(20);
    let finish = format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    );
    let usage = format!(
        "data: {}\n\n",
        json!({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}})
    );
    let (provider, base) = Provider::start(vec![Reply::stream(&[
        b": keep-alive\n\n",
        &bytes[..cut_in_character],
        &bytes[cut_in_character..],
        second_a.as_bytes(),
        second_b.as_bytes(),
        finish.as_bytes(),
        usage.as_bytes(),
        b"data: [DONE]\n\n",
    ])])
    .await;
    let stream = client(quick_config(&base))
        .stream(question())
        .await
        .unwrap();
    assert_eq!(stream.attempts(), 1);
    let items: Vec<_> = collect(stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        items,
        [
            StreamEvent::Delta("磁盘".into()),
            StreamEvent::Delta(" full".into()),
            StreamEvent::Done {
                finish_reason: Some("stop".into()),
                usage: Usage {
                    prompt_tokens: 12,
                    completion_tokens: 3,
                    total_tokens: 15,
                    estimated: false
                }
            }
        ]
    );
    let request = &provider.requests().await[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.authorization.as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(request.body["stream"], true);
    assert_eq!(request.body["stream_options"]["include_usage"], true);
    assert_eq!(request.body["max_tokens"], 2000);
}

#[tokio::test]
async fn a_stream_without_usage_ends_with_an_estimate() {
    let (_provider, base) = Provider::start(vec![Reply::stream(&[
        chunk("abc").as_bytes(),
        b"data: [DONE]\n\n",
    ])])
    .await;
    let reply = client(quick_config(&base))
        .stream(question())
        .await
        .unwrap()
        .collect_completion()
        .await
        .unwrap();
    assert_eq!(reply.content, "abc");
    assert!(reply.usage.estimated);
    assert_eq!(reply.usage.completion_tokens, 1);
}

#[tokio::test]
async fn a_stream_that_ends_without_done_is_truncated() {
    let (_provider, base) = Provider::start(vec![
        Reply::stream(&[chunk("The disk").as_bytes(), chunk(" is").as_bytes()]),
        // Cut in the middle of a chunk's JSON.
        Reply::stream(&[chunk("The disk").as_bytes(), b"data: {\"choices\":[{\"de"]),
    ])
    .await;
    let client = client(quick_config(&base));
    let items = collect(client.stream(question()).await.unwrap()).await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(matches!(&items[0], Ok(StreamEvent::Delta(text)) if text == "The disk"));
    assert!(matches!(&items[1], Ok(StreamEvent::Delta(text)) if text == " is"));
    assert!(
        matches!(&items[2], Err(LlmError::Truncated(_))),
        "{items:?}"
    );

    let error = client
        .stream(question())
        .await
        .unwrap()
        .collect_completion()
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::Truncated(_)), "{error:?}");
}

#[tokio::test]
async fn malformed_replies_are_errors_and_not_retried() {
    let (provider, base) = Provider::start(vec![
        Reply::Whole(StatusCode::OK, Vec::new(), "{\"choices\": [".into()),
        Reply::json(
            StatusCode::OK,
            &json!({"id": "x", "object": "chat.completion"}),
        ),
        Reply::stream(&[
            chunk("ok").as_bytes(),
            b"data: {not json}\n\n",
            b"data: [DONE]\n\n",
        ]),
    ])
    .await;
    let client = client(quick_config(&base));
    for _ in 0..2 {
        let error = client.complete(question()).await.unwrap_err();
        assert!(matches!(error, LlmError::Malformed(_)), "{error:?}");
    }
    let items = collect(client.stream(question()).await.unwrap()).await;
    assert!(matches!(&items[0], Ok(StreamEvent::Delta(text)) if text == "ok"));
    assert!(
        matches!(&items[1], Err(LlmError::Malformed(_))),
        "{items:?}"
    );
    assert_eq!(items.len(), 2, "nothing after the error");
    assert_eq!(provider.requests().await.len(), 3);
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_its_retry_after() {
    let (provider, base) = Provider::start(vec![
        Reply::Whole(
            StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "1")],
            json!({"error": {"message": "Rate limit reached", "type": "rate_limit"}}).to_string(),
        ),
        ok("after the wait"),
    ])
    .await;
    let started = tokio::time::Instant::now();
    let reply = client(quick_config(&base))
        .complete(question())
        .await
        .unwrap();
    assert_eq!(reply.content, "after the wait");
    assert_eq!(reply.attempts, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(provider.requests().await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_longest_wait_ends_the_call() {
    let (provider, base) = Provider::start(vec![
        Reply::Whole(
            StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "3600")],
            "{}".into(),
        ),
        ok("never asked"),
    ])
    .await;
    let error = client(quick_config(&base))
        .complete(question())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            LlmError::Http {
                status: 429,
                attempts: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(provider.requests().await.len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_and_the_last_one_is_reported() {
    let unavailable = || {
        Reply::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"error": {"message": "Server overloaded"}}),
        )
    };
    let (provider, base) = Provider::start(vec![
        Reply::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": {"message": "oops"}}),
        ),
        ok("second time lucky"),
        unavailable(),
        unavailable(),
        unavailable(),
    ])
    .await;
    let client = client(quick_config(&base));
    let reply = client.complete(question()).await.unwrap();
    assert_eq!(
        (reply.content.as_str(), reply.attempts),
        ("second time lucky", 2)
    );

    let error = client.complete(question()).await.unwrap_err();
    match error {
        LlmError::Http {
            status,
            message,
            attempts,
        } => assert_eq!(
            (status, message.as_str(), attempts),
            (503, "Server overloaded", 3)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.requests().await.len(), 5);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let (provider, base) = Provider::start(vec![
        Reply::json(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"message": "This model's maximum context length is 65536 tokens", "type": "invalid_request_error"}}),
        ),
        ok("never asked"),
    ])
    .await;
    let error = client(quick_config(&base))
        .complete(question())
        .await
        .unwrap_err();
    match &error {
        LlmError::Http {
            status: 400,
            message,
            attempts: 1,
        } => assert!(message.contains("maximum context length"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(!error.is_retryable());
    assert_eq!(provider.requests().await.len(), 1);
}

#[tokio::test]
async fn a_hung_provider_times_out_each_attempt() {
    let (provider, base) = Provider::start(vec![Reply::Hang, Reply::Hang]).await;
    let config = LlmConfig {
        attempts: 2,
        attempt_timeout: Duration::from_millis(300),
        ..quick_config(&base)
    };
    let started = tokio::time::Instant::now();
    let error = client(config).complete(question()).await.unwrap_err();
    assert!(
        matches!(error, LlmError::Timeout { attempts: 2 }),
        "{error:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(provider.requests().await.len(), 2);
}

#[tokio::test]
async fn a_stream_that_goes_silent_times_out_after_its_deltas() {
    let (_provider, base) = Provider::start(vec![Reply::StreamThenHang(vec![
        chunk("partial").into_bytes(),
    ])])
    .await;
    let config = LlmConfig {
        attempt_timeout: Duration::from_millis(300),
        ..quick_config(&base)
    };
    let items = collect(client(config).stream(question()).await.unwrap()).await;
    assert!(matches!(&items[0], Ok(StreamEvent::Delta(text)) if text == "partial"));
    assert!(
        matches!(&items[1], Err(LlmError::Timeout { .. })),
        "{items:?}"
    );
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn a_stream_answered_with_one_json_body_is_one_delta_or_its_error() {
    let (_provider, base) = Provider::start(vec![
        ok("whole reply"),
        Reply::json(
            StatusCode::OK,
            &json!({"error": {"message": "Insufficient Balance"}}),
        ),
    ])
    .await;
    let client = client(quick_config(&base));
    let reply = client
        .stream(question())
        .await
        .unwrap()
        .collect_completion()
        .await
        .unwrap();
    assert_eq!(reply.content, "whole reply");
    assert_eq!(reply.usage.total_tokens, 38);
    assert!(!reply.usage.estimated);
    let error = client.stream(question()).await.unwrap_err();
    assert!(
        matches!(&error, LlmError::Provider(message) if message == "Insufficient Balance"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_stream_is_retried_until_its_response_head() {
    let (provider, base) = Provider::start(vec![
        Reply::Whole(
            StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after-ms", "50")],
            "{}".into(),
        ),
        Reply::json(StatusCode::BAD_GATEWAY, &json!({})),
        Reply::stream(&[chunk("ok").as_bytes(), b"data: [DONE]\n\n"]),
    ])
    .await;
    let stream = client(quick_config(&base))
        .stream(question())
        .await
        .unwrap();
    assert_eq!(stream.attempts(), 3);
    assert_eq!(stream.collect_completion().await.unwrap().content, "ok");
    assert_eq!(provider.requests().await.len(), 3);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_connection_error_after_every_attempt() {
    // A port that was just free: nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = client(quick_config(&format!("http://{address}/v1")))
        .complete(question())
        .await
        .unwrap_err();
    assert!(
        matches!(error, LlmError::Connect { attempts: 3, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn without_a_key_or_within_budget_nothing_is_sent() {
    let (provider, base) = Provider::start(vec![ok("never asked")]).await;
    let no_key = LlmConfig {
        api_key: None,
        ..quick_config(&base)
    };
    let error = client(no_key).complete(question()).await.unwrap_err();
    assert!(matches!(error, LlmError::NotConfigured));
    assert_eq!(error.to_string(), "AI API key not configured");

    let small = LlmConfig {
        prompt_budget: 100,
        ..quick_config(&base)
    };
    let huge = ChatRequest::new(vec![ChatMessage::user("log line\n".repeat(200))]);
    let error = client(small).stream(huge).await.unwrap_err();
    assert!(
        matches!(error, LlmError::BudgetExceeded { budget: 100, .. }),
        "{error:?}"
    );
    assert!(provider.requests().await.is_empty());
}

#[tokio::test]
async fn an_oversized_prompt_may_be_trimmed_to_the_budget_instead() {
    let (provider, base) = Provider::start(vec![ok("fine")]).await;
    let config = LlmConfig {
        prompt_budget: 400,
        ..quick_config(&base)
    };
    let logs = DataBlock::new("recent logs", &"[ERROR] disk full\n".repeat(300));
    let request = ChatRequest::new(vec![
        ChatMessage::system(DATA_BLOCK_RULE),
        ChatMessage::user(user_message("Summarise.", std::slice::from_ref(&logs))),
    ])
    .overflow(Overflow::TrimLargest);
    client(config).complete(request).await.unwrap();
    let sent = provider.requests().await[0].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.len() < 1300, "{}", sent.len());
    assert!(sent.contains("characters trimmed to fit the token budget"));
    assert!(sent.contains(&format!("BEGIN {}", logs.boundary())));
    assert!(sent.ends_with(&format!("END {}", logs.boundary())));
}

#[tokio::test]
async fn collected_text_reaches_the_provider_redacted_and_fenced() {
    let (provider, base) = Provider::start(vec![ok("fine")]).await;
    let logs = DataBlock::new(
        "recent logs",
        "db error: postgres://app:hunter2-secret@db:5432/app\n\
         Authorization: Bearer vop_0123456789abcdef0123456789abcdef0123456789abcdef\n",
    );
    let request = ChatRequest::new(vec![
        ChatMessage::system(DATA_BLOCK_RULE),
        ChatMessage::user(user_message("What failed?", &[logs])),
    ]);
    client(quick_config(&base)).complete(request).await.unwrap();
    let body = provider.requests().await[0].body.to_string();
    assert!(!body.contains("hunter2-secret"), "{body}");
    assert!(!body.contains("0123456789abcdef0123456789abcdef"), "{body}");
    assert!(
        body.contains("postgres://app:[REDACTED:password]@db:5432/app"),
        "{body}"
    );
    assert!(body.contains("BEGIN DATA-"), "{body}");
}
