//! `/api/v1/ai` (any logged-in user; these calls change no monitored state): the original's
//! analyze-logs, insights, chat, root-cause and system-summary, plus ours: one insight, feedback
//! on an insight, memory search and streamed chat (server-sent events).
//!
//! Model failures are reported in the body, never as a 5xx (the original's contract); only the
//! streamed chat, which has no such body, answers 503 when no model is configured.

use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::ai::llm::StreamEvent;
use vigilops_core::ai::service::AiError;
use vigilops_core::ai::wire::{
    AnalyzeLogsRequest, AnalyzeLogsResponse, ChatRequestBody, ChatResponse, FeedbackRequest,
    InsightView, MemorySearchResponse, RootCauseResponse, SystemSummaryView,
};
use vigilops_core::model::InsightFilter;
use vigilops_core::protocol::rest::{ErrorBody, PageOf};

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Viewer, parse_json};
use crate::routes::hosts::page_of;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(analyze_logs))
        .routes(routes!(list_insights))
        .routes(routes!(get_insight))
        .routes(routes!(feedback))
        .routes(routes!(chat))
        .routes(routes!(chat_stream))
        .routes(routes!(root_cause))
        .routes(routes!(system_summary))
        .routes(routes!(memory_search))
}

impl From<AiError> for ApiError {
    fn from(error: AiError) -> Self {
        match error {
            AiError::AlertNotFound => Self::not_found("alert"),
            AiError::InsightNotFound => Self::not_found("insight"),
            AiError::NotConfigured => Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
            AiError::Invalid(message) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, message),
            AiError::Llm(error) => Self::new(
                StatusCode::BAD_GATEWAY,
                format!("the language model failed: {error}"),
            ),
            AiError::Store(error) => error.into(),
        }
    }
}

/// Log analysis of the last `hours` (default 1, at most 168): the deterministic patterns always,
/// the model's assessment when configured (`success:false` and `error` otherwise).
#[utoipa::path(post, path = "/api/v1/ai/analyze-logs", tag = "ai", security(("bearer" = [])),
    request_body(content = Object, description = "`{hours=1, host_id?, level?}`, optional"),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn analyze_logs(
    State(state): State<AppState>,
    _viewer: Viewer,
    body: Bytes,
) -> Result<Json<AnalyzeLogsResponse>, ApiError> {
    let request: AnalyzeLogsRequest = if body.iter().all(u8::is_ascii_whitespace) {
        AnalyzeLogsRequest {
            hours: 1.0,
            ..AnalyzeLogsRequest::default()
        }
    } else {
        parse_json(&body)?
    };
    Ok(Json(state.ai.analyze_logs(request).await?))
}

/// Query of the insight list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct InsightQuery {
    page: Option<u32>,
    page_size: Option<u32>,
    severity: Option<String>,
    status: Option<String>,
    /// **Ours:** `anomaly`, `chat` or `root_cause`.
    insight_type: Option<String>,
    /// **Ours:** the analyses of one alert.
    alert_id: Option<i64>,
}

/// AI insights, newest first.
#[utoipa::path(get, path = "/api/v1/ai/insights", tag = "ai", security(("bearer" = [])),
    params(InsightQuery),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn list_insights(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<InsightQuery>,
) -> Result<Json<PageOf<InsightView>>, ApiError> {
    let given =
        |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let filter = InsightFilter {
        severity: given(query.severity),
        status: given(query.status),
        insight_type: given(query.insight_type),
        related_alert_id: query.alert_id,
        page: page_of(query.page, query.page_size, 20, 100)?,
    };
    Ok(Json(state.ai.insights(&filter).await?))
}

/// **Ours:** one insight with its full details (evidence) and feedback.
#[utoipa::path(get, path = "/api/v1/ai/insights/{id}", tag = "ai", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_insight(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<InsightView>, ApiError> {
    Ok(Json(state.ai.insight(id).await?))
}

/// **Ours:** marks an analysis right or wrong: `{verdict: "correct"|"incorrect", comment?}`.
/// The verdict is kept on the insight and on the ops memory of its alert.
#[utoipa::path(post, path = "/api/v1/ai/insights/{id}/feedback", tag = "ai", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = Object, description = "`{verdict, comment?}`"),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn feedback(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<FeedbackRequest>,
) -> Result<Json<InsightView>, ApiError> {
    Ok(Json(
        state.ai.feedback(id, body, Some(viewer.user.id)).await?,
    ))
}

