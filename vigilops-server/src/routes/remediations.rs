//! `/api/v1/remediations` (read: any logged-in user): the list with the original's filters, one
//! run, and the statistics (`rest-api.md` §8). Approve, reject and retry arrive with the
//! remediation flow.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::model::{RemediationFilter, RemediationStatus};
use vigilops_core::protocol::rest::{ErrorBody, PageOf};
use vigilops_core::remediation::service::RemediationError;
use vigilops_core::remediation::wire::{RemediationStatsView, RemediationView};

use super::hosts::page_of;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(stats))
        .routes(routes!(get))
}

impl From<RemediationError> for ApiError {
    fn from(error: RemediationError) -> Self {
        match error {
            RemediationError::NotFound => Self::new(
                axum::http::StatusCode::NOT_FOUND,
                "Remediation log not found",
            ),
            RemediationError::Store(error) => error.into(),
        }
    }
}

/// Query of the remediation list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// `pending`, `diagnosing`, `executing`, `verifying`, `pending_approval`, `approved`,
    /// `rejected`, `success`, `failed` or `escalated`.
    status: Option<String>,
    host_id: Option<i64>,
    /// `auto` or `manual`.
    triggered_by: Option<String>,
    /// **Ours:** the runs of one alert.
    alert_id: Option<i64>,
    page: Option<u32>,
    page_size: Option<u32>,
}

/// Remediation runs, newest first.
#[utoipa::path(get, path = "/api/v1/remediations", tag = "remediations", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = PageOf<RemediationView>), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<RemediationView>>, ApiError> {
    let given =
        |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let status = given(query.status)
        .map(|status| {
            RemediationStatus::parse(&status).ok_or_else(|| {
                ApiError::validation(
                    &["query", "status"],
                    "status must be one of pending, diagnosing, executing, verifying, \
                     pending_approval, approved, rejected, success, failed, escalated",
                    "enum",
                )
            })
        })
        .transpose()?;
    let triggered_by = given(query.triggered_by);
    if let Some(trigger) = &triggered_by
        && trigger != "auto"
        && trigger != "manual"
    {
        return Err(ApiError::validation(
            &["query", "triggered_by"],
            "triggered_by must be auto or manual",
            "enum",
        ));
    }
    let filter = RemediationFilter {
        status,
        host_id: query.host_id,
        alert_id: query.alert_id,
        triggered_by,
        page: page_of(query.page, query.page_size, 20, 100)?,
    };
    Ok(Json(state.remediations.list(&filter).await?))
}

/// Totals, success rate, mean duration, and today's and this week's counts (UTC).
#[utoipa::path(get, path = "/api/v1/remediations/stats", tag = "remediations", security(("bearer" = [])),
    responses((status = 200, body = RemediationStatsView)))]
async fn stats(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<RemediationStatsView>, ApiError> {
    Ok(Json(state.remediations.stats().await?))
}

/// One run, with its diagnosis, command results and safety decision.
#[utoipa::path(get, path = "/api/v1/remediations/{id}", tag = "remediations", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = RemediationView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RemediationView>, ApiError> {
    Ok(Json(state.remediations.get(id).await?))
}
