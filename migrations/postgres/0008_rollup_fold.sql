-- 0008_rollup_fold: the events' transaction writes only the minute tier of metrics_rollup; the
-- hour and day rows are folded from closed minutes by housekeeping (DESIGN §3). Measured
-- (BENCHMARKS.md): rewriting the hour and day rows' whole jsonb histograms on every shipped
-- batch cost PostgreSQL ingest 0.60x of its rate.
--
-- The invariant, kept by every writer under the seq lock (store_pg.c's SEQ_LOCK, 7460513316):
--
--   an hour or day row = the sum of the minute rows of its hour or day with bucket < through
--
-- where 'through' is rollup_folded's one row. The ingest statement adds minute rows, and for a
-- minute before 'through' (a late event) also adds into its hour and day rows; rollup_fold()
-- adds the minutes in [through, until) into their hours and days and moves 'through' to
-- 'until' in one transaction. Both take the seq lock first, so neither sees the other half
-- done: every minute is folded exactly once, whichever instance folds it.
CREATE TABLE monitoring.rollup_folded (
    one     boolean     PRIMARY KEY DEFAULT true CHECK (one),
    through timestamptz NOT NULL CHECK ((extract(epoch FROM through) * 1000)::bigint % 60000 = 0)
);

-- Until now every tier was written with the events: every minute stored is already in its hour
-- and day, including minutes ahead of the clock, so folding starts after the latest of them.
INSERT INTO monitoring.rollup_folded (through)
SELECT date_bin('1 minute', greatest(now(), max(bucket)), timestamptz '1970-01-01 00:00:00+00')
       + interval '1 minute'
  FROM monitoring.metrics_rollup WHERE tier = 'minute';

-- Histograms summed over rows, loghist_add as the step (for folding and late minutes).
CREATE AGGREGATE monitoring.loghist_sum(jsonb) (
    SFUNC = monitoring.loghist_add, STYPE = jsonb, INITCOND = '{}'
);
REVOKE ALL ON FUNCTION monitoring.loghist_sum(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitoring.loghist_sum(jsonb) TO service_role;

-- Folds the minutes from 'through' up to 'p_until' (rounded down to a minute), at most
-- 'p_max' of them, into their hour and day rows, adding to what is there, and returns the new
-- 'through' (unchanged when there was nothing to fold). Takes the seq lock itself (see above).
CREATE FUNCTION monitoring.rollup_fold(p_until timestamptz, p_max interval)
RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    v_from timestamptz;
    v_to   timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(7460513316);
    SELECT through INTO v_from FROM monitoring.rollup_folded FOR UPDATE;
    v_to := least(date_bin('1 minute', p_until, timestamptz '1970-01-01 00:00:00+00'),
                  v_from + p_max);
    IF v_to <= v_from THEN
        RETURN v_from;
    END IF;
    INSERT INTO monitoring.metrics_rollup AS m (tier, bucket, type, source, name, count,
        errors, bytes, duration_count, duration_sum, duration_min, duration_max, latency)
    SELECT t.tier, date_bin(t.size, x.bucket, timestamptz '1970-01-01 00:00:00+00'),
           x.type, x.source, x.name, sum(x.count), sum(x.errors), sum(x.bytes),
           sum(x.duration_count), sum(x.duration_sum), min(x.duration_min),
           max(x.duration_max), monitoring.loghist_sum(x.latency)
      FROM monitoring.metrics_rollup x
           CROSS JOIN (VALUES ('hour', interval '1 hour'), ('day', interval '1 day')) t(tier, size)
     WHERE x.tier = 'minute' AND x.bucket >= v_from AND x.bucket < v_to
     GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (tier, bucket, type, source, name) DO UPDATE SET
        count = m.count + excluded.count, errors = m.errors + excluded.errors,
        bytes = m.bytes + excluded.bytes,
        duration_count = m.duration_count + excluded.duration_count,
        duration_sum = m.duration_sum + excluded.duration_sum,
        duration_min = least(m.duration_min, excluded.duration_min),
        duration_max = greatest(m.duration_max, excluded.duration_max),
        latency = monitoring.loghist_add(m.latency, excluded.latency);
    UPDATE monitoring.rollup_folded SET through = v_to;
    RETURN v_to;
END
$$;
REVOKE ALL ON FUNCTION monitoring.rollup_fold(timestamptz, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitoring.rollup_fold(timestamptz, interval) TO service_role;

-- What the readers read: metrics_rollup, plus, for the hour and day tiers, the minutes not
-- folded yet, each as a row of its hour or day. A tier's (bucket, type, source, name) may so
-- come in several rows, to be added up by the reader (GET /api/v1/metrics does). One
-- statement reads both halves in one snapshot, so a fold in between never counts twice.
CREATE VIEW monitoring.metrics_rollup_exact WITH (security_invoker = true) AS
SELECT tier, bucket, type, source, name, count, errors, bytes, duration_count, duration_sum,
       duration_min, duration_max, latency
  FROM monitoring.metrics_rollup
UNION ALL
SELECT t.tier, date_bin(t.size, x.bucket, timestamptz '1970-01-01 00:00:00+00'), x.type,
       x.source, x.name, x.count, x.errors, x.bytes, x.duration_count, x.duration_sum,
       x.duration_min, x.duration_max, x.latency
  FROM monitoring.rollup_folded f
       JOIN monitoring.metrics_rollup x ON x.tier = 'minute' AND x.bucket >= f.through
       CROSS JOIN (VALUES ('hour', interval '1 hour'), ('day', interval '1 day')) t(tier, size);

-- Security as 0007 has it for the rollups.
GRANT ALL ON monitoring.rollup_folded TO service_role;
GRANT SELECT ON monitoring.rollup_folded, monitoring.metrics_rollup_exact TO authenticated;
GRANT SELECT ON monitoring.metrics_rollup_exact TO service_role;
ALTER TABLE monitoring.rollup_folded ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON monitoring.rollup_folded
    FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY authenticated_read ON monitoring.rollup_folded
    FOR SELECT TO authenticated USING (true);
