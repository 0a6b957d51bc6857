-- Events a webhook holds back: one that failed and, behind it, every later event of the
-- same account, so that a failing event delays its own account's events and no other's.
-- The webhook's cursor moves past held events; they leave this table once delivered or
-- given up. Only the first held event of an account has a next_at: the others wait
-- (NULL) until it leaves, and then the next one becomes due.
CREATE TABLE webhook_held (
    webhook TEXT NOT NULL,
    seq     BIGINT NOT NULL,  -- the outbox event
    account TEXT NOT NULL,
    attempt INTEGER NOT NULL, -- failed attempts so far
    next_at BIGINT,           -- when to try again; NULL behind an earlier held event
    PRIMARY KEY (webhook, seq)
);
CREATE INDEX webhook_held_account ON webhook_held (webhook, account, seq);
CREATE INDEX webhook_held_due ON webhook_held (webhook, next_at);
