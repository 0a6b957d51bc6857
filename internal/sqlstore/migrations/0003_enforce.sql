-- Sanctions, sanction policies, and the change sequence every decision index follows.
-- Times are BIGINT nanoseconds since the Unix epoch, UTC.

CREATE TABLE sanction_policies (
    id         TEXT PRIMARY KEY,
    body       TEXT NOT NULL, -- JSON of enforce.Policy
    updated_at BIGINT NOT NULL
);

-- One row per sanction. body holds the whole sanction as JSON; the other columns are the
-- parts queries and the decision index read, kept in step with it on every write.
CREATE TABLE sanctions (
    id               TEXT PRIMARY KEY, -- UUIDv7: sorts by creation
    account          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    services         TEXT NOT NULL, -- comma-separated; * for every service
    capabilities     TEXT NOT NULL, -- comma-separated
    start_at         BIGINT NOT NULL,
    end_at           BIGINT, -- NULL: no end
    lifted_at        BIGINT, -- NULL: not lifted
    reason_code      TEXT NOT NULL,
    policy           TEXT NOT NULL,
    source           TEXT NOT NULL,
    strike_until     BIGINT, -- for source strike: the strike counts until then
    strike_withdrawn BOOLEAN NOT NULL,
    seq              BIGINT NOT NULL, -- the change sequence of its last write
    body             TEXT NOT NULL
);
CREATE INDEX sanctions_account ON sanctions (account, id);
CREATE INDEX sanctions_strikes ON sanctions (account, policy, strike_until);
CREATE UNIQUE INDEX sanctions_seq ON sanctions (seq);

-- The change sequence. Every sanction write takes the next number by updating this one
-- row, whose lock is held until commit: numbers are handed out in commit order, so a
-- follower reading "seq > last" never misses a change that commits late.
CREATE TABLE sanction_seq (
    n BIGINT NOT NULL
);
INSERT INTO sanction_seq (n) VALUES (0);
