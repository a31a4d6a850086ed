//! `/api/v1/logs` (viewer), `rest-api.md` §12: search, statistics and the lines around a line;
//! and the live stream `/ws/logs` (also at `/api/v1/ws/logs`, §21). The rules are core's
//! (`vigilops_core::logs`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::logs::stream::{LiveFilter, LiveSubscription};
use vigilops_core::logs::{
    LogContextView, LogError, LogLineView, LogSearch, LogStatsView, SearchParams, StatsParams,
    parse_levels,
};
use vigilops_core::protocol::rest::{ErrorBody, PageOf};

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, Viewer, WsUser};
use crate::routes::hosts::page_of;
use crate::state::AppState;

/// How often a socket that asked for it is told about lines it lost.
const DROP_REPORT_EVERY: Duration = Duration::from_secs(1);

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(stats))
        .routes(routes!(context))
        .routes(routes!(stream))
        .routes(routes!(stream_under_api))
}

fn logs(state: &AppState) -> LogSearch {
    LogSearch::new(state.store.clone(), state.clock.clone())
}

impl From<LogError> for ApiError {
    fn from(error: LogError) -> Self {
        match error {
            LogError::NotFound => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            LogError::Invalid { field, message } => {
                Self::validation(&["query", field], message, "value_error")
            }
            LogError::Store(error) => error.into(),
        }
    }
}

/// Query of the log search.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SearchQuery {
    /// Case-insensitive substring of the message.
    q: Option<String>,
    host_id: Option<i64>,
    /// Exact service name.
    service: Option<String>,
    /// Comma-separated levels, compared case-insensitively.
    level: Option<String>,
    /// ISO 8601 (a time without zone is UTC).
    start_time: Option<String>,
    end_time: Option<String>,
    /// 1-based page (default 1).
    page: Option<u32>,
    /// 1–200 (default 50).
    page_size: Option<u32>,
}

/// Query of the log statistics.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct StatsQuery {
    host_id: Option<i64>,
    service: Option<String>,
    /// `1h` → hourly buckets (default range: the last 24 h); otherwise daily (the last 30 days).
    period: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
}

/// Query of a line's context.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ContextQuery {
    /// Lines before (0–100, default 10).
    before: Option<i64>,
    /// Lines after (0–100, default 10).
    after: Option<i64>,
}

/// Query of the live stream.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct StreamQuery {
    host_id: Option<i64>,
    /// Exact service name.
    service: Option<String>,
    /// Comma-separated levels, compared case-insensitively.
    level: Option<String>,
    /// `1` adds `{"type":"dropped","count":N}` frames when lines were lost for this socket.
    notify_drops: Option<String>,
    /// An access token, for clients that cannot set a header.
    #[expect(
        dead_code,
        reason = "read by `WsUser` from the URI; declared for the OpenAPI document"
    )]
    token: Option<String>,
}

/// Log lines matching every filter, newest first.
#[utoipa::path(get, path = "/api/v1/logs", tag = "logs", security(("bearer" = [])),
    params(SearchQuery),
    responses((status = 200, body = PageOf<LogLineView>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<PageOf<LogLineView>>, ApiError> {
    let page = page_of(query.page, query.page_size, 50, 200)?;
    let found = logs(&state)
        .search(SearchParams {
            q: query.q,
            host_id: query.host_id,
            service: query.service,
            level: query.level,
            start_time: query.start_time,
            end_time: query.end_time,
            page,
        })
        .await?;
    Ok(Json(found))
}

/// Counts by level and by hour or day.
#[utoipa::path(get, path = "/api/v1/logs/stats", tag = "logs", security(("bearer" = [])),
    params(StatsQuery),
    responses((status = 200, body = LogStatsView), (status = 422, body = ErrorBody)))]
async fn stats(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<LogStatsView>, ApiError> {
    let stats = logs(&state)
        .stats(StatsParams {
            host_id: query.host_id,
            service: query.service,
            period: query.period,
            start_time: query.start_time,
            end_time: query.end_time,
        })
        .await?;
    Ok(Json(stats))
}

/// A line with the lines of its host just before and after it.
#[utoipa::path(get, path = "/api/v1/logs/{id}/context", tag = "logs", security(("bearer" = [])),
    params(("id" = i64, Path), ContextQuery),
    responses((status = 200, body = LogContextView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn context(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ContextQuery>,
) -> Result<Json<LogContextView>, ApiError> {
    Ok(Json(
        logs(&state).context(id, query.before, query.after).await?,
    ))
}

/// The live stream: one frame `{host_id, service, source, level, message, timestamp}` per
/// stored line that passes the filters, from every replica. Credential: bearer header,
/// `?token=` or the `vigilops_session` cookie.
#[utoipa::path(get, path = "/ws/logs", tag = "logs", params(StreamQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn stream(
    State(state): State<AppState>,
    user: WsUser,
    ApiQuery(query): ApiQuery<StreamQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    open_stream(state, user, query, upgrade).await
}

/// `/ws/logs` under `/api/v1/`, the prefix reverse proxies usually pass.
#[utoipa::path(get, path = "/api/v1/ws/logs", tag = "logs", params(StreamQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn stream_under_api(
    State(state): State<AppState>,
    user: WsUser,
    ApiQuery(query): ApiQuery<StreamQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    open_stream(state, user, query, upgrade).await
}

async fn open_stream(
    state: AppState,
    WsUser(user): WsUser,
    query: StreamQuery,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let levels = parse_levels(query.level.as_deref())?;
    let filter = LiveFilter {
        host_id: query.host_id,
        service: query.service.filter(|service| !service.is_empty()),
        levels,
    };
    let notify_drops = matches!(query.notify_drops.as_deref(), Some("1" | "true"));
    let subscription = state.log_stream.subscribe(filter).await;
    tracing::debug!(user = user.id, "log stream opened");
    Ok(upgrade.on_upgrade(move |socket| forward(socket, subscription, notify_drops)))
}

/// Sends the subscription's lines until either side goes away. Messages from the client are
/// read only to notice a close.
async fn forward(mut socket: WebSocket, mut lines: LiveSubscription, notify_drops: bool) {
    let mut drop_report = tokio::time::interval(DROP_REPORT_EVERY);
    loop {
        tokio::select! {
            line = lines.next() => {
                let Some(line) = line else { return };
                let Ok(text) = serde_json::to_string(&line) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => {
                match incoming {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                    Some(Ok(_)) => {}
                }
            }
            _ = drop_report.tick(), if notify_drops => {
                let count = lines.take_dropped();
                if count > 0 {
                    let frame = json!({"type": "dropped", "count": count}).to_string();
                    if socket.send(Message::Text(frame.into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
