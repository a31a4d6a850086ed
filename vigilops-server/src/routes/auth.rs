//! `/api/v1/auth`: register, login, refresh, me. Login and refresh also set the
//! `vigilops_session` cookie, honoured only for WebSocket upgrades.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::auth::TokenPair;
use vigilops_core::protocol::rest::{
    ErrorBody, LoginRequest, RefreshRequest, TokenResponse, UserRegisterRequest, UserView,
};

use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(me))
}

fn token_response(
    state: &AppState,
    status: StatusCode,
    tokens: TokenPair,
    headers: &HeaderMap,
) -> Response {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    let max_age = state.auth.jwt().access_ttl.num_seconds();
    let cookie = format!(
        "vigilops_session={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        tokens.access_token,
        if secure { "; Secure" } else { "" }
    );
    let mut response = (
        status,
        Json(TokenResponse {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "bearer".to_owned(),
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Self-registration. The first user becomes admin; afterwards only with `ALLOW_REGISTRATION=true`.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = UserRegisterRequest,
    responses((status = 201, body = TokenResponse), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UserRegisterRequest>,
) -> Result<Response, ApiError> {
    let (_, tokens) = state
        .auth
        .register(&body.email, &body.name, &body.password, ip.as_deref())
        .await?;
    Ok(token_response(
        &state,
        StatusCode::CREATED,
        tokens,
        &headers,
    ))
}

/// Login by email and password (rate-limited per address and per email).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let (_, tokens) = state
        .auth
        .login(&body.email, &body.password, ip.as_deref())
        .await?;
    Ok(token_response(&state, StatusCode::OK, tokens, &headers))
}

/// A new token pair for a valid refresh token.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let (_, tokens) = state.auth.refresh(&body.refresh_token).await?;
    Ok(token_response(&state, StatusCode::OK, tokens, &headers))
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn me(current: Viewer) -> Json<UserView> {
    Json(current.user.into())
}
