/* pg_internal.h -- what the files of the PostgreSQL engine share (store_pg.c: events;
 * pg_migrate.c: migrations; pg_conn.c and pg_call.c: connections and calls; store_pg_feed.c: the
 * change feed; store_pg_dlq.c: the dead letter queue; store_pg_stmt.c: statements built above the
 * store). Not for callers of store.h. */
#ifndef TT_PG_INTERNAL_H
#define TT_PG_INTERNAL_H

#include "store/store_impl.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#define READERS_MAX 4
#define NOTIFY_CHANNEL "telltale_events" /* LISTEN/NOTIFY: every instance's commits */
#define CONFIG_CHANNEL "telltale_config" /* ... and changes of flags and dashboard state */

typedef struct pg_store {
    store base;
    char *url;
    PGconn *writer; /* NULL until needed, and after it broke */
    pthread_mutex_t readers_lock;
    PGconn *idle[READERS_MAX];
    int nidle;
    uint32_t timeout_ms;     /* statement_timeout; the client gives up a little later */
    atomic_bool interrupted; /* store_interrupt(): every wait ends at once */
    int interrupt_fd;        /* an eventfd that wakes the waits; -1 when there is none */
    /* The schema version is checked on the writer's first connection: at store_pg_open(), or
     * -- when the server was down then -- once it answers (writer thread). */
    bool schema_checked;
    bool opened;        /* store_pg_open() has returned: a wrong schema is then an outage */
    bool schema_logged; /* ... said once in the log */
    /* The last connection attempt failed (pg_connect, any thread; atomic, relaxed): a state
     * of the server, not of this struct's settings, so pg_connect sets it through a const. */
    bool unreachable;
    int64_t folded_ms; /* the last fold's 'until' (writer thread): nothing new before it */
    /* The role may not COPY into the events table (row-level security applies to it: COPY FROM
     * is refused, 0A000): every batch takes the staged path (writer thread). */
    bool copy_refused;
} pg_store;

/* ---- pg_call.c: every call, bounded by the store's deadline and store_interrupt() ---- */

/* Connects (non-blocking from then on) within the URL's connect_timeout, else the store's
 * timeout. */
int pg_connect(const pg_store *s, const char *const *keys, const char *const *values, PGconn **out,
               char *err);

/* Runs 'sql' (with text parameters when nparams > 0; several statements when none) and returns
 * what PQexecParams would: the first error, else the last result; NULL when nothing could be
 * sent. A server silent past the deadline, or an interrupt, cuts the connection: then the
 * result is an error, PQstatus() is CONNECTION_BAD and pg_fail() says why. */
PGresult *pg_call(const pg_store *s, PGconn *conn, const char *sql, int nparams,
                  const char *const *params);

/* Sends a COPY's data and its end after pg_call() returned PGRES_COPY_IN; returns the
 * COPY's result, as pg_call() does. */
PGresult *pg_copy_in(const pg_store *s, PGconn *conn, const char *data, size_t len);

/* Whether this thread's last call cut its connection (a deadline, an interrupt), and why;
 * pg_take_cut_reason() forgets it. */
bool pg_was_cut(void);
const char *pg_take_cut_reason(char *buf, size_t len);

/* Fills 'err' from 'res' (or the connection), clears 'res', and returns the class of the
 * failure by SQLSTATE: TT_EUNAVAILABLE for what a retry can outlive, TT_EREJECTED else. */
/* pg_conn.c */
/* A new connection to s->url with telltale's defaults (application name, connect timeout, TCP
 * keepalives; the URL's own parameters win), notices silenced, s->timeout_ms applied. */
