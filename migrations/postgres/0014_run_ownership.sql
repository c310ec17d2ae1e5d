-- Many servers on one database (docs/operations.md#many-servers): each
-- process is an instance with a heartbeat, and each unfinished run names
-- the instance that runs it and until when that claim holds. A server
-- renews its runs' leases with its heartbeat; a run whose lease expired
-- belongs to a dead server and is failed by whichever server reaps first.
CREATE TABLE server_instance (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
ALTER TABLE execution ADD COLUMN owner_id TEXT;
ALTER TABLE execution ADD COLUMN lease_expires_at BIGINT;
-- The heartbeat renews by owner; the reaper looks for expired leases.
-- Partial: only unfinished runs are ever in them.
CREATE INDEX execution_owner_idx ON execution (owner_id)
    WHERE status IN ('pending', 'running', 'waiting_for_interaction');
CREATE INDEX execution_lease_idx ON execution (lease_expires_at)
    WHERE status IN ('pending', 'running', 'waiting_for_interaction');
