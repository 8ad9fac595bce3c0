/* sqlite_internal.h -- what the files of the SQLite engine share (store_sqlite.c: events and
 * migrations; store_sqlite_dlq.c: the dead letter queue). Not for callers of store.h. */
#ifndef TT_SQLITE_INTERNAL_H
#define TT_SQLITE_INTERNAL_H

#include "store/sqlite_stage.h"
#include "store/store_impl.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#define READERS_MAX 4

typedef struct sqlite_wal sqlite_wal;

/* The session index (store_sqlite_index.c), writer thread only. Its progress, in seqs: every
 * event at or below 'staged' is staged or indexed; the batch being written (if 'draining')
 * ends at 'batch_through', where the watermark moves once it is written. */
typedef struct sqlite_index_progress {
    bool ready;    /* the statements exist; the seqs below are read */
    bool draining; /* a batch is being written, from the cursor on */
    int filling;   /* the stage that takes new events (0 or 1); the other is being written */
    int64_t staged, batch_through;
    int64_t newest;           /* the newest seq committed */
    uint64_t staged_since_ms; /* when the first entry after batch_through was staged (monotonic
                               * ms; 0: none); stage[filling].entries counts them */
    uint64_t committed;       /* events committed since the last slice */
    uint64_t retry_ms;        /* after a failed slice: not before this (monotonic ms) */
    size_t cursor_session;    /* the next entry to write: a session of the stage written */
    size_t cursor_entry;      /* and an entry of it */
} sqlite_index_progress;
enum { INDEX_READ, INDEX_MOVE, INDEX_STAGE, INDEX_WRITE, INDEX_STMTS };
typedef struct sqlite_index {
    sqlite_index_progress p;
    sqlite_stage stage[2]; /* the batch filling and the batch being written */
    char *json;            /* scratch: a session's seqs for one statement */
    size_t json_cap;
    sqlite3_stmt *stmts[INDEX_STMTS];
} sqlite_index;

typedef struct sqlite_store {
    store base;
    char *path;
    sqlite3 *writer;
    sqlite3_stmt *insert;
    sqlite3_stmt *rollup_upsert, *session_upsert; /* prepared when first needed */
    pthread_mutex_t readers_lock;
    sqlite3 *idle[READERS_MAX]; /* idle read connections */
    int nidle;
    sqlite_wal *wal;         /* the checkpoint policy (store_sqlite_wal.c) */
    atomic_bool interrupted; /* store_interrupt(): a wait for a lock gives up at once */
    sqlite_index index;      /* the session index (migrations/sqlite/0007) */
    int64_t folded_ms;       /* rollup_folded.through (migrations/sqlite/0008): writer only */
} sqlite_store;

/* Fills 'err' with the failure of 'what' and returns its class (TT_EUNAVAILABLE for what a
 * retry can outlive, TT_EREJECTED otherwise). */
/* sqlite_conn.c */
/* Opens s->path with 'flags' (SQLITE_OPEN_*), synchronous=FULL and a busy handler set: a
 * locked database is waited for up to 5 s, or until store_interrupt(). */
int sqlite_open_conn(sqlite_store *s, int flags, sqlite3 **out, char *err);
/* store_interrupt() for SQLite: every wait for a lock, now or later, gives up at once. */
void sqlite_interrupt(store *st);
/* Runs 'sql' (with 'param' bound to its one placeholder, if it has one) on a reader and hands
 * its one row to 'read'; 'what' names it in an error. */
typedef void (*sqlite_row_fn)(sqlite3_stmt *st, void *ctx);
int sqlite_read_row(sqlite_store *s, const char *sql, int64_t param, sqlite_row_fn read, void *ctx,
                    const char *what, char *err);
int sqlite_fail(sqlite3 *db, int rc, const char *what, char *err);
/* Fails (TT_EUNAVAILABLE, naming the directory and why) unless the directory that holds 'path'
 * exists and this user may create files in it; 0 otherwise. */
