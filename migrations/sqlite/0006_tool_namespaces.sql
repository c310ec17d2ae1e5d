-- Distinct (run, tool namespace) pairs, the namespace being a path's first
-- segment (`github` of `github.issues.list`), with the run's created_at,
-- status, trigger and elicitation; and their counts per hour and day. A view
-- filtered to a namespace (`tool=github.*`) counts runs, and a run calling
-- three of its paths is one run: the per-path roll-ups cannot say that, these
-- can. Filled by the store's writer once per batch (app/src/store/batch/),
-- which keeps the run's columns in step; deletions cascade from the runs and
-- are counted down by the trigger below.
CREATE TABLE execution_tool_namespace (
    scope_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT,
    had_elicitation INTEGER NOT NULL,
    PRIMARY KEY (scope_id, execution_id, namespace),
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX execution_tool_namespace_idx ON execution_tool_namespace (scope_id, namespace, created_at);

INSERT INTO execution_tool_namespace (scope_id, execution_id, namespace, created_at, status, trigger_kind, had_elicitation)
SELECT DISTINCT c.scope_id, c.execution_id, c.namespace, e.created_at, e.status, e.trigger_kind, e.had_elicitation
FROM execution_tool_call c JOIN execution e ON e.scope_id = c.scope_id AND e.id = c.execution_id;

CREATE TABLE namespace_class_hourly (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    namespace TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, namespace, status, trigger_kind, had_elicitation)
) WITHOUT ROWID;

CREATE TABLE namespace_class_daily (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    namespace TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    had_elicitation INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, namespace, status, trigger_kind, had_elicitation)
) WITHOUT ROWID;

INSERT INTO namespace_class_hourly (scope_id, slot_start, namespace, status, trigger_kind, had_elicitation, runs)
SELECT scope_id, created_at - created_at % 3600000, namespace, status, coalesce(trigger_kind, ''), had_elicitation, count(*)
FROM execution_tool_namespace GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO namespace_class_daily (scope_id, slot_start, namespace, status, trigger_kind, had_elicitation, runs)
SELECT scope_id, slot_start - slot_start % 86400000, namespace, status, trigger_kind, had_elicitation, sum(runs)
FROM namespace_class_hourly GROUP BY 1, 2, 3, 4, 5, 6;

CREATE TRIGGER execution_tool_namespace_delete AFTER DELETE ON execution_tool_namespace BEGIN
    UPDATE namespace_class_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND namespace = OLD.namespace
      AND slot_start = OLD.created_at - OLD.created_at % 3600000 AND status = OLD.status
      AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
    UPDATE namespace_class_daily SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND namespace = OLD.namespace
      AND slot_start = OLD.created_at - OLD.created_at % 86400000 AND status = OLD.status
      AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
END;
