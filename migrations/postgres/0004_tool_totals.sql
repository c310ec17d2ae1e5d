-- Runs per tool path and hour or day, whatever their status (see the SQLite
-- migration): what tool facets without a status filter read.
CREATE TABLE tool_hourly_total (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    tool_path TEXT NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path)
);

CREATE TABLE tool_daily_total (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    tool_path TEXT NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path)
);

INSERT INTO tool_hourly_total (scope_id, slot_start, tool_path, runs)
SELECT scope_id, slot_start, tool_path, sum(runs) FROM tool_hourly
GROUP BY scope_id, slot_start, tool_path;

INSERT INTO tool_daily_total (scope_id, slot_start, tool_path, runs)
SELECT scope_id, slot_start, tool_path, sum(runs) FROM tool_daily
GROUP BY scope_id, slot_start, tool_path;

CREATE FUNCTION execution_tool_path_delete_total() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tool_hourly_total SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 3600000
      AND tool_path = OLD.tool_path;
    UPDATE tool_daily_total SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 86400000
      AND tool_path = OLD.tool_path;
    RETURN NULL;
END $$;

CREATE TRIGGER execution_tool_path_delete_total AFTER DELETE ON execution_tool_path
FOR EACH ROW EXECUTE FUNCTION execution_tool_path_delete_total();
