-- Notices to users about what Steward did to their accounts, in their locale.
-- Times are BIGINT nanoseconds since the Unix epoch, UTC.

CREATE TABLE notices (
    id         TEXT PRIMARY KEY, -- UUIDv7: sorts by creation
    account    TEXT NOT NULL,
    event      TEXT NOT NULL,
    sanction   TEXT NOT NULL,
    locale     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notices_account ON notices (account, id);
