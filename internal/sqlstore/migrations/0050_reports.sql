-- Reports, signals, the cases they merge into, and reporters' records.
-- Times are BIGINT nanoseconds since the Unix epoch, UTC.

-- One row per case. body holds the whole case as JSON; the other columns are what the
-- queue and the merge read, kept in step with it on every write.
CREATE TABLE report_cases (
    id        TEXT PRIMARY KEY, -- UUIDv7: sorts by creation
    target    TEXT NOT NULL,
    category  TEXT NOT NULL,
    state     TEXT NOT NULL,
    score     DOUBLE PRECISION NOT NULL,
    flagged   BOOLEAN NOT NULL, -- carries suspected_brigade
    version   BIGINT NOT NULL,
    body      TEXT NOT NULL,
    opened_at BIGINT NOT NULL
);
-- Reports about one target and category merge into its one open case.
CREATE UNIQUE INDEX report_cases_open ON report_cases (target, category) WHERE state = 'open';
-- The queue: highest score first, read backwards from a cursor (score, id).
CREATE INDEX report_cases_queue ON report_cases (state, score, id);
CREATE INDEX report_cases_category ON report_cases (state, category, score, id);
CREATE INDEX report_cases_flagged ON report_cases (state, flagged, score, id);

CREATE TABLE reports (
    id         TEXT PRIMARY KEY, -- UUIDv7
    case_id    TEXT NOT NULL,
    reporter   TEXT NOT NULL,
    target     TEXT NOT NULL,
    category   TEXT NOT NULL,
    day        BIGINT NOT NULL, -- UTC days since the epoch
    created_at BIGINT NOT NULL,
    discounted BOOLEAN NOT NULL,
    body       TEXT NOT NULL -- JSON of reports.Report
);
-- A reporter may report a target once per category a day.
CREATE UNIQUE INDEX reports_once ON reports (reporter, target, category, day);
CREATE INDEX reports_case ON reports (case_id, created_at);
CREATE INDEX reports_target ON reports (target, category, created_at);

CREATE TABLE report_signals (
    id         TEXT PRIMARY KEY, -- UUIDv7
    case_id    TEXT NOT NULL,
    account    TEXT NOT NULL,
    rule       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body       TEXT NOT NULL -- JSON of reports.Signal
);
CREATE INDEX report_signals_case ON report_signals (case_id, id);

CREATE TABLE reporter_accuracy (
    reporter        TEXT NOT NULL,
    category        TEXT NOT NULL,
    actioned        BIGINT NOT NULL,
    dismissed       BIGINT NOT NULL,
    bad_faith_until BIGINT, -- NULL: never marked
    PRIMARY KEY (reporter, category)
);

-- The platform-wide record per category: every reporter's prior.
CREATE TABLE report_rates (
    category  TEXT PRIMARY KEY,
    actioned  BIGINT NOT NULL,
    dismissed BIGINT NOT NULL
);
