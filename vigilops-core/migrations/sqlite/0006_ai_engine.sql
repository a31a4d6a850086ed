-- What the AI engine needs beyond 0001: how an insight was produced and people's feedback on it,
-- the record of every LLM call, the ops memory of past incidents with its full-text index, and
-- the indexes of the evidence windows. Timestamps are INTEGER microseconds since the epoch and
-- JSON is TEXT, as in 0001.

-- Insights: which method wrote them (an LLM, or the deterministic correlator when no model is
-- configured or it failed), which model answered, and the latest verdict of a person.
ALTER TABLE ai_insights ADD COLUMN method TEXT NOT NULL DEFAULT 'llm'
    CHECK (method IN ('llm', 'correlator'));
ALTER TABLE ai_insights ADD COLUMN model TEXT;
ALTER TABLE ai_insights ADD COLUMN feedback_verdict TEXT
    CHECK (feedback_verdict IN ('correct', 'incorrect'));
ALTER TABLE ai_insights ADD COLUMN feedback_comment TEXT;
ALTER TABLE ai_insights ADD COLUMN feedback_by INTEGER REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE ai_insights ADD COLUMN feedback_at INTEGER;
-- The analyses of one alert (alert detail page, the engine's "already analysed" check).
CREATE INDEX ai_insights_alert_idx ON ai_insights (related_alert_id, created_at);

-- Every call to a language model, for cost and audit; read by time range.
CREATE TABLE llm_calls (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose           TEXT NOT NULL,
    model             TEXT NOT NULL,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    latency_ms        INTEGER NOT NULL,
    attempts          INTEGER NOT NULL,
    error             TEXT,
    at                INTEGER NOT NULL
);
CREATE INDEX llm_calls_at_idx ON llm_calls (at);

-- The ops memory: remembered incidents, recalled by full-text similarity of `search_text` (the
-- engine's normalised terms: lower-case words and CJK character bigrams, space-separated).
CREATE TABLE ops_memory (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    title       TEXT NOT NULL,
    content     TEXT NOT NULL,
    search_text TEXT NOT NULL,
    alert_id    INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
    rule_id     INTEGER,
    host_id     INTEGER REFERENCES hosts (id) ON DELETE SET NULL,
    runbook     TEXT,
    outcome     TEXT,
    verdict     TEXT CHECK (verdict IN ('correct', 'incorrect')),
    at          INTEGER NOT NULL
);
CREATE INDEX ops_memory_alert_idx ON ops_memory (alert_id, at);
-- Deleting a host sets its memories' host_id to NULL, which looks them up by host_id.
CREATE INDEX ops_memory_host_idx ON ops_memory (host_id);

-- The full-text index over search_text, kept in step by the triggers below. `remove_diacritics 0`
-- because PostgreSQL's 'simple' configuration keeps accents too, so both backends match alike.
CREATE VIRTUAL TABLE ops_memory_fts USING fts5 (
    search_text,
    content = 'ops_memory',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER ops_memory_fts_insert AFTER INSERT ON ops_memory BEGIN
    INSERT INTO ops_memory_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER ops_memory_fts_delete AFTER DELETE ON ops_memory BEGIN
    INSERT INTO ops_memory_fts (ops_memory_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
-- Only a change of search_text touches the index: verdicts and the ON DELETE SET NULL of
-- alert_id/host_id update rows without changing what is indexed.
CREATE TRIGGER ops_memory_fts_update AFTER UPDATE OF search_text ON ops_memory BEGIN
    INSERT INTO ops_memory_fts (ops_memory_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO ops_memory_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;

-- Evidence windows and the system summary. Alerts fired since a cut-off are a range of
-- fired_at (alerts_status_time_idx leads with status). Alerts active in a recent window are
-- the open ones (resolved_at IS NULL) and those resolved since its start: two ranges of
-- resolved_at, where fired_at <= end alone would span nearly the whole history.
CREATE INDEX alerts_fired_idx ON alerts (fired_at);
CREATE INDEX alerts_resolved_idx ON alerts (resolved_at);
