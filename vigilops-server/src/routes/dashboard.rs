//! `/api/v1/dashboard` (viewer): the 24 h trends (`rest-api.md` §18). The figures are core's
//! (`vigilops_core::dashboard`).

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::dashboard::TrendsView;
use vigilops_core::protocol::rest::ErrorBody;

use crate::error::ApiError;
use crate::extract::Viewer;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(trends))
}

/// One entry per hour of the last 24 (the current one included), oldest first: average CPU and
/// memory over every host sample (one decimal, null without samples), alerts fired, and log
/// lines of level ERROR, CRITICAL or FATAL.
#[utoipa::path(get, path = "/api/v1/dashboard/trends", tag = "dashboard", security(("bearer" = [])),
    responses((status = 200, body = TrendsView), (status = 403, body = ErrorBody)))]
async fn trends(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<TrendsView>, ApiError> {
    Ok(Json(
        vigilops_core::dashboard::trends(state.store.as_ref(), state.clock.as_ref()).await?,
    ))
}
