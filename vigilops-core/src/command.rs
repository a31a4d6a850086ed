//! The command channel between the server and host agents: queue a command for a host, hand it
//! to the host's agent over its WebSocket, record the streamed output and the terminal result.
//! This is how runbooks reach hosts; the server never runs a command itself.
//!
//! Multi-replica: the store is the source of truth. Any replica queues (a row), then publishes
//! the host id on the [`Bus`]; the replica that holds the host's socket claims the row
//! atomically and sends it. Each connection also polls every [`POLL_INTERVAL`], so a lost
//! notification only delays a command.
//!
//! Rules (the "clear rule" for failures):
//! - A queued command no agent takes within [`QUEUE_TTL`] times out ("no agent took the command").
//! - A handed-over command without a terminal frame within `timeout + 30 s` times out with
//!   "agent did not answer" (`agent-protocol.md` §8).
//! - When the socket a command was handed to drops, the command becomes `lost` and is **never
//!   re-sent**: the agent may have run it, and a step that changes the host must not run twice.
//!   Commands still queued stay queued for the next connection.

use chrono::Duration;
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::bus::{Bus, BusError};
use crate::clock::Clock;
use crate::model::{AgentCommand, CommandOutcome, CommandStatus, NewAgentCommand};
use crate::protocol::agent_ws::{AgentFrame, CAPABILITY_REMEDIATION, ServerFrame};
use crate::safety::{self, Purpose, Refusal};
use crate::store::{Store, StoreError};

/// Longest output kept per stream, in characters; the rest is cut with a marker.
pub const MAX_OUTPUT_CHARS: usize = 64 * 1024;
/// Timeout of a command when the caller gives none, in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: i64 = 60;
/// Longest timeout a command may ask for, in seconds.
pub const MAX_TIMEOUT_SECONDS: i64 = 3600;
/// Extra time an agent gets past a command's timeout to send its terminal frame.
pub const ANSWER_GRACE: Duration = Duration::seconds(30);
/// How long a queued command waits for an agent to take it.
pub const QUEUE_TTL: Duration = Duration::seconds(300);
/// How often a connection looks for queued commands without a notification.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// Most commands handed to a connection at once.
const CLAIM_BATCH: i64 = 16;
/// The bus topic carrying "this host has queued commands" (payload: the host id).
const TOPIC: &str = "agent-commands";
/// stderr of a queued command that no agent took in time.
pub const NOT_TAKEN: &str = "no agent connected to take the command";
/// stderr of a handed-over command without a terminal frame in time (the protocol's wording).
pub const NOT_ANSWERED: &str = "agent did not answer";

/// What can go wrong with commands.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// There is no such host.
    #[error("host {0} not found")]
    HostNotFound(i64),
    /// There is no such command.
    #[error("command {0} not found")]
    NotFound(Uuid),
    /// The safety check refused the command.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The timeout is out of range.
    #[error("timeout must be between 1 and {MAX_TIMEOUT_SECONDS} seconds")]
    InvalidTimeout,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A remediation step's identity, carried on its command (**Extension** of the protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemediationStep {
    pub remediation_id: i64,
    pub step: i32,
}

/// A command to queue for a host.
#[derive(Debug, Clone)]
pub struct QueueRequest {
    pub host_id: i64,
    pub command: String,
    /// Seconds; [`DEFAULT_TIMEOUT_SECONDS`] when `None`.
    pub timeout_seconds: Option<i64>,
    /// `Some` for a remediation step (changing forms allowed, sent only to capable agents).
    pub remediation: Option<RemediationStep>,
}

/// Per host, the open connections of this replica: (connection id, its wake-up).
type ConnectionsByHost = HashMap<i64, Vec<(Uuid, Arc<Notify>)>>;

/// This replica's open agent connections, woken when their host has work.
#[derive(Debug, Default)]
struct LocalConnections {
    by_host: Mutex<ConnectionsByHost>,
}

impl LocalConnections {
    fn lock(&self) -> std::sync::MutexGuard<'_, ConnectionsByHost> {
        self.by_host
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wake(&self, host_id: i64) {
        if let Some(connections) = self.lock().get(&host_id) {
            for (_, notify) in connections {
                notify.notify_one();
            }
        }
    }
}

