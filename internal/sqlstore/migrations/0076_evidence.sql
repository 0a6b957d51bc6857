-- Evidence records (internal/leak): the record as JSON, and its content sealed under the
-- vault's seal key (vault:v1:…), whose SHA-256 the audit log holds.
CREATE TABLE evidence (
    id         TEXT PRIMARY KEY, -- UUIDv7
    account    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body       TEXT NOT NULL,
    sealed     TEXT NOT NULL
);
CREATE INDEX evidence_account ON evidence (account, id);