int pg_open_conn(const pg_store *s, PGconn **out, char *err);
/* Sets the connection's statement_timeout to s->timeout_ms. */
int pg_apply_timeout(const pg_store *s, PGconn *conn, char *err);
int pg_fail(PGconn *conn, PGresult *res, const char *what, char *err);
/* Whether 'err', from a failed connection, says the server answered and refused for good: a
 * FATAL with a SQLSTATE no retry outlives (28P01 password, 28000 role, 3D000 database), not
 * one of 08, 53, 57P0x (too many clients, starting up, shutting down). */
bool pg_login_refused(const char *err);
int pg_exec(const pg_store *s, PGconn *conn, const char *sql, char *err);

/* The writer connection, (re)connected if need be. Writer thread. */
int pg_writer_ready(pg_store *s, char *err);

/* A connection for any thread but the writer's; give it back when done. */
PGconn *pg_reader_take(pg_store *s, char *err);
void pg_reader_give_back(pg_store *s, PGconn *conn);

/* Runs one statement on a reader; *conn gets the connection, to give back once the result is
 * read. A connection that died while idle (a server restart) shows only when used: then the
 * statement runs once more on a fresh one. Returns the result (check its status), or NULL
 * with 'err' when no connection could be made. */
PGresult *pg_reader_exec(pg_store *s, const char *sql, int nparams, const char *const *params,
                         PGconn **conn, char *err);

/* The dead letter queue (store_pg_dlq.c), over the functions of migrations/postgres/0002. */
int pg_dlq_add(store *st, const char *payload, const char *reason, uint32_t max_retries, char *err);
int pg_dlq_claim(store *st, uint32_t limit, uint32_t lease_ms, dlq_item_fn fn, void *ctx,
                 char *err);
int pg_dlq_settle(store *st, int64_t id, bool recovered, const char *reason, int64_t next_retry_ms,
                  char *err);
int pg_dlq_list(store *st, int status, int64_t after_id, uint32_t limit, dlq_item_fn fn, void *ctx,
                char *err);
int pg_dlq_stats(store *st, dlq_stats *out, char *err);
int pg_dlq_retry_now(store *st, int64_t id, uint64_t *changed, char *err);
int pg_dlq_mark_failed(store *st, int64_t id, const char *reason, uint64_t *changed, char *err);
int pg_dlq_purge(store *st, int64_t older_than_ms, uint64_t *deleted, char *err);

/* Migrations (pg_migrate.c): the newest version this telltale knows, and the database's (0
 * when telltale never migrated it). */
int pg_newest_migration(void);
int pg_schema_version(const pg_store *s, PGconn *conn, int *out, char *err);
/* Reads the schema version into s->base.schema_version; TT_ESCHEMA (with what to run) unless it
 * is the one this telltale needs. */
int pg_check_schema(pg_store *s, PGconn *conn, char *err);

/* The change feed (store_pg_feed.c). */
int pg_feed_open(store *st, store_feed **out, char *err);

/* store_pg_write.c: the events of a batch in one transaction (store_ops.insert_events). */
int pg_insert_events(store *base, tt_event *const *events, size_t n, char *err);

/* The summaries (store_pg_sum.c): what the events of a batch the writer inserted (seq > 0)
 * add, written inside the writer's open transaction together with the batch's notification
 * (its payload 'notify', "first-last"); 'folded_ms' is rollup_folded.through as read under the
 * seq lock (migrations/postgres/0008). And their expiry and folding. */
int pg_write_summaries(pg_store *s, tt_event *const *events, size_t n, int64_t folded_ms,
                       const char *notify, char *err);
int pg_expire_summaries(store *st, const store_expiry *e, uint64_t *deleted, char *err);
int pg_fold_summaries(store *st, int64_t now_ms, char *err);

/* Statements built above the store (store_pg_stmt.c). */
int pg_select(store *st, const store_stmt *select, const store_type *types, int ncols,
              const store_stmt *count, int64_t *total, store_cells_fn fn, void *ctx, char *err);
int pg_change(store *st, const store_stmt *stmt, const store_type *types, int ncols,
              store_cells_fn fn, void *ctx, char *err);
#endif
