-- The review queue that appeals and report cases share, and appeals.
-- Times are BIGINT nanoseconds since the Unix epoch, UTC.

-- One row per item waiting for a person. Claims read review_items_order from the top,
-- skipping leased rows (few: reviewers times what each claims) and excluded ones.
CREATE TABLE review_items (
    queue       TEXT NOT NULL,
    id          TEXT NOT NULL,
    harm        BIGINT NOT NULL,
    breached    INTEGER NOT NULL DEFAULT 0,
    due_at      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    holder      TEXT NOT NULL DEFAULT '', -- principal identity; '' when not leased
    lease_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, id)
);
CREATE INDEX review_items_order ON review_items (queue, breached DESC, harm DESC, created_at, id);
CREATE INDEX review_items_due ON review_items (queue, breached, due_at);

-- Who may neither receive nor decide an item (four eyes).
CREATE TABLE review_excluded (
    queue TEXT NOT NULL,
    id    TEXT NOT NULL,
    who   TEXT NOT NULL,
    PRIMARY KEY (queue, id, who)
);

CREATE TABLE appeals (
    id            TEXT PRIMARY KEY, -- UUIDv7: sorts by filing
    account       TEXT NOT NULL,
    sanction      TEXT NOT NULL,
    bulk_action   TEXT NOT NULL DEFAULT '',
    policy        TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    open_sanction TEXT,             -- the sanction while the appeal is open, else NULL
    rescreen      INTEGER NOT NULL DEFAULT 0,
    breached      INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT NOT NULL DEFAULT '',
    decided_by    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    body          TEXT NOT NULL     -- JSON of appeals.Appeal
);
-- One open appeal per sanction (NULLs are distinct on both databases).
CREATE UNIQUE INDEX appeals_open ON appeals (open_sanction);
CREATE INDEX appeals_account ON appeals (account, id);
CREATE INDEX appeals_state ON appeals (state, id);
CREATE INDEX appeals_state_age ON appeals (state, created_at);
CREATE INDEX appeals_bulk ON appeals (bulk_action, state, id);
CREATE INDEX appeals_policy ON appeals (policy, state, id);
CREATE INDEX appeals_rescreen ON appeals (rescreen, id);
