-- Export sources (internal/takeout) and the one-time upload URLs of their parts.
CREATE TABLE takeout_sources (
    name       TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL, -- sealed under the vault's keys (internal/app)
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE takeout_uploads (
    token_hash TEXT PRIMARY KEY, -- hex SHA-256 of the token: the database never holds one
    export_id  TEXT NOT NULL,
    source     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX takeout_uploads_export ON takeout_uploads (export_id, source);
