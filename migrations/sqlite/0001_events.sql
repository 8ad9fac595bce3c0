-- 0001_events: the events table (DESIGN §3).
-- Times are epoch milliseconds (INTEGER); attrs is a JSON object as text.
-- AUTOINCREMENT keeps seq strictly increasing even after retention deletes the newest rows,
-- so a client's resume cursor can never be handed a reused seq.
CREATE TABLE monitoring_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    source      TEXT,
    session_id  TEXT,
    name        TEXT,
    status      TEXT,
    duration_ms REAL,
    bytes       INTEGER,
    value       REAL,
    error       TEXT,
    attrs       TEXT
);
CREATE INDEX monitoring_events_ts ON monitoring_events (ts);
CREATE INDEX monitoring_events_session_ts ON monitoring_events (session_id, ts);
CREATE INDEX monitoring_events_type_ts ON monitoring_events (type, ts);
