//! `/api/v1/alerts`: the list (filters, paging), one alert with its timeline, acknowledge and
//! our manual resolve. Reading needs a viewer, acting an operator; both actions are audited by
//! core (`vigilops_core::alerting::service::AlertService`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::alerting::engine::AlertObserver;
use vigilops_core::alerting::rule::Severity;
use vigilops_core::alerting::wire::{AlertResolveRequest, AlertView};
use vigilops_core::model::{AlertFilter, AlertStatus};
use vigilops_core::protocol::rest::{ErrorBody, PageOf};
use vigilops_core::remediation::flow::Trigger;
use vigilops_core::remediation::wire::RemediationView;

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, ClientIp, Operator, Viewer, parse_json};
use crate::routes::hosts::page_of;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(acknowledge))
        .routes(routes!(resolve))
        .routes(routes!(remediate))
}

/// Query of the alert list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// `firing`, `acknowledged` or `resolved`.
    status: Option<String>,
    /// `info`, `warning` or `critical`.
    severity: Option<String>,
    host_id: Option<i64>,
    /// **Ours:** alerts of one rule.
    rule_id: Option<i64>,
    /// 1-based page (default 1).
    page: Option<u32>,
    /// 1–100 (default 20).
    page_size: Option<u32>,
}

/// Alerts, newest `fired_at` first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = PageOf<AlertView>), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<AlertView>>, ApiError> {
    let given = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    let status = given(query.status)
        .map(|status| {
            status.trim().parse::<AlertStatus>().map_err(|_| {
                ApiError::validation(
                    &["query", "status"],
                    "status must be firing, acknowledged or resolved",
                    "enum",
                )
            })
        })
        .transpose()?;
    let severity = given(query.severity)
        .map(|severity| {
            Severity::parse(severity.trim()).ok_or_else(|| {
                ApiError::validation(
                    &["query", "severity"],
                    "severity must be info, warning or critical",
                    "enum",
                )
            })
        })
        .transpose()?;
    let filter = AlertFilter {
        status,
        severity,
        host_id: query.host_id,
        rule_id: query.rule_id,
        page: page_of(query.page, query.page_size, 20, 100)?,
    };
    Ok(Json(state.alerts.list(&filter).await?))
}

/// One alert, with its timeline (`timeline`, oldest first).
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(state.alerts.get(id).await?))
}

/// Acknowledges an alert: it stays active, resolves when its condition clears and is not
/// notified again. Twice is a no-op; a resolved alert gives 400.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = AlertView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn acknowledge(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertView>, ApiError> {
    let alert = state.alerts.acknowledge(id, &current.actor(ip)).await?;
    state.engine.alert_changed(id).await;
    Ok(Json(alert))
}

/// **Ours:** resolves an active alert by hand, with an optional `{"comment": …}` body that goes
/// to the timeline and the audit trail. A resolved alert gives 400.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = AlertResolveRequest, description = "optional"),
    responses((status = 200, body = AlertView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn resolve(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Result<Json<AlertView>, ApiError> {
    // The body is optional, like the client's ack call that sends none.
    let request: AlertResolveRequest = if body.iter().all(u8::is_ascii_whitespace) {
        AlertResolveRequest::default()
    } else {
        parse_json(&body)?
    };
    let alert = state
        .alerts
        .resolve(id, request.comment, &current.actor(ip))
        .await?;
    state.engine.alert_changed(id).await;
    // The incident goes to the ops memory (on a task of its own).
    state.ai.alert_resolved(id);
    Ok(Json(alert))
}

/// Starts a manual remediation of the alert (`status: "pending"`, `triggered_by: "manual"`); the
/// flow continues in the background. 409 while another run of the alert is in progress.
/// Audited.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/remediate", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = RemediationView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn remediate(
    State(state): State<AppState>,
    current: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RemediationView>, ApiError> {
    let run = state
        .flow
        .trigger(id, Trigger::Manual(current.actor(ip)))
        .await?;
    Ok(Json(RemediationView::from(run)))
}
