-- Log search (`GET /logs`): the contract's `q` is a case-insensitive substring of the message,
-- so the index is FTS5 with the trigram tokenizer, which answers substring queries of three or
-- more characters from the index. Triggers keep it in step with `log_entries` (retention and
-- host deletion included).
CREATE VIRTUAL TABLE log_entries_fts USING fts5(
    message, content = 'log_entries', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO log_entries_fts (log_entries_fts) VALUES ('rebuild');

CREATE TRIGGER log_entries_fts_insert AFTER INSERT ON log_entries BEGIN
    INSERT INTO log_entries_fts (rowid, message) VALUES (new.id, new.message);
END;

CREATE TRIGGER log_entries_fts_delete AFTER DELETE ON log_entries BEGIN
    INSERT INTO log_entries_fts (log_entries_fts, rowid, message)
    VALUES ('delete', old.id, old.message);
END;

CREATE TRIGGER log_entries_fts_update AFTER UPDATE OF message ON log_entries BEGIN
    INSERT INTO log_entries_fts (log_entries_fts, rowid, message)
    VALUES ('delete', old.id, old.message);
    INSERT INTO log_entries_fts (rowid, message) VALUES (new.id, new.message);
END;

-- The service filter and the per-service statistics.
CREATE INDEX log_entries_service_time_idx ON log_entries (service, timestamp);
