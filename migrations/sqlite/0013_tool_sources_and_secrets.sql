-- Tool sources added through the API or the CLI (server/src/sources),
-- per scope: `spec_json` is the source's configuration as given (secrets
-- only as {secret:NAME} references, never their values).
CREATE TABLE tool_source (
    scope_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope_id, name)
);
-- Secrets, per scope, encrypted at rest with AES-256-GCM under the
-- server's key (EXECUTOR_SECRET_KEY or its key file): `sealed` is
-- base64(nonce || ciphertext || tag). The name is bound in as associated
-- data, so a value copied to another row does not open.
CREATE TABLE secret (
    scope_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope_id, name)
);
