-- Service check rollups: per service, the checks of each 5-minute and 1-hour bucket and the
-- time they cover in it, computed exactly as the SLA coverage of raw checks is (each check
-- covers up to the next one, at most 2 × the check interval; a check in an earlier bucket
-- covers into later ones), so that raw checks can be purged after a few days while SLA
-- availability and report counts for older ranges stay the same. Bucket starts and covered
-- times are microseconds, as every timestamp of this backend. The primary key serves the reads
-- of one service over a range; the bucket index serves the age-based purge.
CREATE TABLE service_check_rollups_5m (
    service_id           INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    bucket_start         INTEGER NOT NULL,
    checks               INTEGER NOT NULL,
    up_checks            INTEGER NOT NULL,
    down_checks          INTEGER NOT NULL,
    covered_us           INTEGER NOT NULL,
    down_us              INTEGER NOT NULL,
    responses            INTEGER NOT NULL,
    avg_response_time_ms REAL,
    max_response_time_ms REAL,
    PRIMARY KEY (service_id, bucket_start)
);
CREATE INDEX service_check_rollups_5m_bucket_idx ON service_check_rollups_5m (bucket_start);

CREATE TABLE service_check_rollups_1h (
    service_id           INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    bucket_start         INTEGER NOT NULL,
    checks               INTEGER NOT NULL,
    up_checks            INTEGER NOT NULL,
    down_checks          INTEGER NOT NULL,
    covered_us           INTEGER NOT NULL,
    down_us              INTEGER NOT NULL,
    responses            INTEGER NOT NULL,
    avg_response_time_ms REAL,
    max_response_time_ms REAL,
    PRIMARY KEY (service_id, bucket_start)
);
CREATE INDEX service_check_rollups_1h_bucket_idx ON service_check_rollups_1h (bucket_start);
