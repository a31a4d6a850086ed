//! `/api/v1/agent/*`: the agent protocol. Handlers authenticate the token, parse the body and
//! call one ingest function; everything else is decided in `vigilops_core::ingest`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::ingest::StoredReply;
use vigilops_core::protocol::agent::{
    AgentUpdatesResponse, DbMetricsReport, DbMetricsResponse, DbTargetsResponse, HeartbeatRequest,
    HeartbeatResponse, IDEMPOTENCY_KEY_HEADER, LogBatch, LogBatchResponse, MetricsBatch,
    MetricsBatchResponse, MetricsReport, MetricsResponse, RegisterRequest, RegisterResponse,
    ServiceCheckReport, ServiceCheckResponse, ServiceDependenciesReport,
    ServiceDependenciesResponse, ServiceRegisterRequest, ServiceRegisterResponse,
    ServiceTargetsResponse,
};
use vigilops_core::protocol::rest::ErrorBody;

use crate::error::ApiError;
use crate::extract::{Agent, ApiJson, ApiQuery, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(heartbeat))
        .routes(routes!(metrics))
        .routes(routes!(metrics_batch))
        .routes(routes!(register_service))
        .routes(routes!(service_check))
        .routes(routes!(service_dependencies))
        .routes(routes!(db_metrics))
        .routes(routes!(logs))
        .routes(routes!(db_targets))
        .routes(routes!(service_targets))
        .routes(routes!(agent_updates))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "Invalid Idempotency-Key"))
        })
        .transpose()
}

