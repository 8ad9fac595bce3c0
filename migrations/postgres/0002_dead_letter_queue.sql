-- 0002_dead_letter_queue: events the store rejected for themselves (DESIGN §3, §4.5), with the
-- atomic operations as functions so that several telltale instances can share the queue.
--
-- Life of an item: pending -> (claimed) retrying -> recovered, or back to pending with a later
-- next_retry_at, or failed once retry_count reaches max_retries. A claim is a lease: an item
-- left 'retrying' by a worker that died is claimable again once the lease has run out.
CREATE TABLE monitoring.dead_letter_queue (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    original_payload jsonb       NOT NULL,
    failure_reason   text        NOT NULL,
    retry_count      integer     NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    max_retries      integer     NOT NULL DEFAULT 5 CHECK (max_retries >= 0),
    status           text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'retrying', 'recovered', 'failed')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_retry_at    timestamptz,
    next_retry_at    timestamptz DEFAULT now(),
    recovered_at     timestamptz,
    CONSTRAINT dead_letter_queue_retries_within_limit CHECK (retry_count <= max_retries),
    -- An unresolved item without a due time would never be claimed again.
    CONSTRAINT dead_letter_queue_unresolved_is_due
        CHECK (status NOT IN ('pending', 'retrying') OR next_retry_at IS NOT NULL)
);

CREATE INDEX dead_letter_queue_status ON monitoring.dead_letter_queue (status);
CREATE INDEX dead_letter_queue_created_at ON monitoring.dead_letter_queue (created_at);
-- What the recovery worker looks for: unresolved items by due time.
CREATE INDEX dead_letter_queue_due ON monitoring.dead_letter_queue (next_retry_at)
    WHERE status IN ('pending', 'retrying');

-- Items due for a retry now.
CREATE VIEW monitoring.dlq_pending_retry AS
    SELECT * FROM monitoring.dead_letter_queue
    WHERE status = 'pending' AND next_retry_at <= now()
    ORDER BY next_retry_at;

-- One row per status.
CREATE VIEW monitoring.dlq_summary AS
    SELECT status,
           count(*)               AS items,
           avg(retry_count)       AS avg_retry_count,
           min(created_at)        AS oldest_created_at,
           max(created_at)        AS newest_created_at
    FROM monitoring.dead_letter_queue
    GROUP BY status;

-- Claims up to p_limit due items for this caller: pending ones whose time has come, and
-- retrying ones whose lease ran out. SKIP LOCKED: two callers never get the same item.
CREATE FUNCTION monitoring.dlq_claim_due(p_limit integer, p_lease interval DEFAULT '5 minutes')
RETURNS SETOF monitoring.dead_letter_queue
LANGUAGE sql VOLATILE AS $$
    UPDATE monitoring.dead_letter_queue d
       SET status = 'retrying', last_retry_at = now()
      FROM (SELECT id FROM monitoring.dead_letter_queue
             WHERE (status = 'pending' AND next_retry_at <= now())
                OR (status = 'retrying' AND last_retry_at <= now() - p_lease)
             ORDER BY next_retry_at
             LIMIT p_limit
             FOR UPDATE SKIP LOCKED) due
     WHERE d.id = due.id
    RETURNING d.*;
$$;

-- A retry failed: count it, and either schedule the next one or, at the limit, give up.
CREATE FUNCTION monitoring.dlq_increment_retry(p_id bigint, p_reason text,
                                               p_next_retry_at timestamptz)
RETURNS monitoring.dead_letter_queue
LANGUAGE sql VOLATILE AS $$
    UPDATE monitoring.dead_letter_queue
       SET retry_count = least(retry_count + 1, max_retries),
           failure_reason = coalesce(p_reason, failure_reason),
           last_retry_at = now(),
           status = CASE WHEN retry_count + 1 >= max_retries THEN 'failed' ELSE 'pending' END,
           next_retry_at = CASE WHEN retry_count + 1 >= max_retries THEN NULL
                                ELSE coalesce(p_next_retry_at, now()) END
     WHERE id = p_id AND status IN ('pending', 'retrying')
    RETURNING *;
$$;

CREATE FUNCTION monitoring.dlq_mark_recovered(p_id bigint)
RETURNS monitoring.dead_letter_queue
LANGUAGE sql VOLATILE AS $$
    UPDATE monitoring.dead_letter_queue
       SET status = 'recovered', recovered_at = now(), next_retry_at = NULL
     WHERE id = p_id AND status IN ('pending', 'retrying')
    RETURNING *;
$$;

CREATE FUNCTION monitoring.dlq_mark_failed(p_id bigint, p_reason text DEFAULT NULL)
RETURNS monitoring.dead_letter_queue
LANGUAGE sql VOLATILE AS $$
    UPDATE monitoring.dead_letter_queue
       SET status = 'failed', next_retry_at = NULL,
           failure_reason = coalesce(p_reason, failure_reason)
     WHERE id = p_id AND status IN ('pending', 'retrying')
    RETURNING *;
$$;

-- Deletes resolved items (recovered or failed) created more than p_older_than ago; unresolved
-- items are never deleted by age. Returns how many went.
CREATE FUNCTION monitoring.dlq_cleanup(p_older_than interval)
RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    WITH gone AS (
        DELETE FROM monitoring.dead_letter_queue
         WHERE status IN ('recovered', 'failed') AND created_at < now() - p_older_than
        RETURNING 1)
    SELECT count(*) FROM gone;
$$;

-- Pending means unresolved: 'pending' and 'retrying'. The age is over those items only (the
-- prototype took it over every item, so recovered ones made the queue look stuck).
CREATE FUNCTION monitoring.dlq_stats()
RETURNS TABLE (total_pending bigint, total_recovered bigint, total_failed bigint,
               avg_retry_count double precision, oldest_pending_age_hours double precision)
LANGUAGE sql STABLE AS $$
    SELECT count(*) FILTER (WHERE status IN ('pending', 'retrying')),
           count(*) FILTER (WHERE status = 'recovered'),
           count(*) FILTER (WHERE status = 'failed'),
           coalesce(avg(retry_count), 0)::double precision,
           coalesce(extract(epoch FROM now() - min(created_at)
                            FILTER (WHERE status IN ('pending', 'retrying'))) / 3600.0, 0)
               ::double precision
    FROM monitoring.dead_letter_queue;
$$;
