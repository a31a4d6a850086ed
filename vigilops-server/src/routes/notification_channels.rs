//! `/api/v1/notification-channels` (operator): channel CRUD with secrets masked on every read,
//! our `POST /{id}/test`, and the notification log at `/logs` (also served at our
//! `/api/v1/notification-logs`). Rules and audit rows are core's
//! (`vigilops_core::notify::service::ChannelService`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::notify::wire::{
    ChannelCreate, ChannelUpdate, ChannelView, NotificationLogView, TestDeliveryView,
};
use vigilops_core::protocol::rest::ErrorBody;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp, Operator};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logs))
        .routes(routes!(notification_logs))
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(test))
}

/// Query of the notification log.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct LogsQuery {
    /// Only the rows of this alert.
    alert_id: Option<i64>,
    /// 1–200 (default 50).
    limit: Option<i64>,
}

async fn read_logs(
    state: &AppState,
    query: LogsQuery,
) -> Result<Json<Vec<NotificationLogView>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation(
            &["query", "limit"],
            "limit must be between 1 and 200",
            "less_than_equal",
        ));
    }
    Ok(Json(state.channels.logs(query.alert_id, limit).await?))
}

/// The notification log, newest first: one row per (alert, channel, event) and per test send.
#[utoipa::path(get, path = "/api/v1/notification-channels/logs", tag = "notification-channels",
    security(("bearer" = [])), params(LogsQuery),
    responses((status = 200, body = Vec<NotificationLogView>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn logs(
    State(state): State<AppState>,
    _current: Operator,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Json<Vec<NotificationLogView>>, ApiError> {
    read_logs(&state, query).await
}

/// **Ours:** the notification log under its own resource name; same as
/// `/notification-channels/logs`.
#[utoipa::path(get, path = "/api/v1/notification-logs", tag = "notification-channels",
    security(("bearer" = [])), params(LogsQuery),
    responses((status = 200, body = Vec<NotificationLogView>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn notification_logs(
    State(state): State<AppState>,
    _current: Operator,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Json<Vec<NotificationLogView>>, ApiError> {
    read_logs(&state, query).await
}

/// Every channel, secrets masked.
#[utoipa::path(get, path = "/api/v1/notification-channels", tag = "notification-channels",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ChannelView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _current: Operator,
) -> Result<Json<Vec<ChannelView>>, ApiError> {
    Ok(Json(state.channels.list().await?))
}

/// Creates a channel; an unknown `type` or a bad `config` gives 422 naming the key.
#[utoipa::path(post, path = "/api/v1/notification-channels", tag = "notification-channels",
    security(("bearer" = [])), request_body = ChannelCreate,
    responses((status = 201, body = ChannelView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ChannelCreate>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    let channel = state.channels.create(body, &current.actor(ip)).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// **Ours:** one channel, secrets masked.
#[utoipa::path(get, path = "/api/v1/notification-channels/{id}", tag = "notification-channels",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ChannelView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _current: Operator,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ChannelView>, ApiError> {
    Ok(Json(state.channels.get(id).await?))
}

/// Edits a channel; a config value sent back as `"******"` keeps the stored secret.
#[utoipa::path(put, path = "/api/v1/notification-channels/{id}", tag = "notification-channels",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = ChannelUpdate,
    responses((status = 200, body = ChannelView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ChannelUpdate>,
) -> Result<Json<ChannelView>, ApiError> {
    Ok(Json(
        state.channels.update(id, body, &current.actor(ip)).await?,
    ))
}

/// Deletes a channel and its log rows.
#[utoipa::path(delete, path = "/api/v1/notification-channels/{id}", tag = "notification-channels",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.channels.delete(id, &current.actor(ip)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// **Ours:** sends a test message (one attempt) and returns the delivery; a notification-log row
/// records it either way.
#[utoipa::path(post, path = "/api/v1/notification-channels/{id}/test", tag = "notification-channels",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = TestDeliveryView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn test(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TestDeliveryView>, ApiError> {
    Ok(Json(state.channels.test(id, &current.actor(ip)).await?))
}
