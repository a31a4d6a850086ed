//! `/api/v1/notification-templates` (admin): template CRUD. Unknown variables and unbalanced
//! braces are refused at save time with 422 naming the field (core's
//! `vigilops_core::notify::service::TemplateService`).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::notify::wire::{TemplateCreate, TemplateUpdate, TemplateView};
use vigilops_core::protocol::rest::ErrorBody;

use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, ApiPath, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
}

/// Every template, by id.
#[utoipa::path(get, path = "/api/v1/notification-templates", tag = "notification-templates",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<TemplateView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<TemplateView>>, ApiError> {
    Ok(Json(state.templates.list().await?))
}

/// Creates a template (200, like the original). A default replaces the previous default of
/// its channel type.
#[utoipa::path(post, path = "/api/v1/notification-templates", tag = "notification-templates",
    security(("bearer" = [])), request_body = TemplateCreate,
    responses((status = 200, body = TemplateView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<TemplateCreate>,
) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(
        state.templates.create(&body, &current.actor(ip)).await?,
    ))
}

/// Changes any subset of a template; 404 `"模板不存在"` for an unknown id.
#[utoipa::path(put, path = "/api/v1/notification-templates/{id}", tag = "notification-templates",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = TemplateUpdate,
    responses((status = 200, body = TemplateView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TemplateUpdate>,
) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(
        state.templates.update(id, body, &current.actor(ip)).await?,
    ))
}

/// Deletes a template: 200 `{"detail": "已删除"}`, as the original answered.
#[utoipa::path(delete, path = "/api/v1/notification-templates/{id}", tag = "notification-templates",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    state.templates.delete(id, &current.actor(ip)).await?;
    Ok(Json(json!({ "detail": "已删除" })))
}
