//! `/api/v1/databases` (viewer), `rest-api.md` §13: the list with latest samples, one
//! database, its slow statements and its metric history. The rules are core's
//! (`vigilops_core::databases`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::databases::{
    DatabaseError, DatabaseList, DatabaseService, DatabaseView, DbMetricsView, SlowQueriesView,
};
use vigilops_core::protocol::rest::ErrorBody;

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(slow_queries))
        .routes(routes!(metrics))
}

fn service(state: &AppState) -> DatabaseService {
    DatabaseService::new(state.store.clone(), state.clock.clone())
}

impl From<DatabaseError> for ApiError {
    fn from(error: DatabaseError) -> Self {
        match error {
            DatabaseError::NotFound => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            DatabaseError::Store(error) => error.into(),
        }
    }
}

/// Query of the database list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    host_id: Option<i64>,
}

/// Query of a metric history.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct MetricsQuery {
    /// `<N>h`, `<N>d` or `<N>m` (default `1h`; anything else means `1h`).
    period: Option<String>,
}

/// Every monitored database (of `host_id` when given) with its newest sample.
#[utoipa::path(get, path = "/api/v1/databases", tag = "databases", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = DatabaseList), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<DatabaseList>, ApiError> {
    Ok(Json(service(&state).list(query.host_id).await?))
}

/// One database with its newest sample.
#[utoipa::path(get, path = "/api/v1/databases/{id}", tag = "databases", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = DatabaseView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DatabaseView>, ApiError> {
    Ok(Json(service(&state).get(id).await?))
}

/// The slow statements the agent reported last.
#[utoipa::path(get, path = "/api/v1/databases/{id}/slow-queries", tag = "databases", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = SlowQueriesView), (status = 404, body = ErrorBody)))]
async fn slow_queries(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SlowQueriesView>, ApiError> {
    Ok(Json(service(&state).slow_queries(id).await?))
}

/// The samples over a period, oldest first, downsampled to at most 500 points.
#[utoipa::path(get, path = "/api/v1/databases/{id}/metrics", tag = "databases", security(("bearer" = [])),
    params(("id" = i64, Path), MetricsQuery),
    responses((status = 200, body = DbMetricsView), (status = 404, body = ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<MetricsQuery>,
) -> Result<Json<DbMetricsView>, ApiError> {
    let period = query.period.unwrap_or_else(|| "1h".to_owned());
    Ok(Json(service(&state).metrics(id, &period).await?))
}
