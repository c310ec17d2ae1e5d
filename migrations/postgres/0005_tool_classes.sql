-- Runs per tool path, run status, trigger and elicitation, per hour and per
-- day (see the SQLite migration): what views filtered to one tool path, and
-- tool facets under trigger or elicitation filters, read.
ALTER TABLE execution_tool_path ADD COLUMN trigger_kind TEXT;
ALTER TABLE execution_tool_path ADD COLUMN had_elicitation BOOLEAN NOT NULL DEFAULT FALSE;

UPDATE execution_tool_path SET trigger_kind = e.trigger_kind, had_elicitation = e.had_elicitation
FROM execution e WHERE e.scope_id = execution_tool_path.scope_id AND e.id = execution_tool_path.execution_id;

CREATE TABLE tool_class_hourly (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    tool_path TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation BOOLEAN NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path, status, trigger_kind, had_elicitation)
);

CREATE TABLE tool_class_daily (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    tool_path TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    had_elicitation BOOLEAN NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path, status, trigger_kind, had_elicitation)
);

INSERT INTO tool_class_hourly (scope_id, slot_start, tool_path, status, trigger_kind, had_elicitation, runs)
SELECT scope_id, created_at - created_at % 3600000, tool_path, status, coalesce(trigger_kind, ''), had_elicitation, count(*)
FROM execution_tool_path GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO tool_class_daily (scope_id, slot_start, tool_path, status, trigger_kind, had_elicitation, runs)
SELECT scope_id, slot_start - slot_start % 86400000, tool_path, status, trigger_kind, had_elicitation, sum(runs)
FROM tool_class_hourly GROUP BY 1, 2, 3, 4, 5, 6;

CREATE FUNCTION execution_tool_path_delete_class() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tool_class_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND tool_path = OLD.tool_path
      AND slot_start = OLD.created_at - OLD.created_at % 3600000 AND status = OLD.status
      AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
    UPDATE tool_class_daily SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND tool_path = OLD.tool_path
      AND slot_start = OLD.created_at - OLD.created_at % 86400000 AND status = OLD.status
      AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
    RETURN NULL;
END $$;

CREATE TRIGGER execution_tool_path_delete_class AFTER DELETE ON execution_tool_path
FOR EACH ROW EXECUTE FUNCTION execution_tool_path_delete_class();
