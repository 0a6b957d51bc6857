-- Bulk actions and the targets an execution fixes before it sanctions anyone.
-- Times are BIGINT nanoseconds since the Unix epoch, UTC.

CREATE TABLE bulk_actions (
    id         TEXT PRIMARY KEY, -- UUIDv7: sorts by creation
    state      TEXT NOT NULL,
    version    BIGINT NOT NULL, -- bumped on every write; guards concurrent runners
    body       TEXT NOT NULL,   -- JSON of bulk.Action
    created_at BIGINT NOT NULL
);
CREATE INDEX bulk_actions_state ON bulk_actions (state, id);

-- One row per account an execution sanctions, in the order it does so. The sanction ID
-- is chosen when the row is written, so a batch run twice cannot make two sanctions.
CREATE TABLE bulk_targets (
    action   TEXT NOT NULL,
    ord      BIGINT NOT NULL, -- 1, 2, 3, … within the action
    account  TEXT NOT NULL,
    sanction TEXT NOT NULL,
    PRIMARY KEY (action, ord)
);
