/* store.h -- where events live: one interface, SQLite (embedded, the default) or PostgreSQL.
 *
 * Threads: the writer functions (store_insert_events, store_delete_before, store_delete_through)
 * are called by one
 * thread at a time, the persister. The reader functions may be called from any thread,
 * concurrently with each other and with the writer; each implementation keeps its own
 * connections for that. Nothing above this interface knows which engine it talks to. */
#ifndef TT_STORE_H
#define TT_STORE_H

#include "core/err.h"
#include "core/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;

#define EVENT_FILTER_COLUMNS 5
#define EVENT_FILTER_ANY_MAX 16 /* values of one text filter */

/* Which events a query wants. Zero-initialise, then set what matters. */
typedef struct event_filter {
    int64_t after_seq; /* with has_after: only seq > after_seq, ascending */
    bool has_after;    /* without it: newest first */
    int64_t since_ms;  /* with has_since: ts >= since_ms */
    bool has_since;
    int64_t until_ms; /* with has_until: ts < until_ms */
    bool has_until;
    const char *type; /* each NULL = any */
    const char *source;
    const char *session_id;
    const char *status;
    const char *name;
    /* More values of the text filters above, "any of" (GET /api/v1/events?type=a&type=b): a
     * row matches a column's filter when it equals the single field or one of these. Indexed
     * by event_filter_column. */
    struct {
        const char *values[EVENT_FILTER_ANY_MAX];
        int n;
    } any[EVENT_FILTER_COLUMNS];
    uint32_t limit; /* rows at most; must be > 0 */
} event_filter;

/* The text columns a filter may name, in the order both engines bind them. */
typedef enum event_filter_column {
    EVENT_FILTER_TYPE,
    EVENT_FILTER_SOURCE,
    EVENT_FILTER_SESSION_ID,
    EVENT_FILTER_STATUS,
    EVENT_FILTER_NAME
} event_filter_column;

/* The column's name, and the values a row may have in it (the single field, then any[]);
 * returns how many were put in 'out' (0: no filter on that column). */
const char *event_filter_column_name(event_filter_column c);
int event_filter_values(const event_filter *f, event_filter_column c,
                        const char *out[EVENT_FILTER_ANY_MAX + 1]);

/* Receives one row; 'ev' and its strings are valid only during the call. Return 0 to go on,
 * anything else to stop early (store_query_events then returns 0). */
typedef int (*store_row_fn)(const tt_event *ev, void *ctx);

/* Opens the store named by 'url': "sqlite:PATH" or a "postgres://" (or "postgresql://") URL
 * as libpq reads it. An embedded SQLite file is created if missing and migrated to the
 * current schema: it belongs to this telltale alone. A PostgreSQL database is shared and is
 * migrated only by store_migrate() (telltale migrate): a schema older or newer than this
 * binary's is refused with TT_ESCHEMA and a message saying what to run. A PostgreSQL server that
 * cannot be reached (TT_EUNAVAILABLE: refused, timed out) is an outage, not an error: the store
 * opens, its calls fail with TT_EUNAVAILABLE until the server answers, and the schema version is
 * checked on the writer's first connection (a mismatch then holds the writes back, logged, as an
 * outage would). On success *out owns the store; close it with store_close(). */
int store_open(const char *url, store **out, char err[TT_ERRLEN]);

/* Opens the SQLite file at 'path' (created if missing, migrated like any store file) as a
 * spool (DESIGN §4.3): a store read only in seq order and by id, so it keeps none of the
 * events' secondary indexes that serve the API's filters (time, type, source, status, name) --
 * each one would cost a B-tree insert when an event is spooled and a delete when it is
 * shipped, and serve nothing -- and no summaries. A file that has them (an older telltale's
 * spool) loses them here; the id's unique index and the seq order stay. Errors as
 * store_open(). A later SQLite migration that drops or changes one of these indexes must say
 * IF EXISTS: a spool file migrates like any store file, and has none of them. */
int store_open_spool(const char *path, store **out, char err[TT_ERRLEN]);

/* Applies the pending migrations of the store at 'url', each in its own transaction, recorded
 * in its migrations table; a no-op when there are none. *version gets the schema version. */
int store_migrate(const char *url, int *version, char err[TT_ERRLEN]);

