-- What the AI engine needs beyond 0001: how an insight was produced and people's feedback on it,
-- the record of every LLM call, the ops memory of past incidents with its full-text index, and
-- the indexes of the evidence windows.

-- Insights: which method wrote them (an LLM, or the deterministic correlator when no model is
-- configured or it failed), which model answered, and the latest verdict of a person.
-- `details` stays JSONB (0001).
ALTER TABLE ai_insights ADD COLUMN method TEXT NOT NULL DEFAULT 'llm'
    CHECK (method IN ('llm', 'correlator'));
ALTER TABLE ai_insights ADD COLUMN model TEXT;
ALTER TABLE ai_insights ADD COLUMN feedback_verdict TEXT
    CHECK (feedback_verdict IN ('correct', 'incorrect'));
ALTER TABLE ai_insights ADD COLUMN feedback_comment TEXT;
ALTER TABLE ai_insights ADD COLUMN feedback_by BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE ai_insights ADD COLUMN feedback_at TIMESTAMPTZ;
-- The analyses of one alert (alert detail page, the engine's "already analysed" check).
CREATE INDEX ai_insights_alert_idx ON ai_insights (related_alert_id, created_at);

-- Every call to a language model, for cost and audit; read by time range.
CREATE TABLE llm_calls (
    id                BIGSERIAL PRIMARY KEY,
    purpose           TEXT NOT NULL,
    model             TEXT NOT NULL,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    latency_ms        BIGINT NOT NULL,
    attempts          BIGINT NOT NULL,
    error             TEXT,
    at                TIMESTAMPTZ NOT NULL
);
CREATE INDEX llm_calls_at_idx ON llm_calls (at);

-- The ops memory: remembered incidents, recalled by full-text similarity of `search_text` (the
-- engine's normalised terms: lower-case words and CJK character bigrams, space-separated).
-- The 'simple' configuration only lower-cases: no stemming and no stop words, like SQLite's
-- unicode61 tokenizer, so both backends match the same terms.
CREATE TABLE ops_memory (
    id            BIGSERIAL PRIMARY KEY,
    source        TEXT NOT NULL,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    search_text   TEXT NOT NULL,
    search_vector TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    alert_id      BIGINT REFERENCES alerts (id) ON DELETE SET NULL,
    rule_id       BIGINT,
    host_id       BIGINT REFERENCES hosts (id) ON DELETE SET NULL,
    runbook       TEXT,
    outcome       TEXT,
    verdict       TEXT CHECK (verdict IN ('correct', 'incorrect')),
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX ops_memory_alert_idx ON ops_memory (alert_id, at);
-- Deleting a host sets its memories' host_id to NULL, which looks them up by host_id.
CREATE INDEX ops_memory_host_idx ON ops_memory (host_id);
CREATE INDEX ops_memory_search_idx ON ops_memory USING gin (search_vector);

-- Evidence windows and the system summary. Alerts fired since a cut-off are a range of
-- fired_at (alerts_status_time_idx leads with status). Alerts active in a recent window are
-- the open ones (resolved_at IS NULL) and those resolved since its start: two ranges of
-- resolved_at, where fired_at <= end alone would span nearly the whole history.
CREATE INDEX alerts_fired_idx ON alerts (fired_at);
CREATE INDEX alerts_resolved_idx ON alerts (resolved_at);
