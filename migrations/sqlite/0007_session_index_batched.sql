-- 0007_session_index_batched: the session index written in sorted batches behind a watermark
-- (issue 13; the measurements are in BENCHMARKS.md, "The session index in sorted batches").
-- monitoring_events_session put one entry per event into the leaf of its session at every
-- group commit: at 1,000 live sessions a 1,000-event commit dirtied ~1,000 leaves (2,277 WAL
-- bytes per event against 598 without that index). This table holds the same entries, but
-- the persister writes them later, for many commits at once, sorted by (session_id, seq): each
-- session's leaf is touched once per batch, not once per commit. The events with seq above
-- session_index_through.seq (the tail) have no entry yet; a read by session reads the index up
-- to the watermark and the tail by seq range, in one statement, so one snapshot
-- (store_sqlite_query.c). The watermark only moves in the transaction that writes the entries.
DROP INDEX monitoring_events_session;
CREATE TABLE monitoring_events_by_session (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE session_index_through (seq INTEGER NOT NULL);
INSERT INTO monitoring_events_by_session (session_id, seq)
    SELECT session_id, seq FROM monitoring_events WHERE session_id IS NOT NULL
    ORDER BY session_id, seq;
INSERT INTO session_index_through (seq) SELECT coalesce(max(seq), 0) FROM monitoring_events;
-- Retention (and any other delete) takes an event's entry with it. A tail event has none yet:
-- the lookup finds nothing.
CREATE TRIGGER monitoring_events_by_session_delete AFTER DELETE ON monitoring_events
    WHEN old.session_id IS NOT NULL
BEGIN
    DELETE FROM monitoring_events_by_session WHERE session_id = old.session_id AND seq = old.seq;
END;
-- The planner's picture, as 0006 gave it for the index this replaces: a session has few events.
DELETE FROM sqlite_stat1 WHERE idx = 'monitoring_events_session';
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('monitoring_events_by_session', 'monitoring_events_by_session', '1000000 100 1');
