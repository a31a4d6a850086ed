//! **Ours:** the runbooks and the safety switches of auto-remediation.
//!
//! - `/api/v1/runbooks`: every runbook (built-in, file, API) with its steps (viewer); define or
//!   delete an API runbook and set parameter values of any runbook (admin). A runbook or value
//!   whose commands would fail the safety check is refused with 422 and every reason.
//! - `/api/v1/remediation-settings`: the kill switch (admin) and the process settings (viewer).
//! - `/api/v1/hosts/{id}/remediation`: a host's opt-out of automatic runs (admin).
//!
//! Changes are audited.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::audit;
use vigilops_core::protocol::rest::ErrorBody;
use vigilops_core::remediation::catalog::{CatalogError, Entry, RefusedFile, Source};
use vigilops_core::store::StoreError;

use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, ApiPath, ClientIp, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, define))
        .routes(routes!(remove))
        .routes(routes!(set_params))
        .routes(routes!(settings, set_settings))
        .routes(routes!(set_opt_out))
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::Invalid(invalid) => ApiError::body_fields(
                invalid
                    .reasons
                    .iter()
                    .map(|reason| ("yaml", reason.clone())),
            ),
            CatalogError::NotReplaceable(..) => Self::new(StatusCode::CONFLICT, error.to_string()),
            CatalogError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            CatalogError::UnknownParam { .. } => {
                ApiError::validation(&["body", "params"], error.to_string(), "unknown_parameter")
            }
            CatalogError::Store(error) => error.into(),
        }
    }
}

/// A runbook as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunbookView {
    name: String,
    description: String,
    /// `auto`, `confirm` or `block`, raised by any riskier step.
    risk: String,
    /// `builtin`, `file` or `api`.
    source: String,
    /// The whole runbook: triggers, parameters (with the values in force), pre-checks, steps,
    /// verification, rollback, cooldown.
    #[schema(value_type = Object)]
    spec: Value,
}

impl From<Entry> for RunbookView {
    fn from(entry: Entry) -> Self {
        let spec = entry.runbook.spec();
        Self {
            name: spec.name.clone(),
            description: spec.description.clone(),
            risk: entry.runbook.risk().as_str().to_owned(),
            source: match entry.source {
                Source::Builtin => "builtin",
                Source::File => "file",
                Source::Api => "api",
            }
            .to_owned(),
            spec: serde_json::to_value(spec).unwrap_or(Value::Null),
        }
    }
}

/// The runbook list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunbookList {
    items: Vec<RunbookView>,
    /// Files of `VIGILOPS_RUNBOOK_DIR` refused at start, with the reasons.
    #[schema(value_type = Vec<Object>)]
    refused_files: Vec<RefusedFile>,
}

/// A runbook to define, as YAML text (the same format as the files).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RunbookDefinition {
    yaml: String,
}

/// Parameter values of a runbook.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RunbookParams {
    params: BTreeMap<String, String>,
}

/// Every runbook, in matching order.
#[utoipa::path(get, path = "/api/v1/runbooks", tag = "remediations", security(("bearer" = [])),
    responses((status = 200, body = RunbookList)))]
