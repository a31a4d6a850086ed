-- What the alert lifecycle, the notification log and silences need beyond 0001.

-- Rule extensions the REST shape carries (alerting::wire) and 0001 lacks. `builtin_key` names
-- a builtin rule for good, so renaming a builtin never makes start-up seed it again.
ALTER TABLE alert_rules ADD COLUMN log_keyword_is_regex BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE alert_rules ADD COLUMN detector JSONB;
ALTER TABLE alert_rules ADD COLUMN repeat_interval_seconds BIGINT;
ALTER TABLE alert_rules ADD COLUMN escalation JSONB;
ALTER TABLE alert_rules ADD COLUMN builtin_key TEXT;
CREATE UNIQUE INDEX alert_rules_builtin_key ON alert_rules (builtin_key) WHERE builtin_key IS NOT NULL;

-- Alert fields of our lifecycle: manual resolution, flapping, grouping, dependency suppression
-- (the alert this one is suppressed under) and the database of db_metric alerts.
ALTER TABLE alerts ADD COLUMN resolved_by BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN resolution_comment TEXT;
ALTER TABLE alerts ADD COLUMN flapping BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE alerts ADD COLUMN group_key TEXT;
ALTER TABLE alerts ADD COLUMN parent_alert_id BIGINT REFERENCES alerts (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN database_id BIGINT REFERENCES monitored_databases (id) ON DELETE CASCADE;
CREATE INDEX alerts_rule_status_idx ON alerts (rule_id, status);

-- The timeline of an alert: fired, notified, acknowledged, escalated, resolved, remediation,
-- comment, … `actor_id` is the user who acted, NULL for the engine.
CREATE TABLE alert_events (
    id       BIGSERIAL PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    detail   JSONB
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, at, id);

-- Which event a notification-log row belongs to: fired, resolved, test, remediation, digest.
ALTER TABLE notification_logs ADD COLUMN event TEXT;

-- Silences and recurring maintenance windows. A one-off silence is [starts_at, ends_at); a
-- recurring one is active for `duration_seconds` after each occurrence of `schedule` (5-field
-- cron, UTC), within the optional [starts_at, ends_at) bounds. `matchers` is a JSON object
-- {host_ids, group_names, tags, service_ids, rule_ids}; every criterion set must match.
CREATE TABLE silences (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT NOT NULL,
    comment          TEXT,
    matchers         JSONB NOT NULL,
    starts_at        TIMESTAMPTZ,
    ends_at          TIMESTAMPTZ,
    schedule         TEXT,
    duration_seconds BIGINT,
    is_enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    created_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX silences_enabled_end_idx ON silences (is_enabled, ends_at);
