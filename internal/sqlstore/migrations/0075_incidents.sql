-- Incidents (internal/leak) and the accounts each affects. Times are BIGINT nanoseconds
-- since the Unix epoch, UTC.
CREATE TABLE incidents (
    id            TEXT PRIMARY KEY, -- UUIDv7
    state         TEXT NOT NULL,
    next_alert_at BIGINT,           -- NULL: no alert left to raise
    version       BIGINT NOT NULL,
    body          TEXT NOT NULL     -- JSON of leak.Incident
);
CREATE INDEX incidents_due ON incidents (next_alert_at) WHERE next_alert_at IS NOT NULL;

CREATE TABLE incident_accounts (
    incident_id TEXT NOT NULL,
    account     TEXT NOT NULL,
    PRIMARY KEY (incident_id, account)
);
