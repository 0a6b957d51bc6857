-- One scratch row that DB.Ready writes and removes to learn whether storage has room again
-- after a write failed for lack of it.

CREATE TABLE storage_probe (
    id   INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
