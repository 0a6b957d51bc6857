-- Data exports (internal/takeout). Times are BIGINT nanoseconds since the Unix epoch, UTC.
-- body holds the whole export as JSON; the other columns are what the builder and the
-- listings read, kept in step with it on every write.
CREATE TABLE takeout_exports (
    id          TEXT PRIMARY KEY, -- UUIDv7: sorts by creation
    account     TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_by  TEXT NOT NULL, -- principal.Identity of who started it
    expires_at  BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX takeout_exports_account ON takeout_exports (account, id);
-- The builder's queue, and the expiry sweep.
CREATE INDEX takeout_exports_state ON takeout_exports (state, id);
CREATE INDEX takeout_exports_expiry ON takeout_exports (state, expires_at);
