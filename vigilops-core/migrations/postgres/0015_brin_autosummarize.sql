-- The `recorded_at` BRIN index only prunes block ranges it has summarised, and without
-- autosummarize only VACUUM summarises them: between vacuums (after a backfill, or when
-- autovacuum lags behind ingestion) every unsummarised range is read, and a scan of the last
-- minutes (the 24 h trends' raw tail) read the whole table. With autosummarize each range is
-- summarised as soon as the next one starts filling.
ALTER INDEX host_metrics_time_brin SET (autosummarize = on);
