//! **Ours:** `/api/v1/silences` (operator): silences and recurring maintenance windows. The
//! schedule is checked by core (`vigilops_core::alerting::service::SilenceService`), which
//! answers 422 naming the field at fault.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::alerting::wire::{SilenceCreate, SilenceUpdate, SilenceView};
use vigilops_core::protocol::rest::ErrorBody;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ClientIp, Operator};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
}

/// Every silence, by id, with whether it is in force now.
#[utoipa::path(get, path = "/api/v1/silences", tag = "silences", security(("bearer" = [])),
    responses((status = 200, body = Vec<SilenceView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _current: Operator,
) -> Result<Json<Vec<SilenceView>>, ApiError> {
    Ok(Json(state.silences.list().await?))
}

/// Creates a silence: one-off (`starts_at`, `ends_at`) or recurring (`schedule` as 5-field cron
/// in UTC, `duration_seconds`).
#[utoipa::path(post, path = "/api/v1/silences", tag = "silences", security(("bearer" = [])),
    request_body = SilenceCreate,
    responses((status = 201, body = SilenceView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<SilenceCreate>,
) -> Result<(StatusCode, Json<SilenceView>), ApiError> {
    let silence = state.silences.create(&body, &current.actor(ip)).await?;
    Ok((StatusCode::CREATED, Json(silence)))
}

/// One silence.
#[utoipa::path(get, path = "/api/v1/silences/{id}", tag = "silences", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = SilenceView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _current: Operator,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SilenceView>, ApiError> {
    Ok(Json(state.silences.get(id).await?))
}

/// Changes any subset of a silence; the result is validated whole.
#[utoipa::path(put, path = "/api/v1/silences/{id}", tag = "silences", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = SilenceUpdate,
    responses((status = 200, body = SilenceView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SilenceUpdate>,
) -> Result<Json<SilenceView>, ApiError> {
    Ok(Json(
        state.silences.update(id, body, &current.actor(ip)).await?,
    ))
}

/// Deletes a silence.
#[utoipa::path(delete, path = "/api/v1/silences/{id}", tag = "silences", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.silences.delete(id, &current.actor(ip)).await?;
    Ok(StatusCode::NO_CONTENT)
}