/* What a migration of a store needs, and what it would do (telltale migrate [--check]). */
typedef struct store_migration_plan {
    int version;        /* the schema version in the database; 0 when never migrated, -1 unknown */
    int newest;         /* the newest version this telltale knows */
    char pending[1024]; /* the names of the migrations not applied yet, ", " between them */
    /* SQL statements a more privileged role must run before the migration can (PostgreSQL:
     * CREATE ROLE, GRANT ... ON DATABASE, GRANT owner TO ...), one per line ending in ";\n";
     * "" when nothing is missing. */
    char missing[2048];
} store_migration_plan;

/* Fills 'plan' for the store at 'url' and, when 'apply' is true and nothing is missing, applies
 * the pending migrations as store_migrate() does. A migration that lacks a privilege is not
 * started: nothing is changed, TT_EREJECTED is returned and plan->missing says what to run.
 * With 'apply' false nothing is changed (an SQLite file that does not exist is not created). */
int store_migrate_plan(const char *url, bool apply, store_migration_plan *plan,
                       char err[TT_ERRLEN]);
void store_close(store *st); /* NULL is a no-op */

/* How long one call may wait on a remote store (PostgreSQL): the server cancels a statement
 * after 'ms' (statement_timeout), and a server that does not answer at all is given up on a
 * little later, its connection dropped and the call failed with TT_EUNAVAILABLE. Connections
 * are made within the URL's connect_timeout, else 'ms'. Call it right after store_open(),
 * before other threads use the store. The embedded store never waits on a network; its lock
 * waits have their own fixed bound. */
void store_set_timeout(store *st, uint32_t ms);

/* The embedded store's writer keeps up to 'bytes' of database pages in memory (SQLite's
 * page cache, PRAGMA cache_size): a commit at many concurrent sessions touches one leaf of the
 * session index per session, and those it finds in the cache it neither reads nor parses again
 * (BENCHMARKS.md, "SQLite physical design"). Returns the bytes now in effect; 0 and nothing
 * done for PostgreSQL. Call it right after store_open(), before other threads use the store. */
uint64_t store_set_cache(store *st, uint64_t bytes);

/* Makes every call of the store in progress, on any thread, and every one after, fail at once
 * with TT_EUNAVAILABLE where it waits (PostgreSQL: for the server; SQLite: for a lock another
 * process holds, which is otherwise waited for up to 5 s per attempt): the end of a shutdown
 * that ran out of time. Any thread. */
void store_interrupt(store *st);

/* Whether the store's last connection attempt, on any thread, reached it (PostgreSQL: the
 * writer, readers, the change feed and housekeeping all connect, so an outage shows within a
 * second or two even without ingest); true for an embedded store. Any thread. */
bool store_reachable(const store *st);

/* "sqlite" or "postgres". */
const char *store_kind(const store *st);

/* Schema version the store is at (the highest migration applied). */
int store_schema_version(const store *st);

/* Inserts 'events' in one transaction. An event whose id is already stored is skipped (stored
 * once: DESIGN §4.2). On success each events[i]->seq is its new seq, or 0 if it was a
 * duplicate; seqs increase in array order. On failure nothing is stored, every seq is 0, and
 * the return is TT_EUNAVAILABLE (worth retrying: busy, I/O, disk full) or TT_EREJECTED (the
 * data itself was refused); 'err' has the engine's message. Writer thread only. */
int store_insert_events(store *st, tt_event *const *events, size_t n, char err[TT_ERRLEN]);



/* ---- the summaries kept beside the events (DESIGN §3): metrics_rollup and sessions ----
 *
 * With summaries on, store_insert_events() folds the events it actually inserted -- never a
 * duplicate -- into the rollups (minute rows; hour and day: store_fold_summaries) and the
 * sessions, adding into the rows already there, in the same transaction as the events:
 * committed together or not at all, so a crash can neither lose a minute nor count one twice.
 * Several instances of one PostgreSQL add into the same rows. Off by default (a spool keeps none); call it right after
 * store_open(), before the writer runs. */
void store_keep_summaries(store *st, bool on);

/* Where each summary ends: rows whose bucket (a tier's) or last_seen (a session's) is before
 * the time given are deleted; 0 keeps them. */
typedef struct store_expiry {
    int64_t tier_before_ms[3]; /* by rollup_tier: minute, hour, day */
    int64_t sessions_before_ms;
    uint32_t max_rows; /* per table and call */
} store_expiry;

