-- 0005_rollups_sessions: the summaries the persister keeps beside the events, in the same
-- transaction (DESIGN §3): metric rollups at three tiers and the session tracker.
-- Times are epoch milliseconds; latency is loghist's stored form, a JSON object of bucket
-- index -> count (src/core/loghist.h), merged by adding counts.
CREATE TABLE metrics_rollup (
    tier           TEXT    NOT NULL CHECK (tier = 'minute' OR tier = 'hour' OR tier = 'day'),
    bucket         INTEGER NOT NULL,
    type           TEXT    NOT NULL,
    source         TEXT    NOT NULL DEFAULT '',
    name           TEXT    NOT NULL DEFAULT '',
    count          INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    errors         INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),
    bytes          INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    duration_count INTEGER NOT NULL DEFAULT 0 CHECK (duration_count >= 0),
    duration_sum   REAL    NOT NULL DEFAULT 0,
    duration_min   REAL,
    duration_max   REAL,
    latency        TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (tier, bucket, type, source, name)
);

CREATE TABLE sessions (
    session_id     TEXT    PRIMARY KEY NOT NULL,
    source         TEXT,
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    events         INTEGER NOT NULL DEFAULT 0 CHECK (events >= 0),
    errors         INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),
    tool_calls     INTEGER NOT NULL DEFAULT 0 CHECK (tool_calls >= 0),
    duration_count INTEGER NOT NULL DEFAULT 0 CHECK (duration_count >= 0),
    latency        TEXT    NOT NULL DEFAULT '{}',
    started_at     INTEGER,
    ended_at       INTEGER
);
CREATE INDEX sessions_last_seen ON sessions (last_seen, session_id);
CREATE INDEX sessions_source_last_seen ON sessions (source, last_seen, session_id);
