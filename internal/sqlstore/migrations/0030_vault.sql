-- The vault: personal data sealed under a data key per account, each data key wrapped by
-- the master key (kept outside the database). No column holds a value in clear.
CREATE TABLE vault_records (
    account    TEXT PRIMARY KEY,
    master_key BIGINT NOT NULL, -- the ID of the master key that wrapped data_key
    data_key   BLOB NOT NULL,   -- the account's AES-256-GCM key, wrapped
    sealed     BLOB NOT NULL,   -- the fields as JSON, sealed under data_key
    fields     TEXT NOT NULL,   -- the names of the fields held, comma-separated
    updated_at BIGINT NOT NULL
);
CREATE INDEX vault_records_master ON vault_records (master_key, account);

-- Blind indexes: HMAC-SHA256 of a field's normalised value under the index key.
CREATE TABLE vault_index (
    field   TEXT NOT NULL,
    hash    BLOB NOT NULL,
    account TEXT NOT NULL,
    PRIMARY KEY (field, hash, account)
);
CREATE INDEX vault_index_account ON vault_index (account);

-- The index and commitment keys, wrapped by the master key.
CREATE TABLE vault_secrets (
    name       TEXT PRIMARY KEY,
    master_key BIGINT NOT NULL,
    wrapped    BLOB NOT NULL
);

-- Purposes for which staff may reveal personal data.
CREATE TABLE vault_purposes (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL -- the purpose as JSON
);

-- Reveals per actor, purpose and UTC day, against each purpose's daily limit.
CREATE TABLE vault_reveals (
    actor   TEXT NOT NULL,
    purpose TEXT NOT NULL,
    day     TEXT NOT NULL, -- YYYY-MM-DD
    n       INTEGER NOT NULL,
    PRIMARY KEY (actor, purpose, day)
);
