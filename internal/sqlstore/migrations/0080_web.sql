-- The console's staff users, the sessions of the console and the portal, and the
-- one-time links that open a portal session. Times are BIGINT nanoseconds, UTC.

CREATE TABLE staff_users (
    id            TEXT PRIMARY KEY, -- UUIDv7
    email         TEXT NOT NULL UNIQUE, -- lower case
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL, -- argon2id in PHC form; '' until set up
    created_at    BIGINT NOT NULL,
    setup_hash    BLOB UNIQUE, -- SHA-256 of the one-time set-up secret, NULL once used
    setup_expires BIGINT,
    failures      INTEGER NOT NULL,
    locked_until  BIGINT
);

CREATE TABLE web_sessions (
    id         TEXT PRIMARY KEY, -- UUIDv7
    kind       TEXT NOT NULL, -- 'staff' or 'portal'
    subject    TEXT NOT NULL, -- the user's ID or the account's
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE, -- SHA-256 of the secret in the cookie
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

CREATE TABLE portal_links (
    id         TEXT PRIMARY KEY, -- UUIDv7
    account    TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE, -- SHA-256 of the link's secret
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX portal_links_account ON portal_links (account, id);
