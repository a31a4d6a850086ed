-- Host metric rollups (issue 7): 5-minute and 1-hour buckets per host, written by the leased
-- rollup pass (`vigilops_core::rollup`) so long chart ranges read a few hundred rows instead of
-- tens of thousands, and raw samples can be purged after `raw_metrics_retention_days` (7) while
-- the 5-minute rollups stay `metrics_retention_days` (90) and the hourly ones
-- `rollup_retention_days` (365). Each value keeps its sum, count and max, so an hour is combined
-- exactly from its 5-minute buckets and a sample that lacked a value does not skew the average.

CREATE TABLE host_metrics_5m (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id      INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    bucket_start INTEGER NOT NULL,
    samples      INTEGER NOT NULL,
    cpu_percent_sum REAL,
    cpu_percent_count INTEGER NOT NULL DEFAULT 0,
    cpu_percent_max REAL,
    cpu_load_1_sum REAL,
    cpu_load_1_count INTEGER NOT NULL DEFAULT 0,
    cpu_load_1_max REAL,
    cpu_load_5_sum REAL,
    cpu_load_5_count INTEGER NOT NULL DEFAULT 0,
    cpu_load_5_max REAL,
    cpu_load_15_sum REAL,
    cpu_load_15_count INTEGER NOT NULL DEFAULT 0,
    cpu_load_15_max REAL,
    memory_used_mb_sum REAL,
    memory_used_mb_count INTEGER NOT NULL DEFAULT 0,
    memory_used_mb_max REAL,
    memory_percent_sum REAL,
    memory_percent_count INTEGER NOT NULL DEFAULT 0,
    memory_percent_max REAL,
    disk_used_mb_sum REAL,
    disk_used_mb_count INTEGER NOT NULL DEFAULT 0,
    disk_used_mb_max REAL,
    disk_total_mb_sum REAL,
    disk_total_mb_count INTEGER NOT NULL DEFAULT 0,
    disk_total_mb_max REAL,
    disk_percent_sum REAL,
    disk_percent_count INTEGER NOT NULL DEFAULT 0,
    disk_percent_max REAL,
    net_bytes_sent_sum REAL,
    net_bytes_sent_count INTEGER NOT NULL DEFAULT 0,
    net_bytes_sent_max REAL,
    net_bytes_recv_sum REAL,
    net_bytes_recv_count INTEGER NOT NULL DEFAULT 0,
    net_bytes_recv_max REAL,
    net_send_rate_kb_sum REAL,
    net_send_rate_kb_count INTEGER NOT NULL DEFAULT 0,
    net_send_rate_kb_max REAL,
    net_recv_rate_kb_sum REAL,
    net_recv_rate_kb_count INTEGER NOT NULL DEFAULT 0,
    net_recv_rate_kb_max REAL,
    net_packet_loss_rate_sum REAL,
    net_packet_loss_rate_count INTEGER NOT NULL DEFAULT 0,
    net_packet_loss_rate_max REAL
);
CREATE UNIQUE INDEX host_metrics_5m_host_bucket_idx ON host_metrics_5m (host_id, bucket_start);
CREATE INDEX host_metrics_5m_bucket_idx ON host_metrics_5m (bucket_start);

CREATE TABLE host_metrics_1h (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id      INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    bucket_start INTEGER NOT NULL,
    samples      INTEGER NOT NULL,
    cpu_percent_sum REAL,
    cpu_percent_count INTEGER NOT NULL DEFAULT 0,
    cpu_percent_max REAL,
    cpu_load_1_sum REAL,
    cpu_load_1_count INTEGER NOT NULL DEFAULT 0,
    cpu_load_1_max REAL,
    cpu_load_5_sum REAL,
    cpu_load_5_count INTEGER NOT NULL DEFAULT 0,
    cpu_load_5_max REAL,
    cpu_load_15_sum REAL,
    cpu_load_15_count INTEGER NOT NULL DEFAULT 0,
    cpu_load_15_max REAL,
    memory_used_mb_sum REAL,
    memory_used_mb_count INTEGER NOT NULL DEFAULT 0,
    memory_used_mb_max REAL,
    memory_percent_sum REAL,
    memory_percent_count INTEGER NOT NULL DEFAULT 0,
    memory_percent_max REAL,
    disk_used_mb_sum REAL,
    disk_used_mb_count INTEGER NOT NULL DEFAULT 0,
    disk_used_mb_max REAL,
    disk_total_mb_sum REAL,
    disk_total_mb_count INTEGER NOT NULL DEFAULT 0,
    disk_total_mb_max REAL,
    disk_percent_sum REAL,
    disk_percent_count INTEGER NOT NULL DEFAULT 0,
    disk_percent_max REAL,
    net_bytes_sent_sum REAL,
    net_bytes_sent_count INTEGER NOT NULL DEFAULT 0,
    net_bytes_sent_max REAL,
    net_bytes_recv_sum REAL,
    net_bytes_recv_count INTEGER NOT NULL DEFAULT 0,
    net_bytes_recv_max REAL,
    net_send_rate_kb_sum REAL,
    net_send_rate_kb_count INTEGER NOT NULL DEFAULT 0,
    net_send_rate_kb_max REAL,
    net_recv_rate_kb_sum REAL,
    net_recv_rate_kb_count INTEGER NOT NULL DEFAULT 0,
    net_recv_rate_kb_max REAL,
    net_packet_loss_rate_sum REAL,
    net_packet_loss_rate_count INTEGER NOT NULL DEFAULT 0,
    net_packet_loss_rate_max REAL
);
CREATE UNIQUE INDEX host_metrics_1h_host_bucket_idx ON host_metrics_1h (host_id, bucket_start);
CREATE INDEX host_metrics_1h_bucket_idx ON host_metrics_1h (bucket_start);

-- How far the rollup pass has got: `through` is the time of its last completed pass.
CREATE TABLE metric_rollup_state (
    name    TEXT PRIMARY KEY,
    through INTEGER NOT NULL
);

-- Hours of a host whose rollups must be recomputed because samples for them arrived late (an
-- agent's spool replayed after an outage), marked at ingestion.
CREATE TABLE metric_rollup_dirty (
    host_id    INTEGER NOT NULL,
    hour_start INTEGER NOT NULL,
    PRIMARY KEY (host_id, hour_start)
);
