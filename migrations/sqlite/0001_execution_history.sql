-- Execution history (product.md section 2). Every index leads with scope_id.
-- Roll-up tables and the trigram code index are maintained by triggers so that
-- every writer keeps them exact.

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
    tool_call_count INTEGER NOT NULL DEFAULT 0,
    had_elicitation INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    completed_at INTEGER,
    duration_ms INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope_id, id)
);
-- The list order (created_at, id) with the facet columns carried along, so
-- the list, the chart and the facet scans of a window read one index.
CREATE INDEX execution_scope_created_idx ON execution (scope_id, created_at, id, status, trigger_kind, had_elicitation, duration_ms);
-- Runs without a duration yet sort as -1: the keyset needs a non-null key.
CREATE INDEX execution_scope_duration_idx ON execution (scope_id, coalesce(duration_ms, -1), id);

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
    started_at INTEGER NOT NULL,
    completed_at INTEGER,
    duration_ms INTEGER,
    PRIMARY KEY (scope_id, execution_id, id),
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE execution_interaction (
    id TEXT NOT NULL PRIMARY KEY,
    execution_id TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','resolved','cancelled')),
    kind TEXT NOT NULL,
    purpose TEXT,
    payload_json TEXT,
    response_json TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
);
CREATE INDEX execution_interaction_execution_idx ON execution_interaction (scope_id, execution_id, status, created_at);

-- Distinct tool paths per run, with the run's created_at, so tool filters and
-- tool facets are index range scans instead of joins over every call.
CREATE TABLE execution_tool_path (
    scope_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    tool_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL, -- the run's status, kept in step by the store's writer
    PRIMARY KEY (scope_id, execution_id, tool_path),
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX execution_tool_path_created_idx ON execution_tool_path (scope_id, created_at, status, tool_path);

-- Every tool path a scope has ever called: resolves `tool` patterns to paths.
CREATE TABLE tool_path_catalog (
    scope_id TEXT NOT NULL,
    tool_path TEXT NOT NULL,
    PRIMARY KEY (scope_id, tool_path)
) WITHOUT ROWID;

-- Run counts per quarter hour and per hour: they answer facets and the chart
-- over long windows without touching the runs (hourly for buckets of whole
-- hours, quarter-hourly for buckets of whole quarter hours, which is what a
-- 24-hour chart uses). Runs are counted, and moved when their status
-- changes, by the store's writer once per batch and key
-- (app/src/store/batch.rs); the triggers below count deleted runs down.
CREATE TABLE execution_quarter_hourly (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, status, trigger_kind, had_elicitation)
) WITHOUT ROWID;

CREATE TRIGGER execution_quarter_hourly_delete AFTER DELETE ON execution BEGIN
    UPDATE execution_quarter_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 900000
      AND status = OLD.status AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
END;

CREATE TABLE execution_hourly (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, status, trigger_kind, had_elicitation)
) WITHOUT ROWID;

CREATE TRIGGER execution_hourly_delete AFTER DELETE ON execution BEGIN
    UPDATE execution_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 3600000
      AND status = OLD.status AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
END;

-- Runs per tool path, run status and hour or day, for tool facets over long
-- windows (with or without a status filter). Kept by the store's writer once
-- per batch (app/src/store/batch.rs) together with execution_tool_path and
-- its status column; the trigger below counts deleted runs down.
CREATE TABLE tool_hourly (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    tool_path TEXT NOT NULL,
    status TEXT NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path, status)
) WITHOUT ROWID;

CREATE TABLE tool_daily (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    tool_path TEXT NOT NULL,
    status TEXT NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path, status)
) WITHOUT ROWID;

CREATE TRIGGER execution_tool_path_delete AFTER DELETE ON execution_tool_path BEGIN
    UPDATE tool_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 3600000
      AND tool_path = OLD.tool_path AND status = OLD.status;
    UPDATE tool_daily SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 86400000
      AND tool_path = OLD.tool_path AND status = OLD.status;
END;

-- Trigram index over code: case-insensitive substring search without a scan.
CREATE VIRTUAL TABLE execution_code USING fts5 (code, content = 'execution', content_rowid = 'rowid', tokenize = 'trigram');

-- Rows are added to execution_code by the store's writer, once per batch
-- (see app/src/store/batch.rs): FTS5 flushes its pending terms at every
-- statement, so indexing row by row from a trigger costs ~150 µs a run.
CREATE TRIGGER execution_code_delete AFTER DELETE ON execution BEGIN
    INSERT INTO execution_code (execution_code, rowid, code) VALUES ('delete', OLD.rowid, OLD.code);
END;
