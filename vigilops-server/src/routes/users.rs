//! `/api/v1/users` (admin): list, create with a role, read, change, delete, reset a password
//! (`rest-api.md` §15). The rules are core's (`vigilops_core::auth::user_admin`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::auth::user_admin::{ChangeUser, CreateUser, UserAdmin, UserAdminError};
use vigilops_core::protocol::rest::{ErrorBody, PageOf, UserView};

use super::hosts::page_of;
use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(reset_password))
}

fn admin(state: &AppState) -> UserAdmin {
    UserAdmin::new(state.store.clone(), state.clock.clone())
}

impl From<UserAdminError> for ApiError {
    fn from(error: UserAdminError) -> Self {
        match error {
            UserAdminError::NotFound => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            UserAdminError::EmailTaken => Self::new(StatusCode::CONFLICT, error.to_string()),
            UserAdminError::InvalidRole(_)
            | UserAdminError::DeleteSelf
            | UserAdminError::LastAdmin => Self::new(StatusCode::BAD_REQUEST, error.to_string()),
            UserAdminError::DemoAccount => Self::new(StatusCode::FORBIDDEN, error.to_string()),
            UserAdminError::Invalid { field, message } => {
                ApiError::validation(&["body", field], message, "value_error")
            }
            UserAdminError::Hash(error) => ApiError::internal(&error),
            UserAdminError::Store(error) => error.into(),
        }
    }
}

/// Query of the user list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    page: Option<u32>,
    page_size: Option<u32>,
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UserCreateRequest {
    email: String,
    name: String,
    password: String,
    /// `admin`, `operator` or `viewer` (default).
    role: Option<String>,
}

/// Changes to a user; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UserUpdateRequest {
    name: Option<String>,
    role: Option<String>,
    is_active: Option<bool>,
}

/// A new password.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PasswordResetRequest {
    new_password: String,
}

/// Users by id.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = PageOf<UserView>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<UserView>>, ApiError> {
    let page = page_of(query.page, query.page_size, 20, 100)?;
    Ok(Json(admin(&state).list(page).await?))
}

/// Creates a user with a role. A bad role is 400, a taken email 409. Audited.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    request_body = UserCreateRequest,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<UserCreateRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let user = admin(&state)
        .create(
            CreateUser {
                email: body.email,
                name: body.name,
                password: body.password,
                role: body.role,
            },
            &current.actor(ip),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(admin(&state).get(id).await?))
}

/// Changes a user's name, role or activity. The last active admin cannot be demoted or
/// deactivated (400); the demo account cannot be changed (403). Audited.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UserUpdateRequest,
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UserUpdateRequest>,
) -> Result<Json<UserView>, ApiError> {
    let user = admin(&state)
        .update(
            id,
            ChangeUser {
                name: body.name,
                role: body.role,
                is_active: body.is_active,
            },
            &current.actor(ip),
        )
        .await?;
    Ok(Json(user))
}

/// Deletes a user: never yourself, never the last active admin (400). Audited.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    admin(&state).delete(id, &current.actor(ip)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a user's password (8 to 128 characters). Audited; the password is never logged.
#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = PasswordResetRequest,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    current: Admin,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin(&state)
        .reset_password(id, &body.new_password, &current.actor(ip))
        .await?;
    Ok(Json(serde_json::json!({"status": "ok"})))
}