int sqlite_check_directory(const char *path, char *err);
int sqlite_exec(sqlite3 *db, const char *sql, char *err);

/* A connection for any thread but the writer's; give it back when done. */
sqlite3 *sqlite_reader_take(sqlite_store *s, char *err);
void sqlite_reader_give_back(sqlite_store *s, sqlite3 *db);

/* The WAL checkpoint policy (store_sqlite_wal.c): checkpoints on a thread of their own, off the
 * writer's commits, and the WAL's size bound. Start once the writer is open; stop before it is
 * closed. */
int sqlite_wal_start(sqlite_store *s, char *err);
void sqlite_wal_stop(sqlite_store *s);

/* The dead letter queue (store_sqlite_dlq.c). */
int sqlite_dlq_add(store *st, const char *payload, const char *reason, uint32_t max_retries,
                   char *err);
int sqlite_dlq_claim(store *st, uint32_t limit, uint32_t lease_ms, dlq_item_fn fn, void *ctx,
                     char *err);
int sqlite_dlq_settle(store *st, int64_t id, bool recovered, const char *reason,
                      int64_t next_retry_ms, char *err);
int sqlite_dlq_list(store *st, int status, int64_t after_id, uint32_t limit, dlq_item_fn fn,
                    void *ctx, char *err);
int sqlite_dlq_stats(store *st, dlq_stats *out, char *err);
int sqlite_dlq_retry_now(store *st, int64_t id, uint64_t *changed, char *err);
int sqlite_dlq_mark_failed(store *st, int64_t id, const char *reason, uint64_t *changed, char *err);
int sqlite_dlq_purge(store *st, int64_t older_than_ms, uint64_t *deleted, char *err);

/* The session index (store_sqlite_index.c): store_index_sessions; what a commit adds to its
 * work, its entries staged from the events in hand (call after each successful commit); its
 * statements finalized (before the writer is closed). */
int sqlite_index_sessions(store *st, uint64_t now_ms, bool idle, bool *more, char *err);
void sqlite_index_committed(sqlite_store *s, tt_event *const *events, size_t n);
void sqlite_index_close(sqlite_store *s);

/* The summaries (store_sqlite_sum.c): what the events of a batch the writer inserted (seq >
 * 0) add, written inside the writer's open transaction; and their expiry. */
int sqlite_write_summaries(sqlite_store *s, tt_event *const *events, size_t n, char *err);
/* Adds tt_loghist_add(a, b), which the summaries' upserts use, to the writer connection. */
int sqlite_register_summary_functions(sqlite3 *db, char *err);
int sqlite_expire_summaries(store *st, const store_expiry *e, uint64_t *deleted, char *err);
int sqlite_summaries_open(sqlite_store *s, char *err);
int sqlite_fold_summaries(store *st, int64_t now_ms, char *err);

/* The events query for a filter (store_sqlite_query.c): its text and its values in placeholder
 * order. 'overflow': it did not fit (not run). */
#define SQLITE_QUERY_BINDS 2048
typedef struct sqlite_bind {
    const char *s; /* a text, borrowed from the filter; NULL: the integer i */
    int64_t i;
} sqlite_bind;
typedef struct sqlite_query {
    char sql[16384];
    size_t len;
    sqlite_bind binds[SQLITE_QUERY_BINDS];
    int nbinds;
    bool overflow;
} sqlite_query;
void sqlite_build_query(const event_filter *f, sqlite_query *q);
void sqlite_bind_query(sqlite3_stmt *st, const sqlite_query *q);

/* Statements built above the store (store_sqlite_stmt.c). */
int sqlite_select(store *st, const store_stmt *select, const store_type *types, int ncols,
                  const store_stmt *count, int64_t *total, store_cells_fn fn, void *ctx, char *err);
int sqlite_change(store *st, const store_stmt *stmt, const store_type *types, int ncols,
                  store_cells_fn fn, void *ctx, char *err);
#endif
