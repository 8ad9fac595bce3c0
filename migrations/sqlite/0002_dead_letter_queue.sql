-- 0002_dead_letter_queue: the dead letter queue (DESIGN §3), as migrations/postgres/0002 has it.
-- SQLite has one writer at a time, so the atomic operations PostgreSQL keeps in functions are
-- single statements in src/store/store_sqlite.c. Times are epoch milliseconds.
CREATE TABLE dead_letter_queue (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    original_payload TEXT    NOT NULL CHECK (json_valid(original_payload)),
    failure_reason   TEXT    NOT NULL,
    retry_count      INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    max_retries      INTEGER NOT NULL DEFAULT 5 CHECK (max_retries >= 0),
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'retrying', 'recovered', 'failed')),
    created_at       INTEGER NOT NULL,
    last_retry_at    INTEGER,
    next_retry_at    INTEGER,
    recovered_at     INTEGER,
    CHECK (retry_count <= max_retries),
    CHECK (status NOT IN ('pending', 'retrying') OR next_retry_at IS NOT NULL)
);
CREATE INDEX dead_letter_queue_status ON dead_letter_queue (status);
CREATE INDEX dead_letter_queue_created_at ON dead_letter_queue (created_at);
CREATE INDEX dead_letter_queue_due ON dead_letter_queue (next_retry_at)
    WHERE status IN ('pending', 'retrying');
