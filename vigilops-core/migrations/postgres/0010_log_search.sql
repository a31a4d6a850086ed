-- Log search (`GET /logs`): the contract's `q` is a case-insensitive substring of the message,
-- which PostgreSQL answers from a trigram GIN index (`message ILIKE '%q%'`); word-based
-- `tsvector` search would miss substrings the original client relies on.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX log_entries_message_trgm_idx ON log_entries USING gin (message gin_trgm_ops);

-- The service filter and the per-service statistics.
CREATE INDEX log_entries_service_time_idx ON log_entries (service, timestamp);
