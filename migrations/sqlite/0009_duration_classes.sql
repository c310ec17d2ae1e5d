-- Runs per 15 minutes and per hour by class (status, trigger, elicitation)
-- and duration class: what a view with a duration filter
-- (`minDurationMs`, `maxDurationMs`) counts its facets and chart from, with
-- only the runs of a threshold's own class read from rows. The classes are
-- the ones `app/src/store/rollup.rs` declares (DURATION_BOUNDS): class i
-- holds durations in [bound i, bound i + 1); -1 is a run without a duration
-- (not finished). `store check` compares these rows with that definition.
-- Kept by the store's writer once per batch (app/src/store/batch/), which
-- moves a run between classes when it finishes; deleted runs are counted
-- down by the trigger below.

CREATE TABLE execution_duration_quarter_hourly (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation INTEGER NOT NULL,
    duration_class INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, status, trigger_kind, had_elicitation, duration_class)
) WITHOUT ROWID;

CREATE TABLE execution_duration_hourly (
    scope_id TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL, -- '' stands for no trigger (not a valid kind)
    had_elicitation INTEGER NOT NULL,
    duration_class INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (scope_id, slot_start, status, trigger_kind, had_elicitation, duration_class)
) WITHOUT ROWID;

INSERT INTO execution_duration_quarter_hourly (scope_id, slot_start, status, trigger_kind, had_elicitation, duration_class, runs)
SELECT scope_id, created_at - created_at % 900000, status, coalesce(trigger_kind, ''), had_elicitation,
    CASE WHEN duration_ms IS NULL THEN -1
        WHEN duration_ms < 1 THEN 0
        WHEN duration_ms < 2 THEN 1
        WHEN duration_ms < 5 THEN 2
        WHEN duration_ms < 10 THEN 3
        WHEN duration_ms < 20 THEN 4
        WHEN duration_ms < 50 THEN 5
        WHEN duration_ms < 100 THEN 6
        WHEN duration_ms < 200 THEN 7
        WHEN duration_ms < 500 THEN 8
        WHEN duration_ms < 1000 THEN 9
        WHEN duration_ms < 2000 THEN 10
        WHEN duration_ms < 5000 THEN 11
        WHEN duration_ms < 10000 THEN 12
        WHEN duration_ms < 15000 THEN 13
        WHEN duration_ms < 30000 THEN 14
        WHEN duration_ms < 60000 THEN 15
        WHEN duration_ms < 120000 THEN 16
        WHEN duration_ms < 300000 THEN 17
        WHEN duration_ms < 600000 THEN 18
        WHEN duration_ms < 900000 THEN 19
        WHEN duration_ms < 1800000 THEN 20
        WHEN duration_ms < 3600000 THEN 21
        WHEN duration_ms < 7200000 THEN 22
        WHEN duration_ms < 21600000 THEN 23
        WHEN duration_ms < 43200000 THEN 24
        WHEN duration_ms < 86400000 THEN 25
        ELSE 26 END,
    count(*)
FROM execution GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO execution_duration_hourly (scope_id, slot_start, status, trigger_kind, had_elicitation, duration_class, runs)
SELECT scope_id, slot_start - slot_start % 3600000, status, trigger_kind, had_elicitation, duration_class, sum(runs)
FROM execution_duration_quarter_hourly GROUP BY 1, 2, 3, 4, 5, 6;

