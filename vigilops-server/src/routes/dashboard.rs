//! `/api/v1/dashboard` (viewer): the 24 h trends (`rest-api.md` §18) and the summary; and the
//! dashboard socket `/api/v1/ws/dashboard` (§21). The figures are core's
//! (`vigilops_core::dashboard`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::dashboard::TrendsView;
use vigilops_core::dashboard::summary::Summary;
use vigilops_core::protocol::rest::ErrorBody;

use crate::error::ApiError;
use crate::extract::{ApiQuery, Viewer, WsUser};
use crate::state::AppState;

/// The reference's period between summary frames.
const SUMMARY_EVERY: Duration = Duration::from_secs(30);
/// How long after a change the socket sends a fresh summary (changes in a burst share one).
const CHANGE_SETTLE: Duration = Duration::from_millis(500);

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trends))
        .routes(routes!(summary))
        .routes(routes!(socket))
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

/// The summary the dashboard socket sends, for polling clients: host, service and alert
/// counts, the last hour's alerts and error lines, average usage and the health score.
#[utoipa::path(get, path = "/api/v1/dashboard/summary", tag = "dashboard", security(("bearer" = [])),
    responses((status = 200, body = Summary), (status = 403, body = ErrorBody)))]
async fn summary(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<Summary>, ApiError> {
    Ok(Json(
        state
            .dashboard_feed
            .summary(state.store.as_ref(), state.clock.as_ref())
            .await?,
    ))
}

/// Query of the dashboard socket.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SocketQuery {
    /// `1` adds one frame per change (`{"type":"alert_fired",…}`, `alert_resolved`,
    /// `host_offline`, `remediation_progress`) before the fresh summary it prompts.
    events: Option<String>,
    /// An access token, for clients that cannot set a header.
    #[expect(
        dead_code,
        reason = "read by `WsUser` from the URI; declared for the OpenAPI document"
    )]
    token: Option<String>,
}

/// A summary frame at once, then one every 30 s and one shortly after every change (an alert
/// fired or resolved, a host offline, a remediation moving) on any replica. Credential: bearer
/// header, `?token=` or the `vigilops_session` cookie.
#[utoipa::path(get, path = "/api/v1/ws/dashboard", tag = "dashboard", params(SocketQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn socket(
    State(state): State<AppState>,
    WsUser(user): WsUser,
    ApiQuery(query): ApiQuery<SocketQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let events = matches!(query.events.as_deref(), Some("1" | "true"));
    tracing::debug!(user = user.id, "dashboard socket opened");
    upgrade.on_upgrade(move |socket| serve(state, socket, events))
}

async fn send_summary(state: &AppState, socket: &mut WebSocket) -> bool {
    let frame = state
        .dashboard_feed
        .summary(state.store.as_ref(), state.clock.as_ref())
        .await;
    match frame.map(|frame| serde_json::to_string(&frame)) {
        Ok(Ok(text)) => socket.send(Message::Text(text.into())).await.is_ok(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot encode the dashboard summary");
            true
        }
        // The store is away: keep the socket, try again at the next tick or change.
        Err(error) => {
            tracing::warn!(%error, "cannot read the dashboard summary");
            true
        }
    }
}

async fn serve(state: AppState, mut socket: WebSocket, events: bool) {
    let mut changes = state.dashboard_feed.subscribe();
    if !send_summary(&state, &mut socket).await {
        return;
    }
    let mut ticker = tokio::time::interval_at(Instant::now() + SUMMARY_EVERY, SUMMARY_EVERY);
    let mut refresh_at: Option<Instant> = None;
    loop {
        let refresh = async {
            match refresh_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => {
                if !send_summary(&state, &mut socket).await {
                    return;
                }
            }
            () = refresh => {
                refresh_at = None;
                if !send_summary(&state, &mut socket).await {
                    return;
                }
            }
            change = changes.recv() => {
                match change {
                    Ok(event) => {
                        if events {
                            let Ok(text) = serde_json::to_string(&event) else { continue };
                            if socket.send(Message::Text(text.into())).await.is_err() {
                                return;
                            }
                        }
                    }
                    // Fell behind: some events are lost, the summary catches up.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                }
                refresh_at.get_or_insert_with(|| Instant::now() + CHANGE_SETTLE);
            }
            incoming = socket.recv() => {
                match incoming {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}
