-- Execution history (product.md section 2), PostgreSQL dialect of
-- migrations/sqlite/0001_execution_history.sql: same tables, indexes and roll-ups.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE execution (
    id TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','running','waiting_for_interaction','completed','failed','cancelled')),
    code TEXT NOT NULL,
    result_json TEXT,
    error_text TEXT,
    logs_json TEXT,
    trigger_kind TEXT,
    trigger_meta_json TEXT,
    tool_call_count BIGINT NOT NULL DEFAULT 0,
    had_elicitation BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT,
    duration_ms BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope_id, id)
);
-- The list order (created_at, id) with the facet columns carried along, so
-- the list, the chart and the facet scans of a window read one index.
CREATE INDEX execution_scope_created_idx ON execution (scope_id, created_at, id, status, trigger_kind, had_elicitation, duration_ms);
-- Runs without a duration yet sort as -1: the keyset needs a non-null key.
CREATE INDEX execution_scope_duration_idx ON execution (scope_id, (coalesce(duration_ms, -1)), id);

-- The code again, in a table that is written once and never updated: a run's
-- row is updated as it progresses, and every update of an indexed row would
-- re-insert its ~100 trigrams into a GIN index on execution itself. Filled by
-- the store's writer; case-insensitive substring search uses ILIKE here.
CREATE TABLE execution_code_search (
    scope_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (scope_id, execution_id),
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
);
CREATE INDEX execution_code_search_trgm_idx ON execution_code_search USING gin (code gin_trgm_ops);

-- Keyed by its run so a run's calls sit together and one b-tree serves both
-- listing them and finishing one.
CREATE TABLE execution_tool_call (
    id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running','completed','failed')),
    tool_path TEXT NOT NULL,
    namespace TEXT NOT NULL,
    args_json TEXT,
    result_json TEXT,
    error_text TEXT,
    started_at BIGINT NOT NULL,
    completed_at BIGINT,
    duration_ms BIGINT,
    PRIMARY KEY (scope_id, execution_id, id),
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
);

CREATE TABLE execution_interaction (
    id TEXT NOT NULL PRIMARY KEY,
    execution_id TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','resolved','cancelled')),
    kind TEXT NOT NULL,
    purpose TEXT,
    payload_json TEXT,
    response_json TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
);
CREATE INDEX execution_interaction_execution_idx ON execution_interaction (scope_id, execution_id, status, created_at);

CREATE TABLE execution_tool_path (
    scope_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    tool_path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL, -- the run's status, kept in step by the store's writer
    PRIMARY KEY (scope_id, execution_id, tool_path),
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
);
CREATE INDEX execution_tool_path_created_idx ON execution_tool_path (scope_id, created_at, status, tool_path);

CREATE TABLE tool_path_catalog (
    scope_id TEXT NOT NULL,
    tool_path TEXT NOT NULL,
    PRIMARY KEY (scope_id, tool_path)
);

-- Run counts per minute and per hour, kept exact by triggers (see the SQLite
-- migration for why both).
CREATE TABLE execution_quarter_hourly (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation BOOLEAN NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, status, trigger_kind, had_elicitation)
);

CREATE TABLE execution_hourly (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation BOOLEAN NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, status, trigger_kind, had_elicitation)
);

-- Runs per tool path, run status and hour or day (see the SQLite migration).
CREATE TABLE tool_hourly (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    tool_path TEXT NOT NULL,
    status TEXT NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path, status)
);

CREATE TABLE tool_daily (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    tool_path TEXT NOT NULL,
    status TEXT NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path, status)
);

CREATE FUNCTION execution_rollups_count_down() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE execution_quarter_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 900000
      AND status = OLD.status AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
    UPDATE execution_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 3600000
      AND status = OLD.status AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
    RETURN NULL;
END $$;

CREATE TRIGGER execution_rollups_count_down AFTER DELETE ON execution
FOR EACH ROW EXECUTE FUNCTION execution_rollups_count_down();

-- execution_tool_path, the tool roll-ups and tool_path_catalog are filled by
-- the store's writer once per batch (app/src/store/batch.rs); deletions,
-- which cascade from runs, are counted down here.
CREATE FUNCTION execution_tool_path_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tool_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 3600000
      AND tool_path = OLD.tool_path AND status = OLD.status;
    UPDATE tool_daily SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 86400000
      AND tool_path = OLD.tool_path AND status = OLD.status;
    RETURN NULL;
END $$;

CREATE TRIGGER execution_tool_path_delete AFTER DELETE ON execution_tool_path
FOR EACH ROW EXECUTE FUNCTION execution_tool_path_delete();