-- SQLite's triggers have no variables: each update spells the class out.
CREATE TRIGGER execution_duration_rollups_delete AFTER DELETE ON execution BEGIN
    UPDATE execution_duration_quarter_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 900000
      AND status = OLD.status AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation
      AND duration_class = CASE WHEN OLD.duration_ms IS NULL THEN -1
          WHEN OLD.duration_ms < 1 THEN 0
          WHEN OLD.duration_ms < 2 THEN 1
          WHEN OLD.duration_ms < 5 THEN 2
          WHEN OLD.duration_ms < 10 THEN 3
          WHEN OLD.duration_ms < 20 THEN 4
          WHEN OLD.duration_ms < 50 THEN 5
          WHEN OLD.duration_ms < 100 THEN 6
          WHEN OLD.duration_ms < 200 THEN 7
          WHEN OLD.duration_ms < 500 THEN 8
          WHEN OLD.duration_ms < 1000 THEN 9
          WHEN OLD.duration_ms < 2000 THEN 10
          WHEN OLD.duration_ms < 5000 THEN 11
          WHEN OLD.duration_ms < 10000 THEN 12
          WHEN OLD.duration_ms < 15000 THEN 13
          WHEN OLD.duration_ms < 30000 THEN 14
          WHEN OLD.duration_ms < 60000 THEN 15
          WHEN OLD.duration_ms < 120000 THEN 16
          WHEN OLD.duration_ms < 300000 THEN 17
          WHEN OLD.duration_ms < 600000 THEN 18
          WHEN OLD.duration_ms < 900000 THEN 19
          WHEN OLD.duration_ms < 1800000 THEN 20
          WHEN OLD.duration_ms < 3600000 THEN 21
          WHEN OLD.duration_ms < 7200000 THEN 22
          WHEN OLD.duration_ms < 21600000 THEN 23
          WHEN OLD.duration_ms < 43200000 THEN 24
          WHEN OLD.duration_ms < 86400000 THEN 25
          ELSE 26 END;
    UPDATE execution_duration_hourly SET runs = runs - 1
    WHERE scope_id = OLD.scope_id AND slot_start = OLD.created_at - OLD.created_at % 3600000
      AND status = OLD.status AND trigger_kind = coalesce(OLD.trigger_kind, '') AND had_elicitation = OLD.had_elicitation
      AND duration_class = CASE WHEN OLD.duration_ms IS NULL THEN -1
          WHEN OLD.duration_ms < 1 THEN 0
          WHEN OLD.duration_ms < 2 THEN 1
          WHEN OLD.duration_ms < 5 THEN 2
          WHEN OLD.duration_ms < 10 THEN 3
          WHEN OLD.duration_ms < 20 THEN 4
          WHEN OLD.duration_ms < 50 THEN 5
          WHEN OLD.duration_ms < 100 THEN 6
          WHEN OLD.duration_ms < 200 THEN 7
          WHEN OLD.duration_ms < 500 THEN 8
          WHEN OLD.duration_ms < 1000 THEN 9
          WHEN OLD.duration_ms < 2000 THEN 10
          WHEN OLD.duration_ms < 5000 THEN 11
          WHEN OLD.duration_ms < 10000 THEN 12
          WHEN OLD.duration_ms < 15000 THEN 13
          WHEN OLD.duration_ms < 30000 THEN 14
          WHEN OLD.duration_ms < 60000 THEN 15
          WHEN OLD.duration_ms < 120000 THEN 16
          WHEN OLD.duration_ms < 300000 THEN 17
          WHEN OLD.duration_ms < 600000 THEN 18
          WHEN OLD.duration_ms < 900000 THEN 19
          WHEN OLD.duration_ms < 1800000 THEN 20
          WHEN OLD.duration_ms < 3600000 THEN 21
          WHEN OLD.duration_ms < 7200000 THEN 22
          WHEN OLD.duration_ms < 21600000 THEN 23
          WHEN OLD.duration_ms < 43200000 THEN 24
          WHEN OLD.duration_ms < 86400000 THEN 25
          ELSE 26 END;
END;

-- The duration index also carries what a count reads of a run (its
-- created_at and class), so that the runs of a threshold's class are read
-- from the index alone, over a long window, instead of run by run.
DROP INDEX execution_scope_duration_idx;
CREATE INDEX execution_scope_duration_idx ON execution (scope_id, coalesce(duration_ms, -1), id, created_at, status, trigger_kind, had_elicitation);
