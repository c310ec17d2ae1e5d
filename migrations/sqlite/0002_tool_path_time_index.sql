-- A tool path's runs in time order: a list filtered to one path walks this
-- index instead of probing every run of the window for the path, so a path
-- called once in a million runs lists as fast as a common one.
CREATE INDEX execution_tool_path_path_idx ON execution_tool_path (scope_id, tool_path, created_at, execution_id);
