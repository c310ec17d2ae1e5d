-- Runs per tool path, run status, trigger and elicitation, per hour and per
-- day: they answer a view filtered to one tool path (its counts and chart)
-- and tool facets under trigger or elicitation filters without reading the
-- runs. Keyed slot first, like the other roll-ups: a batch's counts land
-- side by side (one path is read slot by slot). Counted up (and moved
-- when a run's status or elicitation changes) by the store's writer once per
-- batch (app/src/store/batch/), down by the trigger below; it reads the run's
-- trigger and elicitation from execution_tool_path, which now keeps them
-- beside the status (the run row may be gone when a cascade fires it).
ALTER TABLE execution_tool_path ADD COLUMN trigger_kind TEXT;
ALTER TABLE execution_tool_path ADD COLUMN had_elicitation INTEGER NOT NULL DEFAULT 0;

UPDATE execution_tool_path SET trigger_kind = e.trigger_kind, had_elicitation = e.had_elicitation
FROM execution e WHERE e.scope_id = execution_tool_path.scope_id AND e.id = execution_tool_path.execution_id;

CREATE TABLE tool_class_hourly (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    tool_path TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path, status, trigger_kind, had_elicitation)
) WITHOUT ROWID;

CREATE TABLE tool_class_daily (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    tool_path TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    had_elicitation INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, tool_path, status, trigger_kind, had_elicitation)
) WITHOUT ROWID;

INSERT INTO tool_class_hourly (scope_id, slot_start, tool_path, status, trigger_kind, had_elicitation, runs)
SELECT scope_id, created_at - created_at % 3600000, tool_path, status, coalesce(trigger_kind, ''), had_elicitation, count(*)
FROM execution_tool_path GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO tool_class_daily (scope_id, slot_start, tool_path, status, trigger_kind, had_elicitation, runs)
SELECT scope_id, slot_start - slot_start % 86400000, tool_path, status, trigger_kind, had_elicitation, sum(runs)
FROM tool_class_hourly GROUP BY 1, 2, 3, 4, 5, 6;

CREATE TRIGGER execution_tool_path_delete_class AFTER DELETE ON execution_tool_path BEGIN
    UPDATE tool_class_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND tool_path = OLD.tool_path
      AND slot_start = OLD.created_at - OLD.created_at % 3600000 AND status = OLD.status
      AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
    UPDATE tool_class_daily SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND tool_path = OLD.tool_path
      AND slot_start = OLD.created_at - OLD.created_at % 86400000 AND status = OLD.status
      AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
END;
