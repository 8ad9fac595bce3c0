-- 0007_rollups_sessions: the summaries the persister keeps beside the events, in the same
-- transaction (DESIGN §3). metrics_rollup, created by 0003 and never written, takes its final
-- layout: three tiers (minute, hour, day) in one table, and latency as a sparse log-bucketed
-- histogram (src/core/loghist.h: a JSON object of bucket index -> count) that instances merge
-- by adding counts (monitoring.loghist_add). sessions is the session tracker.
DROP TABLE monitoring.metrics_rollup;

CREATE TABLE monitoring.metrics_rollup (
    tier           text             NOT NULL CHECK (tier IN ('minute', 'hour', 'day')),
    bucket         timestamptz      NOT NULL,
    type           text             NOT NULL,
    source         text             NOT NULL DEFAULT '',
    name           text             NOT NULL DEFAULT '',
    count          bigint           NOT NULL DEFAULT 0 CHECK (count >= 0),
    errors         bigint           NOT NULL DEFAULT 0 CHECK (errors >= 0),
    bytes          bigint           NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    duration_count bigint           NOT NULL DEFAULT 0 CHECK (duration_count >= 0),
    duration_sum   double precision NOT NULL DEFAULT 0,
    duration_min   double precision,
    duration_max   double precision,
    latency        jsonb            NOT NULL DEFAULT '{}',
    PRIMARY KEY (tier, bucket, type, source, name),
    CHECK ((extract(epoch FROM bucket) * 1000)::bigint %
           CASE tier WHEN 'minute' THEN 60000 WHEN 'hour' THEN 3600000 ELSE 86400000 END = 0)
);

CREATE TABLE monitoring.sessions (
    session_id     text        PRIMARY KEY CHECK (octet_length(session_id) BETWEEN 1 AND 128),
    source         text,
    first_seen     timestamptz NOT NULL,
    last_seen      timestamptz NOT NULL,
    events         bigint      NOT NULL DEFAULT 0 CHECK (events >= 0),
    errors         bigint      NOT NULL DEFAULT 0 CHECK (errors >= 0),
    tool_calls     bigint      NOT NULL DEFAULT 0 CHECK (tool_calls >= 0),
    duration_count bigint      NOT NULL DEFAULT 0 CHECK (duration_count >= 0),
    latency        jsonb       NOT NULL DEFAULT '{}',
    started_at     timestamptz,
    ended_at       timestamptz
);
CREATE INDEX sessions_last_seen ON monitoring.sessions (last_seen, session_id);
CREATE INDEX sessions_source_last_seen ON monitoring.sessions (source, last_seen, session_id);

-- Two histograms' sum: counts of the same bucket added. Only the second (a batch's increment,
-- small) is walked; its merged buckets overwrite the first's (||), so adding into a day row's
-- histogram of hundreds of buckets costs what the increment holds.
CREATE FUNCTION monitoring.loghist_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT a || coalesce((SELECT jsonb_object_agg(key, coalesce((a ->> key)::bigint, 0)
                                                       + value::bigint)
                            FROM jsonb_each_text(b)), '{}'::jsonb)
$$;
REVOKE ALL ON FUNCTION monitoring.loghist_add(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitoring.loghist_add(jsonb, jsonb) TO service_role;

-- Security as 0004 has it for the rollups; sessions are read like events.
GRANT ALL ON monitoring.metrics_rollup, monitoring.sessions TO service_role;
GRANT SELECT ON monitoring.metrics_rollup, monitoring.sessions TO authenticated;
ALTER TABLE monitoring.metrics_rollup ENABLE ROW LEVEL SECURITY;
ALTER TABLE monitoring.sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON monitoring.metrics_rollup
    FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON monitoring.sessions
    FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY authenticated_read ON monitoring.metrics_rollup
    FOR SELECT TO authenticated USING (true);
CREATE POLICY authenticated_read ON monitoring.sessions
    FOR SELECT TO authenticated USING (true);
CREATE POLICY anon_read ON monitoring.metrics_rollup FOR SELECT TO anon USING (true);
