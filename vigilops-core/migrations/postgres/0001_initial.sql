-- VigilOps initial schema (PostgreSQL). Never edit once landed: add a new migration instead.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('admin', 'operator', 'viewer')),
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE agent_tokens (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    is_active    BOOLEAN NOT NULL DEFAULT TRUE,
    created_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);

CREATE TABLE hosts (
    id              BIGSERIAL PRIMARY KEY,
    token_id        BIGINT REFERENCES agent_tokens (id) ON DELETE SET NULL,
    hostname        TEXT NOT NULL,
    display_name    TEXT,
    ip_address      TEXT,
    private_ip      TEXT,
    public_ip       TEXT,
    network_info    JSONB,
    os              TEXT,
    os_version      TEXT,
    arch            TEXT,
    cpu_cores       BIGINT,
    memory_total_mb BIGINT,
    agent_version   TEXT,
    status          TEXT NOT NULL DEFAULT 'online',
    tags            JSONB,
    group_name      TEXT,
    last_heartbeat  TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- Registration is idempotent per (token, hostname); a NULL token (host of a deleted token)
-- never collides.
CREATE UNIQUE INDEX hosts_token_hostname_key ON hosts (token_id, hostname);
CREATE INDEX hosts_status_idx ON hosts (status, last_heartbeat);

CREATE TABLE host_metrics (
    id                   BIGSERIAL PRIMARY KEY,
    host_id              BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    recorded_at          TIMESTAMPTZ NOT NULL,
    cpu_percent          DOUBLE PRECISION,
    cpu_load_1           DOUBLE PRECISION,
    cpu_load_5           DOUBLE PRECISION,
    cpu_load_15          DOUBLE PRECISION,
    memory_used_mb       DOUBLE PRECISION,
    memory_percent       DOUBLE PRECISION,
    disk_used_mb         DOUBLE PRECISION,
    disk_total_mb        DOUBLE PRECISION,
    disk_percent         DOUBLE PRECISION,
    net_bytes_sent       DOUBLE PRECISION,
    net_bytes_recv       DOUBLE PRECISION,
    net_send_rate_kb     DOUBLE PRECISION,
    net_recv_rate_kb     DOUBLE PRECISION,
    net_packet_loss_rate DOUBLE PRECISION,
    extra                JSONB
);
CREATE INDEX host_metrics_host_time_idx ON host_metrics (host_id, recorded_at);
CREATE INDEX host_metrics_time_idx ON host_metrics (recorded_at);

-- The newest sample per host, for the host list and the alert rules.
CREATE TABLE host_latest_metrics (
    host_id     BIGINT PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    metric_id   BIGINT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    values_json JSONB NOT NULL,
    extra       JSONB
);

CREATE TABLE services (
    id              BIGSERIAL PRIMARY KEY,
    host_id         BIGINT REFERENCES hosts (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    type            TEXT NOT NULL DEFAULT 'http',
    target          TEXT NOT NULL,
    check_interval  BIGINT NOT NULL DEFAULT 60,
    timeout         BIGINT NOT NULL DEFAULT 10,
    expected_status BIGINT,
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    status          TEXT NOT NULL DEFAULT 'unknown',
    category        TEXT NOT NULL DEFAULT 'business',
    tags            JSONB,
    last_checked_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX services_host_name_key ON services (host_id, name);

CREATE TABLE service_checks (
    id               BIGSERIAL PRIMARY KEY,
    service_id       BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    response_time_ms DOUBLE PRECISION,
    status_code      BIGINT,
    error            TEXT,
    checked_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_checks_service_time_idx ON service_checks (service_id, checked_at);
CREATE INDEX service_checks_time_idx ON service_checks (checked_at);

CREATE TABLE service_dependencies (
    id                BIGSERIAL PRIMARY KEY,
    source_service_id BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    target_service_id BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    dependency_type   TEXT NOT NULL DEFAULT 'calls',
    description       TEXT,
    origin            TEXT NOT NULL DEFAULT 'manual',
    created_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (source_service_id, target_service_id)
);

CREATE TABLE service_groups (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    category   TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE servers (
    id           BIGSERIAL PRIMARY KEY,
    hostname     TEXT NOT NULL UNIQUE,
    ip_address   TEXT,
    label        TEXT,
    tags         JSONB,
    status       TEXT NOT NULL DEFAULT 'unknown',
    last_seen    TIMESTAMPTZ,
    is_simulated BOOLEAN NOT NULL DEFAULT FALSE,
    host_id      BIGINT REFERENCES hosts (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE server_services (
    id          BIGSERIAL PRIMARY KEY,
    server_id   BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    group_id    BIGINT NOT NULL REFERENCES service_groups (id) ON DELETE CASCADE,
    port        BIGINT,
    pid         BIGINT,
    status      TEXT NOT NULL DEFAULT 'running',
    cpu_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
    mem_mb      DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (server_id, group_id)
);

CREATE TABLE nginx_upstreams (
    id              BIGSERIAL PRIMARY KEY,
    server_id       BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    upstream_name   TEXT NOT NULL,
    backend_address TEXT NOT NULL,
    weight          BIGINT NOT NULL DEFAULT 1,
    status          TEXT NOT NULL DEFAULT 'up',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX nginx_upstreams_server_idx ON nginx_upstreams (server_id);

CREATE TABLE topology_layouts (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT 'default',
    positions  JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE notification_channels (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    config     JSONB NOT NULL,
    is_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE alert_rules (
    id                       BIGSERIAL PRIMARY KEY,
    name                     TEXT NOT NULL,
    description              TEXT,
    severity                 TEXT NOT NULL DEFAULT 'warning',
    metric                   TEXT NOT NULL DEFAULT '',
    operator                 TEXT NOT NULL DEFAULT '>',
    threshold                DOUBLE PRECISION NOT NULL DEFAULT 0,
    recovery_threshold       DOUBLE PRECISION,
    duration_seconds         BIGINT NOT NULL DEFAULT 300,
    is_enabled               BOOLEAN NOT NULL DEFAULT TRUE,
    target_type              TEXT NOT NULL DEFAULT 'host',
    target_filter            JSONB,
    rule_type                TEXT NOT NULL DEFAULT 'metric',
    log_keyword              TEXT,
    log_level                TEXT,
    log_service              TEXT,
    db_metric_name           TEXT,
    db_id                    BIGINT,
    cooldown_seconds         BIGINT NOT NULL DEFAULT 300,
    silence_start            TEXT,
    silence_end              TEXT,
    notification_channel_ids JSONB,
    is_builtin               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL
);

CREATE TABLE alerts (
    id              BIGSERIAL PRIMARY KEY,
    rule_id         BIGINT REFERENCES alert_rules (id) ON DELETE SET NULL,
    host_id         BIGINT REFERENCES hosts (id) ON DELETE CASCADE,
    service_id      BIGINT REFERENCES services (id) ON DELETE CASCADE,
    target_key      TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'firing',
    title           TEXT NOT NULL,
    message         TEXT,
    metric_value    DOUBLE PRECISION,
    threshold       DOUBLE PRECISION,
    fired_at        TIMESTAMPTZ NOT NULL,
    resolved_at     TIMESTAMPTZ,
    acknowledged_at TIMESTAMPTZ,
    acknowledged_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
-- One open alert per (rule, target).
CREATE UNIQUE INDEX alerts_open_key ON alerts (rule_id, target_key) WHERE status <> 'resolved';
CREATE INDEX alerts_status_time_idx ON alerts (status, fired_at);
CREATE INDEX alerts_host_idx ON alerts (host_id, fired_at);

CREATE TABLE ai_insights (
    id               BIGSERIAL PRIMARY KEY,
    insight_type     TEXT NOT NULL,
    severity         TEXT NOT NULL DEFAULT 'info',
    title            TEXT NOT NULL,
    summary          TEXT,
    details          JSONB,
    related_host_id  BIGINT REFERENCES hosts (id) ON DELETE SET NULL,
    related_alert_id BIGINT REFERENCES alerts (id) ON DELETE SET NULL,
    status           TEXT NOT NULL DEFAULT 'new',
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX ai_insights_time_idx ON ai_insights (created_at);

CREATE TABLE remediation_logs (
    id                   BIGSERIAL PRIMARY KEY,
    alert_id             BIGINT REFERENCES alerts (id) ON DELETE SET NULL,
    host_id              BIGINT REFERENCES hosts (id) ON DELETE SET NULL,
    status               TEXT NOT NULL,
    risk_level           TEXT,
    runbook_name         TEXT,
    diagnosis_json       JSONB,
    command_results_json JSONB,
    verification_passed  BOOLEAN,
    blocked_reason       TEXT,
    triggered_by         TEXT NOT NULL DEFAULT 'auto',
    approved_by          BIGINT REFERENCES users (id) ON DELETE SET NULL,
    approved_at          TIMESTAMPTZ,
    started_at           TIMESTAMPTZ,
    completed_at         TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX remediation_logs_alert_idx ON remediation_logs (alert_id);
CREATE INDEX remediation_logs_host_time_idx ON remediation_logs (host_id, created_at);

CREATE TABLE log_entries (
    id         BIGSERIAL PRIMARY KEY,
    host_id    BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    service    TEXT,
    source     TEXT,
    level      TEXT,
    message    TEXT NOT NULL,
    timestamp  TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX log_entries_time_idx ON log_entries (timestamp);
CREATE INDEX log_entries_host_time_idx ON log_entries (host_id, timestamp);

CREATE TABLE monitored_databases (
    id                  BIGSERIAL PRIMARY KEY,
    host_id             BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    db_type             TEXT NOT NULL DEFAULT 'postgres',
    status              TEXT NOT NULL DEFAULT 'healthy',
    slow_queries_detail JSONB,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (host_id, name)
);

CREATE TABLE db_metrics (
    id                       BIGSERIAL PRIMARY KEY,
    database_id              BIGINT NOT NULL REFERENCES monitored_databases (id) ON DELETE CASCADE,
    recorded_at              TIMESTAMPTZ NOT NULL,
    connections_total        DOUBLE PRECISION,
    connections_active       DOUBLE PRECISION,
    connections_max          DOUBLE PRECISION,
    database_size_mb         DOUBLE PRECISION,
    slow_queries             DOUBLE PRECISION,
    tables_count             DOUBLE PRECISION,
    transactions_committed   DOUBLE PRECISION,
    transactions_rolled_back DOUBLE PRECISION,
    qps                      DOUBLE PRECISION,
    tablespace_used_pct      DOUBLE PRECISION,
    lock_waits               DOUBLE PRECISION,
    deadlocks                DOUBLE PRECISION,
    extra                    JSONB
);
CREATE INDEX db_metrics_db_time_idx ON db_metrics (database_id, recorded_at);
CREATE INDEX db_metrics_time_idx ON db_metrics (recorded_at);

CREATE TABLE notification_logs (
    id            BIGSERIAL PRIMARY KEY,
    alert_id      BIGINT REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id    BIGINT REFERENCES notification_channels (id) ON DELETE CASCADE,
    status        TEXT NOT NULL,
    response_code BIGINT,
    error         TEXT,
    retries       BIGINT NOT NULL DEFAULT 0,
    sent_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX notification_logs_alert_idx ON notification_logs (alert_id);
CREATE INDEX notification_logs_time_idx ON notification_logs (sent_at);

CREATE TABLE notification_templates (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT NOT NULL,
    channel_type     TEXT NOT NULL DEFAULT 'all',
    subject_template TEXT,
    body_template    TEXT NOT NULL,
    is_default       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE reports (
    id           BIGSERIAL PRIMARY KEY,
    title        TEXT NOT NULL,
    report_type  TEXT NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    period_end   TIMESTAMPTZ NOT NULL,
    content      TEXT,
    summary      TEXT,
    status       TEXT NOT NULL DEFAULT 'generating',
    generated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX reports_type_time_idx ON reports (report_type, created_at);

CREATE TABLE sla_rules (
    id                 BIGSERIAL PRIMARY KEY,
    service_id         BIGINT NOT NULL UNIQUE REFERENCES services (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    target_percent     DOUBLE PRECISION NOT NULL DEFAULT 99.9,
    calculation_window TEXT NOT NULL DEFAULT 'monthly',
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE sla_violations (
    id               BIGSERIAL PRIMARY KEY,
    sla_rule_id      BIGINT NOT NULL REFERENCES sla_rules (id) ON DELETE CASCADE,
    service_id       BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    started_at       TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ,
    duration_seconds BIGINT,
    description      TEXT,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX sla_violations_service_time_idx ON sla_violations (service_id, started_at);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    description TEXT,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE audit_logs (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    detail        TEXT,
    ip_address    TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_logs_time_idx ON audit_logs (created_at);
CREATE INDEX audit_logs_user_idx ON audit_logs (user_id, created_at);

CREATE TABLE idempotency_keys (
    token_id    BIGINT NOT NULL,
    key         TEXT NOT NULL,
    status_code INTEGER,
    body        TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_keys_time_idx ON idempotency_keys (created_at);

CREATE TABLE throttle_hits (
    id     BIGSERIAL PRIMARY KEY,
    key    TEXT NOT NULL,
    hit_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX throttle_hits_key_time_idx ON throttle_hits (key, hit_at);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
