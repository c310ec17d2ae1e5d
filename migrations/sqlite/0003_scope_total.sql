-- Runs per scope, for the "of T total" count of every first page: summing
-- the hourly roll-up over a scope's whole history costs milliseconds at a
-- million runs. Counted up by the store's writer once per batch
-- (app/src/store/batch.rs), down by the trigger below.
CREATE TABLE execution_scope_total (
    scope_id TEXT NOT NULL PRIMARY KEY,
    runs INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO execution_scope_total (scope_id, runs)
SELECT scope_id, count(*) FROM execution GROUP BY scope_id;

CREATE TRIGGER execution_scope_total_delete AFTER DELETE ON execution BEGIN
    UPDATE execution_scope_total SET runs = runs - 1 WHERE scope_id = OLD.scope_id;
END;