fn stored(reply: StoredReply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = (status, reply.body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Registers (or refreshes) the host of (`hostname`, token).
#[utoipa::path(post, path = "/api/v1/agent/register", tag = "agent", security(("agent_token" = [])),
    request_body = RegisterRequest,
    responses((status = 200, body = RegisterResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    Agent(identity): Agent,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Json<RegisterResponse>, ApiError> {
    Ok(Json(state.ingest.register(identity, body, ip).await?))
}

/// Marks the host online now.
#[utoipa::path(post, path = "/api/v1/agent/heartbeat", tag = "agent", security(("agent_token" = [])),
    request_body = HeartbeatRequest,
    responses((status = 200, body = HeartbeatResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn heartbeat(
    State(state): State<AppState>,
    Agent(identity): Agent,
    ApiJson(body): ApiJson<HeartbeatRequest>,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    Ok(Json(state.ingest.heartbeat(identity, body).await?))
}

/// Stores one host sample (group-committed). Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/agent/metrics", tag = "agent", security(("agent_token" = [])),
    request_body = MetricsReport,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays of one record are stored once")),
    responses((status = 201, body = MetricsResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    Agent(identity): Agent,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MetricsReport>,
) -> Result<Response, ApiError> {
    let ingest = &state.ingest;
    let reply = ingest
        .idempotent_write(identity, idempotency_key(&headers)?, 201, |claim| {
            ingest.metrics(identity, body, claim)
        })
        .await?;
    Ok(stored(reply))
}

/// **Extension:** stores several host samples (at most 1000, each with its own `timestamp`)
/// together, all or none; every sample's host must belong to the token. One `Idempotency-Key`
/// covers the batch. The original `metrics` endpoint is unchanged.
#[utoipa::path(post, path = "/api/v1/agent/metrics/batch", tag = "agent", security(("agent_token" = [])),
    request_body = MetricsBatch,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retried batch is stored once")),
    responses((status = 201, body = MetricsBatchResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn metrics_batch(
    State(state): State<AppState>,
    Agent(identity): Agent,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MetricsBatch>,
) -> Result<Response, ApiError> {
    let ingest = &state.ingest;
    let reply = ingest
        .idempotent_write(identity, idempotency_key(&headers)?, 201, |claim| {
            ingest.metrics_batch(identity, body, claim)
        })
        .await?;
    Ok(stored(reply))
}

/// Registers (or updates) the service (`host_id`, `name`).
#[utoipa::path(post, path = "/api/v1/agent/services/register", tag = "agent", security(("agent_token" = [])),
    request_body = ServiceRegisterRequest,
    responses((status = 200, body = ServiceRegisterResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn register_service(
    State(state): State<AppState>,
    Agent(identity): Agent,
    ApiJson(body): ApiJson<ServiceRegisterRequest>,
) -> Result<Json<ServiceRegisterResponse>, ApiError> {
    Ok(Json(state.ingest.register_service(identity, body).await?))
}

/// Stores one service check result. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/agent/services", tag = "agent", security(("agent_token" = [])),
    request_body = ServiceCheckReport,
    responses((status = 201, body = ServiceCheckResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn service_check(
    State(state): State<AppState>,
    Agent(identity): Agent,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ServiceCheckReport>,
) -> Result<Response, ApiError> {
    let ingest = &state.ingest;
    let reply = ingest
        .idempotent_write(identity, idempotency_key(&headers)?, 201, |claim| {
            ingest.service_check(identity, body, claim)
        })
        .await?;
    Ok(stored(reply))
}

/// **Extension:** replaces the host's discovered service dependencies. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/agent/service-dependencies", tag = "agent", security(("agent_token" = [])),
    request_body = ServiceDependenciesReport,
    responses((status = 201, body = ServiceDependenciesResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn service_dependencies(
    State(state): State<AppState>,
    Agent(identity): Agent,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ServiceDependenciesReport>,
) -> Result<Response, ApiError> {
    let ingest = &state.ingest;
    let reply = ingest
        .idempotent(identity, idempotency_key(&headers)?, 201, || {
            ingest.service_dependencies(identity, body)
        })
        .await?;
    Ok(stored(reply))
}

/// Stores one database sample. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/agent/db-metrics", tag = "agent", security(("agent_token" = [])),
    request_body = DbMetricsReport,
    responses((status = 201, body = DbMetricsResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn db_metrics(
    State(state): State<AppState>,
    Agent(identity): Agent,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DbMetricsReport>,
) -> Result<Response, ApiError> {
    let ingest = &state.ingest;
    let reply = ingest
        .idempotent_write(identity, idempotency_key(&headers)?, 201, |claim| {
            ingest.db_metrics(identity, body, claim)
        })
        .await?;
    Ok(stored(reply))
}

/// Stores a batch of log lines, all or nothing. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/agent/logs", tag = "agent", security(("agent_token" = [])),
    request_body = LogBatch,
    responses((status = 201, body = LogBatchResponse), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn logs(
    State(state): State<AppState>,
    Agent(identity): Agent,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LogBatch>,
) -> Result<Response, ApiError> {
    let ingest = &state.ingest;
    let reply = ingest
        .idempotent_write(identity, idempotency_key(&headers)?, 201, |claim| {
            ingest.logs(identity, body, claim)
        })
        .await?;
    Ok(stored(reply))
}

/// Query of `db-targets`.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct DbTargetsQuery {
    host_id: i64,
}

/// Server-managed databases for the agent to monitor (none yet): `{"items":[]}`.
#[utoipa::path(get, path = "/api/v1/agent/db-targets", tag = "agent", security(("agent_token" = [])),
    params(DbTargetsQuery),
    responses((status = 200, body = DbTargetsResponse), (status = 403, body = ErrorBody)))]
async fn db_targets(
    State(state): State<AppState>,
    Agent(identity): Agent,
    ApiQuery(query): ApiQuery<DbTargetsQuery>,
) -> Result<Json<DbTargetsResponse>, ApiError> {
    state.ingest.check_host(identity, query.host_id).await?;
    Ok(Json(DbTargetsResponse::default()))
}

/// Query of `service-targets`.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ServiceTargetsQuery {
    host_id: i64,
}

/// **Extension:** the services registered on the server for the host (by its agent or by an
/// operator), with type, target, interval and timeout, for the agent to check and report under
/// their ids. An original server answers 404 and our agent checks its configured services only.
#[utoipa::path(get, path = "/api/v1/agent/service-targets", tag = "agent", security(("agent_token" = [])),
    params(ServiceTargetsQuery),
    responses((status = 200, body = ServiceTargetsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn service_targets(
    State(state): State<AppState>,
    Agent(identity): Agent,
    ApiQuery(query): ApiQuery<ServiceTargetsQuery>,
) -> Result<Json<ServiceTargetsResponse>, ApiError> {
    Ok(Json(
        state
            .ingest
            .service_targets(identity, query.host_id)
            .await?,
    ))
}

/// Agent self-update list; we never serve Python wheels: `{"versions":[]}`. Also lets an
/// agent test its token (200 accepted, 401 rejected).
#[utoipa::path(get, path = "/api/v1/agent-updates/list", tag = "agent", security(("agent_token" = [])),
    responses((status = 200, body = AgentUpdatesResponse), (status = 401, body = ErrorBody)))]
async fn agent_updates(Agent(_identity): Agent) -> Json<AgentUpdatesResponse> {
    Json(AgentUpdatesResponse::default())
}