/// Queues commands and serves agent connections.
#[derive(Debug, Clone)]
pub struct CommandService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn Bus>,
    local: Arc<LocalConnections>,
}

impl CommandService {
    /// A service over `store`, notifying replicas through `bus`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: Arc<dyn Bus>) -> Self {
        Self {
            store,
            clock,
            bus,
            local: Arc::default(),
        }
    }

    /// Subscribes to the bus and wakes this replica's connections when their host gets work.
    /// Call once per replica; the task ends when the bus closes.
    pub async fn start_listener(&self) -> Result<tokio::task::JoinHandle<()>, BusError> {
        let mut subscription = self.bus.subscribe(TOPIC).await?;
        let local = Arc::clone(&self.local);
        Ok(tokio::spawn(async move {
            while let Some(payload) = subscription.next().await {
                if let Ok(host_id) = payload.parse::<i64>() {
                    local.wake(host_id);
                }
            }
        }))
    }

    /// Checks and queues a command for a host, audits it, and notifies the replica holding the
    /// host's agent. A refused command is not stored.
    pub async fn queue(
        &self,
        request: QueueRequest,
        actor: &Actor,
    ) -> Result<AgentCommand, CommandError> {
        let timeout = request.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        let timeout_seconds = i32::try_from(timeout)
            .ok()
            .filter(|t| (1..=MAX_TIMEOUT_SECONDS).contains(&i64::from(*t)))
            .ok_or(CommandError::InvalidTimeout)?;
        let purpose = if request.remediation.is_some() {
            Purpose::Remediation
        } else {
            Purpose::Diagnostic
        };
        let checked = safety::check(&request.command, purpose)?;
        if self.store.host(request.host_id).await?.is_none() {
            return Err(CommandError::HostNotFound(request.host_id));
        }
        let now = self.clock.now();
        let command = self
            .store
            .insert_command(
                NewAgentCommand {
                    request_id: Uuid::new_v4(),
                    host_id: request.host_id,
                    command: request.command.clone(),
                    argv: checked.argv,
                    timeout_seconds,
                    requested_by: actor.user_id,
                    remediation_id: request.remediation.map(|r| r.remediation_id),
                    step: request.remediation.map(|r| r.step),
                    deadline_at: now + QUEUE_TTL,
                },
                now,
            )
            .await?;
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "queue_command",
            "agent_command",
            Some(command.request_id.to_string()),
            Some(serde_json::json!({
                "host_id": command.host_id,
                "command": command.command,
                "timeout": command.timeout_seconds,
            })),
        )
        .await?;
        // This replica's own sessions are woken directly; the bus reaches the others.
        self.local.wake(command.host_id);
        if let Err(error) = self.bus.publish(TOPIC, &command.host_id.to_string()).await {
            // The holding replica polls the store, so this only delays the command.
            tracing::warn!(%error, host_id = command.host_id, "command notification failed");
        }
        Ok(command)
    }

    /// One command and what became of it.
    pub async fn get(&self, request_id: Uuid) -> Result<AgentCommand, CommandError> {
        self.store
            .command(request_id)
            .await?
            .ok_or(CommandError::NotFound(request_id))
    }

    /// The newest `limit` commands of a host.
    pub async fn list_for_host(
        &self,
        host_id: i64,
        limit: i64,
    ) -> Result<Vec<AgentCommand>, CommandError> {
        if self.store.host(host_id).await?.is_none() {
            return Err(CommandError::HostNotFound(host_id));
        }
        Ok(self.store.host_commands(host_id, limit).await?)
    }

    /// Times out the commands past their deadline. Run periodically, once per cluster.
    pub async fn expire_overdue(&self) -> Result<Vec<AgentCommand>, StoreError> {
        self.store
            .expire_commands(self.clock.now(), NOT_TAKEN, NOT_ANSWERED)
            .await
    }

    /// Registers a new agent connection for `host_id` (already authenticated and owned).
    pub fn open_connection(&self, host_id: i64) -> AgentConnection {
        let connection_id = Uuid::new_v4();
        let notify = Arc::new(Notify::new());
        self.local
            .lock()
            .entry(host_id)
            .or_default()
            .push((connection_id, Arc::clone(&notify)));
        AgentConnection {
            service: self.clone(),
            host_id,
            connection_id,
            notify,
            remediation_capable: false,
        }
    }
}