/// Ops chat: `{question}` → `{answer, sources, memory_context}`. Without a model, or when it
/// fails, `answer` and `error` say so.
#[utoipa::path(post, path = "/api/v1/ai/chat", tag = "ai", security(("bearer" = [])),
    request_body(content = Object, description = "`{question}`"),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn chat(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiJson(body): ApiJson<ChatRequestBody>,
) -> Result<Json<ChatResponse>, ApiError> {
    Ok(Json(state.ai.chat(&body.question).await?))
}

/// **Ours:** ops chat streamed as server-sent events: `context` (`{sources, memory_context}`),
/// then `delta` events (`{text}`), then `done` (`{insight_id}`) or `error` (`{detail}`).
/// 503 when no model is configured, 502 when the model cannot start an answer.
#[utoipa::path(post, path = "/api/v1/ai/chat/stream", tag = "ai", security(("bearer" = [])),
    request_body(content = Object, description = "`{question}`"),
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 422, body = ErrorBody), (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn chat_stream(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiJson(body): ApiJson<ChatRequestBody>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let (context, mut stream, started) = state.ai.chat_stream(&body.question).await?;
    let (events, receiver) = tokio::sync::mpsc::channel::<Event>(64);
    let first = Event::default().event("context").data(
        json!({"sources": context.sources(), "memory_context": context.memories}).to_string(),
    );
    let question = body.question;
    tokio::spawn(async move {
        let attempts = stream.attempts();
        let mut answer = String::new();
        let mut outcome = Err("the stream ended early".to_owned());
        let mut usage = None;
        if events.send(first).await.is_err() {
            outcome = Err("the client went away".to_owned());
        } else {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(StreamEvent::Delta(text)) => {
                        answer.push_str(&text);
                        let event = Event::default()
                            .event("delta")
                            .data(json!({"text": text}).to_string());
                        if events.send(event).await.is_err() {
                            outcome = Err("the client went away".to_owned());
                            break;
                        }
                    }
                    Ok(StreamEvent::Done { usage: used, .. }) => {
                        usage = Some(used);
                        outcome = Ok(());
                        break;
                    }
                    Err(error) => {
                        outcome = Err(error.to_string());
                        break;
                    }
                }
            }
        }
        let error = outcome.err();
        let finished = state
            .ai
            .finish_chat_stream(&question, &answer, usage, started, attempts, error.clone())
            .await;
        let last = match (error, finished) {
            (None, Ok(insight_id)) => Event::default()
                .event("done")
                .data(json!({"insight_id": insight_id}).to_string()),
            (Some(error), _) => Event::default()
                .event("error")
                .data(json!({"detail": error}).to_string()),
            (None, Err(error)) => Event::default()
                .event("error")
                .data(json!({"detail": error.to_string()}).to_string()),
        };
        let _ = events.send(last).await;
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Query of a root-cause request.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct RootCauseQuery {
    alert_id: i64,
}

/// Root cause of an alert, as evidence-linked JSON: the original's `analysis` fields
/// (`root_cause`, `confidence`, `evidence`, `recommendations`) plus the claims with the evidence
/// ids they cite, the competing hypotheses, and every evidence item with the stored data it
/// refers to. Without a model (or when it fails) the deterministic correlator answers, labelled
/// `method: "correlator"`. 404 for an unknown alert.
#[utoipa::path(post, path = "/api/v1/ai/root-cause", tag = "ai", security(("bearer" = [])),
    params(RootCauseQuery),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn root_cause(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<RootCauseQuery>,
) -> Result<Json<RootCauseResponse>, ApiError> {
    Ok(Json(state.ai.root_cause(query.alert_id).await?))
}

/// Hosts, services, the last hour's alerts and error logs, and average usage.
#[utoipa::path(get, path = "/api/v1/ai/system-summary", tag = "ai", security(("bearer" = [])),
    responses((status = 200, body = Object)))]
async fn system_summary(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<SystemSummaryView>, ApiError> {
    Ok(Json(state.ai.system_summary().await?))
}

/// Query of a memory search.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct MemoryQuery {
    /// Free text: an alert title, an error message, a question.
    q: String,
    /// 1–50 (default 10).
    limit: Option<i64>,
}

/// **Ours:** similar past incidents from the built-in ops memory, best match first, with a
/// digest ("seen 3 times before; disk_cleanup fixed it twice").
#[utoipa::path(get, path = "/api/v1/ai/memory", tag = "ai", security(("bearer" = [])),
    params(MemoryQuery),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn memory_search(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<MemoryQuery>,
) -> Result<Json<MemorySearchResponse>, ApiError> {
    Ok(Json(
        state
            .ai
            .memory_search(&query.q, query.limit.unwrap_or(10))
            .await?,
    ))
}
