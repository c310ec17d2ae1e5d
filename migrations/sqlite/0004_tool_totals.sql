-- Runs per tool path and hour or day, whatever their status. Tool facets
-- without a status filter (the default view) read these: a sixth of the rows
-- of tool_hourly / tool_daily, which keep the status for status-filtered
-- facets. Counted up by the store's writer once per batch
-- (app/src/store/batch.rs), down by the trigger below.
CREATE TABLE tool_hourly_total (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    tool_path TEXT NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path)
) WITHOUT ROWID;

CREATE TABLE tool_daily_total (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    tool_path TEXT NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path)
) WITHOUT ROWID;

INSERT INTO tool_hourly_total (scope_id, slot_start, tool_path, runs)
SELECT scope_id, slot_start, tool_path, sum(runs) FROM tool_hourly
GROUP BY scope_id, slot_start, tool_path;

INSERT INTO tool_daily_total (scope_id, slot_start, tool_path, runs)
SELECT scope_id, slot_start, tool_path, sum(runs) FROM tool_daily
GROUP BY scope_id, slot_start, tool_path;

CREATE TRIGGER execution_tool_path_delete_total AFTER DELETE ON execution_tool_path BEGIN
    UPDATE tool_hourly_total SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 3600000
      AND tool_path = OLD.tool_path;
    UPDATE tool_daily_total SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 86400000
      AND tool_path = OLD.tool_path;
END;
