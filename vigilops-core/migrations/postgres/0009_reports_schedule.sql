-- What scheduled reports need beyond 0001: a flag telling scheduled reports from manual ones,
-- and at most one generating or completed scheduled report per (type, period), so two replicas
-- (or a replica and its catch-up) never both write the same daily or weekly report. Manual
-- reports may repeat a period. Rows from the original read as manual.

ALTER TABLE reports ADD COLUMN scheduled BOOLEAN NOT NULL DEFAULT false;

CREATE UNIQUE INDEX reports_scheduled_period_key ON reports (report_type, period_start, period_end)
    WHERE scheduled AND status IN ('generating', 'completed');

-- The duplicate check of a scheduled creation, and the sweep of stalled generations.
CREATE INDEX reports_period_idx ON reports (report_type, period_start, period_end);
CREATE INDEX reports_status_time_idx ON reports (status, created_at);
