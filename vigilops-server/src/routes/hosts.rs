//! `/api/v1/hosts`: list with latest metrics, detail, metric series, delete (admin).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::model::{Aggregate, HostFilter, HostStatus, Page, Resolution};
use vigilops_core::protocol::rest::{ErrorBody, HostView, MetricPointView, PageOf};

use crate::error::ApiError;
use crate::extract::{Admin, ApiPath, ApiQuery, ClientIp, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get, delete))
        .routes(routes!(metrics))
}

/// Query of the host list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// 1-based page (default 1).
    page: Option<u32>,
    /// 1–100 (default 20).
    page_size: Option<u32>,
    /// `online` or `offline`.
    status: Option<String>,
    group_name: Option<String>,
    /// Case-insensitive substring of the hostname.
    search: Option<String>,
}

/// Checks `page` ≥ 1 and `1 ≤ page_size ≤ max`.
pub(crate) fn page_of(
    page: Option<u32>,
    page_size: Option<u32>,
    default_size: u32,
    max: u32,
) -> Result<Page, ApiError> {
    let page = page.unwrap_or(1);
    let page_size = page_size.unwrap_or(default_size);
    if page < 1 {
        return Err(ApiError::validation(
            &["query", "page"],
            "page must be at least 1",
            "greater_than_equal",
        ));
    }
    if !(1..=max).contains(&page_size) {
        return Err(ApiError::validation(
            &["query", "page_size"],
            format!("page_size must be between 1 and {max}"),
            "less_than_equal",
        ));
    }
    Ok(Page { page, page_size })
}

/// Hosts, filtered and paged, each with its latest metrics (or `null` after 600 s of silence).
#[utoipa::path(get, path = "/api/v1/hosts", tag = "hosts", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = PageOf<HostView>), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<HostView>>, ApiError> {
    let status = match query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|status| !status.is_empty())
    {
        None => None,
        Some("online") => Some(HostStatus::Online),
        Some("offline") => Some(HostStatus::Offline),
        Some(_) => {
            return Err(ApiError::validation(
                &["query", "status"],
                "status must be `online` or `offline`",
                "enum",
            ));
        }
    };
    let filter = HostFilter {
        status,
        group_name: query.group_name.filter(|group| !group.is_empty()),
        search: query.search.filter(|search| !search.trim().is_empty()),
        page: page_of(query.page, query.page_size, 20, 100)?,
    };
    Ok(Json(state.hosts.list(&filter).await?))
}

/// One host.
#[utoipa::path(get, path = "/api/v1/hosts/{id}", tag = "hosts", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = HostView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HostView>, ApiError> {
    Ok(Json(state.hosts.get(id).await?))
}

/// Removes a host and everything it reported; its agent gets 403 and registers again.
#[utoipa::path(delete, path = "/api/v1/hosts/{id}", tag = "hosts", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let actor = current.actor(ip);
    state.hosts.delete(id, &actor).await?;
    state.ingest.forget_host(id);
    Ok(StatusCode::NO_CONTENT)
}

/// Query of a host's metric series.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct MetricsQuery {
    /// 1–720 (default 1).
    hours: Option<u32>,
    /// `raw` (default), `1min`, `5min`, `1h` or `1d`. Coarsened when the range would return
    /// more than 1000 raw or 500 aggregated points.
    interval: Option<String>,
    /// `avg` (default) or `max` within each bucket.
    agg: Option<String>,
}

/// A host's samples over the last `hours`, oldest first.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/metrics", tag = "hosts", security(("bearer" = [])),
    params(("id" = i64, Path), MetricsQuery),
    responses((status = 200, body = Vec<MetricPointView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<MetricsQuery>,
) -> Result<Json<Vec<MetricPointView>>, ApiError> {
    let hours = query.hours.unwrap_or(1);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::validation(
            &["query", "hours"],
            "hours must be between 1 and 720",
            "less_than_equal",
        ));
    }
    let interval = query.interval.as_deref().unwrap_or("raw");
    let resolution = Resolution::parse(interval).ok_or_else(|| {
        ApiError::validation(
            &["query", "interval"],
            "interval must be raw, 1min, 5min, 1h or 1d",
            "enum",
        )
    })?;
    let aggregate = match query.agg.as_deref() {
        None | Some("avg") => Aggregate::Avg,
        Some("max") => Aggregate::Max,
        Some(_) => {
            return Err(ApiError::validation(
                &["query", "agg"],
                "agg must be avg or max",
                "enum",
            ));
        }
    };
    Ok(Json(
        state.hosts.series(id, hours, resolution, aggregate).await?,
    ))
}