/* Deletes expired summary rows; *deleted gets the count. Writer thread only. */
int store_expire_summaries(store *st, const store_expiry *e, uint64_t *deleted,
                           char err[TT_ERRLEN]);

/* Brings the hour and day rollups up to date with the minutes that closed a minute or more
 * before 'now_ms' (UTC epoch ms): both engines write only the minute tier with the events
 * (migrations/postgres/0008, exactly once across instances; migrations/sqlite/0008) and an hour
 * or day row only for a late event, into a minute folded already. A no-op when nothing new has
 * closed. Reads stay exact at any moment: they read metrics_rollup_exact, which adds the
 * minutes not folded yet. Writer thread only. */
int store_fold_summaries(store *st, int64_t now_ms, char err[TT_ERRLEN]);

/* Does one slice of a store's deferred index work (SQLite's session index, migrations/sqlite/0007:
 * written in sorted batches, not with each commit; store_sqlite_index.c): a batch is due when
 * SESSION_INDEX_BATCH_EVENTS events wait, or SESSION_INDEX_BATCH_MS after the first of them
 * ('now_ms': a monotonic clock), or at once if 'idle'; a slice takes about the events committed
 * since the last call plus SESSION_INDEX_SLICE_EVENTS (twice that if 'idle'), so that no
 * slice holds the writer much longer than the commit before it. *more is set when more work is
 * waiting now (call again soon, once the queue has been served). Reads are exact either way:
 * only their cost depends on it. Writer thread only; a no-op for an engine that indexes as it
 * commits. */
int store_index_sessions(store *st, uint64_t now_ms, bool idle, bool *more, char err[TT_ERRLEN]);
/* The batch: large enough that at 1,000 live sessions each session's leaf gets tens of
 * entries at a time, not one (50,000 events / 1,000 sessions = 50; BENCHMARKS.md, "The session
 * index in sorted batches", for what that buys); small enough that the tail a read by session
 * walks by seq range stays a few MiB. The time bound keeps a slow trickle's tail short too. */
#define SESSION_INDEX_BATCH_EVENTS 50000
#define SESSION_INDEX_BATCH_MS 2000
/* A slice's events beyond the commit before it (BENCHMARKS.md, "The session index in slices"). */
#define SESSION_INDEX_SLICE_EVENTS 2000
/* How a statement reads SQLite's session index (migrations/sqlite/0007) exactly: the entries
 * in monitoring_events_by_session at or below the watermark, UNION ALL the events above it (the
 * tail, not yet indexed) by seq range -- the bound keeps the two parts disjoint. Written by the
 * store's events query (store_sqlite_query.c) and /rest/v1's (rest_sql.c) alike. */
#define SESSION_INDEX_WATERMARK "(SELECT seq FROM session_index_through)"
/* The tail's FROM and WHERE; the caller's conditions follow with " AND ...". */
#define SESSION_INDEX_TAIL "FROM monitoring_events NOT INDEXED WHERE seq > " SESSION_INDEX_WATERMARK

/* Deletes up to 'max_rows' events with ts < 'before_ms'; *deleted gets the count.
 * Writer thread only. */
int store_delete_before(store *st, int64_t before_ms, uint32_t max_rows, uint64_t *deleted,
                        char err[TT_ERRLEN]);

/* Deletes every event with seq <= 'through'; *deleted gets the count. Writer thread only.
 * (How the local spool lets go of what the remote store has committed.) */
int store_delete_through(store *st, int64_t through, uint64_t *deleted, char err[TT_ERRLEN]);

/* What a store holds: events, their approximate size in bytes (the text of their fields plus
 * a fixed overhead per row), and when the oldest arrived (0 when empty). */
typedef struct store_backlog {
    uint64_t events;
    uint64_t bytes;
    int64_t oldest_received_ms;
} store_backlog;

/* Counts it. Any thread; it reads every row, so it is meant for small stores (the spool). */
int store_count(store *st, store_backlog *out, char err[TT_ERRLEN]);

/* The approximate size store_count() gives one event. */
uint64_t store_event_bytes(const tt_event *ev);

/* Calls 'fn' for each event matching 'f', in the filter's order. Any thread. */
int store_query_events(store *st, const event_filter *f, store_row_fn fn, void *ctx,
                       char err[TT_ERRLEN]);

