//! `/api/v1/reports` (`rest-api.md` §17): list and read (viewer), generate (operator; the row
//! comes back `generating` and is written in the background), delete (admin). The rules are
//! core's (`vigilops_core::report`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::protocol::rest::{ErrorBody, PageOf};
use vigilops_core::report::{GenerateReport, ReportError, ReportView};

use super::hosts::page_of;
use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, ApiPath, ApiQuery, ClientIp, Operator, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get, delete))
        .routes(routes!(create))
}

impl From<ReportError> for ApiError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::NotFound => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            ReportError::Invalid {
                location,
                field,
                message,
            } => ApiError::validation(&[location, field], message, "value_error"),
            ReportError::Store(error) => error.into(),
        }
    }
}

/// Query of the report list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// `daily` or `weekly`.
    report_type: Option<String>,
    page: Option<u32>,
    page_size: Option<u32>,
}

/// A report to generate. Without a period: yesterday (daily) or the 7 days before today
/// (weekly), in the report time zone.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ReportGenerateRequest {
    /// `daily` (default) or `weekly`.
    report_type: Option<String>,
    /// RFC 3339, or a date (`YYYY-MM-DD`) in the report time zone; given with `period_end`.
    period_start: Option<String>,
    /// Exclusive; after `period_start`.
    period_end: Option<String>,
}

/// Reports, newest first.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = PageOf<ReportView>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<ReportView>>, ApiError> {
    let page = page_of(query.page, query.page_size, 20, 100)?;
    Ok(Json(
        state
            .reports
            .list(query.report_type.as_deref(), page)
            .await?,
    ))
}

/// One report.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ReportView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ReportView>, ApiError> {
    Ok(Json(state.reports.get(id).await?))
}

/// Starts a report and returns it `generating`; it is written in the background (re-read it
/// or the list). Without a model it is written from the data alone. Audited.
#[utoipa::path(post, path = "/api/v1/reports/generate", tag = "reports", security(("bearer" = [])),
    request_body = ReportGenerateRequest,
    responses((status = 200, body = ReportView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ReportGenerateRequest>,
) -> Result<Json<ReportView>, ApiError> {
    let request = GenerateReport {
        report_type: body.report_type,
        period_start: body.period_start,
        period_end: body.period_end,
    };
    Ok(Json(
        state.reports.generate(&request, &current.actor(ip)).await?,
    ))
}

/// Deletes a report. Audited.
#[utoipa::path(delete, path = "/api/v1/reports/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.reports.delete(id, &current.actor(ip)).await?;
    Ok(Json(serde_json::json!({"status": "ok"})))
}
