//! `/api/v1/sla` (`rest-api.md` §19): rules (read: viewer, write: operator, audited), the
//! status of every rule in its current window, violations in a date range, and a service's
//! report. The rules are core's (`vigilops_core::sla`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::protocol::rest::ErrorBody;
use vigilops_core::sla::{
    CreateSlaRule, ReportQuery as CoreReportQuery, SlaError, SlaReport, SlaRuleView, SlaStatusView,
    SlaViolationView,
};

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp, Operator, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete))
        .routes(routes!(status))
        .routes(routes!(violations))
        .routes(routes!(report))
}

impl From<SlaError> for ApiError {
    fn from(error: SlaError) -> Self {
        match error {
            SlaError::ServiceNotFound | SlaError::RuleNotFound => {
                Self::new(StatusCode::NOT_FOUND, error.to_string())
            }
            SlaError::DuplicateRule => Self::new(StatusCode::BAD_REQUEST, error.to_string()),
            SlaError::Invalid {
                location,
                field,
                message,
            } => ApiError::validation(&[location, field], message, "value_error"),
            SlaError::Store(error) => error.into(),
        }
    }
}

/// A rule to create.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SlaRuleCreateRequest {
    service_id: i64,
    name: String,
    /// In (0, 100]; default 99.9.
    target_percent: Option<f64>,
    /// `daily`, `weekly` or `monthly` (default).
    calculation_window: Option<String>,
}

/// Query of the violations list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ViolationsQuery {
    /// `YYYY-MM-DD`, the first day (default: no lower bound).
    start_date: Option<String>,
    /// `YYYY-MM-DD`, the last day, inclusive (default: no upper bound).
    end_date: Option<String>,
}

/// Query of a report.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ReportQuery {
    service_id: i64,
    /// `daily`, `weekly` or `monthly` (default); the range is given by the dates.
    period: Option<String>,
    /// `YYYY-MM-DD` (default: 29 days before `end_date`).
    start_date: Option<String>,
    /// `YYYY-MM-DD`, inclusive (default: today).
    end_date: Option<String>,
}

/// Every SLA rule with its service's name.
#[utoipa::path(get, path = "/api/v1/sla/rules", tag = "sla", security(("bearer" = [])),
    responses((status = 200, body = Vec<SlaRuleView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<Vec<SlaRuleView>>, ApiError> {
    Ok(Json(state.sla.list_rules().await?))
}

/// Creates a service's rule (one per service: a second is 400; an unknown service 404).
/// Audited.
#[utoipa::path(post, path = "/api/v1/sla/rules", tag = "sla", security(("bearer" = [])),
    request_body = SlaRuleCreateRequest,
    responses((status = 200, body = SlaRuleView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<SlaRuleCreateRequest>,
) -> Result<Json<SlaRuleView>, ApiError> {
    let rule = state
        .sla
        .create_rule(
            CreateSlaRule {
                service_id: body.service_id,
                name: body.name,
                target_percent: body.target_percent,
                calculation_window: body.calculation_window,
            },
            &current.actor(ip),
        )
        .await?;
    Ok(Json(rule))
}

/// Deletes a rule and its violations. Audited.
#[utoipa::path(delete, path = "/api/v1/sla/rules/{id}", tag = "sla", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.sla.delete_rule(id, &current.actor(ip)).await?;
    Ok(Json(serde_json::json!({"detail": "SLA rule deleted"})))
}

/// Every rule's time-based availability and error budget in its current window.
#[utoipa::path(get, path = "/api/v1/sla/status", tag = "sla", security(("bearer" = [])),
    responses((status = 200, body = Vec<SlaStatusView>), (status = 403, body = ErrorBody)))]
async fn status(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<Vec<SlaStatusView>>, ApiError> {
    Ok(Json(state.sla.status().await?))
}

/// The violations overlapping a range of days, newest first (at most 1000).
#[utoipa::path(get, path = "/api/v1/sla/violations", tag = "sla", security(("bearer" = [])),
    params(ViolationsQuery),
    responses((status = 200, body = Vec<SlaViolationView>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn violations(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ViolationsQuery>,
) -> Result<Json<Vec<SlaViolationView>>, ApiError> {
    Ok(Json(
        state
            .sla
            .violations(query.start_date.as_deref(), query.end_date.as_deref())
            .await?,
    ))
}

/// A service's availability over a range of days (the last 30 by default), one value per day.
#[utoipa::path(get, path = "/api/v1/sla/report", tag = "sla", security(("bearer" = [])),
    params(ReportQuery),
    responses((status = 200, body = SlaReport), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<SlaReport>, ApiError> {
    Ok(Json(
        state
            .sla
            .report(CoreReportQuery {
                service_id: query.service_id,
                period: query.period,
                start_date: query.start_date,
                end_date: query.end_date,
            })
            .await?,
    ))
}
