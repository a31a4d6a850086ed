-- SLA violations: at most one open violation per rule, decided by the database, so the
-- evaluator (once per cluster under a lease, but a lease can change hands mid-run) never opens
-- two; and the violations list reads by time across services.
CREATE UNIQUE INDEX sla_violations_one_open_idx ON sla_violations (sla_rule_id) WHERE ended_at IS NULL;
CREATE INDEX sla_violations_started_idx ON sla_violations (started_at);
