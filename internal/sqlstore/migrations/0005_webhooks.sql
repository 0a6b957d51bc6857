-- Webhooks: the outbox of events written with the changes they tell of, the receivers,
-- and every delivery attempt. Times are BIGINT nanoseconds since the Unix epoch, UTC.

-- seq is taken from outbox_seq inside the writing transaction, whose row lock is held
-- until commit: seq follows commit order, so a dispatcher reading "seq > cursor" never
-- skips an event that commits late.
CREATE TABLE outbox (
    seq     BIGINT PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE, -- the CloudEvents id: the same on every retry
    type    TEXT NOT NULL,
    account TEXT NOT NULL,        -- the CloudEvents subject
    time    BIGINT NOT NULL,
    data    TEXT NOT NULL         -- JSON
);
CREATE TABLE outbox_seq (
    n BIGINT NOT NULL
);
INSERT INTO outbox_seq (n) VALUES (0);

CREATE TABLE webhooks (
    name        TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    events      TEXT NOT NULL, -- comma-separated event types
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    cursor      BIGINT NOT NULL, -- the outbox seq delivered (or given up) up to
    lease_owner TEXT NOT NULL,   -- the process delivering it
    lease_until BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY, -- UUIDv7
    webhook     TEXT NOT NULL,
    event       TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    account     TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    status      INTEGER NOT NULL, -- the receiver's HTTP status; 0 when it did not answer
    error       TEXT NOT NULL,
    outcome     TEXT NOT NULL,    -- delivered, retrying, abandoned
    at          BIGINT NOT NULL,
    duration_us BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook, id);
