//! `/api/v1/settings` (read: viewer; write: admin), `rest-api.md` §11: the typed settings with
//! their values in force, and their change (all or none, each key validated, audited). Core
//! reads them where they act (`vigilops_core::settings`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::protocol::rest::ErrorBody;
use vigilops_core::settings::{SettingView, SettingsError};

use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, ClientIp, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, update))
}

impl From<SettingsError> for ApiError {
    fn from(error: SettingsError) -> Self {
        match error {
            SettingsError::Invalid { key, message } => {
                ApiError::validation(&["body", &key], message, "value_error")
            }
            SettingsError::Store(error) => error.into(),
        }
    }
}

/// Every setting: `{"<key>": {"value": "<string>", "description": "…"}}`, defaults filled in.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = BTreeMap<String, SettingView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Json<BTreeMap<String, SettingView>> {
    Json(state.settings.list().await)
}

/// Changes settings: `{"<key>": <value>}` (a number or a string of one). Unknown keys and
/// values out of range are refused with 422 naming the key; nothing is stored then. Audited.
#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", security(("bearer" = [])),
    request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.settings.update(&body, &current.actor(ip)).await?;
    Ok((StatusCode::OK, Json(serde_json::json!({"status": "ok"}))))
}
