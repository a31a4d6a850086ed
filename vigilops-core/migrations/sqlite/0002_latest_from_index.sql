-- The newest sample of a host is read from host_metrics through its (host_id, recorded_at)
-- index instead of being copied into a snapshot row on every report: the upsert cost as much
-- as the insert itself and capped ingestion throughput.
DROP TABLE host_latest_metrics;
