-- The newest sample of a host is read from host_metrics through its (host_id, recorded_at)
-- index instead of being copied into a snapshot row on every report: the upsert cost as much
-- as the insert itself and capped ingestion throughput.
DROP TABLE host_latest_metrics;

-- host_metrics is the hot table (one row per report). Its foreign key to hosts made every
-- inserted row lock the host row (FOR KEY SHARE, a WAL record each): about a quarter of the
-- insert's cost. Deleting a host now deletes its samples explicitly (PostgresStore::delete_host);
-- a sample that races with the deletion is never visible (reads start from hosts) and goes with
-- retention.
ALTER TABLE host_metrics DROP CONSTRAINT host_metrics_host_id_fkey;

-- Samples arrive roughly in time order, so a BRIN index serves time-range scans (retention,
-- fleet-wide trends) at a fraction of a B-tree's insert cost. Per-host reads use
-- host_metrics_host_time_idx.
DROP INDEX host_metrics_time_idx;
CREATE INDEX host_metrics_time_brin ON host_metrics USING brin (recorded_at);
