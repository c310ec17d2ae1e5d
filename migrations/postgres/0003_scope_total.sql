-- Runs per scope (see the SQLite migration).
CREATE TABLE execution_scope_total (
    scope_id TEXT NOT NULL PRIMARY KEY,
    runs BIGINT NOT NULL
);

INSERT INTO execution_scope_total (scope_id, runs)
SELECT scope_id, count(*) FROM execution GROUP BY scope_id;

CREATE FUNCTION execution_scope_total_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE execution_scope_total SET runs = runs - 1 WHERE scope_id = OLD.scope_id;
    RETURN NULL;
END $$;

CREATE TRIGGER execution_scope_total_delete AFTER DELETE ON execution
FOR EACH ROW EXECUTE FUNCTION execution_scope_total_delete();
