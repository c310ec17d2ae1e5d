-- The page's login sessions (server/src/access/session.rs): a browser holds
-- a random 256-bit id in an HttpOnly cookie; only its SHA-256 is stored,
-- so a copy of this table lets nobody in. Expiry (idle and absolute) is
-- judged from the two times; expired rows are deleted as they are found
-- and by the hourly sweep.
CREATE TABLE page_session (
    id_hash TEXT PRIMARY KEY,
    scope_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX page_session_last_seen_idx ON page_session (last_seen_at);
