-- 0006_events_indexes: the events table's secondary indexes for many concurrent sessions
-- (issue 13 item 2; the measurements are in BENCHMARKS.md, "SQLite physical design").
-- Each index is one column: SQLite appends the rowid (seq) to every index entry, so a lookup
-- by value comes out in seq order -- the order every events query returns -- without a sort.
-- (session_id, ts) was the costliest part of a commit: its entries go to as many B-tree
-- leaves as there are live sessions; (session_id) answers the session timeline in seq order
-- and is narrower. (type, ts) becomes (type) likewise. source, status and name get an index
-- each, so that every filter of GET /api/v1/events has an index-backed plan (they have few
-- distinct values, so their entries go to few leaves). ts keeps its index (time windows,
-- retention) and id its UNIQUE (exactly once by id).
DROP INDEX monitoring_events_session_ts;
DROP INDEX monitoring_events_type_ts;
CREATE INDEX monitoring_events_session ON monitoring_events (session_id);
CREATE INDEX monitoring_events_type ON monitoring_events (type);
CREATE INDEX monitoring_events_source ON monitoring_events (source);
CREATE INDEX monitoring_events_status ON monitoring_events (status);
CREATE INDEX monitoring_events_name ON monitoring_events (name);
-- The planner's picture of the columns (rows, then rows per value), written once, since the
-- daemon never runs ANALYZE: a session has few events, a type, source or status many, so a
-- query filtering both a session and a type reads the session's index, not the type's.
-- An operator's ANALYZE replaces these with measured figures.
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1 WHERE tbl = 'monitoring_events';
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('monitoring_events', 'monitoring_events_session', '1000000 100'),
    ('monitoring_events', 'monitoring_events_type', '1000000 250000'),
    ('monitoring_events', 'monitoring_events_source', '1000000 100000'),
    ('monitoring_events', 'monitoring_events_status', '1000000 500000'),
    ('monitoring_events', 'monitoring_events_name', '1000000 10000'),
    ('monitoring_events', 'monitoring_events_ts', '1000000 10'),
    ('monitoring_events', 'sqlite_autoindex_monitoring_events_1', '1000000 1');
