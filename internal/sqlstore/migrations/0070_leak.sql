-- Leak tracing: shares (which accounts and fields went to whom, as a roaring bitmap over
-- account ordinals), canaries, relay numbers, investigations.

-- A small, dense number per account, for the shares' bitmaps.
CREATE TABLE leak_ordinals (
    account TEXT PRIMARY KEY,
    ordinal BIGINT NOT NULL UNIQUE
);
-- The next ordinal to give; its row lock makes concurrent shares take turns.
CREATE TABLE leak_ordinal_next (
    id   INTEGER PRIMARY KEY,
    next BIGINT NOT NULL
);
INSERT INTO leak_ordinal_next (id, next) VALUES (1, 0);

CREATE TABLE leak_shares (
    id         TEXT PRIMARY KEY, -- UUIDv7: ID order is creation order
    recipient  TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    ticket     TEXT NOT NULL,
    fields     TEXT NOT NULL, -- comma-separated
    phone_mode TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    accounts   BIGINT NOT NULL,
    records    BIGINT NOT NULL,
    commitment TEXT NOT NULL,
    record_set BLOB NOT NULL,  -- the ordinals, roaring's portable serialisation
    canaries   TEXT NOT NULL,  -- the canaries' IDs, sorted, comma-separated
    canary_set TEXT UNIQUE,    -- their key (leak.CanarySetKey); NULL without canaries
    salt       BLOB NOT NULL
);
CREATE INDEX leak_shares_created ON leak_shares (created_at);

CREATE TABLE leak_share_canaries (
    canary TEXT NOT NULL,
    share  TEXT NOT NULL,
    PRIMARY KEY (canary, share)
);

CREATE TABLE leak_canaries (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL -- the canary as JSON: a made-up identity, no one's personal data
);

CREATE TABLE leak_relays (
    phone      TEXT PRIMARY KEY,
    recipient  TEXT NOT NULL,
    account    TEXT NOT NULL, -- or canary: and the canary's ID
    share      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (recipient, account)
);

CREATE TABLE leak_leaks (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL -- the investigation as JSON
);