/// One agent's WebSocket session, from the server's side.
#[derive(Debug)]
pub struct AgentConnection {
    service: CommandService,
    host_id: i64,
    connection_id: Uuid,
    notify: Arc<Notify>,
    remediation_capable: bool,
}

impl AgentConnection {
    /// The id commands handed to this connection are recorded with.
    pub fn connection_id(&self) -> Uuid {
        self.connection_id
    }

    /// Whether the agent announced the `remediation` capability.
    pub fn remediation_capable(&self) -> bool {
        self.remediation_capable
    }

    /// Claims this host's queued commands and returns the `exec_command` frames to send. Only a
    /// remediation-capable agent gets remediation steps.
    pub async fn take_commands(&self) -> Result<Vec<ServerFrame>, StoreError> {
        let service = &self.service;
        let claimed = service
            .store
            .claim_queued_commands(
                self.host_id,
                self.connection_id,
                service.clock.now(),
                ANSWER_GRACE,
                CLAIM_BATCH,
                self.remediation_capable,
            )
            .await?;
        Ok(claimed
            .into_iter()
            .map(|command| ServerFrame::ExecCommand {
                request_id: command.request_id.to_string(),
                command: command.command,
                timeout: i64::from(command.timeout_seconds),
                remediation_id: command.remediation_id,
                step: command.step.map(i64::from),
            })
            .collect())
    }

