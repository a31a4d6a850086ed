-- Connections between services that agents discovered on a host (agent protocol extension
-- `POST /api/v1/agent/service-dependencies`). Kept apart from the manual `service_dependencies`
-- of the topology API, whose "only if there are none, infer edges" rule must not see them.
-- Each host's set is replaced as a whole by its latest report.
CREATE TABLE discovered_dependencies (
    host_id           INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    source_service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    target_service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    connections       INTEGER NOT NULL,
    observed_at       INTEGER NOT NULL,
    PRIMARY KEY (host_id, source_service_id, target_service_id)
);
