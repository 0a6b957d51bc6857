-- Accounts, API keys, idempotency records and the audit log's entries.
-- Times are BIGINT nanoseconds since the Unix epoch, UTC.

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    region     TEXT NOT NULL,
    verified   BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    locale     TEXT NOT NULL,
    attributes TEXT NOT NULL, -- JSON object
    linked     TEXT NOT NULL, -- JSON array of {service, account}
    updated_at BIGINT NOT NULL
);
CREATE INDEX accounts_region ON accounts (region, id);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE, -- SHA-256 of the secret
    created_at BIGINT NOT NULL
);

CREATE TABLE idempotency (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);

-- Entries in commit order; the audit log's sequencer gives them their place in the tree.
CREATE TABLE audit_entries (
    id         AUTOID,
    time       BIGINT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    request_id TEXT NOT NULL,
    leaf       BLOB NOT NULL -- the exact bytes the log commits to
);