/* The highest committed seq (0 when empty). Any thread. */
int store_max_seq(store *st, int64_t *out, char err[TT_ERRLEN]);

/* ---- the dead letter queue (DESIGN §3, §4.5) ----
 *
 * Events the store refused for themselves (not an outage), kept with the store's error and
 * retried with backoff by a recovery worker until recovered or failed at max_retries. An
 * item's life: pending -> (claimed) retrying -> recovered, or pending again with a later due
 * time, or failed. A claim is a lease: an item a dead worker left retrying is claimable again
 * once the lease has run out. add, claim and settle belong to the thread that writes events;
 * list, stats and the operator's commands run on any thread. */
typedef enum dlq_status { DLQ_PENDING, DLQ_RETRYING, DLQ_RECOVERED, DLQ_FAILED } dlq_status;

typedef struct dlq_item {
    int64_t id;
    const char *payload; /* the event as JSON, in the form producers send it */
    const char *reason;  /* the store's error */
    uint32_t retry_count;
    uint32_t max_retries;
    dlq_status status;
    int64_t created_ms;
    int64_t last_retry_ms; /* 0: never */
    int64_t next_retry_ms; /* 0: not due (resolved) */
    int64_t recovered_ms;  /* 0: not recovered */
} dlq_item;

typedef struct dlq_stats {
    uint64_t pending; /* unresolved: pending and retrying */
    uint64_t recovered;
    uint64_t failed;
    double avg_retry_count;
    double oldest_pending_age_hours; /* over unresolved items only */
} dlq_stats;

/* Receives one item, valid only during the call. Return 0 to go on. */
typedef int (*dlq_item_fn)(const dlq_item *it, void *ctx);

const char *dlq_status_name(dlq_status s); /* "pending", ... */
bool dlq_status_parse(const char *name, dlq_status *out);

/* Puts an event the store refused into the queue, due at once. Writer thread. */
int store_dlq_add(store *st, const char *payload, const char *reason, uint32_t max_retries,
                  char err[TT_ERRLEN]);
/* Claims up to 'limit' due items (pending and due, or retrying with the lease run out), marks
 * them retrying, and calls 'fn' for each. Writer thread. */
int store_dlq_claim(store *st, uint32_t limit, uint32_t lease_ms, dlq_item_fn fn, void *ctx,
                    char err[TT_ERRLEN]);
/* The outcome of a retry: recovered, or one more failure (reason, next due time), which at
 * max_retries makes the item failed. Writer thread. */
int store_dlq_settle(store *st, int64_t id, bool recovered, const char *reason,
                     int64_t next_retry_ms, char err[TT_ERRLEN]);
/* Items by id, after 'after_id', of one status (status < 0: any). Any thread. */
int store_dlq_list(store *st, int status, int64_t after_id, uint32_t limit, dlq_item_fn fn,
                   void *ctx, char err[TT_ERRLEN]);
int store_dlq_stats(store *st, dlq_stats *out, char err[TT_ERRLEN]);
/* The operator's "retry now": item 'id' (or, with id 0, every pending and failed item) is
 * made pending and due at once; a failed item gets one more attempt. *changed counts them. */
int store_dlq_retry_now(store *st, int64_t id, uint64_t *changed, char err[TT_ERRLEN]);
/* The operator gives up on an unresolved item. */
int store_dlq_mark_failed(store *st, int64_t id, const char *reason, uint64_t *changed,
                          char err[TT_ERRLEN]);
/* Deletes resolved items (recovered, failed) created more than 'older_than_ms' ago; never an
 * unresolved one. */
int store_dlq_purge(store *st, int64_t older_than_ms, uint64_t *deleted, char err[TT_ERRLEN]);

/* ---- statements built above the store (the /rest/v1 plans) ----
 *
 * SQL text in the engine's dialect (store_kind(): "?" placeholders for SQLite; "$n" with a cast
 * for PostgreSQL, whose tables live in schema "monitoring"), with every value bound as a
 * parameter -- never pasted into the text. Any thread; each call runs on a reader connection
 * of its own. Who may read or write what is the caller's business: the store runs what it is
 * given. */

