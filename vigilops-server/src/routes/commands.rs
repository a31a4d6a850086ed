//! Operator endpoints of the command channel: queue a diagnostic command for a host's agent and
//! read what became of it. The safety check, the queue and the audit row are core's
//! (`vigilops_core::command`); the agent side is `routes::agent_ws`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::command::QueueRequest;
use vigilops_core::protocol::rest::{AgentCommandView, ErrorBody, QueueCommandRequest};

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp, Operator};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get))
}

/// Queues a read-only diagnostic command for the host's agent. The command is checked by the
/// safety policy first; a refused command is answered 422 with one entry per reason and is
/// not queued. Audited as `queue_command`.
#[utoipa::path(post, path = "/api/v1/hosts/{id}/commands", tag = "commands", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = QueueCommandRequest,
    responses((status = 201, body = AgentCommandView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<QueueCommandRequest>,
) -> Result<(StatusCode, Json<AgentCommandView>), ApiError> {
    let request = QueueRequest {
        host_id: id,
        command: body.command,
        timeout_seconds: body.timeout,
        remediation: None,
    };
    let command = state.commands.queue(request, &current.actor(ip)).await?;
    Ok((StatusCode::CREATED, Json(command.into())))
}

/// Query of a host's command list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// 1–200 (default 50).
    limit: Option<i64>,
}

/// The host's newest commands, newest first.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/commands", tag = "commands", security(("bearer" = [])),
    params(("id" = i64, Path), ListQuery),
    responses((status = 200, body = Vec<AgentCommandView>), (status = 404, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _current: Operator,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<AgentCommandView>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation(
            &["query", "limit"],
            "limit must be between 1 and 200",
            "less_than_equal",
        ));
    }
    let commands = state.commands.list_for_host(id, limit).await?;
    Ok(Json(commands.into_iter().map(Into::into).collect()))
}

/// One command: its status, exit code, output and duration.
#[utoipa::path(get, path = "/api/v1/commands/{request_id}", tag = "commands", security(("bearer" = [])),
    params(("request_id" = uuid::Uuid, Path)),
    responses((status = 200, body = AgentCommandView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _current: Operator,
    ApiPath(request_id): ApiPath<uuid::Uuid>,
) -> Result<Json<AgentCommandView>, ApiError> {
    Ok(Json(state.commands.get(request_id).await?.into()))
}
