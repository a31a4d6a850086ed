//! `GET /api/v1/audit-logs` (admin).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::model::AuditFilter;
use vigilops_core::protocol::rest::{AuditLogView, ErrorBody, PageOf};

use super::hosts::page_of;
use crate::error::ApiError;
use crate::extract::{Admin, ApiQuery};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Query of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct AuditQuery {
    user_id: Option<i64>,
    action: Option<String>,
    resource_type: Option<String>,
    page: Option<u32>,
    page_size: Option<u32>,
}

/// Audit rows, newest first.
#[utoipa::path(get, path = "/api/v1/audit-logs", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = PageOf<AuditLogView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<PageOf<AuditLogView>>, ApiError> {
    let page = page_of(query.page, query.page_size, 20, 100)?;
    let filter = AuditFilter {
        user_id: query.user_id,
        action: query.action.filter(|action| !action.is_empty()),
        resource_type: query.resource_type.filter(|kind| !kind.is_empty()),
        page,
    };
    let (entries, total) = state.store.list_audit(&filter).await?;
    Ok(Json(PageOf {
        items: entries.into_iter().map(AuditLogView::from).collect(),
        total,
        page: page.page,
        page_size: page.page_size,
    }))
}
