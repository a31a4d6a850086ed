//! `/api/v1/alert-rules`: read by viewers, written by operators (audited). Validation, builtin
//! protection and the audit rows are core's (`vigilops_core::alerting::service::RuleService`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::alerting::wire::{AlertRuleCreate, AlertRuleUpdate, AlertRuleView};
use vigilops_core::protocol::rest::ErrorBody;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp, Operator, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
}

/// Query of the rule list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// Only enabled (`true`) or disabled (`false`) rules.
    is_enabled: Option<bool>,
}

/// Every rule, by id.
#[utoipa::path(get, path = "/api/v1/alert-rules", tag = "alert-rules", security(("bearer" = [])),
    params(ListQuery), responses((status = 200, body = Vec<AlertRuleView>)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<AlertRuleView>>, ApiError> {
    Ok(Json(state.rules.list(query.is_enabled).await?))
}

/// Creates a rule. A bad field (unknown metric, operator, negative duration, invalid regex, …)
/// is answered 422 with one entry per field.
#[utoipa::path(post, path = "/api/v1/alert-rules", tag = "alert-rules", security(("bearer" = [])),
    request_body = AlertRuleCreate,
    responses((status = 201, body = AlertRuleView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<AlertRuleCreate>,
) -> Result<(StatusCode, Json<AlertRuleView>), ApiError> {
    let rule = state.rules.create(&body, &current.actor(ip)).await?;
    state.engine.rules_changed().await;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// One rule.
#[utoipa::path(get, path = "/api/v1/alert-rules/{id}", tag = "alert-rules", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = AlertRuleView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertRuleView>, ApiError> {
    Ok(Json(state.rules.get(id).await?))
}

/// Changes any subset of a rule's fields (builtins included); the result is validated whole.
#[utoipa::path(put, path = "/api/v1/alert-rules/{id}", tag = "alert-rules", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = AlertRuleUpdate,
    responses((status = 200, body = AlertRuleView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AlertRuleUpdate>,
) -> Result<Json<AlertRuleView>, ApiError> {
    let rule = state.rules.update(id, body, &current.actor(ip)).await?;
    state.engine.rules_changed().await;
    Ok(Json(rule))
}

/// Deletes a user rule; a builtin gives 400 `"Cannot delete built-in rule"`.
#[utoipa::path(delete, path = "/api/v1/alert-rules/{id}", tag = "alert-rules", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.rules.delete(id, &current.actor(ip)).await?;
    state.engine.rules_changed().await;
    Ok(StatusCode::NO_CONTENT)
}
