//! The command channel (`agent-protocol.md` §8): a WebSocket to `/api/v1/agent/ws/{host_id}`
//! held open with a ping every 15 s and reconnected with backoff 5 → 60 s (doubling, with
//! jitter). The server sends `exec_command`; the agent checks the command again with core's
//! safety module (the server is not trusted to have done it), runs the argument vector without
//! a shell, with a timeout and an output limit, streams `command_output` lines and ends with
//! `command_result`, or `command_done` when it refuses.

use futures::{Sink, SinkExt, Stream, StreamExt, future};
use rand::Rng;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vigilops_core::protocol::agent_ws::{
    AgentFrame, CAPABILITY_EXEC, CAPABILITY_REMEDIATION, ServerFrame,
};
use vigilops_core::safety::{self, Purpose};

use crate::reporter::{AgentHandle, sleep_unless_stopped, wait_stopped};

/// The `PATH` commands run with by default: system directories only, so a writable directory
/// earlier in the agent's own `PATH` cannot shadow `df` (`remediation.path` replaces it).
pub const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The root the policy confines file reads to. The policy checks the path as written; the agent,
/// which can see the file system, also refuses a path under it that a symbolic link leads out of
/// (`/var/log/x -> /etc/shadow`).
const LOG_ROOT: &str = "/var/log";
/// The timeout when the server sends none (the original agent's default).
const DEFAULT_TIMEOUT_SECONDS: i64 = 120;

/// How the channel behaves.
#[derive(Clone)]
pub struct RemoteOptions {
    /// The server's base URL (`http(s)://…`).
    pub server_url: String,
    /// The agent token.
    pub token: String,
    /// Whether remediation steps are accepted (`remediation.enabled`).
    pub remediation: bool,
    /// The `PATH` commands run with (`remediation.path`, default [`SAFE_PATH`]).
    pub command_path: String,
    /// Most bytes kept (and streamed) per output stream.
    pub output_limit: usize,
    /// How often the agent pings.
    pub ping_interval: Duration,
    /// First reconnect delay, doubled up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl std::fmt::Debug for RemoteOptions {
    // By hand: the derived one would print the token.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RemoteOptions")
            .field("server_url", &self.server_url)
            .field("remediation", &self.remediation)
            .field("output_limit", &self.output_limit)
            .finish_non_exhaustive()
    }
}

