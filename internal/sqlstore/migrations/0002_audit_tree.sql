-- The audit log's Merkle tree: each entry's place in it, the tree's hashes in tiles,
-- signed checkpoints, and the key that signs them.

-- Set by the sequencer. Never sequence by id: on PostgreSQL a later id can commit first.
ALTER TABLE audit_entries ADD COLUMN tree_index BIGINT;
-- Also finds the entries not yet in the tree (tree_index IS NULL), in id order on SQLite.
CREATE UNIQUE INDEX audit_entries_tree_index ON audit_entries (tree_index);
CREATE INDEX audit_entries_subject ON audit_entries (subject, id);
CREATE INDEX audit_entries_actor ON audit_entries (actor_name, id);

-- Tiles of height 4 (golang.org/x/mod/sumdb/tlog): up to 16 consecutive hashes of tree
-- level 4*level, from hash number 16*n on. A partial tile is replaced as it fills.
CREATE TABLE audit_tiles (
    level  INTEGER NOT NULL,
    n      BIGINT NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, n)
);

CREATE TABLE audit_checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BLOB NOT NULL,
    note       BLOB NOT NULL, -- the signed note, as served
    created_at BIGINT NOT NULL
);

-- One row: the note verifier key of the log's signing key.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    verifier_key TEXT NOT NULL
);
