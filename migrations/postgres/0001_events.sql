-- 0001_events: the events table (DESIGN §3), as SQLite has it, in schema monitoring.
--
-- seq comes from a sequence but is assigned by telltale inside an advisory lock held until
-- commit (see src/store/store_pg.c), so seq order is commit order even with several
-- instances writing at once: a reader following seq > N never skips a row that commits late.
-- attrs is json, not jsonb: it keeps the producer's object exactly as accepted (key order,
-- number spelling), the same text the SQLite store returns.
CREATE SCHEMA IF NOT EXISTS monitoring;

CREATE SEQUENCE monitoring.monitoring_events_seq AS bigint;

CREATE TABLE monitoring.monitoring_events (
    seq         bigint PRIMARY KEY DEFAULT nextval('monitoring.monitoring_events_seq'),
    id          text        NOT NULL UNIQUE CHECK (octet_length(id) BETWEEN 1 AND 64),
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    type        text        NOT NULL CHECK (type ~ '^[a-z0-9_.:-]{1,64}$'),
    source      text        CHECK (octet_length(source) <= 64),
    session_id  text        CHECK (octet_length(session_id) <= 128),
    name        text        CHECK (octet_length(name) <= 128),
    status      text        CHECK (octet_length(status) <= 32),
    duration_ms double precision CHECK (duration_ms >= 0),
    bytes       bigint      CHECK (bytes >= 0),
    value       double precision,
    error       text        CHECK (octet_length(error) <= 4096),
    attrs       json        CHECK (json_typeof(attrs) = 'object')
);
ALTER SEQUENCE monitoring.monitoring_events_seq OWNED BY monitoring.monitoring_events.seq;

CREATE INDEX monitoring_events_ts ON monitoring.monitoring_events (ts);
CREATE INDEX monitoring_events_session_ts ON monitoring.monitoring_events (session_id, ts);
CREATE INDEX monitoring_events_type_ts ON monitoring.monitoring_events (type, ts);
