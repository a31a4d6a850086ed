//! `/api/v1/remediations` (read: any logged-in user; act: operators): the list with the
//! original's filters, one run, the statistics, and approve, reject and retry (`rest-api.md`
//! §8). The flow itself is core's (`vigilops_core::remediation::flow`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::model::{RemediationFilter, RemediationStatus};
use vigilops_core::protocol::rest::{ErrorBody, PageOf};
use vigilops_core::remediation::flow::FlowError;
use vigilops_core::remediation::service::RemediationError;
use vigilops_core::remediation::wire::{RemediationStatsView, RemediationView};

use super::hosts::page_of;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, ClientIp, Operator, Viewer, parse_json};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(stats))
        .routes(routes!(get))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(retry))
}

impl From<FlowError> for ApiError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::AlertNotFound => Self::new(StatusCode::NOT_FOUND, "Alert not found"),
            FlowError::NotFound => Self::new(StatusCode::NOT_FOUND, "Remediation log not found"),
            FlowError::InProgress => Self::new(StatusCode::CONFLICT, error.to_string()),
            FlowError::WrongStatus { .. } | FlowError::NoHost => {
                Self::new(StatusCode::BAD_REQUEST, error.to_string())
            }
            FlowError::Store(error) => error.into(),
        }
    }
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

/// The optional body of approve and reject (the original client sends none).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct ReviewRequest {
    /// Why, for the audit trail and the run's log.
    comment: Option<String>,
}

fn review_comment(body: &Bytes) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let request: ReviewRequest = parse_json(body)?;
    let comment = request
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(ApiError::validation(
            &["body", "comment"],
            "comment must be at most 2000 characters",
            "string_too_long",
        ));
    }
    Ok(comment)
}

/// Approves a run waiting for approval; it then executes on the host, after the breaker, the
/// rate limiter and every command are checked again. 400 unless `pending_approval`. Audited.
#[utoipa::path(post, path = "/api/v1/remediations/{id}/approve", tag = "remediations", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = ReviewRequest, description = "optional"),
    responses((status = 200, body = RemediationView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn approve(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Result<Json<RemediationView>, ApiError> {
    let comment = review_comment(&body)?;
    let run = state.flow.approve(id, &current.actor(ip), comment).await?;
    Ok(Json(RemediationView::from(run)))
}

/// Rejects a run waiting for approval: nothing runs. 400 unless `pending_approval`. Audited.
#[utoipa::path(post, path = "/api/v1/remediations/{id}/reject", tag = "remediations", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = ReviewRequest, description = "optional"),
    responses((status = 200, body = RemediationView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reject(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Result<Json<RemediationView>, ApiError> {
    let comment = review_comment(&body)?;
    let run = state.flow.reject(id, &current.actor(ip), comment).await?;
    Ok(Json(RemediationView::from(run)))
}

/// **Ours:** starts a new manual run for the alert of a `failed`, `escalated` or `rejected`
/// run; 400 otherwise, 409 while another run of the alert is in progress. Audited.
#[utoipa::path(post, path = "/api/v1/remediations/{id}/retry", tag = "remediations", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = RemediationView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn retry(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RemediationView>, ApiError> {
    let run = state.flow.retry(id, &current.actor(ip)).await?;
    Ok(Json(RemediationView::from(run)))
}