impl RemoteOptions {
    /// The protocol's timings and a 64 KiB output limit.
    pub fn new(server_url: &str, token: &str, remediation: bool) -> Self {
        Self {
            server_url: server_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            remediation,
            command_path: SAFE_PATH.to_owned(),
            output_limit: 64 * 1024,
            ping_interval: Duration::from_secs(15),
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// The WebSocket URL for a host: `http` → `ws`, `https` → `wss`.
pub fn websocket_url(server_url: &str, host_id: i64) -> Option<String> {
    let base = server_url.trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .map(|rest| format!("wss://{rest}"))
        .or_else(|| {
            base.strip_prefix("http://")
                .map(|rest| format!("ws://{rest}"))
        })?;
    Some(format!("{rest}/api/v1/agent/ws/{host_id}"))
}

/// Starts the channel's reconnect loop; it ends when `stop` is set.
pub fn spawn_loop(
    handle: &AgentHandle,
    options: RemoteOptions,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let handle = handle.clone();
    let stop = stop.clone();
    vec![tokio::spawn(async move {
        connect_loop(handle, options, stop).await;
    })]
}

/// `delay` ± 20 %, so a fleet does not reconnect in lockstep after a server restart.
fn jittered(delay: Duration) -> Duration {
    let factor = rand::rng().random_range(0.8..1.2);
    delay.mul_f64(factor)
}

async fn connect_loop(
    handle: AgentHandle,
    options: RemoteOptions,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = options.min_backoff;
    loop {
        let Some(host_id) = handle.host_id(&mut stop).await else {
            return;
        };
        let Some(url) = websocket_url(&options.server_url, host_id) else {
            tracing::warn!(url = %options.server_url, "server url is not http(s); command channel off");
            return;
        };
        match connect(&url, &options).await {
            Ok(socket) => {
                tracing::info!(host_id, "command channel connected");
                backoff = options.min_backoff;
                let (sink, stream) = socket.split();
                let sink = sink.with(|text: String| {
                    future::ready(Ok::<_, tokio_tungstenite::tungstenite::Error>(
                        Message::Text(text.into()),
                    ))
                });
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
                session(Box::pin(sink), Box::pin(stream), &options, stop.clone()).await;
                tracing::info!(host_id, "command channel closed");
            }
            Err(error) => tracing::warn!(%error, host_id, "command channel connect failed"),
        }
        if *stop.borrow() || sleep_unless_stopped(jittered(backoff), &mut stop).await {
            return;
        }
        backoff = (backoff * 2).min(options.max_backoff);
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(
    url: &str,
    options: &RemoteOptions,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    let headers = request.headers_mut();
    if let Ok(value) = format!("Bearer {}", options.token).parse() {
        headers.insert("Authorization", value);
    }
    if let Ok(value) = concat!("vigilops-agent/", env!("CARGO_PKG_VERSION")).parse() {
        headers.insert("User-Agent", value);
    }
    let (socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, None).await?;
    Ok(socket)
}

/// One connected session: `hello`, pings, and commands until the server goes away or `stop`.
/// Generic over the transport so it is tested without a socket. Commands still running when
/// the session ends are killed (the server marks them lost).
pub async fn session<S, R>(
    mut sink: S,
    mut stream: R,
    options: &RemoteOptions,
    mut stop: watch::Receiver<bool>,
) where
    S: Sink<String> + Unpin,
    R: Stream<Item = String> + Unpin,
{
    let mut capabilities = vec![CAPABILITY_EXEC.to_owned()];
    if options.remediation {
        capabilities.push(CAPABILITY_REMEDIATION.to_owned());
    }
    let hello = AgentFrame::Hello {
        agent_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        capabilities,
    };
    if send(&mut sink, &hello).await.is_err() {
        return;
    }
    let (outgoing, mut frames) = mpsc::channel::<AgentFrame>(256);
    let mut running: Vec<JoinHandle<()>> = Vec::new();
    let mut ping = tokio::time::interval(options.ping_interval);
    ping.tick().await;
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let Some(text) = incoming else { break };
                match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(ServerFrame::Ping) => {
                        if send(&mut sink, &AgentFrame::Pong).await.is_err() { break }
                    }
                    Ok(ServerFrame::ExecCommand { request_id, command, timeout, remediation_id, .. }) => {
                        let request = ExecRequest { request_id, command, timeout, remediation: remediation_id.is_some() };
                        running.retain(|task| !task.is_finished());
                        running.push(tokio::spawn(execute(request, options.clone(), outgoing.clone())));
                    }
                    Ok(ServerFrame::Pong | ServerFrame::Unknown) => {}
                    Err(error) => tracing::debug!(%error, "ignored an undecodable server frame"),
                }
            }
            Some(frame) = frames.recv() => {
                if send(&mut sink, &frame).await.is_err() { break }
            }
            _ = ping.tick() => {
                if send(&mut sink, &AgentFrame::Ping).await.is_err() { break }
            }
            () = wait_stopped(&mut stop) => break,
        }
    }
    for task in running {
        task.abort();
    }
}

async fn send<S: Sink<String> + Unpin>(sink: &mut S, frame: &AgentFrame) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(text).await.map_err(|_| ())
}

/// One `exec_command` as received.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    pub request_id: String,
    pub command: String,
    /// Seconds; the default applies when not positive.
    pub timeout: i64,
    /// Whether the server marked it a remediation step.
    pub remediation: bool,
}

