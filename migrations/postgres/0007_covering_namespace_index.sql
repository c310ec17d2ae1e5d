-- The namespace pairs' time index carries the run's status, trigger and
-- elicitation, as SQLite's does (see migrations/sqlite/0007): a day-long
-- view of one namespace can count from the index alone (an index-only scan
-- once the table has been vacuumed).
DROP INDEX execution_tool_namespace_idx;
CREATE INDEX execution_tool_namespace_idx ON execution_tool_namespace
    (scope_id, namespace, created_at) INCLUDE (status, trigger_kind, had_elicitation);
