-- Insider alerts (internal/leak/insider.go): each staff member's hourly reveals and
-- lookups are counted from the vault's audit entries through this index (of those
-- entries only); an alert is raised once per person and hour.
CREATE INDEX audit_entries_access ON audit_entries (time) WHERE action IN ('pii.reveal', 'pii.lookup');

CREATE TABLE leak_insider_alerts (
    actor TEXT NOT NULL,   -- the key's name
    hour  BIGINT NOT NULL, -- the hour's start, Unix nanoseconds
    PRIMARY KEY (actor, hour)
);
