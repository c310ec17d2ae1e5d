-- A run's session (an MCP session, one CLI invocation, a caller's
-- x-executor-session), in a column of its own so `?session=` finds a
-- session's runs from this index, newest first, as fast as a trigger's:
-- a session has few runs, and the index holds only runs that have one.
ALTER TABLE execution ADD COLUMN session_id TEXT;
CREATE INDEX execution_session_idx ON execution (scope_id, session_id, created_at, id)
WHERE session_id IS NOT NULL;
