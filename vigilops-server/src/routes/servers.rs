//! `/api/v1/servers` (`rest-api.md` §20): the hand-kept servers as a CRUD resource (read:
//! viewer, write: operator), each linked to the agent host of the same hostname. The rules are
//! core's (`vigilops_core::topology::servers`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::protocol::rest::{ErrorBody, PageOf};
use vigilops_core::topology::wire::{
    Detail, ServerDetail, ServerRequest, ServerSummaryView, ServerView,
};

use super::hosts::page_of;
use super::topology::servers;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp, Operator, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
}

/// Query of the server list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    page: Option<u32>,
    /// 1 to 100, default 20.
    page_size: Option<u32>,
}

/// Servers by id with their figures, paged.
#[utoipa::path(get, path = "/api/v1/servers", tag = "servers", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = PageOf<ServerSummaryView>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<ServerSummaryView>>, ApiError> {
    let page = page_of(query.page, query.page_size, 20, 100)?;
    Ok(Json(servers(&state).page(page).await?))
}

/// Creates a server, linked to the agent host of the same hostname. A taken hostname is 400.
/// Audited.
#[utoipa::path(post, path = "/api/v1/servers", tag = "servers", security(("bearer" = [])),
    request_body = ServerRequest,
    responses((status = 201, body = ServerView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ServerRequest>,
) -> Result<(StatusCode, Json<ServerView>), ApiError> {
    let server = servers(&state).create(body, &operator.actor(ip)).await?;
    Ok((StatusCode::CREATED, Json(server)))
}

/// One server with its group memberships and nginx upstreams.
#[utoipa::path(get, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ServerDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ServerDetail>, ApiError> {
    Ok(Json(servers(&state).detail(id).await?))
}

/// Changes the given fields of a server (the host link follows the hostname). Audited.
#[utoipa::path(put, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ServerRequest,
    responses((status = 200, body = ServerView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ServerRequest>,
) -> Result<Json<ServerView>, ApiError> {
    Ok(Json(
        servers(&state)
            .update(id, body, &operator.actor(ip))
            .await?,
    ))
}

/// Deletes a server with its memberships and upstreams. Audited.
#[utoipa::path(delete, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Detail>, ApiError> {
    Ok(Json(servers(&state).delete(id, &operator.actor(ip)).await?))
}
