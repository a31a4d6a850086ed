-- Commands queued for hosts' agents (the remediation channel). Timestamps are INTEGER
-- microseconds since the epoch, as in 0001.
CREATE TABLE agent_commands (
    request_id      TEXT PRIMARY KEY,
    host_id         INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    command         TEXT NOT NULL,
    argv_json       TEXT NOT NULL,
    timeout_seconds INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    exit_code       INTEGER,
    stdout          TEXT NOT NULL DEFAULT '',
    stderr          TEXT NOT NULL DEFAULT '',
    duration_ms     INTEGER,
    requested_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    remediation_id  INTEGER,
    step            INTEGER,
    connection_id   TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    finished_at     INTEGER,
    deadline_at     INTEGER NOT NULL
);
CREATE INDEX agent_commands_host_status_idx ON agent_commands (host_id, status, created_at);
CREATE INDEX agent_commands_connection_idx ON agent_commands (connection_id);
CREATE INDEX agent_commands_deadline_idx ON agent_commands (status, deadline_at);
