-- Trigram index over error_text: the `error` filter, a case-insensitive
-- substring of a run's error, answered without a scan as `code` is
-- (app/src/store/text_search/). Every run has an entry, most of them empty:
-- an external-content FTS5 table passes its integrity check only when it
-- holds every row of its content table. A run's error is set when it ends,
-- by an UPDATE, so triggers keep the index: the writer writes runs in
-- multi-row statements, and FTS5 flushes its pending terms once per
-- statement.
CREATE VIRTUAL TABLE execution_error USING fts5 (error_text, content = 'execution', content_rowid = 'rowid', tokenize = 'trigram');

INSERT INTO execution_error (rowid, error_text) SELECT rowid, error_text FROM execution;

CREATE TRIGGER execution_error_insert AFTER INSERT ON execution BEGIN
    INSERT INTO execution_error (rowid, error_text) VALUES (NEW.rowid, NEW.error_text);
END;

CREATE TRIGGER execution_error_update AFTER UPDATE OF error_text ON execution
WHEN OLD.error_text IS NOT NEW.error_text BEGIN
    INSERT INTO execution_error (execution_error, rowid, error_text) VALUES ('delete', OLD.rowid, OLD.error_text);
    INSERT INTO execution_error (rowid, error_text) VALUES (NEW.rowid, NEW.error_text);
END;

CREATE TRIGGER execution_error_delete AFTER DELETE ON execution BEGIN
    INSERT INTO execution_error (execution_error, rowid, error_text) VALUES ('delete', OLD.rowid, OLD.error_text);
END;