/* How a value is typed, bound and read back. */
typedef enum store_type {
    STORE_INT,   /* bigint / integer */
    STORE_FLOAT, /* double precision */
    STORE_TEXT,
    STORE_BOOL,
    STORE_TIME,  /* timestamptz; epoch milliseconds inside telltale */
    STORE_JSON,  /* json: the text as stored */
    STORE_JSONB, /* jsonb: normalised by the engine */
} store_type;

/* A typed value: 'i' for INT, BOOL (0/1) and TIME (ms); 'd' for FLOAT; 's' (NUL-terminated,
 * owned by whoever made the value) for TEXT and the JSON types. */
typedef struct store_value {
    bool is_null;
    int64_t i;
    double d;
    const char *s;
} store_value;

#define STORE_MAX_CELLS 16 /* columns one statement returns at most */

typedef struct store_param {
    const store_value *v;
    store_type type;
} store_param;

typedef struct store_stmt {
    const char *sql;
    const store_param *params; /* in the order of the placeholders */
    int nparams;
} store_stmt;

/* Receives one row: cells[k] read as the k-th of the caller's types (strings valid only during
 * the call). Return 0 to go on, anything else to stop. */
typedef int (*store_cells_fn)(const store_value *cells, void *ctx);

/* Runs 'select', handing each row (ncols cells read as 'types') to 'fn'; then, when 'count' is
 * not NULL, runs it -- a statement returning one integer -- into *total (else *total is -1),
 * on the same connection: on SQLite in the same read transaction, so the same snapshot; on
 * PostgreSQL as a second statement, whose snapshot may hold a commit more. Returns 0,
 * TT_EUNAVAILABLE or TT_EREJECTED with 'err' filled. */
int store_select(store *st, const store_stmt *select, const store_type *types, int ncols,
                 const store_stmt *count, int64_t *total, store_cells_fn fn, void *ctx,
                 char err[TT_ERRLEN]);

/* Runs a statement that changes rows and returns some (INSERT ... RETURNING), all or nothing,
 * handing each returned row to 'fn'. Returns TT_ECONFLICT when a unique key is taken (nothing
 * is handed to 'fn'), TT_EUNAVAILABLE or TT_EREJECTED otherwise, with 'err' filled. */
int store_change(store *st, const store_stmt *stmt, const store_type *types, int ncols,
                 store_cells_fn fn, void *ctx, char err[TT_ERRLEN]);

/* ---- the change feed ----
 *
 * Every instance's commits, as seq ranges, from the database itself (PostgreSQL
 * LISTEN/NOTIFY): how an instance learns of events another instance stored. It runs on its
 * own connection, meant to be polled by an event loop: wait for store_feed_fd() to become
 * readable, then call store_feed_read(). Notifications are not durable, so after (re)opening
 * a feed, read the store itself (store_max_seq) for what may have been missed. One thread at
 * a time per feed. */
typedef struct store_feed store_feed;

/* Called for each commit heard of: seqs first..last were committed (by any instance). */
typedef void (*store_feed_fn)(int64_t first, int64_t last, void *ctx);

/* True if the engine has a change feed (PostgreSQL); answered without any I/O. */
bool store_has_feed(const store *st);

/* Opens the feed. Returns TT_ENOTFOUND for an engine without one (SQLite: one process owns
 * the file, so its own commits are all there is), TT_EUNAVAILABLE when it cannot connect. */
int store_feed_open(store *st, store_feed **out, char err[TT_ERRLEN]);
void store_feed_close(store_feed *f); /* NULL is a no-op */
int store_feed_fd(const store_feed *f);
/* Consumes what has arrived, without blocking, calling 'fn' per commit. Returns 0, or
 * TT_EUNAVAILABLE once the connection is lost (close the feed and open a new one later). */
int store_feed_read(store_feed *f, store_feed_fn fn, void *ctx, char err[TT_ERRLEN]);

/* A notice other than a commit, heard on the feed during store_feed_read(): "flags" (a feature
 * flag changed) or "state:<client_id>" (that client's dashboard state changed), sent by the
 * tables' triggers at commit (migrations/postgres 0005). */
typedef void (*store_notice_fn)(const char *notice, void *ctx);

/* Hands the feed's notices to 'fn' from now on (NULL: drop them). */
void store_feed_on_notice(store_feed *f, store_notice_fn fn, void *ctx);

#endif
