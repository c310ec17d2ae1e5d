-- Distinct (run, tool namespace) pairs and their counts per hour and day
-- (see the SQLite migration): what a view filtered to a namespace reads.
CREATE TABLE execution_tool_namespace (
    scope_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT,
    had_elicitation BOOLEAN NOT NULL,
    PRIMARY KEY (scope_id, execution_id, namespace),
    FOREIGN KEY (scope_id, execution_id) REFERENCES execution (scope_id, id) ON DELETE CASCADE
);
CREATE INDEX execution_tool_namespace_idx ON execution_tool_namespace (scope_id, namespace, created_at);

INSERT INTO execution_tool_namespace (scope_id, execution_id, namespace, created_at, status, trigger_kind, had_elicitation)
SELECT DISTINCT c.scope_id, c.execution_id, c.namespace, e.created_at, e.status, e.trigger_kind, e.had_elicitation
FROM execution_tool_call c JOIN execution e ON e.scope_id = c.scope_id AND e.id = c.execution_id;

CREATE TABLE namespace_class_hourly (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    namespace TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation BOOLEAN NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, namespace, status, trigger_kind, had_elicitation)
);

CREATE TABLE namespace_class_daily (
    scope_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    namespace TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    had_elicitation BOOLEAN NOT NULL,
    runs BIGINT NOT NULL,
    PRIMARY KEY (scope_id, slot_start, namespace, status, trigger_kind, had_elicitation)
);

INSERT INTO namespace_class_hourly (scope_id, slot_start, namespace, status, trigger_kind, had_elicitation, runs)
SELECT scope_id, created_at - created_at % 3600000, namespace, status, coalesce(trigger_kind, ''), had_elicitation, count(*)
FROM execution_tool_namespace GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO namespace_class_daily (scope_id, slot_start, namespace, status, trigger_kind, had_elicitation, runs)
SELECT scope_id, slot_start - slot_start % 86400000, namespace, status, trigger_kind, had_elicitation, sum(runs)
FROM namespace_class_hourly GROUP BY 1, 2, 3, 4, 5, 6;

CREATE FUNCTION execution_tool_namespace_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE namespace_class_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND namespace = OLD.namespace
      AND slot_start = OLD.created_at - OLD.created_at % 3600000 AND status = OLD.status
      AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
    UPDATE namespace_class_daily SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND namespace = OLD.namespace
      AND slot_start = OLD.created_at - OLD.created_at % 86400000 AND status = OLD.status
      AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation;
    RETURN NULL;
END $$;

CREATE TRIGGER execution_tool_namespace_delete AFTER DELETE ON execution_tool_namespace
FOR EACH ROW EXECUTE FUNCTION execution_tool_namespace_delete();
