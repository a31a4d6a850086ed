//! Frames of the agent WebSocket `GET /api/v1/agent/ws/{host_id}` (`agent-protocol.md` §8):
//! JSON text objects with a `type` field. Both sides ignore unknown types and unknown fields,
//! so an unknown `type` decodes as `Unknown` and is skipped rather than closing the socket.

use serde::{Deserialize, Serialize};

/// The capability an agent announces in `hello` to receive remediation steps.
pub const CAPABILITY_REMEDIATION: &str = "remediation";
/// The capability an agent announces in `hello` to receive diagnostic commands.
pub const CAPABILITY_EXEC: &str = "exec";

/// A frame the agent sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentFrame {
    /// Every 15 s; the server answers `pong`.
    Ping,
    /// The answer to a server `ping`.
    Pong,
    /// **Extension**: our agent's first frame. Without it the agent is an original one.
    Hello {
        #[serde(default)]
        agent_version: Option<String>,
        #[serde(default)]
        capabilities: Vec<String>,
    },
    /// One line of output; the other stream is `""`.
    CommandOutput {
        request_id: String,
        #[serde(default)]
        stdout: String,
        #[serde(default)]
        stderr: String,
    },
    /// The command ran: its complete output (repeating what was streamed).
    CommandResult {
        request_id: String,
        #[serde(deserialize_with = "super::lenient::int")]
        exit_code: i64,
        #[serde(default)]
        stdout: String,
        #[serde(default)]
        stderr: String,
        #[serde(default, deserialize_with = "super::lenient::opt_int")]
        duration_ms: Option<i64>,
    },
    /// The agent refused the command (or, with `timed_out`, gave up on it).
    CommandDone {
        request_id: String,
        #[serde(default = "minus_one", deserialize_with = "super::lenient::int")]
        exit_code: i64,
        #[serde(default)]
        stdout: String,
        #[serde(default)]
        stderr: String,
        #[serde(default)]
        timed_out: bool,
    },
    /// Any other `type`: ignored.
    #[serde(other)]
    Unknown,
}

fn minus_one() -> i64 {
    -1
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to an agent `ping`.
    Pong,
    /// The agent answers `pong`.
    Ping,
    /// Run a command. `remediation_id` and `step` (**Extension**) mark a remediation step and are
    /// sent only to agents that announced `remediation`.
    ExecCommand {
        request_id: String,
        command: String,
        /// Seconds; the original agent's default is 120.
        timeout: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remediation_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<i64>,
    },
    /// Any other `type`: ignored.
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_original_agents_frames_decode() {
        let ping: AgentFrame = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(ping, AgentFrame::Ping);
        let done: AgentFrame = serde_json::from_value(json!({
            "type": "command_done", "request_id": "r", "exit_code": -1, "stdout": "",
            "stderr": "Command rejected: not allowed", "timed_out": false, "extra": 1
        }))
        .unwrap();
        assert!(matches!(
            done,
            AgentFrame::CommandDone {
                exit_code: -1,
                timed_out: false,
                ..
            }
        ));
        let result: AgentFrame = serde_json::from_value(json!({
            "type": "command_result", "request_id": "r", "exit_code": 0.0,
            "stdout": "ok\n", "stderr": "", "duration_ms": 12
        }))
        .unwrap();
        assert!(matches!(
            result,
            AgentFrame::CommandResult {
                exit_code: 0,
                duration_ms: Some(12),
                ..
            }
        ));
        let unknown: AgentFrame =
            serde_json::from_str(r#"{"type":"update_status","x":1}"#).unwrap();
        assert_eq!(unknown, AgentFrame::Unknown);
    }

    #[test]
    fn exec_command_omits_the_remediation_fields_for_diagnostics() {
        let frame = ServerFrame::ExecCommand {
            request_id: "r".to_owned(),
            command: "df -h".to_owned(),
            timeout: 60,
            remediation_id: None,
            step: None,
        };
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            json!({"type": "exec_command", "request_id": "r", "command": "df -h", "timeout": 60})
        );
        let pong = serde_json::to_value(ServerFrame::Pong).unwrap();
        assert_eq!(pong, json!({"type": "pong"}));
    }
}
