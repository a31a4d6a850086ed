//! `GET /api/v1/agent/ws/{host_id}`: the agent WebSocket (`agent-protocol.md` §8). The token
//! (header, or `?token=` as the original allows) and the host's ownership are checked before
//! the session starts; a failure closes the socket with code 1008. The session itself is
//! `vigilops_core::command::serve_agent`; this file only adapts axum's socket to text frames.

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures::{SinkExt, StreamExt, future};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::command::serve_agent;
use vigilops_core::ingest::IngestError;

use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(connect))
}

/// Query of the agent WebSocket.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct WsQuery {
    /// The agent token, for clients that cannot set a header.
    token: Option<String>,
}

/// Opens the agent's command channel: `exec_command` frames go out, `command_output`,
/// `command_result` and `command_done` come back; `ping` is answered with `pong`.
#[utoipa::path(get, path = "/api/v1/agent/ws/{host_id}", tag = "agent", security(("agent_token" = [])),
    params(("host_id" = i64, Path), WsQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol; closed with 1008 when the token or the host is refused")))]
async fn connect(
    State(state): State<AppState>,
    ApiPath(host_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<WsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.token.map(|token| format!("Bearer {token}")));
    let allowed = match state.ingest.authenticate(authorization.as_deref()).await {
        Ok(identity) => state.ingest.check_host(identity, host_id).await,
        Err(error) => Err(error),
    };
    upgrade.on_upgrade(move |socket| async move {
        match allowed {
            Ok(()) => session(state, host_id, socket).await,
            Err(error) => refuse(socket, &error).await,
        }
    })
}

async fn refuse(mut socket: WebSocket, error: &IngestError) {
    tracing::info!(%error, "agent websocket refused");
    let reason = match error {
        IngestError::HostNotOwned(_) => error.to_string(),
        IngestError::NotAuthenticated => "Not authenticated".to_owned(),
        _ => "Invalid or revoked agent token".to_owned(),
    };
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: close_code::POLICY,
            reason: reason.into(),
        })))
        .await;
}

async fn session(state: AppState, host_id: i64, socket: WebSocket) {
    tracing::info!(host_id, "agent websocket connected");
    let (sink, stream) = socket.split();
    let sink =
        sink.with(|text: String| future::ready(Ok::<_, axum::Error>(Message::Text(text.into()))));
    // Text frames in; the stream ends at a close frame or a transport error. Pings are
    // answered by the WebSocket layer itself.
    let stream = stream
        .take_while(|message| {
            future::ready(matches!(message, Ok(m) if !matches!(m, Message::Close(_))))
        })
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(text.to_string()),
                _ => None,
            })
        });
    serve_agent(
        state.commands.open_connection(host_id),
        Box::pin(sink),
        Box::pin(stream),
    )
    .await;
    tracing::info!(host_id, "agent websocket closed");
}
