//! `/api/v1/services` (viewer), `rest-api.md` §5: the list with category and health counts
//! (optionally grouped by host), one service, and its check history. The rules are core's
//! (`vigilops_core::services`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::protocol::rest::ErrorBody;
use vigilops_core::services::{
    CheckView, ListQuery as CoreListQuery, ServiceCatalog, ServiceError, ServiceList, ServiceView,
};

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, Viewer};
use crate::routes::hosts::page_of;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(checks))
}

fn catalog(state: &AppState) -> ServiceCatalog {
    ServiceCatalog::new(state.store.clone(), state.clock.clone())
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            ServiceError::Invalid { field, message } => {
                Self::validation(&["query", field], message, "value_error")
            }
            ServiceError::Store(error) => error.into(),
        }
    }
}

/// Query of the service list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// 1-based page (default 1).
    page: Option<u32>,
    /// 1–100 (default 20).
    page_size: Option<u32>,
    /// `up`, `down` or `unknown`.
    status: Option<String>,
    /// `middleware`, `business` or `infrastructure`.
    category: Option<String>,
    host_id: Option<i64>,
    /// Adds `host_groups`: the page's services by host.
    group_by_host: Option<bool>,
}

/// Query of a check history.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ChecksQuery {
    /// 1–720 (default 24).
    hours: Option<i64>,
}

/// Services, filtered and paged, with counts over every match.
#[utoipa::path(get, path = "/api/v1/services", tag = "services", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = ServiceList), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ServiceList>, ApiError> {
    let page = page_of(query.page, query.page_size, 20, 100)?;
    let list = catalog(&state)
        .list(CoreListQuery {
            status: query.status,
            category: query.category,
            host_id: query.host_id,
            group_by_host: query.group_by_host.unwrap_or(false),
            page,
        })
        .await?;
    Ok(Json(list))
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "services", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ServiceView>, ApiError> {
    Ok(Json(catalog(&state).get(id).await?))
}

/// The checks of the last `hours`, newest first, at most 500.
#[utoipa::path(get, path = "/api/v1/services/{id}/checks", tag = "services", security(("bearer" = [])),
    params(("id" = i64, Path), ChecksQuery),
    responses((status = 200, body = Vec<CheckView>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn checks(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ChecksQuery>,
) -> Result<Json<Vec<CheckView>>, ApiError> {
    Ok(Json(catalog(&state).checks(id, query.hours).await?))
}
