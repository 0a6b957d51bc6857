-- API keys can expire, be revoked and be rotated. A rotated key keeps its name while it
-- is retired, so a name is unique only among keys neither revoked nor replaced; SQLite
-- cannot drop the old UNIQUE constraint, so the table is rebuilt.

CREATE TABLE api_keys_v2 (
    id           TEXT PRIMARY KEY, -- UUIDv7
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE, -- SHA-256 of the secret
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    replaced_by  TEXT, -- the key that rotation made in this one's place
    last_used_at BIGINT -- written at most once a minute per key and process
);
INSERT INTO api_keys_v2 (id, name, role, hash, created_at) SELECT id, name, role, hash, created_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_v2 RENAME TO api_keys;
CREATE UNIQUE INDEX api_keys_name ON api_keys (name) WHERE revoked_at IS NULL AND replaced_by IS NULL;
