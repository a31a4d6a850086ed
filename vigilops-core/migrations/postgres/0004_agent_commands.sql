-- Commands queued for hosts' agents (the remediation channel).
CREATE TABLE agent_commands (
    request_id      UUID PRIMARY KEY,
    host_id         BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    command         TEXT NOT NULL,
    argv_json       JSONB NOT NULL,
    timeout_seconds INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    exit_code       INTEGER,
    stdout          TEXT NOT NULL DEFAULT '',
    stderr          TEXT NOT NULL DEFAULT '',
    duration_ms     BIGINT,
    requested_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    remediation_id  BIGINT,
    step            INTEGER,
    connection_id   UUID,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    deadline_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX agent_commands_host_status_idx ON agent_commands (host_id, status, created_at);
CREATE INDEX agent_commands_connection_idx ON agent_commands (connection_id);
CREATE INDEX agent_commands_deadline_idx ON agent_commands (status, deadline_at);
