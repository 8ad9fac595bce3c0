-- 0003_flags_state: feature flags and cross-session dashboard state (DESIGN §3), as
-- migrations/postgres/0003 has them, so /rest/v1 serves the same rows from either store.
-- Times are epoch milliseconds; booleans 0/1; value is JSON text. The checks are PostgreSQL's.
CREATE TABLE feature_flags (
    key             TEXT    PRIMARY KEY NOT NULL
                    CHECK (length(key) BETWEEN 1 AND 64 AND key NOT GLOB '*[^a-z0-9_.:-]*'),
    enabled         INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    variant         TEXT    CHECK (length(CAST(variant AS BLOB)) <= 64),
    rollout_percent INTEGER NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    description     TEXT    CHECK (length(CAST(description AS BLOB)) <= 1024),
    version         INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at      INTEGER NOT NULL
);

-- Optimistic concurrency: a writer sends the version it read; a stale one changes nothing.
CREATE TABLE dashboard_state (
    client_id  TEXT    NOT NULL CHECK (length(CAST(client_id AS BLOB)) BETWEEN 1 AND 128),
    key        TEXT    NOT NULL CHECK (length(CAST(key AS BLOB)) BETWEEN 1 AND 128),
    value      TEXT    NOT NULL CHECK (json_valid(value)),
    version    INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, key)
);
