-- VigilOps initial schema (SQLite). Timestamps are INTEGER microseconds since the Unix epoch (UTC);
-- JSON is TEXT. Never edit once landed: add a new migration instead.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('admin', 'operator', 'viewer')),
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email COLLATE NOCASE);

CREATE TABLE agent_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    is_active    INTEGER NOT NULL DEFAULT 1,
    created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE hosts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id        INTEGER REFERENCES agent_tokens (id) ON DELETE SET NULL,
    hostname        TEXT NOT NULL,
    display_name    TEXT,
    ip_address      TEXT,
    private_ip      TEXT,
    public_ip       TEXT,
    network_info    TEXT,
    os              TEXT,
    os_version      TEXT,
    arch            TEXT,
    cpu_cores       INTEGER,
    memory_total_mb INTEGER,
    agent_version   TEXT,
    status          TEXT NOT NULL DEFAULT 'online',
    tags            TEXT,
    group_name      TEXT,
    last_heartbeat  INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- Registration is idempotent per (token, hostname); a NULL token (host of a deleted token)
-- never collides.
CREATE UNIQUE INDEX hosts_token_hostname_key ON hosts (token_id, hostname);
CREATE INDEX hosts_status_idx ON hosts (status, last_heartbeat);

CREATE TABLE host_metrics (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id              INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    recorded_at          INTEGER NOT NULL,
    cpu_percent          REAL,
    cpu_load_1           REAL,
    cpu_load_5           REAL,
    cpu_load_15          REAL,
    memory_used_mb       REAL,
    memory_percent       REAL,
    disk_used_mb         REAL,
    disk_total_mb        REAL,
    disk_percent         REAL,
    net_bytes_sent       REAL,
    net_bytes_recv       REAL,
    net_send_rate_kb     REAL,
    net_recv_rate_kb     REAL,
    net_packet_loss_rate REAL,
    extra                TEXT
);
CREATE INDEX host_metrics_host_time_idx ON host_metrics (host_id, recorded_at);
CREATE INDEX host_metrics_time_idx ON host_metrics (recorded_at);

-- The newest sample per host, for the host list and the alert rules.
CREATE TABLE host_latest_metrics (
    host_id     INTEGER PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    metric_id   INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    values_json TEXT NOT NULL,
    extra       TEXT
);

