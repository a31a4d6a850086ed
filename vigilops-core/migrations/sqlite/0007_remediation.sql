-- What auto-remediation needs beyond 0001: who asked for a manual run, the safety layer's
-- decision, whether anything was executed (false for a dry run), the reviewer's comment, at most
-- one unfinished run per alert, the indexes of the safety layer's reads, and per-host agent
-- presence and opt-out. Timestamps are INTEGER microseconds since the epoch and JSON is TEXT, as
-- in 0001.

ALTER TABLE remediation_logs ADD COLUMN requested_by INTEGER
    REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE remediation_logs ADD COLUMN decision TEXT;
-- Rows from before this migration were not marked as dry runs, so they read as executed.
ALTER TABLE remediation_logs ADD COLUMN executed INTEGER NOT NULL DEFAULT 1;
ALTER TABLE remediation_logs ADD COLUMN review_comment TEXT;

-- Data from the original may hold several unfinished runs of one alert (it checked in the
-- application, and nothing ever left `pending`/`approved`): keep the newest and escalate the
-- rest, so the unique index below can be built.
UPDATE remediation_logs
SET status = 'escalated',
    blocked_reason = 'Superseded by a newer run of the same alert (migration 0007)'
WHERE alert_id IS NOT NULL
    AND status NOT IN ('rejected', 'success', 'failed', 'escalated')
    AND EXISTS (
        SELECT 1 FROM remediation_logs newer
        WHERE newer.alert_id = remediation_logs.alert_id
            AND newer.status NOT IN ('rejected', 'success', 'failed', 'escalated')
            AND newer.id > remediation_logs.id
    );

-- One unfinished run per alert: a concurrent second insert is a unique violation.
CREATE UNIQUE INDEX remediation_logs_active_alert_key ON remediation_logs (alert_id)
    WHERE alert_id IS NOT NULL
        AND status NOT IN ('rejected', 'success', 'failed', 'escalated');

-- The safety layer's reads (run_history): runs per host per hour, a runbook's cooldown, the
-- breaker's failures and latest success, and the cluster-wide hourly cap of automatic runs.
CREATE INDEX remediation_logs_host_started_idx ON remediation_logs (host_id, started_at);
CREATE INDEX remediation_logs_runbook_started_idx
    ON remediation_logs (host_id, runbook_name, started_at);
CREATE INDEX remediation_logs_host_status_idx ON remediation_logs (host_id, status, completed_at);
CREATE INDEX remediation_logs_risk_started_idx ON remediation_logs (risk_level, started_at);
-- Listing by status and expiring approvals (status, created_at); listing newest first and the
-- statistics' today/week counts (created_at).
CREATE INDEX remediation_logs_status_time_idx ON remediation_logs (status, created_at);
CREATE INDEX remediation_logs_time_idx ON remediation_logs (created_at);
-- Deleting a user sets requested_by to NULL, which looks the runs up by it.
CREATE INDEX remediation_logs_requested_by_idx ON remediation_logs (requested_by);

-- When a remediation-capable agent of the host was last seen connected, and whether the host is
-- opted out of automatic remediation.
ALTER TABLE hosts ADD COLUMN remediation_agent_at INTEGER;
ALTER TABLE hosts ADD COLUMN remediation_opt_out INTEGER NOT NULL DEFAULT 0;
