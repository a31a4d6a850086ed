-- How long a rule's recovery message is held (alerting::wire::AlertRuleCreate::
-- resolve_hold_seconds); existing rules keep the 45 s the engine used before it was a field.
ALTER TABLE alert_rules ADD COLUMN resolve_hold_seconds BIGINT NOT NULL DEFAULT 45;