async fn list(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<RunbookList>, ApiError> {
    let entries = state
        .flow
        .catalog()
        .entries()
        .await
        .map_err(ApiError::from)?;
    Ok(Json(RunbookList {
        items: entries.into_iter().map(RunbookView::from).collect(),
        refused_files: state.flow.catalog().refused().to_vec(),
    }))
}

/// Defines or replaces an API runbook. 422 with every reason when it is invalid or a command
/// would fail the safety check; 409 for the name of a built-in or file runbook.
#[utoipa::path(post, path = "/api/v1/runbooks", tag = "remediations", security(("bearer" = [])),
    request_body = RunbookDefinition,
    responses((status = 201, body = RunbookView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn define(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RunbookDefinition>,
) -> Result<(StatusCode, Json<RunbookView>), ApiError> {
    if body.yaml.len() > 256 * 1024 {
        return Err(ApiError::validation(
            &["body", "yaml"],
            "a runbook must be at most 256 KiB",
            "string_too_long",
        ));
    }
    let runbook = state.flow.catalog().define(&body.yaml).await?;
    record(
        &state,
        &current,
        ip,
        "define_runbook",
        runbook.name(),
        json!({}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RunbookView::from(Entry {
            runbook,
            source: Source::Api,
        })),
    ))
}

/// Deletes an API runbook (built-ins and files cannot be deleted: 409).
#[utoipa::path(delete, path = "/api/v1/runbooks/{name}", tag = "remediations", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.flow.catalog().remove(&name).await?;
    record(&state, &current, ip, "delete_runbook", &name, json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets parameter values of a runbook (e.g. `log_dir` of `disk_cleanup` on hosts that log
/// elsewhere). Each must be a declared parameter; the runbook is validated again with them.
#[utoipa::path(put, path = "/api/v1/runbooks/{name}/params", tag = "remediations", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = RunbookParams,
    responses((status = 200, body = RunbookView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_params(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<RunbookParams>,
) -> Result<Json<RunbookView>, ApiError> {
    let detail = json!({"params": body.params});
    let runbook = state.flow.catalog().set_params(&name, body.params).await?;
    record(&state, &current, ip, "set_runbook_params", &name, detail).await?;
    let source = state
        .flow
        .catalog()
        .entries()
        .await?
        .into_iter()
        .find(|e| e.runbook.name() == name)
        .map_or(Source::Api, |e| e.source);
    Ok(Json(RunbookView::from(Entry { runbook, source })))
}

/// The safety switches of auto-remediation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RemediationSettingsView {
    /// The kill switch, shared by every replica: `false` makes every automatic run wait for
    /// approval.
    automatic_enabled: bool,
    /// `AGENT_ENABLED`: whether fired alerts start runs.
    agent_enabled: bool,
    /// `AGENT_DRY_RUN`: whether steps are only recorded.
    dry_run: bool,
    /// `AGENT_MAX_AUTO_PER_HOUR`.
    max_auto_per_hour: i64,
    /// Minutes a run waits for approval before it is escalated.
    approval_minutes: i64,
}

/// Changes to the safety switches.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RemediationSettingsUpdate {
    automatic_enabled: bool,
}

/// The safety switches.
#[utoipa::path(get, path = "/api/v1/remediation-settings", tag = "remediations", security(("bearer" = [])),
    responses((status = 200, body = RemediationSettingsView)))]
async fn settings(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<RemediationSettingsView>, ApiError> {
    settings_view(&state).await.map(Json)
}

/// Flips the kill switch. Audited.
#[utoipa::path(put, path = "/api/v1/remediation-settings", tag = "remediations", security(("bearer" = [])),
    request_body = RemediationSettingsUpdate,
    responses((status = 200, body = RemediationSettingsView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn set_settings(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RemediationSettingsUpdate>,
) -> Result<Json<RemediationSettingsView>, ApiError> {
    state
        .flow
        .set_automatic_enabled(body.automatic_enabled, &current.actor(ip))
        .await?;
    settings_view(&state).await.map(Json)
}

async fn settings_view(state: &AppState) -> Result<RemediationSettingsView, ApiError> {
    let settings = state.flow.settings();
    Ok(RemediationSettingsView {
        automatic_enabled: state.flow.automatic_enabled().await?,
        agent_enabled: settings.enabled,
        dry_run: settings.dry_run,
        max_auto_per_hour: settings.max_auto_per_hour,
        approval_minutes: settings.approval_minutes,
    })
}

/// A host's opt-out of automatic remediation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct OptOut {
    /// `true`: automatic runs on this host wait for approval.
    opted_out: bool,
}

/// Opts a host out of automatic remediation, or back in. Audited.
#[utoipa::path(put, path = "/api/v1/hosts/{id}/remediation", tag = "remediations", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = OptOut,
    responses((status = 200, body = OptOut), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_opt_out(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<OptOut>,
) -> Result<Json<OptOut>, ApiError> {
    match state
        .flow
        .set_opt_out(id, body.opted_out, &current.actor(ip))
        .await
    {
        Ok(()) => Ok(Json(body)),
        Err(StoreError::NotFound(_)) => Err(ApiError::not_found("Host")),
        Err(error) => Err(error.into()),
    }
}

async fn record(
    state: &AppState,
    current: &Admin,
    ip: Option<String>,
    action: &str,
    name: &str,
    detail: Value,
) -> Result<(), ApiError> {
    audit::record(
        state.store.as_ref(),
        state.clock.as_ref(),
        &current.actor(ip),
        action,
        "runbook",
        Some(name.to_owned()),
        Some(detail),
    )
    .await
    .map_err(ApiError::from)
}