/// Checks and runs one command, sending its frames to `frames`.
pub async fn execute(
    request: ExecRequest,
    options: RemoteOptions,
    frames: mpsc::Sender<AgentFrame>,
) {
    let request_id = request.request_id.clone();
    let done = |reason: String| AgentFrame::CommandDone {
        request_id: request_id.clone(),
        exit_code: -1,
        stdout: String::new(),
        stderr: format!("Command rejected: {reason}"),
        timed_out: false,
    };
    if request.remediation && !options.remediation {
        let _ = frames
            .send(done("remediation is disabled on this agent".to_owned()))
            .await;
        return;
    }
    let purpose = if request.remediation {
        Purpose::Remediation
    } else {
        Purpose::Diagnostic
    };
    let checked = match safety::check(&request.command, purpose) {
        Ok(checked) => checked,
        Err(refusal) => {
            tracing::warn!(request_id = %request.request_id, %refusal, "refused a command");
            let _ = frames.send(done(refusal.reasons.join("; "))).await;
            return;
        }
    };
    if let Some(escaped) = checked.argv.iter().find(|argument| {
        escapes_root(
            std::path::Path::new(argument),
            std::path::Path::new(LOG_ROOT),
        )
    }) {
        let reason = format!("`{escaped}` resolves outside {LOG_ROOT} (a symbolic link)");
        tracing::warn!(request_id = %request.request_id, %reason, "refused a command");
        let _ = frames.send(done(reason)).await;
        return;
    }
    let seconds = if request.timeout > 0 {
        request.timeout
    } else {
        DEFAULT_TIMEOUT_SECONDS
    };
    let timeout = Duration::from_secs(u64::try_from(seconds).unwrap_or(120));
    let output = run_argv(
        &checked.argv,
        Limits {
            timeout,
            output: options.output_limit,
            path: &options.command_path,
        },
        &request.request_id,
        &frames,
    )
    .await;
    let _ = frames
        .send(AgentFrame::CommandResult {
            request_id: request.request_id,
            exit_code: output.exit_code,
            stdout: output.stdout,
            stderr: output.stderr,
            duration_ms: Some(output.duration_ms),
        })
        .await;
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// The exit code; -1 when killed by a signal, timed out, or not started.
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: i64,
    pub timed_out: bool,
}

/// How a command runs: its timeout, the bytes kept per stream, and its `PATH`.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    pub timeout: Duration,
    pub output: usize,
    pub path: &'a str,
}

