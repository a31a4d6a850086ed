-- Pending windows shared by the replicas (rest-api.md §22.6): when a (rule, target) was first
-- seen violating. The first replica to see the violation records it (a second start of the
-- pair is ignored), the first non-violating evaluation on any replica deletes it, and the
-- replica that fires judges the window from it. Timestamps are INTEGER microseconds, as in 0001.
CREATE TABLE alert_pending (
    rule_id    INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    target_key TEXT NOT NULL,
    since      INTEGER NOT NULL,
    PRIMARY KEY (rule_id, target_key)
);