CREATE TABLE services (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id         INTEGER REFERENCES hosts (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    type            TEXT NOT NULL DEFAULT 'http',
    target          TEXT NOT NULL,
    check_interval  INTEGER NOT NULL DEFAULT 60,
    timeout         INTEGER NOT NULL DEFAULT 10,
    expected_status INTEGER,
    is_active       INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL DEFAULT 'unknown',
    category        TEXT NOT NULL DEFAULT 'business',
    tags            TEXT,
    last_checked_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX services_host_name_key ON services (host_id, name);

CREATE TABLE service_checks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id       INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    response_time_ms REAL,
    status_code      INTEGER,
    error            TEXT,
    checked_at       INTEGER NOT NULL
);
CREATE INDEX service_checks_service_time_idx ON service_checks (service_id, checked_at);
CREATE INDEX service_checks_time_idx ON service_checks (checked_at);

CREATE TABLE service_dependencies (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    source_service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    target_service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    dependency_type   TEXT NOT NULL DEFAULT 'calls',
    description       TEXT,
    origin            TEXT NOT NULL DEFAULT 'manual',
    created_at        INTEGER NOT NULL,
    UNIQUE (source_service_id, target_service_id)
);

CREATE TABLE service_groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    category   TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE servers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hostname     TEXT NOT NULL UNIQUE,
    ip_address   TEXT,
    label        TEXT,
    tags         TEXT,
    status       TEXT NOT NULL DEFAULT 'unknown',
    last_seen    INTEGER,
    is_simulated INTEGER NOT NULL DEFAULT 0,
    host_id      INTEGER REFERENCES hosts (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE server_services (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    group_id    INTEGER NOT NULL REFERENCES service_groups (id) ON DELETE CASCADE,
    port        INTEGER,
    pid         INTEGER,
    status      TEXT NOT NULL DEFAULT 'running',
    cpu_percent REAL NOT NULL DEFAULT 0,
    mem_mb      REAL NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (server_id, group_id)
);

CREATE TABLE nginx_upstreams (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id       INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    upstream_name   TEXT NOT NULL,
    backend_address TEXT NOT NULL,
    weight          INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL DEFAULT 'up',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX nginx_upstreams_server_idx ON nginx_upstreams (server_id);

CREATE TABLE topology_layouts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT 'default',
    positions  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE notification_channels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    config     TEXT NOT NULL,
    is_enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE alert_rules (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    name                     TEXT NOT NULL,
    description              TEXT,
    severity                 TEXT NOT NULL DEFAULT 'warning',
    metric                   TEXT NOT NULL DEFAULT '',
    operator                 TEXT NOT NULL DEFAULT '>',
    threshold                REAL NOT NULL DEFAULT 0,
    recovery_threshold       REAL,
    duration_seconds         INTEGER NOT NULL DEFAULT 300,
    is_enabled               INTEGER NOT NULL DEFAULT 1,
    target_type              TEXT NOT NULL DEFAULT 'host',
    target_filter            TEXT,
    rule_type                TEXT NOT NULL DEFAULT 'metric',
    log_keyword              TEXT,
    log_level                TEXT,
    log_service              TEXT,
    db_metric_name           TEXT,
    db_id                    INTEGER,
    cooldown_seconds         INTEGER NOT NULL DEFAULT 300,
    silence_start            TEXT,
    silence_end              TEXT,
    notification_channel_ids TEXT,
    is_builtin               INTEGER NOT NULL DEFAULT 0,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id         INTEGER REFERENCES alert_rules (id) ON DELETE SET NULL,
    host_id         INTEGER REFERENCES hosts (id) ON DELETE CASCADE,
    service_id      INTEGER REFERENCES services (id) ON DELETE CASCADE,
    target_key      TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'firing',
    title           TEXT NOT NULL,
    message         TEXT,
    metric_value    REAL,
    threshold       REAL,
    fired_at        INTEGER NOT NULL,
    resolved_at     INTEGER,
    acknowledged_at INTEGER,
    acknowledged_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL
);
-- One open alert per (rule, target).
CREATE UNIQUE INDEX alerts_open_key ON alerts (rule_id, target_key) WHERE status <> 'resolved';
CREATE INDEX alerts_status_time_idx ON alerts (status, fired_at);
CREATE INDEX alerts_host_idx ON alerts (host_id, fired_at);

CREATE TABLE ai_insights (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    insight_type     TEXT NOT NULL,
    severity         TEXT NOT NULL DEFAULT 'info',
    title            TEXT NOT NULL,
    summary          TEXT,
    details          TEXT,
    related_host_id  INTEGER REFERENCES hosts (id) ON DELETE SET NULL,
    related_alert_id INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
    status           TEXT NOT NULL DEFAULT 'new',
    created_at       INTEGER NOT NULL
);
CREATE INDEX ai_insights_time_idx ON ai_insights (created_at);

CREATE TABLE remediation_logs (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id             INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
    host_id              INTEGER REFERENCES hosts (id) ON DELETE SET NULL,
    status               TEXT NOT NULL,
    risk_level           TEXT,
    runbook_name         TEXT,
    diagnosis_json       TEXT,
    command_results_json TEXT,
    verification_passed  INTEGER,
    blocked_reason       TEXT,
    triggered_by         TEXT NOT NULL DEFAULT 'auto',
    approved_by          INTEGER REFERENCES users (id) ON DELETE SET NULL,
    approved_at          INTEGER,
    started_at           INTEGER,
    completed_at         INTEGER,
    created_at           INTEGER NOT NULL
);
CREATE INDEX remediation_logs_alert_idx ON remediation_logs (alert_id);
CREATE INDEX remediation_logs_host_time_idx ON remediation_logs (host_id, created_at);

CREATE TABLE log_entries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id    INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    service    TEXT,
    source     TEXT,
    level      TEXT,
    message    TEXT NOT NULL,
    timestamp  INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX log_entries_time_idx ON log_entries (timestamp);
CREATE INDEX log_entries_host_time_idx ON log_entries (host_id, timestamp);

CREATE TABLE monitored_databases (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id             INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    db_type             TEXT NOT NULL DEFAULT 'postgres',
    status              TEXT NOT NULL DEFAULT 'healthy',
    slow_queries_detail TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (host_id, name)
);

CREATE TABLE db_metrics (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    database_id              INTEGER NOT NULL REFERENCES monitored_databases (id) ON DELETE CASCADE,
    recorded_at              INTEGER NOT NULL,
    connections_total        REAL,
    connections_active       REAL,
    connections_max          REAL,
    database_size_mb         REAL,
    slow_queries             REAL,
    tables_count             REAL,
    transactions_committed   REAL,
    transactions_rolled_back REAL,
    qps                      REAL,
    tablespace_used_pct      REAL,
    lock_waits               REAL,
    deadlocks                REAL,
    extra                    TEXT
);
CREATE INDEX db_metrics_db_time_idx ON db_metrics (database_id, recorded_at);
CREATE INDEX db_metrics_time_idx ON db_metrics (recorded_at);

CREATE TABLE notification_logs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id      INTEGER REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id    INTEGER REFERENCES notification_channels (id) ON DELETE CASCADE,
    status        TEXT NOT NULL,
    response_code INTEGER,
    error         TEXT,
    retries       INTEGER NOT NULL DEFAULT 0,
    sent_at       INTEGER NOT NULL
);
CREATE INDEX notification_logs_alert_idx ON notification_logs (alert_id);
CREATE INDEX notification_logs_time_idx ON notification_logs (sent_at);

CREATE TABLE notification_templates (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL,
    channel_type     TEXT NOT NULL DEFAULT 'all',
    subject_template TEXT,
    body_template    TEXT NOT NULL,
    is_default       INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE reports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT NOT NULL,
    report_type  TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end   INTEGER NOT NULL,
    content      TEXT,
    summary      TEXT,
    status       TEXT NOT NULL DEFAULT 'generating',
    generated_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX reports_type_time_idx ON reports (report_type, created_at);

CREATE TABLE sla_rules (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id         INTEGER NOT NULL UNIQUE REFERENCES services (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    target_percent     REAL NOT NULL DEFAULT 99.9,
    calculation_window TEXT NOT NULL DEFAULT 'monthly',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE sla_violations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    sla_rule_id      INTEGER NOT NULL REFERENCES sla_rules (id) ON DELETE CASCADE,
    service_id       INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    duration_seconds INTEGER,
    description      TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX sla_violations_service_time_idx ON sla_violations (service_id, started_at);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    description TEXT,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE audit_logs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    detail        TEXT,
    ip_address    TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX audit_logs_time_idx ON audit_logs (created_at);
CREATE INDEX audit_logs_user_idx ON audit_logs (user_id, created_at);

CREATE TABLE idempotency_keys (
    token_id    INTEGER NOT NULL,
    key         TEXT NOT NULL,
    status_code INTEGER,
    body        TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_keys_time_idx ON idempotency_keys (created_at);

CREATE TABLE throttle_hits (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    key    TEXT NOT NULL,
    hit_at INTEGER NOT NULL
);
CREATE INDEX throttle_hits_key_time_idx ON throttle_hits (key, hit_at);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
