//! `/api/v1/agent-tokens` (admin): create (plaintext shown once), list, revoke.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::auth::token_admin::{TokenAdmin, TokenAdminError};
use vigilops_core::protocol::rest::{AgentTokenCreate, AgentTokenView, ErrorBody};
use vigilops_core::store::StoreError;

use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, ApiPath, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete))
}

fn admin(state: &AppState) -> TokenAdmin {
    TokenAdmin::new(state.store.clone(), state.clock.clone())
}

/// Every agent token, newest first, without plaintexts.
#[utoipa::path(get, path = "/api/v1/agent-tokens", tag = "agent-tokens", security(("bearer" = [])),
    responses((status = 200, body = Vec<AgentTokenView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<AgentTokenView>>, ApiError> {
    let tokens = admin(&state).list().await?;
    Ok(Json(tokens.into_iter().map(AgentTokenView::from).collect()))
}

/// Creates a token; the reply's `token` is the plaintext, shown this once.
#[utoipa::path(post, path = "/api/v1/agent-tokens", tag = "agent-tokens", security(("bearer" = [])),
    request_body = AgentTokenCreate,
    responses((status = 201, body = AgentTokenView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<AgentTokenCreate>,
) -> Result<(StatusCode, Json<AgentTokenView>), ApiError> {
    let actor = current.actor(ip);
    let created = admin(&state)
        .create(&body.name, &actor)
        .await
        .map_err(|error| match error {
            TokenAdminError::InvalidName => {
                ApiError::validation(&["body", "name"], error.to_string(), "value_error")
            }
            TokenAdminError::Store(error) => error.into(),
        })?;
    let mut view = AgentTokenView::from(created.token);
    view.token = Some(created.plaintext);
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes a token on every replica within 5 s (soft delete).
#[utoipa::path(delete, path = "/api/v1/agent-tokens/{id}", tag = "agent-tokens", security(("bearer" = [])),
    params(("id" = i64, Path, description = "token id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let actor = current.actor(ip);
    admin(&state)
        .revoke(id, &actor)
        .await
        .map_err(|error| match error {
            StoreError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "Token not found"),
            other => other.into(),
        })?;
    state.ingest.forget_tokens();
    Ok(StatusCode::NO_CONTENT)
}
