//! `GET /health` and `GET /api/v1/health`: no auth; database and Redis status.

use axum::Json;
use axum::extract::State;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::protocol::rest::{HealthChecks, HealthResponse};

use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(health_root))
}

async fn check(state: &AppState) -> HealthResponse {
    let database = match tokio::time::timeout(Duration::from_secs(3), state.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(%error, "health: database check failed");
            "error"
        }
        Err(_) => "error",
    };
    let redis = match &state.redis {
        None => "disabled",
        Some(connection) => {
            let mut connection = connection.clone();
            let command = redis::cmd("PING");
            let ping = command.query_async::<String>(&mut connection);
            match tokio::time::timeout(Duration::from_secs(3), ping).await {
                Ok(Ok(_)) => "ok",
                _ => "error",
            }
        }
    };
    let degraded = database != "ok" || redis == "error";
    HealthResponse {
        status: if degraded { "degraded" } else { "ok" }.to_owned(),
        checks: HealthChecks {
            api: "ok".to_owned(),
            database: database.to_owned(),
            redis: redis.to_owned(),
        },
        timestamp: state.clock.now(),
        database_backend: state.store.backend_name().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Service health: `ok`, or `degraded` when the database (or a configured Redis) fails.
#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, body = HealthResponse)))]
async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    Json(check(&state).await)
}

/// The same health check at the root, for load balancers.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = HealthResponse)))]
async fn health_root(State(state): State<AppState>) -> Json<HealthResponse> {
    Json(check(&state).await)
}