/// Runs `argv` without a shell (stdin closed, a fixed `PATH`), streaming each output line as a
/// `command_output` frame and keeping at most `limit` bytes per stream. On timeout the process
/// is killed and stderr ends with `command timed out`, as the original agent reports it.
pub async fn run_argv(
    argv: &[String],
    limits: Limits<'_>,
    request_id: &str,
    frames: &mpsc::Sender<AgentFrame>,
) -> RunOutput {
    let Limits {
        timeout,
        output: limit,
        path,
    } = limits;
    let started = Instant::now();
    let Some((program, arguments)) = argv.split_first() else {
        return not_started("empty command".to_owned());
    };
    let spawned = tokio::process::Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .env("PATH", path)
        .env("LC_ALL", "C")
        // Its own process group, so the processes it starts can be killed with it.
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => return not_started(format!("failed to start `{program}`: {error}")),
    };
    // Declared after `child`, so it is dropped first: when the task is aborted (the session
    // ended, the agent stops) the group is killed while its leader is not yet reaped.
    let mut group = ProcessGroup::of(&child);
    let stdout = Arc::new(Mutex::new(String::new()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let (child_stdout, child_stderr) = (child.stdout.take(), child.stderr.take());
    let readers = async {
        tokio::join!(
            pump(
                child_stdout,
                Arc::clone(&stdout),
                limit,
                request_id,
                frames,
                true
            ),
            pump(
                child_stderr,
                Arc::clone(&stderr),
                limit,
                request_id,
                frames,
                false
            ),
        )
    };
    let finished = tokio::time::timeout(timeout, async {
        readers.await;
        child.wait().await
    })
    .await;
    let take = |buffer: &Arc<Mutex<String>>| {
        std::mem::take(
            &mut *buffer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    };
    let (exit_code, timed_out, failure) = match finished {
        Ok(Ok(status)) => (i64::from(status.code().unwrap_or(-1)), false, None),
        Ok(Err(error)) => (-1, false, Some(error.to_string())),
        Err(_) => {
            group.kill();
            let _ = child.start_kill();
            let _ = child.wait().await;
            (-1, true, None)
        }
    };
    // Whatever the command left running in its group (a background child that closed its
    // output) goes with it.
    group.kill();
    let mut stderr = take(&stderr);
    if let Some(failure) = failure {
        stderr.push_str(&failure);
    }
    if timed_out {
        if !stderr.is_empty() && !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        stderr.push_str("command timed out");
    }
    RunOutput {
        exit_code,
        stdout: take(&stdout),
        stderr,
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        timed_out,
    }
}

/// The process group of a command started with `process_group(0)` (its id is the leader's
/// pid). Killed with SIGKILL on timeout, after the command ends, and when dropped, so no
/// grandchild outlives the command: a `sh -c`-like program or one that spawns helpers would
/// otherwise leave orphans when only the direct child is killed.
struct ProcessGroup {
    id: Option<rustix::process::Pid>,
}

impl ProcessGroup {
    fn of(child: &tokio::process::Child) -> Self {
        let id = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .and_then(rustix::process::Pid::from_raw);
        Self { id }
    }

    /// Sends SIGKILL to every process of the group, once; a group that is already gone is fine.
    fn kill(&mut self) {
        let Some(id) = self.id.take() else { return };
        match rustix::process::kill_process_group(id, rustix::process::Signal::KILL) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => {}
            Err(error) => {
                tracing::warn!(%error, pgid = id.as_raw_nonzero().get(), "failed to kill a command's process group");
            }
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether `path`, written under `root`, really lives elsewhere once symbolic links are resolved.
/// A path that does not exist escapes nothing (the program will report it missing).
fn escapes_root(path: &std::path::Path, root: &std::path::Path) -> bool {
    if !path.starts_with(root) {
        return false;
    }
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    match std::fs::canonicalize(path) {
        Ok(real) => !real.starts_with(&real_root),
        Err(_) => false,
    }
}

fn not_started(error: String) -> RunOutput {
    RunOutput {
        exit_code: -1,
        stdout: String::new(),
        stderr: error,
        duration_ms: 0,
        timed_out: false,
    }
}

/// Reads one stream line by line into `buffer` (up to `limit` bytes) and streams the lines
/// that fit; the rest is drained and dropped so the process never blocks on a full pipe.
async fn pump(
    pipe: Option<impl AsyncRead + Unpin>,
    buffer: Arc<Mutex<String>>,
    limit: usize,
    request_id: &str,
    frames: &mpsc::Sender<AgentFrame>,
    is_stdout: bool,
) {
    let Some(pipe) = pipe else { return };
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    let mut full = false;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if full {
            continue;
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        {
            let mut kept = buffer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if kept.len() + text.len() > limit {
                kept.push_str("[output truncated]\n");
                full = true;
                continue;
            }
            kept.push_str(&text);
        }
        let line_text = text.trim_end_matches(['\n', '\r']).to_owned();
        let (stdout, stderr) = if is_stdout {
            (line_text, String::new())
        } else {
            (String::new(), line_text)
        };
        let _ = frames
            .send(AgentFrame::CommandOutput {
                request_id: request_id.to_owned(),
                stdout,
                stderr,
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_websocket_url_follows_the_server_url() {
        assert_eq!(
            websocket_url("http://s:8001/", 7).as_deref(),
            Some("ws://s:8001/api/v1/agent/ws/7")
        );
        assert_eq!(
            websocket_url("https://s", 7).as_deref(),
            Some("wss://s/api/v1/agent/ws/7")
        );
        assert_eq!(websocket_url("ftp://s", 7), None);
    }

    fn options() -> RemoteOptions {
        RemoteOptions::new("http://127.0.0.1:1", "vop_x", false)
    }

    async fn frames_of(request: ExecRequest, options: RemoteOptions) -> Vec<AgentFrame> {
        let (sender, mut receiver) = mpsc::channel(1024);
        execute(request, options, sender).await;
        let mut frames = Vec::new();
        while let Ok(frame) = receiver.try_recv() {
            frames.push(frame);
        }
        frames
    }

    fn request(command: &str, timeout: i64) -> ExecRequest {
        ExecRequest {
            request_id: "r1".to_owned(),
            command: command.to_owned(),
            timeout,
            remediation: false,
        }
    }

    #[tokio::test]
    async fn an_allowed_command_streams_lines_and_ends_with_its_result() {
        let frames = frames_of(request("df -h /", 30), options()).await;
        let Some(AgentFrame::CommandResult {
            exit_code,
            stdout,
            duration_ms,
            ..
        }) = frames.last()
        else {
            panic!("{frames:?}")
        };
        assert_eq!(*exit_code, 0);
        assert!(stdout.starts_with("Filesystem"), "{stdout}");
        assert!(duration_ms.is_some());
        let streamed: Vec<&str> = frames
            .iter()
            .filter_map(|f| match f {
                AgentFrame::CommandOutput { stdout, .. } => Some(stdout.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            streamed.join("\n") + "\n",
            *stdout,
            "the result repeats what was streamed"
        );
    }

    #[tokio::test]
    async fn a_command_outside_the_policy_is_refused_with_command_done() {
        for command in [
            "cat /etc/shadow",
            "df -h; id",
            "rm -rf /",
            "systemctl restart nginx",
        ] {
            let frames = frames_of(request(command, 30), options()).await;
            assert_eq!(frames.len(), 1, "{command}: {frames:?}");
            let AgentFrame::CommandDone {
                exit_code,
                stdout,
                stderr,
                timed_out,
                ..
            } = &frames[0]
            else {
                panic!("{frames:?}")
            };
            assert_eq!((*exit_code, stdout.as_str(), *timed_out), (-1, "", false));
            assert!(stderr.starts_with("Command rejected: "), "{stderr}");
        }
        // A remediation step is refused while remediation is disabled, even if it is allowed.
        let step = ExecRequest {
            remediation: true,
            ..request("sync", 30)
        };
        let frames = frames_of(step, options()).await;
        assert!(
            matches!(&frames[0], AgentFrame::CommandDone { stderr, .. } if stderr.contains("remediation is disabled"))
        );
    }

    #[test]
    fn a_symbolic_link_out_of_the_root_escapes_it() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("shadow");
        std::fs::write(&secret, "x").unwrap();
        let inside = root.path().join("app.log");
        std::fs::write(&inside, "x").unwrap();
        let link = root.path().join("evil.log");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        assert!(escapes_root(&link, root.path()));
        assert!(!escapes_root(&inside, root.path()));
        assert!(!escapes_root(&root.path().join("missing.log"), root.path()));
        assert!(
            !escapes_root(&secret, root.path()),
            "paths outside the root are the policy's business"
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_the_process() {
        let started = Instant::now();
        let frames = frames_of(request("vmstat 1 30", 1), options()).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "killed, not waited for"
        );
        let Some(AgentFrame::CommandResult {
            exit_code, stderr, ..
        }) = frames.last()
        else {
            panic!("{frames:?}")
        };
        assert_eq!(*exit_code, -1);
        assert!(stderr.ends_with("command timed out"), "{stderr}");
    }

    /// Whether process `pid` is gone: no `/proc/<pid>`, or only its zombie (dead, waiting for a
    /// parent to reap it; a container's init may never do so).
    fn is_gone(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
        }
    }

    /// Polls (real time: a process dies on its own schedule) until `pid` is gone, up to 5 s.
    async fn until_gone(pid: u32) -> bool {
        for _ in 0..500 {
            if is_gone(pid) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// A command that starts a grandchild (`sleep`), prints its pid and waits for it. `sh` is
    /// outside the safety policy, so this drives the runner directly, as `execute` does once a
    /// command passed the check.
    fn forking_command() -> Vec<String> {
        ["sh", "-c", "sleep 300 & echo $!; wait"]
            .map(str::to_owned)
            .to_vec()
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_process_group() {
        let (sender, _receiver) = mpsc::channel(1024);
        let output = run_argv(
            &forking_command(),
            Limits {
                timeout: Duration::from_secs(1),
                output: 4096,
                path: SAFE_PATH,
            },
            "r1",
            &sender,
        )
        .await;
        assert!(output.timed_out, "{output:?}");
        let grandchild: u32 = output.stdout.trim().parse().expect("the grandchild's pid");
        assert!(
            until_gone(grandchild).await,
            "grandchild {grandchild} outlived the timeout"
        );
    }

    #[tokio::test]
    async fn an_aborted_command_takes_its_process_group_with_it() {
        // What happens when the session ends or the agent stops: the task running the command
        // is aborted.
        let (sender, mut receiver) = mpsc::channel(1024);
        let task = tokio::spawn(async move {
            run_argv(
                &forking_command(),
                Limits {
                    timeout: Duration::from_secs(300),
                    output: 4096,
                    path: SAFE_PATH,
                },
                "r1",
                &sender,
            )
            .await
        });
        let grandchild: u32 = match receiver.recv().await {
            Some(AgentFrame::CommandOutput { stdout, .. }) => stdout.trim().parse().unwrap(),
            other => panic!("{other:?}"),
        };
        assert!(!is_gone(grandchild), "the grandchild runs until the abort");
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(
            until_gone(grandchild).await,
            "grandchild {grandchild} outlived the aborted command"
        );
    }

    #[tokio::test]
    async fn output_beyond_the_limit_is_cut() {
        let small = RemoteOptions {
            output_limit: 64,
            ..options()
        };
        let frames = frames_of(request("cat /proc/cpuinfo", 30), small).await;
        let Some(AgentFrame::CommandResult { stdout, .. }) = frames.last() else {
            panic!("{frames:?}")
        };
        assert!(
            stdout.len() <= 64 + "[output truncated]\n".len(),
            "{}",
            stdout.len()
        );
        assert!(stdout.ends_with("[output truncated]\n"));
    }
}
