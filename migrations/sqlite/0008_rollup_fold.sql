-- 0008_rollup_fold: as PostgreSQL's 0008, the events' transaction writes only the minute tier
-- of metrics_rollup; the hour and day rows are folded from closed minutes by housekeeping
-- (DESIGN §3). Measured (BENCHMARKS.md, "The summaries at 100 x 8"): at 1,000 sessions and
-- 100-event requests the summaries were half of the writer's instructions, most of it the hour
-- and day rows' histograms (hundreds of buckets, past a page each) rewritten in every commit.
--
-- The invariant, kept by the one writer (store_sqlite_sum.c; SQLite has one per file):
--
--   an hour or day row = the sum of the minute rows of its hour or day with bucket < through
--
-- where 'through' is rollup_folded's one row. A commit adds minute rows, and for a minute
-- before 'through' (a late event) also adds into its hour and day rows; a fold adds the
-- minutes in [through, until) into their hours and days and moves 'through' to 'until' in one
-- transaction.
CREATE TABLE rollup_folded (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    through INTEGER NOT NULL CHECK (through % 60000 = 0)
);

-- Until now every tier was written with the events: every minute stored is already in its hour
-- and day, including minutes ahead of the clock, so folding starts after the latest of them;
-- with none stored (a new file, or all expired), from the start. (PostgreSQL's starts after the
-- clock too, for instances of the previous version still writing; SQLite has one writer.)
INSERT INTO rollup_folded (one, through)
SELECT 1, coalesce(max(bucket) / 60000 * 60000 + 60000, 0)
  FROM metrics_rollup WHERE tier = 'minute';

-- What the readers read: metrics_rollup, plus, for the hour and day tiers, the minutes not
-- folded yet, each as a row of its hour or day. A tier's (bucket, type, source, name) may so
-- come in several rows, to be added up by the reader (GET /api/v1/metrics does). One
-- statement reads both halves in one snapshot, so a fold in between never counts twice.
-- 'through' is a scalar subquery, not a join, so that the minutes are an index range
-- (tier = 'minute' AND bucket >= through), not every minute row.
CREATE VIEW metrics_rollup_exact AS
SELECT tier, bucket, type, source, name, count, errors, bytes, duration_count, duration_sum,
       duration_min, duration_max, latency
  FROM metrics_rollup
UNION ALL
SELECT t.tier, x.bucket - x.bucket % t.size, x.type, x.source, x.name, x.count, x.errors,
       x.bytes, x.duration_count, x.duration_sum, x.duration_min, x.duration_max, x.latency
  FROM metrics_rollup x
       CROSS JOIN (SELECT 'hour' AS tier, 3600000 AS size
                   UNION ALL SELECT 'day', 86400000) t
 WHERE x.tier = 'minute' AND x.bucket >= (SELECT through FROM rollup_folded);
