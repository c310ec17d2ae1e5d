-- Resume and cancel from any server (docs/operations.md#many-servers): a
-- server that does not run a run records the request here (the first
-- answer to an interaction wins: the key), wakes the owner, and waits for
-- the run's next state; the owner takes the request and applies it.
CREATE TABLE run_request (
    scope_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    -- 'resume' (interaction_id: the interaction answered) or 'cancel' ('').
    kind TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    action TEXT,
    content_json TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope_id, execution_id, kind, interaction_id)
);
