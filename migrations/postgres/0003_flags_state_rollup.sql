-- 0003_flags_state_rollup: feature flags, cross-session dashboard state, and per-minute
-- metric rollups (DESIGN §3). Written to by later features; created here so the schema and its
-- security are complete and reviewed as one.
CREATE TABLE monitoring.feature_flags (
    key             text        PRIMARY KEY CHECK (key ~ '^[a-z0-9_.:-]{1,64}$'),
    enabled         boolean     NOT NULL DEFAULT false,
    variant         text        CHECK (octet_length(variant) <= 64),
    rollout_percent integer     NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    description     text        CHECK (octet_length(description) <= 1024),
    version         bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Optimistic concurrency: a writer sends the version it read; a stale one changes nothing.
CREATE TABLE monitoring.dashboard_state (
    client_id  text        NOT NULL CHECK (octet_length(client_id) BETWEEN 1 AND 128),
    key        text        NOT NULL CHECK (octet_length(key) BETWEEN 1 AND 128),
    value      jsonb       NOT NULL,
    version    bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, key)
);

-- One row per minute x (type, source, name). Instances add into the same row, so every column
-- is a sum, a min or a max -- and latency is kept as bucket counts rather than percentiles:
-- latency_buckets[i] counts durations <= latency_bounds_ms[i] (the last bucket is +Inf), which
-- keeps p50/p95/p99 exact to the bucket however many instances merged into the row.
CREATE TABLE monitoring.metrics_rollup (
    minute            timestamptz      NOT NULL CHECK (date_trunc('minute', minute) = minute),
    type              text             NOT NULL,
    source            text             NOT NULL DEFAULT '',
    name              text             NOT NULL DEFAULT '',
    count             bigint           NOT NULL DEFAULT 0 CHECK (count >= 0),
    errors            bigint           NOT NULL DEFAULT 0 CHECK (errors >= 0),
    bytes             bigint           NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    duration_sum      double precision NOT NULL DEFAULT 0,
    duration_min      double precision,
    duration_max      double precision,
    latency_bounds_ms double precision[] NOT NULL,
    latency_buckets   bigint[]         NOT NULL,
    PRIMARY KEY (minute, type, source, name),
    CHECK (cardinality(latency_buckets) = cardinality(latency_bounds_ms) + 1)
);
CREATE INDEX metrics_rollup_type_minute ON monitoring.metrics_rollup (type, minute);
