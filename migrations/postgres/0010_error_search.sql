-- Trigram index over error_text: the `error` filter, a case-insensitive
-- substring of a run's error, answered with ILIKE as `code` is
-- (app/src/store/text_search/). Unlike the code, it sits on the runs
-- themselves: a run's error is written once, when it ends, and is usually
-- its last update, so few updates re-insert its trigrams; runs without an
-- error are left out.
CREATE INDEX execution_error_trgm_idx ON execution USING gin (error_text gin_trgm_ops)
WHERE error_text IS NOT NULL;