    /// Resolves when this host may have new work: a notification, or the poll interval.
    pub async fn wait_for_work(&self) {
        tokio::select! {
            () = self.notify.notified() => {}
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }

    /// Applies one frame from the agent; returns the reply to send, if any. Frames about
    /// unknown commands or commands of another host are ignored.
    pub async fn handle(&mut self, frame: AgentFrame) -> Result<Option<ServerFrame>, StoreError> {
        let store = &self.service.store;
        match frame {
            AgentFrame::Ping => {
                // The agent pings every 15 s: a capable one is recorded as still connected, so
                // every replica can tell whether the host can run remediation steps.
                if self.remediation_capable {
                    store
                        .touch_remediation_agent(self.host_id, self.service.clock.now())
                        .await?;
                }
                return Ok(Some(ServerFrame::Pong));
            }
            AgentFrame::Pong | AgentFrame::Unknown => {}
            AgentFrame::Hello { capabilities, .. } => {
                self.remediation_capable = capabilities
                    .iter()
                    .any(|capability| capability == CAPABILITY_REMEDIATION);
                if self.remediation_capable {
                    store
                        .touch_remediation_agent(self.host_id, self.service.clock.now())
                        .await?;
                }
                // Remediation steps may now be claimable.
                self.notify.notify_one();
            }
            AgentFrame::CommandOutput {
                request_id,
                stdout,
                stderr,
            } => {
                if let Ok(request_id) = Uuid::parse_str(&request_id) {
                    store
                        .append_command_output(
                            self.host_id,
                            request_id,
                            &as_line(&stdout),
                            &as_line(&stderr),
                            MAX_OUTPUT_CHARS as i64,
                        )
                        .await?;
                }
            }
            AgentFrame::CommandResult {
                request_id,
                exit_code,
                stdout,
                stderr,
                duration_ms,
            } => {
                let status = if exit_code == 0 {
                    CommandStatus::Succeeded
                } else if exit_code == -1 && stderr.trim_end().ends_with("command timed out") {
                    CommandStatus::TimedOut
                } else {
                    CommandStatus::Failed
                };
                self.finish(&request_id, status, exit_code, stdout, stderr, duration_ms)
                    .await?;
            }
            AgentFrame::CommandDone {
                request_id,
                exit_code,
                stdout,
                stderr,
                timed_out,
            } => {
                let status = if timed_out {
                    CommandStatus::TimedOut
                } else {
                    CommandStatus::Rejected
                };
                self.finish(&request_id, status, exit_code, stdout, stderr, None)
                    .await?;
            }
        }
        Ok(None)
    }

    async fn finish(
        &self,
        request_id: &str,
        status: CommandStatus,
        exit_code: i64,
        stdout: String,
        stderr: String,
        duration_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let Ok(request_id) = Uuid::parse_str(request_id) else {
            return Ok(());
        };
        let outcome = CommandOutcome {
            status,
            exit_code: Some(i32::try_from(exit_code).unwrap_or(-1)),
            stdout: Some(bounded(stdout)),
            stderr: Some(bounded(stderr)),
            duration_ms: duration_ms.map(|ms| ms.max(0)),
        };
        let applied = self
            .service
            .store
            .finish_command(self.host_id, request_id, outcome, self.service.clock.now())
            .await?;
        if !applied {
            tracing::debug!(%request_id, host_id = self.host_id, "ignored result of an unknown or finished command");
        }
        Ok(())
    }

    /// Ends the session: commands handed to it and still unfinished become `lost`.
    pub async fn close(self) -> Result<Vec<AgentCommand>, StoreError> {
        let service = self.service.clone();
        let connection_id = self.connection_id;
        drop(self);
        service
            .store
            .mark_connection_commands_lost(connection_id, service.clock.now())
            .await
    }
}

impl Drop for AgentConnection {
    fn drop(&mut self) {
        let mut by_host = self.service.local.lock();
        if let Some(connections) = by_host.get_mut(&self.host_id) {
            connections.retain(|(id, _)| *id != self.connection_id);
            if connections.is_empty() {
                by_host.remove(&self.host_id);
            }
        }
    }
}

/// One streamed line as stored: the line and its newline.
fn as_line(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

/// Cuts output to [`MAX_OUTPUT_CHARS`] characters, marking the cut.
pub fn bounded(text: String) -> String {
    match text.char_indices().nth(MAX_OUTPUT_CHARS) {
        None => text,
        Some((cut, _)) => format!("{}\n[output truncated]", &text[..cut]),
    }
}

/// Serves one agent connection until the agent goes away: answers pings, records command
/// frames, and sends queued commands as they arrive. Generic over the transport so it is
/// tested without a socket; the server adapts its WebSocket to text frames.
pub async fn serve_agent<S, R>(mut connection: AgentConnection, mut sink: S, mut stream: R)
where
    S: Sink<String> + Unpin,
    R: Stream<Item = String> + Unpin,
{
    let host_id = connection.host_id;
    let mut claim = true;
    loop {
        if claim {
            match connection.take_commands().await {
                Ok(frames) => {
                    for frame in frames {
                        if send(&mut sink, &frame).await.is_err() {
                            return finish_session(connection).await;
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, host_id, "claiming commands failed"),
            }
            claim = false;
        }
        tokio::select! {
            incoming = stream.next() => {
                let Some(text) = incoming else { break };
                let frame = match serde_json::from_str::<AgentFrame>(&text) {
                    Ok(frame) => frame,
                    Err(error) => {
                        tracing::debug!(%error, host_id, "ignored an undecodable agent frame");
                        continue;
                    }
                };
                let hello = matches!(frame, AgentFrame::Hello { .. });
                match connection.handle(frame).await {
                    Ok(Some(reply)) => {
                        if send(&mut sink, &reply).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, host_id, "recording an agent frame failed"),
                }
                claim = hello;
            }
            () = connection.wait_for_work() => claim = true,
        }
    }
    finish_session(connection).await;
}

async fn send<S: Sink<String> + Unpin>(sink: &mut S, frame: &ServerFrame) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(text).await.map_err(|_| ())
}

async fn finish_session(connection: AgentConnection) {
    let host_id = connection.host_id;
    match connection.close().await {
        Ok(lost) if !lost.is_empty() => {
            tracing::warn!(
                host_id,
                count = lost.len(),
                "agent disconnected; its unfinished commands are lost"
            );
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, host_id, "marking lost commands failed"),
    }
}
