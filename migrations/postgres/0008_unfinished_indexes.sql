-- What restart recovery reads: the runs and tool calls a previous process
-- left unfinished. Without these it read every run and every tool call
-- before the server answered (15 s at a million runs on SQLite, 1.9-4.5 s
-- at 300,000 on PostgreSQL). Partial, so they hold only unfinished rows: a
-- run or call recorded finished is never in them, and one that finishes
-- leaves them.
CREATE INDEX execution_unfinished_idx ON execution (scope_id, id, started_at)
    WHERE status IN ('pending', 'running', 'waiting_for_interaction');
CREATE INDEX execution_tool_call_running_idx ON execution_tool_call (scope_id, execution_id, id, started_at)
    WHERE status = 'running';
