-- PostgreSQL's 0015 makes its BRIN index summarise itself; SQLite has no BRIN index (its
-- `recorded_at` reads use a b-tree). Kept so both backends count the same migrations.
SELECT 1;
