//! `/api/v1/server-groups` (`rest-api.md` §20): groups of servers running one kind of service,
//! and their memberships (read: viewer, write: operator). The rules are core's
//! (`vigilops_core::topology::servers`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::protocol::rest::{ErrorBody, PageOf};
use vigilops_core::topology::wire::{
    GroupMemberRequest, GroupServerView, ServerGroupRequest, ServerGroupView,
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
        .routes(routes!(add_server))
        .routes(routes!(remove_server))
}

/// Query of the group list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    page: Option<u32>,
    /// 1 to 200, default 50.
    page_size: Option<u32>,
}

/// Groups by id with the servers running them, paged.
#[utoipa::path(get, path = "/api/v1/server-groups", tag = "server-groups", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = PageOf<ServerGroupView>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<ServerGroupView>>, ApiError> {
    let page = page_of(query.page, query.page_size, 50, 200)?;
    Ok(Json(servers(&state).group_page(page).await?))
}

/// Creates a group. A taken name is 400. Audited.
#[utoipa::path(post, path = "/api/v1/server-groups", tag = "server-groups", security(("bearer" = [])),
    request_body = ServerGroupRequest,
    responses((status = 201, body = ServerGroupView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ServerGroupRequest>,
) -> Result<(StatusCode, Json<ServerGroupView>), ApiError> {
    let group = servers(&state)
        .create_group(body, &operator.actor(ip))
        .await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// One group with the servers running it.
#[utoipa::path(get, path = "/api/v1/server-groups/{id}", tag = "server-groups", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ServerGroupView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ServerGroupView>, ApiError> {
    Ok(Json(servers(&state).group(id).await?))
}

/// Changes the given fields of a group. Audited.
#[utoipa::path(put, path = "/api/v1/server-groups/{id}", tag = "server-groups", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ServerGroupRequest,
    responses((status = 200, body = ServerGroupView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ServerGroupRequest>,
) -> Result<Json<ServerGroupView>, ApiError> {
    Ok(Json(
        servers(&state)
            .update_group(id, body, &operator.actor(ip))
            .await?,
    ))
}

/// Deletes a group with its memberships. Audited.
#[utoipa::path(delete, path = "/api/v1/server-groups/{id}", tag = "server-groups", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    servers(&state)
        .delete_group(id, &operator.actor(ip))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a server to the group. An unknown server or group is 404, a second membership 400.
/// Audited.
#[utoipa::path(post, path = "/api/v1/server-groups/{id}/servers", tag = "server-groups", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = GroupMemberRequest,
    responses((status = 201, body = GroupServerView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn add_server(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<GroupMemberRequest>,
) -> Result<(StatusCode, Json<GroupServerView>), ApiError> {
    let member = servers(&state)
        .add_member(id, body, &operator.actor(ip))
        .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Removes a server from the group. Audited.
#[utoipa::path(delete, path = "/api/v1/server-groups/{id}/servers/{server_id}", tag = "server-groups", security(("bearer" = [])),
    params(("id" = i64, Path), ("server_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn remove_server(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiPath((id, server_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    servers(&state)
        .remove_member(id, server_id, &operator.actor(ip))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
