/* rollup.h -- what one committed batch adds to the summaries the store keeps beside the events
 * (DESIGN §3): per-bucket rollups by (type, source, name) at three tiers, and per-session
 * totals. The store folds the events it actually inserted (not the duplicates) into a
 * rollup_batch and writes it in the same transaction as the events, adding into what is there.
 *
 * Definitions, the same everywhere (rollups, sessions, /metrics):
 *   error      -- an event with an 'error' field, or status "error" or "timeout", or type "error";
 *   tool call  -- an event of type "tool_call";
 *   buckets    -- UTC, by event time 'ts': minute (60 000 ms), hour, day, each aligned to its
 *                 size since the epoch;
 *   session    -- events sharing a session_id; started by the latest "session_start", ended by
 *                 a "session_end" at or after it (see session_state()).
 * Pure; not thread-safe (one batch per writer). */
#ifndef TT_ROLLUP_H
#define TT_ROLLUP_H

#include "core/event.h"
#include "core/loghist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rollup_tier { ROLLUP_MINUTE, ROLLUP_HOUR, ROLLUP_DAY, ROLLUP_TIERS } rollup_tier;

extern const char *const rollup_tier_names[ROLLUP_TIERS]; /* "minute", "hour", "day" */
extern const int64_t rollup_tier_ms[ROLLUP_TIERS];

/* One row's increment. Strings are borrowed from the events ("" for an absent one). */
typedef struct rollup_row {
    rollup_tier tier;
    int64_t bucket_ms; /* the bucket's start */
    const char *type, *source, *name;
    uint64_t count, errors, bytes;
    uint64_t duration_count; /* events with a duration */
    double duration_sum, duration_min, duration_max;
    loghist latency;
} rollup_row;

#define SESSION_NO_TIME INT64_MIN /* started_ms / ended_ms: no such event */

typedef struct session_delta {
    const char *session_id, *source; /* source: the first event's that has one, or NULL */
    int64_t first_ms, last_ms;       /* event times */
    int64_t started_ms, ended_ms;    /* latest session_start / session_end, or SESSION_NO_TIME */
    uint64_t events, errors, tool_calls;
    uint64_t duration_count;
    loghist latency;
} session_delta;

/* Zero-initialise; rollup_batch_reset() between batches keeps the memory. */
typedef struct rollup_batch {
    rollup_row *rows;
    size_t nrows, rows_cap;
    session_delta *sessions;
    size_t nsessions, sessions_cap;
    uint32_t *slots; /* open addressing: index + 1 into rows or sessions, 0 = free */
    size_t nslots;
    bool oom; /* something was not counted: the batch must not be written */
    /* Where hour and day rows are folded from minutes later (PostgreSQL): an event at or after
     * 'folded_ms' is added to its minute row only; one before it (late: its minutes are
     * folded already) to every tier. Off (every event, every tier) unless 'folds'. Set after
     * rollup_batch_reset(), which turns it off. */
    bool folds;
    int64_t folded_ms;
} rollup_batch;

bool event_is_error(const tt_event *ev);

/* Folds one stored event in (at every tier, or as 'folds' says, and into its session if it
 * has one). */
void rollup_batch_add(rollup_batch *b, const tt_event *ev);
/* Folds in every event with seq > 0 -- the ones the store inserted just now. */
void rollup_batch_add_stored(rollup_batch *b, tt_event *const *events, size_t n);
void rollup_batch_reset(rollup_batch *b);
void rollup_batch_free(rollup_batch *b);

/* ---- a session's state ---- */
typedef enum session_state { SESSION_ACTIVE, SESSION_IDLE, SESSION_ENDED } session_state;

/* ended  -- a session_end at or after the latest session_start (or with none);
 * idle   -- otherwise, when nothing has been seen for longer than 'idle_ms' before 'now_ms';
 * active -- otherwise. */
session_state session_state_of(int64_t started_ms, int64_t ended_ms, int64_t last_ms,
                               int64_t now_ms, int64_t idle_ms);
const char *session_state_name(session_state s); /* "active", "idle", "ended" */
bool session_state_parse(const char *s, session_state *out);

#endif
